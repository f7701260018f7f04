import Foundation
import StrataCore

/// An output file written under a temporary name beside its target and renamed into place only when complete.
///
/// A crash or kill leaves at most `.<name>.partial-<pid>` beside the target, never a half file under the real name.
///
/// ```swift
/// let output = try AtomicOutput(path: "change.tif")
/// try writeEverything(to: output.temporaryPath)
/// try output.commit()          // rename(2): the target appears whole or not at all
/// ```
public final class AtomicOutput {
    /// Where the caller writes.
    public let temporaryPath: String
    /// Where the file ends up.
    public let path: String
    private var committed = false

    /// Checks that the target's folder exists and is writable, and picks the temporary name.
    public init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StrataError.outputNotWritable(path: path, reason: "folder \(folder) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw StrataError.outputNotWritable(path: path, reason: "folder \(folder) is not writable")
        }
        temporaryPath = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }

    /// Renames the temporary file onto the target (atomic on one file system).
    public func commit() throws {
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw StrataError.ioFailure(path: path, reason: "rename from temporary file failed: \(reason)")
        }
        committed = true
    }

    /// Removes the temporary file (after a failure).
    public func discard() {
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }

    deinit {
        if !committed { discard() }
    }
}
