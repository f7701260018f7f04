import Foundation
import StrataCore
import StrataIO
import XCTest

/// Helpers for the synthetic-dataset tests: temporary folders, whole-raster reads, independent tools.
enum SynthTest {
    /// A fresh folder removed when the test ends.
    static func folder(_ test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-synth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Every value of every step of a raster series: values `[T, C, H, W]` and mask `[T, H, W]`, flattened.
    static func read(_ files: [String]) throws -> (stack: RasterStack, values: [Float], mask: [UInt8]) {
        let stack = try RasterStack(files: files, keepOrder: files.count == 1)
        let window = try stack.read(window: stack.grid.fullWindow)
        let mask = window.mask.withRawBytes { Array($0.bindMemory(to: UInt8.self)) }
        return (stack, window.values.floats, mask)
    }

    /// Standard output of an installed tool (gdalinfo, h5dump, ogrinfo), or a skip when it is missing.
    static func tool(_ name: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus == 127 { throw XCTSkip("\(name) is not installed") }
        XCTAssertEqual(process.terminationStatus, 0, "\(name) \(arguments)")
        return String(decoding: data, as: UTF8.self)
    }

    static func json(_ path: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        return try XCTUnwrap(object as? [String: Any], path)
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
}
