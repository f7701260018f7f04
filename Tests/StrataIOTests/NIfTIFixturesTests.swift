import Foundation
import StrataCore
import StrataTestSupport
import XCTest

// Shared helpers for the NIfTI and HDF5 volume tests (no tests here; the name follows the volume test files'
// naming): the real fixture, temporary folders, raw byte edits and the system gzip. Everything sits in
// `VolumeTestKit` so nothing collides with other suites' helpers.

enum VolumeTestKit {
    /// The read-only NIfTI fixture: int16, 17 × 21 × 3 × 20, 4 × 4 × 8 mm, TR 2 s (see the data README).
    static func functionalNIfTIPath() throws -> String { try SharedData.path("nibabel/functional.nii") }

    /// A fresh temporary folder, removed when the test ends.
    static func temporaryFolder(for test: XCTestCase) throws -> String {
        try TestFolder(for: test, prefix: "strata-volume").path
    }

    /// Asserts that `body` throws exactly `expected`.
    static func assertThrows<T>(_ expected: StrataError, _ body: @autoclosure () throws -> T,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? StrataError, expected, file: file, line: line)
        }
    }

    /// The bytes of `gzip -c path` (the system gzip, independent of Strata's zlib use).
    static func gzipBytes(of path: String) throws -> Data { try ExternalTool.outputData("gzip", ["-c", path]) }
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
