import Foundation
import StrataCore
import StrataIO

/// Per-field true values read from a CSV file: a field id column and a yield column, found by the header's names.
///
/// Format: comma-separated; empty lines and lines starting with `#` are skipped. The first line is a header when
/// its first column is not an integer:
/// - the id column is the first of ``idColumnNames`` (`field_id`, `id`, `fid`, `field`) present;
/// - the yield column is the one named `yield`, else the only one whose name starts with `yield` (`yield_t_ha`,
///   as `strata synth yield` writes in `truth/field_yield.csv`);
/// - names are compared without case or surrounding spaces; other columns (`crop`, `area_ha` …) are ignored.
///
/// Without a header the first two columns are `field_id,yield`. Ids are positive integers; a yield is a number, and
/// an empty or `nan` yield means "no truth for this field" (the row is skipped, as `strata synth` writes `nan` for
/// a field that covers no pixel). A repeated id is an error.
///
/// ```swift
/// let truth = try FieldTruthTable.read(path: "truth/field_yield.csv")   // [1: 0.3393, 2: 2.7829, ...]
/// ```
public enum FieldTruthTable {
    /// Header names accepted for the id column, in order of preference.
    public static let idColumnNames = ["field_id", "id", "fid", "field"]

    /// - Throws: ``StrataError/fileNotFound(path:)``; ``StrataError/unreadable(path:reason:)`` naming the line
    ///   of a malformed row or a repeated id, or the header when it has no id or yield column.
    public static func read(path: String) throws -> [Int: Double] {
        try InputPath.requireFile(path)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StrataError.unreadable(path: path, reason: "not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> [Int: Double] {
        var table: [Int: Double] = [:]
        var columns: (id: Int, yield: Int, names: String)?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            if columns == nil {
                if Int(cells[0]) == nil {
                    columns = try headerColumns(cells, path: path, line: index + 1)
                    continue
                }
                columns = (0, 1, "field_id,yield")
            }
            try add(cells, line: index + 1, text: line, columns: columns!, to: &table, path: path)
        }
        return table
    }

    /// The id and yield columns of a header line.
    static func headerColumns(_ names: [String], path: String, line: Int) throws -> (id: Int, yield: Int, names: String) {
        let lowered = names.map { $0.lowercased() }
        let header = names.joined(separator: ",")
        guard let id = idColumnNames.lazy.compactMap({ lowered.firstIndex(of: $0) }).first else {
            throw StrataError.unreadable(path: path, reason: "line \(line): no field id column in the header '\(header)'"
                + " (expected one of " + idColumnNames.joined(separator: ", ") + ")")
        }
        if let exact = lowered.firstIndex(of: "yield") { return (id, exact, "\(names[id]),\(names[exact])") }
        let candidates = lowered.indices.filter { lowered[$0].hasPrefix("yield") }
        guard candidates.count == 1 else {
            throw StrataError.unreadable(path: path, reason: "line \(line): "
                + (candidates.isEmpty ? "no yield column in the header '\(header)'"
                   : "several yield columns in the header '\(header)'; name the true one 'yield'")
                + " (expected 'yield' or one name starting with 'yield', e.g. 'yield_t_ha')")
        }
        return (id, candidates[0], "\(names[id]),\(names[candidates[0]])")
    }

    private static func add(_ cells: [String], line: Int, text: String, columns: (id: Int, yield: Int, names: String),
                            to table: inout [Int: Double], path: String) throws {
        func malformed() -> StrataError {
            .unreadable(path: path, reason: "line \(line): expected '\(columns.names)' with a positive integer id and"
                + " a number, found '\(text)'")
        }
        guard cells.count > max(columns.id, columns.yield), let id = Int(cells[columns.id]), id > 0 else {
            throw malformed()
        }
        let cell = cells[columns.yield]
        if cell.isEmpty || cell.lowercased() == "nan" { return }
        guard let value = Double(cell), value.isFinite else { throw malformed() }
        guard table[id] == nil else {
            throw StrataError.unreadable(path: path, reason: "line \(line): field \(id) appears twice")
        }
        table[id] = value
    }
}
