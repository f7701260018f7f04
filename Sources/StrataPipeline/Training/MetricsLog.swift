import Foundation
import StrataCore

/// `OUT/metrics.jsonl`: one ``EpochRecord`` per line, keys sorted, appended when an epoch ends.
///
/// ```swift
/// let records = try MetricsLog.read("runs/change/metrics.jsonl")
/// records.last?.metrics["val_f1"]
/// ```
public enum MetricsLog {
    /// The JSON line of a record (no newline), keys sorted so runs diff cleanly.
    public static func line(_ record: EpochRecord) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(record), as: UTF8.self)
    }

    /// Every record of a log (none if the file does not exist).
    public static func read(_ path: String) throws -> [EpochRecord] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated().map { index, line in
            do {
                return try JSONDecoder().decode(EpochRecord.self, from: Data(line.utf8))
            } catch {
                throw StrataError.invalidHeader(path: path, reason: "line \(index + 1) is not an epoch record")
            }
        }
    }

    static func lastRecord(_ path: String) throws -> EpochRecord? { try read(path).last }

    static func append(_ record: EpochRecord, to path: String) throws {
        let text = try line(record) + "\n"
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
                throw StrataError.outputNotWritable(path: path, reason: "cannot create the metrics log")
            }
            return
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw StrataError.outputNotWritable(path: path, reason: "cannot open the metrics log")
        }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
    }

    /// Drops records of epochs after `epoch` (a run killed after logging an epoch but before checkpointing it logs
    /// that epoch again on resume), rewriting the file atomically.
    static func truncate(_ path: String, keepingEpochsThrough epoch: Int) throws {
        let records = try read(path)
        let kept = records.filter { $0.epoch <= epoch }
        guard kept.count != records.count else { return }
        let text = try kept.map { try line($0) + "\n" }.joined()
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw StrataError.outputNotWritable(path: path, reason: "\(error.localizedDescription)")
        }
    }
}
