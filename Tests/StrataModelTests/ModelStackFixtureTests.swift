import Foundation
import XCTest
import StrataCore
import StrataIO
@testable import StrataModel

/// Fixture (d) through the whole model: two ConvLSTM layers (Ch 4, 6; K 3), a 1×1 head on the last state, binary
/// cross-entropy on the logits (``BinaryCrossEntropyLoss``, the same loss as PyTorch's BCE on the sigmoid).
/// Tolerances and the relative measure as in ``CellFixtureParityTests``.
final class ModelStackFixtureTests: XCTestCase {
    func testStackHeadAndBCE() throws { try check(precision: .fp32, tolerance: CellFixtureParityTests.fp32Tolerance) }
    func testStackHeadAndBCEBF16() throws {
        try check(precision: .bf16, tolerance: CellFixtureParityTests.bf16Tolerance)
    }

    func check(precision: ComputePrecision, tolerance: Double) throws {
        let f = try Fixture("convlstm_stack_head")
        let c = f.config
        let config = ModelConfig(cell: .convLSTM, inputChannels: c.inputChannels, hidden: c.hiddenChannels,
                                 kernel: c.hiddenChannels.map { _ in c.kernelSize }, output: .last,
                                 head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .sigmoid))
        let model = try RecurrentModel(config: config, seed: 3)
        XCTAssertEqual(model.parameters.map(\.name), config.parameterShapes().map(\.name))
        for p in model.parameters { try p.load(f.file.tensor(p.name)) }
        model.precision = precision
        let input = try f.file.tensor("input")
        let out = try model.forward(input)
        let label = "stack \(precision)"
        EngineCheck.assertClose(out.logits.floats, try f.values("logits"), tolerance, "\(label) logits")
        for i in 0..<2 {
            let layer = model.encoder[i].directions[0]
            let hidden = Array(UnsafeBufferPointer(start: layer.outputs, count: c.time * layer.stateCount))
            EngineCheck.assertClose(EngineCheck.batchMajor(hidden, batch: c.batch, steps: c.time,
                                                           block: layer.stateCount / c.batch),
                                    try f.values("layers.\(i).hidden"), tolerance, "\(label) layers.\(i).hidden")
            EngineCheck.assertClose(out.finalState.layers[i][0].cell!.floats, try f.values("layers.\(i).cell_last"),
                                    tolerance, "\(label) layers.\(i).cell_last")
        }
        let (loss, dLogits) = BinaryCrossEntropyLoss().evaluate(prediction: out.logits,
                                                                 target: try f.file.tensor("target"), mask: nil)
        XCTAssertEqual(loss, try f.values("loss")[0], accuracy: tolerance * abs(loss), "\(label) loss")
        let gradients = try model.backward(outputGradient: dLogits, computeInputGradient: true)
        for p in model.parameters {
            EngineCheck.assertClose(p.gradient.floats, try f.values("grad.\(p.name)"), tolerance,
                                    "\(label) grad.\(p.name)")
        }
        EngineCheck.assertClose(try XCTUnwrap(gradients.input).floats, try f.values("grad.input"), tolerance,
                                "\(label) grad.input")
        let probability = try model.predict(input)
        EngineCheck.assertClose(probability.floats, try f.values("probability"), tolerance, "\(label) probability")
    }
}
