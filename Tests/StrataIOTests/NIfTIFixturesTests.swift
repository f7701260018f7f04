import Foundation
import StrataCore
import XCTest

// Shared helpers for the NIfTI and HDF5 volume tests (no tests here; the name follows the volume test files'
// naming): the real fixture, temporary folders, raw byte edits and running independent command-line tools
// (gzip, python3, h5dump). Everything sits in `VolumeTestKit` so nothing collides with other suites' helpers.

enum VolumeTestKit {
    /// Where the shared real-data fixtures live (`STRATA_TEST_DATA` overrides the default).
    static let dataFolder = ProcessInfo.processInfo.environment["STRATA_TEST_DATA"] ?? "/work/shared/data"

    /// The read-only NIfTI fixture: int16, 17 × 21 × 3 × 20, 4 × 4 × 8 mm, TR 2 s (see the data README).
    static func functionalNIfTIPath() throws -> String {
        let path = dataFolder + "/nibabel/functional.nii"
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("fixture \(path) is missing; set STRATA_TEST_DATA to the shared data folder")
        }
        return path
    }

    /// A fresh temporary folder, removed when the test ends.
    static func temporaryFolder(for test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-volume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Runs a tool and returns its standard output as bytes; fails the test when it exits non-zero.
    static func runToolData(_ executable: String, _ arguments: [String], file: StaticString = #filePath,
                            line: UInt = #line) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read both pipes before waiting so a chatty tool cannot block on a full pipe.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0,
                       "\(executable) \(arguments) failed: \(String(decoding: errorData, as: UTF8.self))",
                       file: file, line: line)
        return data
    }

    /// Runs a tool and returns its standard output as text; fails the test when it exits non-zero.
    @discardableResult
    static func runTool(_ executable: String, _ arguments: [String], file: StaticString = #filePath,
                        line: UInt = #line) throws -> String {
        String(decoding: try runToolData(executable, arguments, file: file, line: line), as: UTF8.self)
    }

    /// Asserts that `body` throws exactly `expected`.
    static func assertThrows<T>(_ expected: StrataError, _ body: @autoclosure () throws -> T,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? StrataError, expected, file: file, line: line)
        }
    }

    /// The bytes of `gzip -c path` (the system gzip, independent of Strata's zlib use).
    static func gzipBytes(of path: String) throws -> Data { try runToolData("gzip", ["-c", path]) }
}

/// Raw file bytes, for building damaged inputs from a good one.
struct VolumeFileBytes {
    var bytes: [UInt8]

    init(path: String) throws { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    func write(to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    mutating func setInt16(_ value: Int16, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + 2, with: $0) }
    }

    mutating func setInt32(_ value: Int32, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + 4, with: $0) }
    }

    func int16(at offset: Int) -> Int16 {
        Int16(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int16.self) })
    }

    func float(at offset: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: bytes.withUnsafeBytes {
            $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        }))
    }
}
