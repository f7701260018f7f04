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
    private var slot: Int?

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
        let prefix = ".\(url.lastPathComponent).partial-"
        temporaryPath = url.deletingLastPathComponent().appendingPathComponent(prefix + "\(getpid())").path
        try? FileManager.default.removeItem(atPath: temporaryPath)
        Self.removeAbandoned(in: folder, prefix: prefix)
        slot = TemporaryRegistry.add(temporaryPath)
    }

    /// Temporaries of this target left by a process that no longer runs (killed with SIGKILL, or a crash): a rerun
    /// removes them. Those of a live process (another run writing the same target) stay. Liveness is this machine's:
    /// on storage shared between hosts, shards must write distinct targets anyway (the same name would race).
    private static func removeAbandoned(in folder: String, prefix: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }

    /// Removes every live temporary file when the process gets SIGINT or SIGTERM, then dies of that signal as it
    /// would have (exit status 128 + signal). Commands that handle SIGINT themselves (`train` saves a checkpoint
    /// first) install their own handler afterwards, which replaces this one for SIGINT.
    public static func removeTemporariesOnInterrupt() {
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = removeTemporariesAndDie
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }

    /// Renames the temporary file onto the target (atomic on one file system).
    public func commit() throws {
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw StrataError.ioFailure(path: path, reason: "rename from temporary file failed: \(reason)")
        }
        committed = true
        slot.map(TemporaryRegistry.remove)
        slot = nil
    }

    /// Removes the temporary file (after a failure).
    public func discard() {
        try? FileManager.default.removeItem(atPath: temporaryPath)
        slot.map(TemporaryRegistry.remove)
        slot = nil
    }

    deinit {
        if !committed { discard() }
    }
}

/// The temporary paths of the outputs being written, as C strings a signal handler can unlink (only
/// async-signal-safe calls there: unlink, signal, raise). Slots are claimed under a lock; the handler reads them
/// without one, so at worst it misses a file registered at that very moment.
private enum TemporaryRegistry {
    static let capacity = 64
    nonisolated(unsafe) static let paths = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
    nonisolated(unsafe) static var initialized = false
    static let lock = NSLock()

    static func add(_ path: String) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        if !initialized {
            paths.initialize(repeating: nil, count: capacity)
            initialized = true
        }
        guard let free = (0..<capacity).first(where: { paths[$0] == nil }) else { return nil }
        paths[free] = strdup(path)
        return free
    }

    static func remove(_ slot: Int) {
        lock.lock()
        defer { lock.unlock() }
        let path = paths[slot]
        paths[slot] = nil
        free(path)
    }
}

private func removeTemporariesAndDie(_ signal: Int32) {
    if TemporaryRegistry.initialized {
        for slot in 0..<TemporaryRegistry.capacity {
            if let path = TemporaryRegistry.paths[slot] { unlink(path) }
        }
    }
    Foundation.signal(signal, SIG_DFL)
    raise(signal)
}
