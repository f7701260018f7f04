import Foundation
import XCTest
import StrataCore
import StrataIO
import StrataModel
import StrataPipeline
import StrataTestSupport

/// The ndrplz-style PyTorch importer and exporter against scripts/reference/ndrplz_reference.py.
///
/// Tolerance 1e-9 absolute: PyTorch ran in float64 on float32-exact parameters and input, and so does the naive
/// reference, so only summation order differs (~1e-15). An i, f, o, g block left unswapped moves values by 1e-1.
final class InteropPyTorchTests: XCTestCase {
    let tolerance = 1e-9
    // Fixture sizes: B, T, Cin, H, W; layers Ch 4 (K 3) and 6 (K 5); head 2 outputs.
    let (batch, time, inputChannels, height, width) = (2, 4, 3, 7, 6)

    static func fixture(_ name: String) throws -> String {
        let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures/ndrplz")
        return try XCTUnwrap(url, "Fixtures/ndrplz/\(name)").path
    }

    func temporaryFolder() throws -> URL {
        let folder = try TestFolder(for: self, prefix: "strata-pt").url
        return folder
    }

    func assertClose(_ actual: [Double], _ expected: [Double], _ what: String, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, line: line)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): worst difference \(worst)", line: line)
    }

    func testImportedStateDictReproducesPyTorchOutputs() throws {
        let result = try PyTorchConvLSTMInterop.importFile(try Self.fixture("ndrplz_stack"))
        let checkpoint = result.checkpoint
        XCTAssertEqual(checkpoint.config, ModelConfig(
            cell: .convLSTM, inputChannels: 3, hidden: [4, 6], kernel: [3, 5],
            head: HeadConfig(kind: .conv1x1, outputs: 2, activation: .none)))

        let io = try SafeTensorsFile(path: try Self.fixture("ndrplz_stack_io"))
        let pixels = height * width
        func weights(_ name: String) -> [Double] { checkpoint.tensors[name]!.floats.map(Double.init) }
        var sequence = try io.doubles("input"), channels = inputChannels
        for (index, ch) in checkpoint.config.hidden.enumerated() {
            let shape = LayerShape(batch: batch, time: time, inputChannels: channels, hiddenChannels: ch,
                                   height: height, width: width, kernelSize: checkpoint.config.kernel[index])
            let zeros = [Double](repeating: 0, count: batch * ch * pixels)
            sequence = convLSTMLayer(x: sequence, h0: zeros, c0: zeros, weight: weights("layers.\(index).weight"),
                                     bias: weights("layers.\(index).bias"), peepholes: nil, shape: shape).hidden
            assertClose(sequence, try io.doubles("layers.\(index).hidden"), "layers.\(index).hidden [B, T, Ch, H, W]")
            channels = ch
        }
        let last = lastStep(sequence, batch: batch, time: time, channels: 6, pixels: pixels)
        let logits = conv1x1Head(last, batch: batch, channels: 6, pixels: pixels, weight: weights("head.weight"),
                                 bias: weights("head.bias"), outputs: 2)
        assertClose(logits, try io.doubles("head.output"), "head.output [B, 2, H, W]")
    }

    /// Export puts the blocks back in ndrplz order: the exported file holds the very bytes of the original state
    /// dict, and importing it again gives the same checkpoint bit for bit.
    func testExportRestoresTheOriginalStateDictBitForBit() throws {
        let source = try Self.fixture("ndrplz_stack")
        let imported = try PyTorchConvLSTMInterop.importFile(source).checkpoint
        let exported = try temporaryFolder().appendingPathComponent("exported.safetensors").path
        try PyTorchConvLSTMInterop.export(imported, to: exported)

        let original = try SafeTensorsFile(path: source), written = try SafeTensorsFile(path: exported)
        XCTAssertEqual(written.names, original.names)
        for name in original.names {
            XCTAssertEqual(written.entry(name)?.shape, original.entry(name)?.shape, name)
            XCTAssertEqual(bits(try written.tensor(name)), bits(try original.tensor(name)), name)
        }
        XCTAssertEqual(written.metadata["gate_order"], "i,f,o,g")

        let again = try PyTorchConvLSTMInterop.importFile(exported).checkpoint
        XCTAssertEqual(again.config, imported.config)
        for (name, tensor) in imported.tensors { XCTAssertEqual(again.tensors[name].map(bits), bits(tensor), name) }
        // The swap really moved blocks: layer 0's g block in Strata is ndrplz's fourth block.
        let strata = imported.tensors["layers.0.bias"]!.floats, ndrplz = try original.tensor("cell_list.0.conv.bias").floats
        XCTAssertEqual(Array(strata[8..<12]), Array(ndrplz[12..<16]))
        XCTAssertEqual(Array(strata[12..<16]), Array(ndrplz[8..<12]))
    }

    /// Bad state dicts, one per line, with the exact message.
    func testBadStateDictsAreNamed() throws {
        let folder = try temporaryFolder()
        func expectError(_ tensors: [String: Tensor], _ expected: String, options: ImportOptions = ImportOptions(),
                         line: UInt = #line) throws {
            var writer = SafeTensorsWriter()
            for (name, tensor) in tensors { try writer.add(name, tensor) }
            let path = folder.appendingPathComponent("case\(line).safetensors").path
            try writer.write(to: path)
            XCTAssertThrowsError(try PyTorchConvLSTMInterop.importFile(path, options: options), line: line) { error in
                XCTAssertEqual((error as? StrataError)?.description, "\(path): \(expected)", line: line)
                XCTAssertEqual((error as? StrataError)?.exitCode, 2, line: line)
            }
        }
        let w0 = Tensor(zeros: [16, 7, 3, 3]), b0 = Tensor(zeros: [16]), head = Tensor(zeros: [1, 4, 1, 1])
        try expectError(["cell_list.0.conv.weight": Tensor(zeros: [15, 7, 3, 3]), "head.weight": head],
                        "invalid header: tensor 'cell_list.0.conv.weight': shape [15, 7, 3, 3] is not"
                            + " [4·Ch, Cin+Ch, K, K] with odd K")
        try expectError(["cell_list.0.conv.weight": w0, "cell_list.0.conv.bias": Tensor(zeros: [12]), "head.weight": head],
                        "invalid header: tensor 'cell_list.0.conv.bias': expected shape [16], found [12]")
        try expectError(["cell_list.0.conv.weight": w0, "cell_list.1.conv.weight": Tensor(zeros: [16, 9, 3, 3]),
                         "head.weight": head],
                        "invalid header: tensor 'cell_list.1.conv.weight': shape [16, 9, 3, 3] needs Cin + Ch = 8"
                            + " (Ch = 4, Cin = hidden channels of layer 0), found 9")
        try expectError(["cell_list.0.conv.weight": w0, "cell_list.2.conv.weight": w0, "head.weight": head],
                        "invalid header: layer numbers [0, 2] are not 0..<2")
        try expectError(["cell_list.0.conv.weight": w0, "cell_list.0.conv.bias": b0, "head.weight": Tensor(zeros: [1, 5, 1, 1])],
                        "invalid header: tensor 'head.weight': expected shape [O, 4, 1, 1] or [O, 4], found [1, 5, 1, 1]")
        try expectError(["cell_list.0.conv.weight": w0],
                        "unsupported: no tensor 'head.weight' for the head; pass --head-layer PREFIX for a head stored"
                            + " under another name, or --new-head OUTPUTS for a zero-initialised head to train")
        try expectError(["cell_list.0.conv.weight": w0, "head.weight": head, "bn.running_mean": Tensor(zeros: [4])],
                        "unsupported: tensors Strata cannot map: 'bn.running_mean' (Strata imports"
                            + " cell_list.<i>.conv.{weight,bias} and a 1×1 head)")
        try expectError(["encoder.weight": w0],
                        "unsupported: no tensor named 'cell_list.<i>.conv.weight' (ndrplz ConvLSTM_pytorch naming);"
                            + " the file has: encoder.weight")
    }

    /// A Strata yield model with input and target statistics survives export and import: weights bit for bit, the
    /// statistics as the exact doubles (from the metadata, not the float32 tensors), the task and its defaults.
    func testExportAndImportKeepNormalisationAndTask() throws {
        var checkpoint = try PyTorchConvLSTMInterop.importFile(try Self.fixture("ndrplz_stack")).checkpoint
        checkpoint.config.head.outputs = 1
        checkpoint.tensors["head.weight"] = Tensor(shape: [1, 6, 1, 1], values: [0.5, -0.25, 1, 2, -1, 0.125])
        checkpoint.tensors["head.bias"] = Tensor(shape: [1], values: [0.1])
        checkpoint.normalization = NormalizationStats(mean: [0.1, 0.2, 0.3], std: [0.7, 1.1, 0.3], count: [9, 9, 9])
        checkpoint.task = TaskInfo(kind: "yield", targetNames: ["yield"], patchSize: [24, 24], minimumInputSteps: 2,
                                   targetNormalization: NormalizationStats(mean: [6.1], std: [1.3], count: [400]))
        let exported = try temporaryFolder().appendingPathComponent("exported.safetensors").path
        try PyTorchConvLSTMInterop.export(checkpoint, to: exported)

        let state = try SafeTensorsFile(path: exported)
        XCTAssertEqual(try state.tensor("input_mean").floats, [0.1, 0.2, 0.3])
        XCTAssertEqual(try state.tensor("input_std").floats, [0.7, 1.1, 0.3])
        XCTAssertEqual(try state.tensor("target_mean").floats, [6.1])
        XCTAssertEqual(try state.tensor("target_std").floats, [1.3])

        let again = try PyTorchConvLSTMInterop.importFile(exported)
        XCTAssertEqual(again.checkpoint.config, checkpoint.config)
        for (name, tensor) in checkpoint.tensors {
            XCTAssertEqual(again.checkpoint.tensors[name].map(bits), bits(tensor), name)
        }
        XCTAssertEqual(again.checkpoint.normalization, checkpoint.normalization)
        XCTAssertEqual(again.checkpoint.task, checkpoint.task)
        XCTAssert(again.assumptions.contains { $0.hasSuffix("(task from the file; --task to change)") },
                  "\(again.assumptions)")
    }

    /// A state dict made in Python with only the statistics tensors: read as the statistics (count 0, unknown).
    func testStatisticsTensorsWrittenByHandAreRead() throws {
        let folder = try temporaryFolder()
        let original = try SafeTensorsFile(path: try Self.fixture("ndrplz_stack"))
        func stateDict(_ extra: [String: Tensor], _ name: String) throws -> String {
            var writer = SafeTensorsWriter()
            for name in original.names { try writer.add(name, try original.tensor(name)) }
            for (name, tensor) in extra { try writer.add(name, tensor) }
            let path = folder.appendingPathComponent(name).path
            try writer.write(to: path)
            return path
        }
        let both = try stateDict(["input_mean": Tensor(shape: [3], values: [1, 2, 3]),
                                  "input_std": Tensor(shape: [3], values: [0.5, 0.25, 4])], "both.safetensors")
        XCTAssertEqual(try PyTorchConvLSTMInterop.importFile(both).checkpoint.normalization,
                       NormalizationStats(mean: [1, 2, 3], std: [0.5, 0.25, 4], count: [0, 0, 0]))
        var options = ImportOptions()
        options.normalization = NormalizationStats(mean: [0, 0, 0], std: [1, 1, 1], count: [0, 0, 0])
        XCTAssertEqual(try PyTorchConvLSTMInterop.importFile(both, options: options).checkpoint.normalization,
                       options.normalization, "the options win over the file")

        let half = try stateDict(["input_mean": Tensor(shape: [3], values: [1, 2, 3])], "half.safetensors")
        XCTAssertThrowsError(try PyTorchConvLSTMInterop.importFile(half)) { error in
            XCTAssertEqual("\(error)", "\(half): invalid header: tensor 'input_mean' without 'input_std'")
        }
    }

    /// A bare ndrplz state dict (no head, no bias, under a wrapper's prefix) imports with a new zero head.
    func testBareStateDictGetsANewHead() throws {
        let path = try temporaryFolder().appendingPathComponent("bare.safetensors").path
        var writer = SafeTensorsWriter()
        let weight = Tensor(shape: [8, 3, 1, 1], values: (0..<24).map(Float.init))
        try writer.add("model.convlstm.cell_list.0.conv.weight", weight)
        try writer.write(to: path)
        var options = ImportOptions()
        options.newHeadOutputs = 3
        let checkpoint = try PyTorchConvLSTMInterop.importFile(path, options: options).checkpoint
        XCTAssertEqual(checkpoint.config.inputChannels, 1)
        XCTAssertEqual(checkpoint.config.hidden, [2])
        XCTAssertEqual(checkpoint.config.kernel, [1])
        XCTAssertEqual(checkpoint.tensors["head.weight"]?.shape, [3, 2, 1, 1])
        XCTAssertEqual(checkpoint.tensors["head.weight"]?.floats, [Float](repeating: 0, count: 6))
        XCTAssertEqual(checkpoint.tensors["layers.0.bias"]?.floats, [Float](repeating: 0, count: 8))
        // Blocks of 2 rows × 3 inputs: i, f, o, g -> i, f, g, o.
        XCTAssertEqual(checkpoint.tensors["layers.0.weight"]?.floats,
                       (0..<12).map(Float.init) + (18..<24).map(Float.init) + (12..<18).map(Float.init))
    }
}
