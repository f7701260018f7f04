import Foundation
import XCTest
import StrataCore
@testable import StrataModel

/// Mixed precision on the model: master weights stay float32 whatever the operand precision, and float16 training
/// goes through ``DynamicLossScaler`` (overflowing steps skipped, scale halved).
final class ModelMixedPrecisionTests: XCTestCase {
    func config() -> ModelConfig {
        ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [4], kernel: [3], output: .last,
                    head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .sigmoid))
    }

    func data() -> (Tensor, Tensor) {
        var rng = SeededGenerator(seed: 3)
        let x = Tensor(shape: [2, 4, 1, 4, 4], values: (0..<128).map { _ in Float(rng.uniform(-1, 1)) })
        let y = Tensor(shape: [2, 1, 4, 4], values: (0..<32).map { _ in rng.uniform() < 0.5 ? 0 : 1 })
        return (x, y)
    }

    /// bf16 and fp16 forward passes stay within operand rounding of fp32 (1e-2 relative to the largest logit,
    /// the bound of the fixture tests), and parameters and gradients stay float32.
    func testReducedPrecisionForwardAndBackwardStayClose() throws {
        let (x, y) = data()
        var results: [ComputePrecision: ([Float], [Float])] = [:]
        for precision in ComputePrecision.allCases {
            let model = try RecurrentModel(config: config(), seed: 4)
            model.precision = precision
            let logits = try model.forward(x).logits
            let (_, g) = BinaryCrossEntropyLoss().evaluate(prediction: logits, target: y, mask: nil)
            try model.backward(outputGradient: g)
            XCTAssertTrue(model.parameters.allSatisfy { $0.value.dtype == .float32 && $0.gradient.dtype == .float32 })
            results[precision] = (logits.floats, model.parameters[0].gradient.floats)
        }
        let reference = results[.fp32]!
        for precision in [ComputePrecision.bf16, .fp16] {
            EngineCheck.assertClose(results[precision]!.0, reference.0.map(Double.init), 1e-2, "\(precision) logits")
            EngineCheck.assertClose(results[precision]!.1, reference.1.map(Double.init), 1e-2, "\(precision) dW")
        }
    }

    /// fp16 training: the scaler starts at 2^16, and the loss falls over 40 steps of fitting one batch.
    func testFP16TrainingUsesTheLossScaler() throws {
        let (x, y) = data()
        let model = try RecurrentModel(config: config(), seed: 5)
        model.precision = .fp16
        model.lossScaler = DynamicLossScaler(initialScale: 65536, growthInterval: 10)
        let adam = Adam(parameters: model.parameters, learningRate: 3e-2)
        var losses: [Double] = []
        for _ in 0..<40 {
            losses.append(try model.trainStep(input: x, target: y, loss: BinaryCrossEntropyLoss(), optimizer: adam))
        }
        XCTAssertLessThan(losses.suffix(5).reduce(0, +) / 5, 0.8 * losses[0], "fp16 training should fit one batch")
        // 40 steps with a growth interval of 10: the scale moved (grew after good runs, or backed off on overflow).
        XCTAssertNotEqual(model.lossScaler.scale, 65536)
        // Skipped steps are overflows only: most of the 40 steps reached the optimizer.
        XCTAssertGreaterThan(adam.stepCount, 30)
        XCTAssertLessThanOrEqual(adam.stepCount, 40)
    }
}
