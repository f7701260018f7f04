import Foundation
import StrataCore
import StrataIO
import StrataTestSupport
import XCTest

/// Helpers for the synthetic-dataset tests: temporary folders, whole-raster reads, JSON and bytes of files.
enum SynthTest {
    /// A fresh folder removed when the test ends.
    static func folder(_ test: XCTestCase) throws -> String {
        try TestFolder(for: test, prefix: "strata-synth").path
    }

    /// Every value of every step of a raster series: values `[T, C, H, W]` and mask `[T, H, W]`, flattened.
    static func read(_ files: [String]) throws -> (stack: RasterStack, values: [Float], mask: [UInt8]) {
        let stack = try RasterStack(files: files, keepOrder: files.count == 1)
        let window = try stack.read(window: stack.grid.fullWindow)
        let mask = window.mask.withRawBytes { Array($0.bindMemory(to: UInt8.self)) }
        return (stack, window.values.floats, mask)
    }

    static func json(_ path: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        return try XCTUnwrap(object as? [String: Any], path)
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
}
