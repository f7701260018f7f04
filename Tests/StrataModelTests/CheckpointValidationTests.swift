import Foundation
import XCTest
import StrataCore
import StrataIO
import StrataModel
import StrataPipeline
import StrataTestSupport

/// Every way a checkpoint file can be wrong, one per line, with the exact message `ModelCheckpoint.load` gives.
///
/// The files are written with `SafeTensorsWriter` directly (not `ModelCheckpoint.save`, which refuses to write
/// them), starting from a valid checkpoint of `SampleCheckpoint.config`: layers.0 [16, 7, 3, 3], layers.1
/// [24, 10, 5, 5], head [2, 6, 1, 1].
final class CheckpointValidationTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try TestFolder(prefix: "strata-ckpt").url
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Writes a checkpoint of `SampleCheckpoint.config` after `edit` changed its tensors or metadata.
    func write(_ name: String, edit: (inout [String: Tensor], inout [String: String]) throws -> Void) throws -> String {
        var tensors = SampleCheckpoint.weights()
        var writer = SafeTensorsWriter()
        try writer.setMetadata("config", json: SampleCheckpoint.config)
        var metadata = writer.metadata
        metadata["format"] = ModelCheckpoint.format
        try edit(&tensors, &metadata)
        writer.metadata = metadata
        for (tensorName, tensor) in tensors { try writer.add(tensorName, tensor) }
        let path = folder.appendingPathComponent(name).path
        try writer.write(to: path)
        return path
    }

    func expectError(_ name: String, _ expected: String, line: UInt = #line,
                     edit: (inout [String: Tensor], inout [String: String]) throws -> Void) throws {
        let path = try write(name, edit: edit)
        XCTAssertThrowsError(try ModelCheckpoint.load(from: path), line: line) { error in
            XCTAssertEqual((error as? StrataError)?.description, "\(path): invalid header: \(expected)", line: line)
            XCTAssertEqual((error as? StrataError)?.exitCode, 2, line: line)
        }
    }

    func testEachBadCheckpointIsNamedExactly() throws {
        let config = SampleCheckpoint.config
        func json(_ edit: (inout [String: Any]) -> Void) throws -> String {
            var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
            edit(&object)
            return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }

        try expectError("shape", "tensor 'layers.1.weight': expected shape [24, 10, 5, 5], found [24, 10, 3, 3]") { t, _ in
            t["layers.1.weight"] = Tensor(zeros: [24, 10, 3, 3]) }
        try expectError("missing", "no tensor 'head.bias'") { t, _ in t["head.bias"] = nil }
        try expectError("unexpected", "unexpected tensor 'layers.2.weight'") { t, _ in
            t["layers.2.weight"] = Tensor(zeros: [4]) }
        try expectError("dtype", "tensor 'layers.0.bias': expected dtype F32, found F16") { t, _ in
            t["layers.0.bias"] = t["layers.0.bias"]!.converted(to: .float16) }
        try expectError("several", "no tensor 'layers.0.weight'; tensor 'head.weight': expected shape [2, 6, 1, 1],"
                        + " found [2, 6]; unexpected tensor 'head.weights'") { t, _ in
            t["head.weights"] = t.removeValue(forKey: "layers.0.weight")
            t["head.weight"] = Tensor(zeros: [2, 6])
        }
        try expectError("format", "metadata entry 'format' is 'strata-checkpoint/0', expected 'strata-checkpoint/1'") {
            _, m in m["format"] = "strata-checkpoint/0" }
        try expectError("noformat", "no metadata entry 'format': not a Strata checkpoint (expected"
                        + " 'strata-checkpoint/1'; convert Keras or PyTorch weights with `strata import`)") {
            _, m in m["format"] = nil }
        try expectError("noconfig", "no metadata entry 'config'") { _, m in m["config"] = nil }
        try expectError("badjson", "metadata entry 'config': not valid JSON") { _, m in m["config"] = "{\"cell\": " }
        try expectError("nohidden", "metadata entry 'config': missing key 'hidden'") { _, m in
            m["config"] = try json { $0["hidden"] = nil } }
        try expectError("headkind", "metadata entry 'config': missing key 'head.outputs'") { _, m in
            m["config"] = try json { $0["head"] = ["kind": "conv1x1", "activation": "none"] } }
        try expectError("cellname", "metadata entry 'config': key 'cell': Cannot initialize Cell from invalid String"
                        + " value lstm") { _, m in m["config"] = try json { $0["cell"] = "lstm" } }
        try expectError("evenkernel", "metadata entry 'config': model.kernel: sizes must be odd: [3, 4]") { _, m in
            m["config"] = try json { $0["kernel"] = [3, 4] } }
        try expectError("normalization", "normalization: mean, std and count need 3 values each (input_channels),"
                        + " found 2, 2, 2") { _, m in
            m["normalization"] = "{\"mean\": [0, 0], \"std\": [1, 1], \"count\": [1, 1]}" }
        try expectError("bands", "task.band_names: 1 names for 3 input channels") { _, m in
            m["task"] = "{\"band_names\": [\"red\"]}" }
        try expectError("orphan", "tensor 'optimizer.head.bias.exp_avg' is optimizer state but there is no metadata"
                        + " entry 'training'") { t, _ in t["optimizer.head.bias.exp_avg"] = Tensor(zeros: [2]) }
        try expectError("moments", "tensor 'optimizer.head.bias.exp_avg': expected shape [2] (as 'head.bias'),"
                        + " found [3]") { t, m in
            t["optimizer.head.bias.exp_avg"] = Tensor(zeros: [3])
            m["training"] = "{\"epoch\": 0, \"global_step\": 0, \"batch_in_epoch\": 0, \"seed\": \"00\","
                + " \"schedule_step\": 0, \"optimizer_scalars\": {}}"
        }
        try expectError("seed", "metadata entry 'training': 'seed' is 'zz', not a hex word") { _, m in
            m["training"] = "{\"epoch\": 0, \"global_step\": 0, \"batch_in_epoch\": 0, \"seed\": \"zz\","
                + " \"schedule_step\": 0, \"optimizer_scalars\": {}}" }
    }

    /// A byte changed after writing is caught by the SHA-256 the writer recorded.
    func testTamperedDataFailsTheChecksum() throws {
        let path = try write("tamper") { _, _ in }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let recorded = try SafeTensorsFile(path: path).metadata["sha256"]!
        bytes[bytes.count - 1] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let actual = SHA256.hash(Array(bytes[(8 + headerLength)...])).hexString
        XCTAssertThrowsError(try ModelCheckpoint.load(from: path)) { error in
            XCTAssertEqual((error as? StrataError)?.description, "\(path): cannot be read: SHA-256 of the tensor data"
                + " is \(actual), the header records \(recorded): the file is corrupt or was modified after it was written")
        }
    }

    /// `save` refuses an inconsistent checkpoint and writes nothing.
    func testSaveRefusesWhatLoadWouldReject() throws {
        var checkpoint = SampleCheckpoint.make()
        checkpoint.tensors["layers.0.weight"] = Tensor(zeros: [16, 7, 5, 5])
        checkpoint.tensors["head.bias"] = nil
        checkpoint.training!.optimizerState.tensors["momentum.x"] = Tensor(zeros: [1])
        let path = folder.appendingPathComponent("refused.safetensors").path
        XCTAssertThrowsError(try checkpoint.save(to: path)) { error in
            XCTAssertEqual((error as? StrataError)?.description,
                           "optimizer state: tensor 'momentum.x' does not start with 'optimizer.'")
        }
        checkpoint.training!.optimizerState.tensors["momentum.x"] = nil
        XCTAssertThrowsError(try checkpoint.save(to: path)) { error in
            XCTAssertEqual((error as? StrataError)?.description, "checkpoint: tensor 'layers.0.weight': expected"
                + " shape [16, 7, 3, 3], found [16, 7, 5, 5]; no tensor 'head.bias'")
        }
        checkpoint.config.hidden = []
        XCTAssertThrowsError(try checkpoint.save(to: path)) { error in
            XCTAssertEqual((error as? StrataError)?.description, "checkpoint config: model.hidden: needs at least one layer")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
