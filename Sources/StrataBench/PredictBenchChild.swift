import Foundation
import StrataCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs a command in a fresh child process and reports its peak resident set.
///
/// `Process` does not expose the child's resource usage, so this spawns with `posix_spawn` and reaps with `wait4`,
/// whose `ru_maxrss` is the child's resident-set high-water mark in KiB on Linux (the kernel's `VmHWM` of that
/// process at exit). Standard output and error go to files, so a chatty child can never block on a full pipe.
struct PredictBenchChild {
    /// What the child printed on standard output and standard error, its exit status, peak RSS and wall time.
    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
        var peakRSSKiB: Int
        var seconds: Double
    }

    /// Starts `executable arguments` with the current environment plus `environment`, waits for it, and returns
    /// its outcome; `logPrefix` + `.out` / `.err` receive its output.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                    logPrefix: String) throws -> Outcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let (outPath, errPath) = (logPrefix + ".out", logPrefix + ".err")
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        let clock = ContinuousClock()
        let start = clock.now
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw StrataError.invalidArgument(name: executable, reason: "cannot start: \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw StrataError.internalError("wait4 failed: \(String(cString: strerror(errno)))") }
        }
        let elapsed = clock.now - start
        // WIFEXITED / WEXITSTATUS are macros Swift does not import: the low 7 bits are the signal, 0 = exited.
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return Outcome(status: exitStatus, standardOutput: read(outPath), standardError: read(errPath),
                       peakRSSKiB: usage.ru_maxrss,
                       seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
}
