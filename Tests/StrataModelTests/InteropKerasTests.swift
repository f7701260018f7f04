import Foundation
import XCTest
import StrataCore
import StrataIO
import StrataModel
import StrataPipeline
import StrataTestSupport

/// The Keras importer against a real Keras 3 file (scripts/reference/keras_convlstm_reference.py): the imported
/// weights, run through the naive float64 ConvLSTM, must give what Keras computed.
///
/// Tolerance 1e-5 absolute (values are O(1)): Keras computed in float32, the reference in float64 from the same
/// float32 weights and input, so they differ by float32 rounding (~1e-6 after a few steps). A transposed kernel,
/// a gate mix-up or x/h swapped moves values by 1e-1.
final class InteropKerasTests: XCTestCase {
    let tolerance = 1e-5
    // Fixture sizes: B, T, H, W, Cin; layers Ch 4 (K 3) and 5 (K 5); head 2 outputs.
    let (batch, time, height, width, inputChannels) = (2, 4, 6, 5, 3)

    static func fixture(_ name: String) throws -> String {
        let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/keras")
        return try XCTUnwrap(url, "Fixtures/keras/\(name)").path
    }

    /// [B, T, H, W, C] (or [B, H, W, C] with time = 1) channels last -> [B, T, C, H, W] channels first.
    func channelsFirst(_ values: [Double], time: Int, channels: Int) -> [Double] {
        var out = [Double](repeating: 0, count: values.count)
        let pixels = height * width
        for b in 0..<batch {
            for t in 0..<time {
                for p in 0..<pixels {
                    for c in 0..<channels {
                        out[((b * time + t) * channels + c) * pixels + p] = values[((b * time + t) * pixels + p) * channels + c]
                    }
                }
            }
        }
        return out
    }

    func assertClose(_ actual: [Double], _ expected: [Double], _ what: String, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, line: line)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): worst difference \(worst)", line: line)
    }

    func testImportedWeightsReproduceKerasOutputs() throws {
        var options = ImportOptions()
        options.headActivation = .sigmoid
        let result = try KerasWeightsImporter.importFile(try Self.fixture("convlstm_stack.weights.h5"), options: options)
        let checkpoint = result.checkpoint
        XCTAssertEqual(checkpoint.config, ModelConfig(
            cell: .convLSTM, inputChannels: 3, hidden: [4, 5], kernel: [3, 5], output: .last,
            head: HeadConfig(kind: .conv1x1, outputs: 2, activation: .sigmoid)))
        XCTAssertEqual(result.mapping, ["conv_lstm2d -> layers.0", "conv_lstm2d_1 -> layers.1", "conv2d -> head"])

        let io = try SafeTensorsFile(path: try Self.fixture("convlstm_stack_io.safetensors"))
        let x = channelsFirst(try io.doubles("input"), time: time, channels: inputChannels)
        let pixels = height * width
        func weights(_ name: String) -> [Double] { checkpoint.tensors[name]!.floats.map(Double.init) }

        var sequence = x, channels = inputChannels
        var hiddens: [[Double]] = []
        for (index, ch) in checkpoint.config.hidden.enumerated() {
            let shape = LayerShape(batch: batch, time: time, inputChannels: channels, hiddenChannels: ch,
                                   height: height, width: width, kernelSize: checkpoint.config.kernel[index])
            let zeros = [Double](repeating: 0, count: batch * ch * pixels)
            sequence = convLSTMLayer(x: sequence, h0: zeros, c0: zeros, weight: weights("layers.\(index).weight"),
                                     bias: weights("layers.\(index).bias"), peepholes: nil, shape: shape).hidden
            hiddens.append(sequence)
            channels = ch
        }
        assertClose(hiddens[0], channelsFirst(try io.doubles("conv_lstm2d.output"), time: time, channels: 4),
                    "conv_lstm2d every step [B, T, 4, H, W]")
        let last = lastStep(hiddens[1], batch: batch, time: time, channels: 5, pixels: pixels)
        assertClose(last, channelsFirst(try io.doubles("conv_lstm2d_1.output"), time: 1, channels: 5),
                    "conv_lstm2d_1 last step [B, 5, H, W]")
        let logits = conv1x1Head(last, batch: batch, channels: 5, pixels: pixels, weight: weights("head.weight"),
                                 bias: weights("head.bias"), outputs: 2)
        assertClose(logits, channelsFirst(try io.doubles("conv2d.output"), time: 1, channels: 2),
                    "conv2d head logits [B, 2, H, W]")
    }

    /// A per-step head (Conv3D 1×1×1) makes an `output: sequence` model; a ConvLSTM2D without bias imports with a
    /// zero bias; K = 1.
    func testSequenceModelWithConv3DHead() throws {
        let result = try KerasWeightsImporter.importFile(try Self.fixture("convlstm_sequence.weights.h5"))
        let checkpoint = result.checkpoint
        XCTAssertEqual(checkpoint.config, ModelConfig(
            cell: .convLSTM, inputChannels: 3, hidden: [3], kernel: [1], output: .sequence,
            head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none)))
        XCTAssertEqual(checkpoint.tensors["layers.0.bias"]?.floats, [Float](repeating: 0, count: 12))

        let io = try SafeTensorsFile(path: try Self.fixture("convlstm_sequence_io.safetensors"))
        let pixels = height * width
        func weights(_ name: String) -> [Double] { checkpoint.tensors[name]!.floats.map(Double.init) }
        let shape = LayerShape(batch: batch, time: time, inputChannels: inputChannels, hiddenChannels: 3,
                               height: height, width: width, kernelSize: 1)
        let zeros = [Double](repeating: 0, count: batch * 3 * pixels)
        let hidden = convLSTMLayer(x: channelsFirst(try io.doubles("input"), time: time, channels: inputChannels),
                                   h0: zeros, c0: zeros, weight: weights("layers.0.weight"),
                                   bias: weights("layers.0.bias"), peepholes: nil, shape: shape).hidden
        assertClose(hidden, channelsFirst(try io.doubles("conv_lstm2d.output"), time: time, channels: 3),
                    "conv_lstm2d [B, T, 3, H, W]")
        // [B, T, 3, H, W] is [B·T, 3, H, W]: the head runs on every step.
        let logits = conv1x1Head(hidden, batch: batch * time, channels: 3, pixels: pixels,
                                 weight: weights("head.weight"), bias: weights("head.bias"), outputs: 1)
        assertClose(logits, channelsFirst(try io.doubles("conv3d.output"), time: time, channels: 1),
                    "conv3d head logits [B, T, 1, H, W]")
    }

    /// Options that name nothing in the file, and files that are not Keras weights, are errors naming them.
    func testBadInputsAreNamed() throws {
        let weights = try Self.fixture("convlstm_stack.weights.h5")
        var options = ImportOptions()
        options.layerOrder = ["conv_lstm2d_1", "conv_lstm2d"]
        XCTAssertThrowsError(try KerasWeightsImporter.importFile(weights, options: options)) { error in
            XCTAssertEqual((error as? StrataError)?.description, "\(weights): invalid header: layer 'conv_lstm2d'"
                + " takes 3 input channels but 'conv_lstm2d_1' before it has 5 hidden channels; pass --layer-order"
                + " with the model's order")
        }
        options = ImportOptions()
        options.headName = "dense"
        XCTAssertThrowsError(try KerasWeightsImporter.importFile(weights, options: options)) { error in
            XCTAssertEqual((error as? StrataError)?.description,
                           "--head-layer: no 1×1 layer 'dense' in \(weights) (candidates: conv2d)")
        }

        let folder = try TestFolder(for: self, prefix: "strata-keras").url
        let text = folder.appendingPathComponent("notes.weights.h5").path
        try "not HDF5\n".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try KerasWeightsImporter.importFile(text)) { error in
            XCTAssertEqual((error as? StrataError)?.description, "\(text): cannot be read: not an HDF5 file (no HDF5 signature)")
        }
        // An HDF5 file that is not a Keras weights file: a Strata volume.
        let volume = folder.appendingPathComponent("volume.h5").path
        let writer = try HDF5VolumeWriter(path: volume)
        try writer.createDataset("/scan", shape: VolumeShape(steps: 2, channels: 1, depth: 1, height: 3, width: 4))
        try writer.write(Tensor(zeros: [2, 1, 1, 3, 4]), to: "/scan")
        try writer.finish()
        XCTAssertThrowsError(try KerasWeightsImporter.importFile(volume)) { error in
            XCTAssertEqual((error as? StrataError)?.description,
                           "\(volume): cannot be read: not a Keras 3 weights file: no '<layer>/vars/<n>' datasets"
                            + " (datasets: scan)")
        }
    }

    /// The HDF5 walker sees Keras' real layout (the paths the importer relies on).
    func testTreeListsKerasVariables() throws {
        let tree = try HDF5Tree(path: try Self.fixture("convlstm_stack.weights.h5"))
        XCTAssertEqual(tree.datasets.map(\.path), [
            "layers/conv2d/vars/0", "layers/conv2d/vars/1",
            "layers/conv_lstm2d/cell/vars/0", "layers/conv_lstm2d/cell/vars/1", "layers/conv_lstm2d/cell/vars/2",
            "layers/conv_lstm2d_1/cell/vars/0", "layers/conv_lstm2d_1/cell/vars/1", "layers/conv_lstm2d_1/cell/vars/2",
        ])
        XCTAssertEqual(tree.dataset("layers/conv_lstm2d_1/cell/vars/1")?.shape, [5, 5, 5, 20])
        XCTAssertEqual(try tree.floats("layers/conv2d/vars/1").count, 2)
    }
}
