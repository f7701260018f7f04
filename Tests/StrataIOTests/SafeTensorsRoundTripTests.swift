import Foundation
import XCTest
import StrataCore
import StrataTestSupport
@testable import StrataIO

/// Files written by ``SafeTensorsWriter`` read back identically, and an independent minimal parser (Foundation's
/// JSONSerialization over the raw bytes) sees the layout the format prescribes. Python's `safetensors` reads them
/// too when a Python with that package is available (`STRATA_PYTHON`, default `python3`); otherwise that one
/// test skips.
final class SafeTensorsRoundTripTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try TestFolder(prefix: "strata-st").url
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    struct Config: Codable, Equatable {
        var hidden: [Int]
        var kernelSize: Int
        var note: String
    }

    /// A writer holding one tensor of every element type Strata writes, and awkward metadata.
    func sampleWriter(includeBFloat16: Bool = true) throws -> SafeTensorsWriter {
        var writer = SafeTensorsWriter()
        // [G·Ch, Cin+Ch, K, K] with G=4, Ch=2, Cin=1, K=3.
        let weight = Tensor(shape: [8, 3, 3, 3], values: (0..<216).map { Float($0) * 0.25 - 20 })
        try writer.add("cell.weight", weight)
        try writer.add("cell.bias", Tensor(shape: [8], values: [1, -1, 0.5, 3, 0, 0, 2, -2]))
        if includeBFloat16 {
            try writer.add("half.bf16", Tensor(shape: [3], values: [1, -2.5, 1024]).converted(to: .bfloat16))
        }
        try writer.add("half.f16", Tensor(shape: [2, 2], values: [0.5, -0.25, 65504, 1e-3]).converted(to: .float16))
        try writer.add("mask", Tensor(shape: [5], values: [0, 1, 2, 254, 255]).converted(to: .uint8))
        try writer.add("stats.mean", doubles: [0.1, 1e-300, -3.5], shape: [3])
        try writer.add("step", integers: [1_234_567_890_123], shape: [])
        writer.metadata["quote \"and\" backslash \\"] = "line\nbreak\ttab é ∂ \u{01}"
        try writer.setMetadata("config", json: Config(hidden: [4, 6], kernelSize: 3, note: "x→h"))
        return writer
    }

    func testRoundTripKeepsEveryTensorAndMetadata() throws {
        let path = folder.appendingPathComponent("a.safetensors").path
        let writer = try sampleWriter()
        let digest = try writer.write(to: path)
        let file = try SafeTensorsFile(path: path)

        XCTAssertEqual(file.names, ["cell.bias", "cell.weight", "half.bf16", "half.f16", "mask", "stats.mean", "step"])
        XCTAssertEqual(file.metadata["sha256"], digest.hexString)
        XCTAssertEqual(file.metadata["quote \"and\" backslash \\"], "line\nbreak\ttab é ∂ \u{01}")
        XCTAssertEqual(try file.decodeMetadata("config", as: Config.self),
                       Config(hidden: [4, 6], kernelSize: 3, note: "x→h"))

        let weight = try file.tensor("cell.weight")
        XCTAssertEqual(weight.dtype, .float32)
        XCTAssertEqual(weight.shape, [8, 3, 3, 3])
        XCTAssertEqual(weight.floats, (0..<216).map { Float($0) * 0.25 - 20 })
        XCTAssertEqual(try file.tensor("half.bf16").dtype, .bfloat16)
        XCTAssertEqual(try file.tensor("half.bf16").floats, [1, -2.5, 1024])
        XCTAssertEqual(try file.tensor("half.f16").floats, [0.5, -0.25, 65504, Float(Float16(1e-3))])
        XCTAssertEqual(try file.tensor("mask").dtype, .uint8)
        XCTAssertEqual(try file.integers("mask"), [0, 1, 2, 254, 255])
        XCTAssertEqual(try file.doubles("stats.mean"), [0.1, 1e-300, -3.5])
        XCTAssertEqual(try file.tensor("stats.mean").floats, [0.1, 0, -3.5])   // F64 -> float32
        XCTAssertEqual(try file.integers("step"), [1_234_567_890_123])
        XCTAssertEqual(file.entry("step")?.shape, [])
        XCTAssertEqual(try file.doubles("cell.bias"), [1, -1, 0.5, 3, 0, 0, 2, -2])
    }

    func testSameContentGivesSameBytes() throws {
        let a = folder.appendingPathComponent("a.safetensors").path
        let b = folder.appendingPathComponent("b.safetensors").path
        try sampleWriter().write(to: a)
        try sampleWriter().write(to: b)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)))
    }

    /// Parses the written file without the reader: 8-byte little-endian length, JSON, alignment, offsets.
    func testIndependentParseSeesTheFormat() throws {
        let path = folder.appendingPathComponent("a.safetensors").path
        try sampleWriter().write(to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let length = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        XCTAssertEqual((8 + length) % 8, 0, "data buffer must start on an 8-byte boundary")
        let headerBytes = Data(bytes[8..<(8 + length)])
        let header = try XCTUnwrap(try JSONSerialization.jsonObject(with: headerBytes) as? [String: Any])
        let buffer = Array(bytes[(8 + length)...])

        let metadata = try XCTUnwrap(header["__metadata__"] as? [String: String])
        XCTAssertEqual(metadata["sha256"], SHA256.hash(buffer).hexString)

        // Tensors in name order, back to back from offset 0 to the end of the file.
        let names = header.keys.filter { $0 != "__metadata__" }.sorted()
        var position = 0
        for name in names {
            let entry = try XCTUnwrap(header[name] as? [String: Any])
            let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
            XCTAssertEqual(offsets[0], position, name)
            position = offsets[1]
        }
        XCTAssertEqual(position, buffer.count)

        let bias = try XCTUnwrap(header["cell.bias"] as? [String: Any])
        XCTAssertEqual(bias["dtype"] as? String, "F32")
        XCTAssertEqual(bias["shape"] as? [Int], [8])
        let offsets = try XCTUnwrap(bias["data_offsets"] as? [Int])
        let values = stride(from: offsets[0], to: offsets[1], by: 4).map { at -> Float in
            Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(buffer[at + $1]) << (8 * UInt32($1)) })
        }
        XCTAssertEqual(values, [1, -1, 0.5, 3, 0, 0, 2, -2])

        let step = try XCTUnwrap(header["step"] as? [String: Any])
        XCTAssertEqual(step["dtype"] as? String, "I64")
        XCTAssertEqual(step["shape"] as? [Int], [])
    }

    func testWriterRejectsReservedAndDuplicateNames() throws {
        var writer = SafeTensorsWriter()
        try writer.add("a", Tensor(shape: [1], values: [1]))
        XCTAssertThrowsError(try writer.add("a", Tensor(shape: [1], values: [2]))) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "tensor name 'a'", reason: "added twice"))
        }
        XCTAssertThrowsError(try writer.add("__metadata__", Tensor(shape: [1], values: [2])))
        XCTAssertThrowsError(try writer.add("d", doubles: [1, 2, 3], shape: [2, 2])) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "tensor 'd'",
                                                                reason: "3 values do not fill shape [2, 2]"))
        }
        writer.metadata["sha256"] = "0"
        XCTAssertThrowsError(try writer.write(to: folder.appendingPathComponent("x.safetensors").path)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "metadata key 'sha256'",
                                                                reason: "reserved for the checksum the writer computes"))
        }
    }

    func testWriteIsAtomicAndLeavesNoTemporaryFile() throws {
        let path = folder.appendingPathComponent("model.safetensors").path
        try sampleWriter().write(to: path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["model.safetensors"])
        XCTAssertThrowsError(try sampleWriter().write(to: folder.appendingPathComponent("missing/m.safetensors").path)) {
            guard case .outputNotWritable = $0 as? StrataError else { return XCTFail("\($0)") }
        }
    }

    func testPythonSafetensorsReadsStrataFiles() throws {
        let python = ProcessInfo.processInfo.environment["STRATA_PYTHON"] ?? "python3"
        guard try ExternalTool.run(python, ["-c", "import safetensors, numpy"]).status == 0 else {
            throw XCTSkip("\(python) has no safetensors/numpy; set STRATA_PYTHON to a Python that has them"
                + " (see scripts/reference/README.md)")
        }
        // numpy has no bfloat16, so the file for Python leaves that one out.
        let path = folder.appendingPathComponent("py.safetensors").path
        try sampleWriter(includeBFloat16: false).write(to: path)
        let script = """
            import json, sys
            from safetensors import safe_open
            out = {}
            with safe_open(sys.argv[1], framework="numpy") as f:
                out["__metadata__"] = f.metadata()
                for k in f.keys():
                    t = f.get_tensor(k)
                    out[k] = {"dtype": str(t.dtype), "shape": list(t.shape), "values": t.astype("float64").ravel().tolist()}
            print(json.dumps(out))
            """
        let parsed = try ExternalTool.json(python, ["-c", script, path])
        let metadata = try XCTUnwrap(parsed["__metadata__"] as? [String: String])
        XCTAssertEqual(metadata["quote \"and\" backslash \\"], "line\nbreak\ttab é ∂ \u{01}")
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(metadata, file.metadata)
        for name in file.names {
            let entry = try XCTUnwrap(parsed[name] as? [String: Any], name)
            XCTAssertEqual(entry["shape"] as? [Int], file.entry(name)!.shape, name)
            let values = try XCTUnwrap(entry["values"] as? [Double], name)
            let expected = file.entry(name)!.dtype == .int64 || file.entry(name)!.dtype == .uint8
                ? try file.integers(name).map(Double.init) : try file.doubles(name)
            XCTAssertEqual(values, expected, name)
        }
    }
}
