import Foundation

/// A JSON value with `null` for undefined scores (`JSONEncoder` would drop `nil` keys instead).
///
/// ```swift
/// let value: EvaluationJSON = .object(["f1": .number(0.8), "kappa": .number(nil)])
/// value.text    // {"f1":0.8,"kappa":null}
/// ```
public indirect enum EvaluationJSON: Encodable, Equatable, Sendable {
    /// A number, or `null` when `nil` (an undefined score).
    case number(Double?)
    case integer(Int)
    case string(String)
    case array([EvaluationJSON])
    case object([String: EvaluationJSON])

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let value?) where value.isFinite: try container.encode(value)
        case .number: try container.encodeNil()
        case .integer(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let values): try container.encode(values)
        case .object(let members): try container.encode(members)
        }
    }

    /// One line of JSON, keys sorted.
    public var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these cases cannot fail: every number is finite or null.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// A threshold as the user wrote it (Float 0.1 prints as 0.1, not 0.10000000149011612).
    static func threshold(_ value: Float) -> EvaluationJSON { .number(Double("\(value)") ?? Double(value)) }
}
