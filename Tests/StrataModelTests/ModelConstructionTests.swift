import Foundation
import XCTest
import StrataCore
@testable import StrataModel

/// A model's parameters are exactly `config.parameterShapes()` (names, shapes, order) for every architecture, and
/// start from the documented seeded initialisation.
final class ModelConstructionTests: XCTestCase {
    let head = HeadConfig(kind: .conv1x1, outputs: 2, activation: .softmax)

    var configs: [ModelConfig] {
        [
            ModelConfig(cell: .convLSTM, inputChannels: 3, hidden: [4, 5], kernel: [3, 1], peephole: .perChannel,
                        head: head),
            ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [4], kernel: [5], peephole: .perPixel,
                        peepholeSize: [6, 7], bidirectional: true, output: .sequence, head: head),
            ModelConfig(cell: .convGRU, inputChannels: 1, hidden: [3, 2], kernel: [3, 3], bidirectional: true,
                        head: HeadConfig(kind: .poolDense, outputs: 1, activation: .none)),
            ModelConfig(cell: .convRNN, inputChannels: 2, hidden: [3, 3], kernel: [3, 5], output: .sequence,
                        architecture: .encoderForecaster, forecastSteps: 2, head: head),
        ]
    }

    func testParametersFollowTheNamingContract() throws {
        for config in configs {
            let model = try RecurrentModel(config: config, seed: 1)
            XCTAssertEqual(model.parameters.map(\.name), config.parameterShapes().map(\.name))
            XCTAssertEqual(model.parameters.map(\.shape), config.parameterShapes().map(\.shape))
        }
    }

    /// Forget-gate bias 1, other biases and peepholes 0, weights inside ±1/√fan_in (PyTorch) or the wider
    /// ±√(6/(fan_in + fan_out)) bound (Glorot) and filling a good part of it.
    func testInitialisation() throws {
        let config = configs[0]
        for initialization in ParameterInitialization.allCases {
            let model = try RecurrentModel(config: config, seed: 2, initialization: initialization)
            let bias = model.parameter(named: "layers.0.bias")!.value.floats
            XCTAssertEqual(bias, [0, 0, 0, 0, 1, 1, 1, 1] + [Float](repeating: 0, count: 8))
            XCTAssertEqual(model.parameter(named: "layers.1.w_cf")!.value.floats, [0, 0, 0, 0, 0])
            let weight = model.parameter(named: "layers.0.weight")!.value.floats   // [16, 7, 3, 3]
            let fanIn = 7.0 * 9, fanOut = 16.0 * 9
            let bound = initialization == .pytorchUniform ? 1 / fanIn.squareRoot() : (6 / (fanIn + fanOut)).squareRoot()
            let largest = Double(weight.map(abs).max()!)
            XCTAssertLessThanOrEqual(largest, bound)
            XCTAssertGreaterThan(largest, 0.9 * bound)
        }
        let a = try RecurrentModel(config: config, seed: 3), b = try RecurrentModel(config: config, seed: 3)
        XCTAssertEqual(a.parameters.flatMap { $0.value.floats }, b.parameters.flatMap { $0.value.floats })
    }

    func testInvalidConfigurationThrows() {
        let bad = ModelConfig(cell: .convGRU, inputChannels: 1, hidden: [2], kernel: [2], head: head)
        XCTAssertThrowsError(try RecurrentModel(config: bad, seed: 1))
    }

    /// predict applies the head's activation: softmax sums to 1 over the outputs axis.
    func testPredictAppliesSoftmaxOverOutputs() throws {
        let config = configs[1]
        let model = try RecurrentModel(config: config, seed: 4)
        var rng = SeededGenerator(seed: 5)
        let x = Tensor(shape: [1, 3, 2, 6, 7], values: (0..<252).map { _ in Float(rng.uniform(-1, 1)) })
        let p = try model.predict(x).floats          // [1, 3, 2, 6, 7]
        for t in 0..<3 {
            for q in 0..<42 {
                XCTAssertEqual(p[(t * 2) * 42 + q] + p[(t * 2 + 1) * 42 + q], 1, accuracy: 1e-6)
            }
        }
    }

    /// trainStep hands CrossEntropyLoss the logits as [N, O, P] (here [B·T, 3, H·W]): its first loss equals the
    /// loss evaluated by hand on the reshaped logits, and fitting one batch lowers it.
    func testTrainStepWithCrossEntropy() throws {
        let config = ModelConfig(cell: .convGRU, inputChannels: 1, hidden: [4], kernel: [3], output: .sequence,
                                 head: HeadConfig(kind: .conv1x1, outputs: 3, activation: .softmax))
        let model = try RecurrentModel(config: config, seed: 6)
        var rng = SeededGenerator(seed: 7)
        let x = Tensor(shape: [2, 3, 1, 4, 4], values: (0..<96).map { _ in Float(rng.uniform(-1, 1)) })
        let labels = Tensor(shape: [6, 16], values: (0..<96).map { _ in Float(Int.random(in: 0..<3, using: &rng)) })
        let ce = CrossEntropyLoss(classCount: 3)
        let logits = try model.forward(x).logits
        let expected = ce.evaluate(prediction: logits.reshaped([6, 3, 16]), target: labels, mask: nil).loss
        let adam = Adam(parameters: model.parameters, learningRate: 3e-2)
        var losses: [Double] = []
        for _ in 0..<30 { losses.append(try model.trainStep(input: x, target: labels, loss: ce, optimizer: adam)) }
        XCTAssertEqual(losses[0], expected, accuracy: 1e-12)
        XCTAssertLessThan(losses.last!, 0.9 * losses[0])
    }
}
