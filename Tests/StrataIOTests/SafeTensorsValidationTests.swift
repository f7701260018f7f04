import Foundation
import XCTest
import StrataCore
@testable import StrataIO

/// Malformed safetensors files, one per line, each with the exact error it must produce: the file is named, and
/// so is the tensor at fault.
final class SafeTensorsValidationTests: XCTestCase {
    let path = "bad.safetensors"

    /// A whole file: the 8-byte little-endian length (of `header`, unless `declaredLength` overrides it), the
    /// header text, then `buffer` zero bytes.
    func file(_ header: String, buffer: Int, declaredLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        let length = declaredLength ?? UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> UInt64(8 * $0)) } + json
            + [UInt8](repeating: 0, count: buffer)
    }

    func assertHeaderError(_ bytes: [UInt8], _ reason: String, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(bytes: bytes, path: path), line: line) {
            XCTAssertEqual($0 as? StrataError, .invalidHeader(path: path, reason: reason), line: line)
        }
    }

    func testMalformedFilesGiveExactErrors() {
        let f32x2 = #""dtype":"F32","shape":[2]"#
        assertHeaderError([1, 2, 3], "file is 3 bytes, too short for the 8-byte header length")
        assertHeaderError(file("{}", buffer: 0, declaredLength: 1000),
                          "header length 1000 runs past the end of the file (10 bytes)")
        assertHeaderError(file("[1, 2]", buffer: 0), "header JSON does not start with '{'")
        assertHeaderError(file(#"{"w": {"#, buffer: 0),
                          "header is not valid JSON (\(jsonErrorDescription(#"{"w": {"#)))")
        assertHeaderError(file(#"{"w": 3}"#, buffer: 0), "tensor 'w': entry is not an object")
        assertHeaderError(file(#"{"w": {"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, buffer: 1),
                          "tensor 'w': unknown dtype 'Q4' (Strata reads F64, F32, F16, BF16, I64, I32, U8)")
        assertHeaderError(file(#"{"w": {"shape":[1],"data_offsets":[0,4]}}"#, buffer: 4), "tensor 'w': no dtype")
        assertHeaderError(file(#"{"w": {"dtype":"F32","data_offsets":[0,4]}}"#, buffer: 4), "tensor 'w': no shape")
        assertHeaderError(file(#"{"w": {"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, buffer: 4),
                          "tensor 'w': data_offsets is not a pair of integers")
        assertHeaderError(file(#"{"w": {"dtype":"F32","shape":[1],"data_offsets":[0.5,4]}}"#, buffer: 4),
                          "tensor 'w': data_offsets is not a pair of integers")
        assertHeaderError(file(#"{"w": {"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, buffer: 8),
                          "tensor 'w': data_offsets [8, 0] is not an increasing range")
        assertHeaderError(file(#"{"w": {"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}"#, buffer: 20),
                          "tensor 'w': shape [2, 3] of F32 needs 24 bytes, data_offsets [0, 20] hold 20")
        assertHeaderError(file(#"{"w": {"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#,
                               buffer: 8),
                          "tensor 'w': shape [4611686018427387904, 4] overflows")
        assertHeaderError(file("{\"w\": {\(f32x2),\"data_offsets\":[0,8]}}", buffer: 4),
                          "tensor 'w': data_offsets [0, 8] run past the end of the data buffer (4 bytes)")
        assertHeaderError(file("{\"a\": {\(f32x2),\"data_offsets\":[0,8]}, \"b\": {\(f32x2),\"data_offsets\":[4,12]}}",
                               buffer: 12),
                          "tensor 'b': data_offsets [4, 12] overlap tensor 'a' (which ends at 8)")
        assertHeaderError(file("{\"a\": {\(f32x2),\"data_offsets\":[0,8]}, \"b\": {\(f32x2),\"data_offsets\":[12,20]}}",
                               buffer: 20),
                          "tensor 'b': data_offsets start at 12, expected 8: the data buffer is not contiguous")
        assertHeaderError(file("{\"a\": {\(f32x2),\"data_offsets\":[4,12]}}", buffer: 12),
                          "tensor 'a': data_offsets start at 4, expected 0: the data buffer is not contiguous")
        assertHeaderError(file("{\"a\": {\(f32x2),\"data_offsets\":[0,8]}}", buffer: 12),
                          "data buffer is 12 bytes but the tensors cover 8: 4 trailing bytes belong to no tensor")
        assertHeaderError(file(#"{"__metadata__": {"epochs": 3}}"#, buffer: 0),
                          "__metadata__ entry 'epochs' is not a string (nested JSON must be stored as a JSON string)")
        assertHeaderError(file(#"{"__metadata__": [1]}"#, buffer: 0), "__metadata__ is not an object of strings")
    }

    func testNegativeDimensionIsRejected() {
        XCTAssertThrowsError(try SafeTensorsFile(
            bytes: file(#"{"w": {"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, buffer: 0), path: path)) {
            guard case .invalidHeader(let p, let reason) = $0 as? StrataError else { return XCTFail("\($0)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.hasPrefix("tensor 'w': shape "), reason)
            XCTAssertTrue(reason.hasSuffix(" is not a list of non-negative integers"), reason)
        }
    }

    /// Python's writer pads the header with spaces and may leave tensors of zero bytes; both are valid.
    func testPaddingAndEmptyTensorsAreAccepted() throws {
        let header = #"{"e": {"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}, "v": {"dtype":"U8","shape":[3],"data_offsets":[0,3]}}    "#
        var bytes = file(header, buffer: 0)
        bytes += [7, 8, 9]
        let loaded = try SafeTensorsFile(bytes: bytes, path: path)
        XCTAssertEqual(loaded.entry("e")?.count, 0)
        XCTAssertEqual(try loaded.integers("v"), [7, 8, 9])
        XCTAssertEqual(try loaded.tensor("e").shape, [0, 3])
    }

    func testExpectNamesTheTensorAndTheDifference() throws {
        var writer = SafeTensorsWriter()
        try writer.add("conv.weight", Tensor(zeros: [20, 8, 5, 5]))
        try writer.add("step", integers: [3], shape: [1])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-expect-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url.path)
        let file = try SafeTensorsFile(path: url.path)

        XCTAssertNoThrow(try file.expect(name: "conv.weight", dtype: .float32, shape: [20, 8, 5, 5]))
        XCTAssertThrowsError(try file.expect(name: "conv.weight", dtype: .float32, shape: [20, 8, 3, 3])) {
            XCTAssertEqual("\($0)", "\(url.path): invalid header: tensor 'conv.weight': expected shape"
                + " [20, 8, 3, 3], found [20, 8, 5, 5]")
        }
        XCTAssertThrowsError(try file.expect(name: "conv.weight", dtype: .bfloat16, shape: [20, 8, 5, 5])) {
            XCTAssertEqual($0 as? StrataError, .invalidHeader(path: url.path,
                reason: "tensor 'conv.weight': expected dtype BF16, found F32"))
        }
        XCTAssertThrowsError(try file.expect(name: "conv.bias", dtype: .float32, shape: [20])) {
            XCTAssertEqual($0 as? StrataError, .invalidHeader(path: url.path,
                reason: "no tensor 'conv.bias' (the file has: conv.weight, step)"))
        }
        XCTAssertThrowsError(try file.tensor("step")) {
            XCTAssertEqual($0 as? StrataError, .unsupported(path: url.path,
                reason: "tensor 'step' is I64; read integer tensors with integers(_:)"))
        }
        XCTAssertThrowsError(try file.integers("conv.weight")) {
            XCTAssertEqual($0 as? StrataError, .unsupported(path: url.path,
                reason: "tensor 'conv.weight' is F32, not an integer tensor"))
        }
        XCTAssertThrowsError(try file.decodeMetadata("config", as: [String: Int].self)) {
            XCTAssertEqual($0 as? StrataError, .invalidHeader(path: url.path, reason: "no metadata entry 'config'"))
        }
    }

    func testExpectingASetReportsEveryDifference() throws {
        var writer = SafeTensorsWriter()
        try writer.add("layers.0.weight", Tensor(zeros: [20, 8, 5, 5]))
        try writer.add("layers.0.bias", Tensor(zeros: [20], dtype: .bfloat16))
        try writer.add("layers.1.weight", Tensor(zeros: [4]))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-set-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url.path)
        let file = try SafeTensorsFile(path: url.path)
        let expected: [SafeTensorsExpectation] = [
            .init(name: "layers.0.weight", dtype: .float32, shape: [20, 8, 3, 3]),
            .init(name: "layers.0.bias", dtype: .float32, shape: [20]),
            .init(name: "head.weight", dtype: .float32, shape: [1, 5, 1, 1]),
        ]
        XCTAssertThrowsError(try file.expect(expected)) {
            XCTAssertEqual($0 as? StrataError, .invalidHeader(path: url.path, reason:
                "tensor 'layers.0.weight': expected shape [20, 8, 3, 3], found [20, 8, 5, 5];"
                + " tensor 'layers.0.bias': expected dtype F32, found BF16; no tensor 'head.weight';"
                + " unexpected tensor 'layers.1.weight'"))
        }
        let matching: [SafeTensorsExpectation] = [
            .init(name: "layers.0.weight", dtype: .float32, shape: [20, 8, 5, 5]),
            .init(name: "layers.0.bias", dtype: .bfloat16, shape: [20]),
        ]
        XCTAssertNoThrow(try file.expect(matching, allowingOthers: true))
        XCTAssertThrowsError(try file.expect(matching)) {
            XCTAssertEqual($0 as? StrataError, .invalidHeader(path: url.path,
                                                              reason: "unexpected tensor 'layers.1.weight'"))
        }
    }

    func testChecksumMismatchNamesTheFile() throws {
        var writer = SafeTensorsWriter()
        try writer.add("w", Tensor(shape: [4], values: [1, 2, 3, 4]))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-sum-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let digest = try writer.write(to: url.path)
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[bytes.count - 1] ^= 0x01    // one bit of the last float
        try Data(bytes).write(to: url)

        XCTAssertThrowsError(try SafeTensorsFile(path: url.path)) {
            guard case .unreadable(let p, let reason) = $0 as? StrataError else { return XCTFail("\($0)") }
            XCTAssertEqual(p, url.path)
            let actual = SHA256.hash(bytes[(bytes.count - 16)...]).hexString
            XCTAssertEqual(reason, "SHA-256 of the tensor data is \(actual), the header records \(digest.hexString):"
                + " the file is corrupt or was modified after it was written")
        }
    }

    func testMissingAndEmptyFiles() throws {
        XCTAssertThrowsError(try SafeTensorsFile(path: "/nonexistent/m.safetensors")) {
            XCTAssertEqual($0 as? StrataError, .fileNotFound(path: "/nonexistent/m.safetensors"))
        }
        let folder = FileManager.default.temporaryDirectory.path
        XCTAssertThrowsError(try SafeTensorsFile(path: folder)) {
            XCTAssertEqual($0 as? StrataError, .isDirectory(path: folder))
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-empty-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data().write(to: url)
        XCTAssertThrowsError(try SafeTensorsFile(path: url.path)) {
            XCTAssertEqual($0 as? StrataError, .emptyFile(path: url.path))
        }
    }

    /// The wording Foundation gives for a JSON syntax error differs between platforms; take it from Foundation.
    private func jsonErrorDescription(_ text: String) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(text.utf8))
            return "parsed"
        } catch {
            return error.localizedDescription
        }
    }
}
