import StrataCore

/// The element types a safetensors file may declare that Strata reads and writes, spelled as in the header.
///
/// Only `F32`, `F16`, `BF16` and `U8` map onto a ``StrataCore/DType``; `F64` (reference fixtures), `I64` and `I32`
/// (step counters, index tables) are read through ``SafeTensorsFile/doubles(_:)`` and
/// ``SafeTensorsFile/integers(_:)``.
///
/// ```swift
/// SafeTensorsDType(rawValue: "BF16")?.size    // 2
/// SafeTensorsDType(.float32).rawValue          // "F32"
/// ```
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case float64 = "F64"
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int64 = "I64"
    case int32 = "I32"
    case uint8 = "U8"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16: return 2
        case .uint8: return 1
        }
    }

    /// The ``StrataCore/DType`` a ``Tensor`` of this element type has, or nil for F64 / I64 / I32.
    public var tensorDType: DType? {
        switch self {
        case .float32: return .float32
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        case .uint8: return .uint8
        case .float64, .int64, .int32: return nil
        }
    }

    /// The safetensors spelling of a tensor element type.
    public init(_ dtype: DType) {
        switch dtype {
        case .float32: self = .float32
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        case .uint8: self = .uint8
        }
    }
}

/// One tensor's entry in a safetensors header: where its little-endian bytes lie in the data buffer.
///
/// ```swift
/// let entry = file.entry("cell.weight")!
/// entry.shape          // [20, 8, 3, 3]  ([G·Ch, Cin+Ch, K, K])
/// entry.byteRange      // 0..<5760, relative to the start of the data buffer
/// ```
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Offsets into the data buffer (which starts right after the header), as written in `data_offsets`.
    public let byteRange: Range<Int>

    /// Number of elements (1 for a scalar of shape `[]`).
    public var count: Int { shape.reduce(1, *) }
}

/// A tensor a loader requires: its name, element type and shape (see ``SafeTensorsFile/expect(_:allowingOthers:)``).
///
/// ```swift
/// let weight = SafeTensorsExpectation(name: "layers.0.weight", dtype: .float32, shape: [4 * ch, cin + ch, k, k])
/// ```
public struct SafeTensorsExpectation: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]

    public init(name: String, dtype: SafeTensorsDType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }
}

/// Shapes printed the way PyTorch and the docs write them: `[20, 8, 3, 3]`.
func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
