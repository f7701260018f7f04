import Foundation
import XCTest

/// `strata import` and `strata export` end to end on the committed Keras fixture, with the files they write
/// checked by a parser written here from the safetensors layout (8-byte length, JSON header, data), not by
/// Strata's reader.
final class ImportCommandTests: XCTestCase {
    static let kerasWeights = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("StrataModelTests/Fixtures/keras/convlstm_stack.weights.h5").path

    /// A safetensors file split by hand: header JSON and each tensor's float32 values.
    struct Parsed {
        var header: [String: Any]
        var data: Data

        init(_ path: String) throws {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + length))) as! [String: Any]
            data = bytes.subdata(in: (8 + length)..<bytes.count)
        }

        var metadata: [String: String] { header["__metadata__"] as? [String: String] ?? [:] }
        var names: [String] { header.keys.filter { $0 != "__metadata__" }.sorted() }
        func shape(_ name: String) -> [Int]? { (header[name] as? [String: Any])?["shape"] as? [Int] }
        func dtype(_ name: String) -> String? { (header[name] as? [String: Any])?["dtype"] as? String }
        func floats(_ name: String) -> [Float] {
            let offsets = (header[name] as! [String: Any])["data_offsets"] as! [Int]
            return data.subdata(in: offsets[0]..<offsets[1]).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
    }

    func testImportKerasThenExportPyTorch() throws {
        let dir = try CLI.temporaryFolder(self)
        let checkpoint = dir.appendingPathComponent("model.safetensors").path
        let imported = try CLI.run(["import", "--from", "keras", Self.kerasWeights, "--out", checkpoint,
                                    "--head-activation", "sigmoid", "--bands", "red,green,nir",
                                    "--targets", "water,cloud", "--json"])
        XCTAssertEqual(imported.exitCode, 0, imported.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(imported.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(summary["out"] as? String, checkpoint)
        XCTAssertEqual((summary["config"] as? [String: Any])?["hidden"] as? [Int], [4, 5])
        XCTAssertEqual(summary["mapping"] as? [String], ["conv_lstm2d -> layers.0", "conv_lstm2d_1 -> layers.1",
                                                         "conv2d -> head"])

        let model = try Parsed(checkpoint)
        XCTAssertEqual(model.metadata["format"], "strata-checkpoint/1")
        XCTAssertEqual(model.metadata["sha256"], summary["sha256"] as? String)
        let config = try JSONSerialization.jsonObject(with: Data(model.metadata["config"]!.utf8)) as! [String: Any]
        XCTAssertEqual(config["input_channels"] as? Int, 3)
        XCTAssertEqual(config["kernel"] as? [Int], [3, 5])
        XCTAssertEqual((config["head"] as? [String: Any])?["activation"] as? String, "sigmoid")
        let task = try JSONSerialization.jsonObject(with: Data(model.metadata["task"]!.utf8)) as! [String: Any]
        XCTAssertEqual(task["band_names"] as? [String], ["red", "green", "nir"])
        XCTAssertEqual(task["target_names"] as? [String], ["water", "cloud"])
        XCTAssertEqual(model.names, ["head.bias", "head.weight", "layers.0.bias", "layers.0.weight",
                                     "layers.1.bias", "layers.1.weight"])
        for (name, shape) in [("layers.0.weight", [16, 7, 3, 3]), ("layers.1.weight", [20, 9, 5, 5]),
                              ("head.weight", [2, 5, 1, 1]), ("head.bias", [2])] {
            XCTAssertEqual(model.shape(name), shape, name)
            XCTAssertEqual(model.dtype(name), "F32", name)
        }

        let text = try CLI.run(["import", "--from", "keras", Self.kerasWeights, "--out", checkpoint])
        XCTAssertEqual(text.exitCode, 0, text.stderr)
        XCTAssert(text.stdout.contains("check against the model's code:"), text.stdout)
        XCTAssert(text.stdout.contains("padding=\"same\""), text.stdout)

        let stateDict = dir.appendingPathComponent("state.safetensors").path
        let exported = try CLI.run(["export", "--to", "pytorch", checkpoint, "--out", stateDict, "--json"])
        XCTAssertEqual(exported.exitCode, 0, exported.stderr)
        let torch = try Parsed(stateDict)
        XCTAssertEqual(torch.names, ["cell_list.0.conv.bias", "cell_list.0.conv.weight", "cell_list.1.conv.bias",
                                     "cell_list.1.conv.weight", "head.bias", "head.weight"])
        XCTAssertEqual(torch.shape("cell_list.1.conv.weight"), [20, 9, 5, 5])
        XCTAssertEqual(torch.metadata["gate_order"], "i,f,o,g")
        // Gate blocks of Ch·(Cin+Ch)·K·K values: Strata i, f, g, o -> ndrplz i, f, o, g.
        for layer in 0..<2 {
            let strata = model.floats("layers.\(layer).weight"), ndrplz = torch.floats("cell_list.\(layer).conv.weight")
            let block = strata.count / 4
            XCTAssertEqual(Array(ndrplz[0..<(2 * block)]), Array(strata[0..<(2 * block)]))
            XCTAssertEqual(Array(ndrplz[(2 * block)..<(3 * block)]), Array(strata[(3 * block)...]))
            XCTAssertEqual(Array(ndrplz[(3 * block)...]), Array(strata[(2 * block)..<(3 * block)]))
        }
        XCTAssertEqual(torch.floats("head.weight"), model.floats("head.weight"))
    }

    func testBadInputsExit2AndNameTheProblem() throws {
        let dir = try CLI.temporaryFolder(self)
        let out = dir.appendingPathComponent("out.safetensors").path
        let notes = dir.appendingPathComponent("notes.weights.h5").path
        try "not HDF5\n".write(toFile: notes, atomically: true, encoding: .utf8)

        // A state dict whose layer 0 weight is not [4·Ch, Cin+Ch, K, K]: written by hand (header + zeros).
        let bad = dir.appendingPathComponent("bad.safetensors").path
        var header = Array("{\"cell_list.0.conv.weight\":{\"dtype\":\"F32\",\"shape\":[15,7,3,3],\"data_offsets\":[0,3780]}}".utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var file = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        file += [UInt8](repeating: 0, count: 3780)
        try Data(file).write(to: URL(fileURLWithPath: bad))

        let cases: [([String], [String])] = [
            (["import", "--from", "keras", notes, "--out", out], [notes, "not an HDF5 file"]),
            (["import", "--from", "pytorch", bad, "--out", out],
             [bad, "tensor 'cell_list.0.conv.weight': shape [15, 7, 3, 3] is not [4·Ch, Cin+Ch, K, K]"]),
            (["import", "--from", "keras", Self.kerasWeights, "--out", out, "--head-activation", "relu"],
             ["--head-activation: 'relu' is not none, sigmoid or softmax"]),
            (["import", "--from", "caffe", Self.kerasWeights, "--out", out], ["caffe"]),
            (["import", "--from", "keras", Self.kerasWeights, "--out", out, "--bands", "red,nir"],
             ["task.band_names: 2 names for 3 input channels"]),
            (["export", "--to", "pytorch", Self.kerasWeights, "--out", out], [Self.kerasWeights]),
        ]
        for (arguments, fragments) in cases {
            let r = try CLI.run(arguments)
            XCTAssertEqual(r.exitCode, 2, "\(arguments): \(r.stderr)")
            for fragment in fragments { XCTAssert(r.stderr.contains(fragment), "\(r.stderr) should mention \(fragment)") }
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
