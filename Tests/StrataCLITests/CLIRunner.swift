import Foundation
import StrataTestSupport
import XCTest

/// Runs the built `strata` executable as a user would, and captures what it prints.
struct CLIResult {
    let exitCode: Int32
    let stdout: String
    let stderr: String
}

enum CLI {
    /// The `strata` binary next to the test bundle (SwiftPM builds it because the test target depends on it).
    static var executable: URL {
        // On Linux the test bundle URL is the products folder itself; on macOS it is the .xctest inside it.
        let bundle = Bundle(for: Marker.self).bundleURL
        let candidates = [bundle.appendingPathComponent("strata"),
                          bundle.deletingLastPathComponent().appendingPathComponent("strata")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], in folder: URL? = nil) throws -> CLIResult {
        let result = try ExternalTool.run(executable: executable, arguments, environment: environment,
                                          directory: folder)
        return CLIResult(exitCode: result.status, stdout: result.text, stderr: result.stderr)
    }

    /// A fresh temporary folder, removed when the test ends.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        try TestFolder(for: test, prefix: "strata-cli").url
    }

    private final class Marker {}
}
