import Foundation
import StrataCore
import StrataIO

/// Per-field true values read from a CSV file `field_id,yield`.
///
/// Format: one `id,value` pair per line, comma-separated; the id is a positive integer, the value a number in the
/// prediction's units. A first line whose second column is not a number is a header and is skipped, as are empty
/// lines and lines starting with `#`. Extra columns are ignored. A repeated id is an error.
///
/// ```swift
/// let truth = try FieldTruthTable.read(path: "yield_by_field.csv")   // [12: 7.5, 13: 6.25]
/// ```
public enum FieldTruthTable {
    /// - Throws: ``StrataError/fileNotFound(path:)``; ``StrataError/unreadable(path:reason:)`` naming the line
    ///   of a malformed row or a repeated id.
    public static func read(path: String) throws -> [Int: Double] {
        try InputPath.requireFile(path)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StrataError.unreadable(path: path, reason: "not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> [Int: Double] {
        var table: [Int: Double] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let columns = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let value = columns.count >= 2 ? Double(columns[1]) : nil
            if index == 0 && value == nil { continue }
            guard columns.count >= 2, let id = Int(columns[0]), id > 0, let value, value.isFinite else {
                throw StrataError.unreadable(path: path, reason: "line \(index + 1): expected 'field_id,yield' with "
                    + "a positive integer id and a number, found '\(line)'")
            }
            guard table[id] == nil else {
                throw StrataError.unreadable(path: path, reason: "line \(index + 1): field \(id) appears twice")
            }
            table[id] = value
        }
        return table
    }
}
