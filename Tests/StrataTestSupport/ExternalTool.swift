import Foundation
import XCTest

/// What an independent program printed and how it exited.
public struct ToolResult: Sendable {
    /// The exit status (127: `/usr/bin/env` did not find the program).
    public let status: Int32
    public let stdout: Data
    public let stderr: String

    /// Standard output as UTF-8 text.
    public var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs the independent tools tests check Strata's files with (`gdalinfo`, `h5dump`, `ogrinfo`, `gzip`, `python3`).
///
/// The point of these tests is a second opinion from a reader that is not Strata's, so a missing tool skips the
/// test (saying which tool) rather than passing it, and a tool that fails fails the test with its error output:
///
/// ```swift
/// let info = try ExternalTool.json("gdalinfo", ["-json", path])
/// let dump = try ExternalTool.output("h5dump", ["-H", path])
/// ```
public enum ExternalTool {
    /// Runs `name` found on `PATH` and waits for it; only a failure to start throws.
    public static func run(_ name: String, _ arguments: [String]) throws -> ToolResult {
        try run(executable: URL(fileURLWithPath: "/usr/bin/env"), [name] + arguments)
    }

    /// Runs a program by path with extra environment variables (added to this process's) in `directory`.
    public static func run(executable: URL, _ arguments: [String], environment: [String: String] = [:],
                           directory: URL? = nil) throws -> ToolResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Drain standard error on its own thread while reading standard output: a program that fills one pipe
        // while the other is being read would otherwise block forever.
        let errorData = PipeDrain(errors.fileHandleForReading)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ToolResult(status: process.terminationStatus, stdout: data,
                          stderr: String(decoding: errorData.wait(), as: UTF8.self))
    }

    /// Standard output of a tool that must succeed: skips the test when the tool is not installed, fails it (and
    /// still returns the output) when the tool exits non-zero.
    public static func outputData(_ name: String, _ arguments: [String], file: StaticString = #filePath,
                                  line: UInt = #line) throws -> Data {
        let result = try run(name, arguments)
        if result.status == 127 { throw XCTSkip("\(name) is not installed", file: file, line: line) }
        XCTAssertEqual(result.status, 0, "\(name) \(arguments.joined(separator: " ")): \(result.stderr)",
                       file: file, line: line)
        return result.stdout
    }

    /// ``outputData(_:_:file:line:)`` as text.
    @discardableResult
    public static func output(_ name: String, _ arguments: [String], file: StaticString = #filePath,
                              line: UInt = #line) throws -> String {
        String(decoding: try outputData(name, arguments, file: file, line: line), as: UTF8.self)
    }

    /// Standard output parsed as one JSON object (`gdalinfo -json`, `ogrinfo -json`, `strata ... --json`).
    public static func json(_ name: String, _ arguments: [String], file: StaticString = #filePath,
                            line: UInt = #line) throws -> [String: Any] {
        let data = try outputData(name, arguments, file: file, line: line)
        let object = try JSONSerialization.jsonObject(with: data)
        return try XCTUnwrap(object as? [String: Any], "\(name) did not print a JSON object", file: file, line: line)
    }
}

/// Reads a pipe to its end on a background thread.
private final class PipeDrain: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
