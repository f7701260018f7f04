import Foundation
import XCTest
import StrataCore
@testable import StrataModel

/// Backward passes the fixtures do not cover, checked against central finite differences of the fp32 engine's
/// forward pass: per-channel peepholes, bidirectional layers, masks and lengths, the pool_dense head, the
/// encoder–forecaster, initial-state gradients, and the losses through the model.
///
/// Loss: L = Σ logits ⊙ R with a seeded R (or a real ``Loss``), summed in Double. Step ε = 1e-2 on one element at a
/// time: the truncation error ε²·f'''/6 is ~1e-5 and float32 rounding in the forward pass (~1e-6 of |L| ≈ 10)
/// divided by 2ε adds ~5e-4. Tolerance |numeric − analytic| ≤ 3e-3 + 2e-2·|numeric| is above both and far below
/// the error of a wrong term (a dropped gate, step or mask term moves a gradient by its own size).
final class ModelGradientCheckTests: XCTestCase {
    static let epsilon: Float = 1e-2

    let geometry = (batch: 2, steps: 4, height: 5, width: 4)

    func randomTensor(_ shape: [Int], seed: UInt64, scale: Double = 1) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform(-scale, scale)) })
    }

    func input(channels: Int, seed: UInt64 = 11) -> Tensor {
        randomTensor([geometry.batch, geometry.steps, channels, geometry.height, geometry.width], seed: seed)
    }

    /// A model whose biases and peepholes are moved away from their initial constants, so every term is active.
    func model(_ config: ModelConfig) throws -> RecurrentModel {
        let model = try RecurrentModel(config: config, seed: 5)
        var rng = SeededGenerator(seed: 6)
        for p in model.parameters where !p.name.hasSuffix("weight") && !p.name.contains(".weight_") {
            p.value.withMutableFloats { v in for i in 0..<v.count { v[i] += Float(rng.uniform(-0.5, 0.5)) } }
        }
        return model
    }

    /// Σ logits ⊙ R in Double and its gradient R.
    func weightedSum(seed: UInt64) -> (Tensor) -> (Double, Tensor) {
        { logits in
            let r = self.randomTensor(logits.shape, seed: seed)
            var sum = 0.0
            let a = logits.floats, b = r.floats
            for i in a.indices { sum += Double(a[i]) * Double(b[i]) }
            return (sum, r)
        }
    }

    /// Compares every parameter's gradient (and the input's, and the first layer's h0 if a state is given) at a
    /// few elements with central differences of `loss(forward(...))`.
    func check(_ model: RecurrentModel, input: Tensor, mask: Tensor? = nil, lengths: [Int]? = nil,
               initialState: RecurrentState? = nil, loss: (Tensor) -> (Double, Tensor),
               file: StaticString = #filePath, line: UInt = #line) throws {
        var x = input, state = initialState
        func value() throws -> Double {
            loss(try model.forward(x, mask: mask, lengths: lengths, initialState: state).logits).0
        }
        for p in model.parameters { p.zeroGrad() }
        let out = try model.forward(x, mask: mask, lengths: lengths, initialState: state)
        let gradients = try model.backward(outputGradient: loss(out.logits).1, computeInputGradient: true)
        var rng = SeededGenerator(seed: 99)
        let eps = Self.epsilon

        func compare(_ name: String, count: Int, analytic: [Float], perturb: (Int, Float) -> Void) throws {
            let indices = [0, count - 1] + (0..<3).map { _ in Int.random(in: 0..<count, using: &rng) }
            for i in indices {
                perturb(i, eps)
                let plus = try value()
                perturb(i, -2 * eps)
                let minus = try value()
                perturb(i, eps)
                let numeric = (plus - minus) / (2 * Double(eps))
                XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 3e-3 + 2e-2 * abs(numeric),
                               "\(name)[\(i)]", file: file, line: line)
            }
        }
        for p in model.parameters {
            try compare(p.name, count: p.count, analytic: p.gradient.floats) { i, d in
                p.value.withMutableFloats { $0[i] += d }
            }
        }
        let dx = try XCTUnwrap(gradients.input).floats
        try compare("input", count: x.count, analytic: dx) { i, d in x.withMutableFloats { $0[i] += d } }
        if state != nil {
            let analytic = gradients.initialState.layers[0][0].hidden.floats
            try compare("h0", count: analytic.count, analytic: analytic) { i, d in
                state!.layers[0][0].hidden.withMutableFloats { $0[i] += d }
            }
        }
    }

    func head(_ kind: HeadConfig.Kind = .conv1x1, outputs: Int = 2) -> HeadConfig {
        HeadConfig(kind: kind, outputs: outputs, activation: .none)
    }

    func testPerChannelPeepholesWithInitialState() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3], peephole: .perChannel,
                                 output: .sequence, head: head())
        let m = try model(config)
        let shape = [geometry.batch, 3, geometry.height, geometry.width]
        let state = RecurrentState(layers: [[.init(hidden: randomTensor(shape, seed: 21),
                                                   cell: randomTensor(shape, seed: 22))]])
        try check(m, input: input(channels: 2), initialState: state, loss: weightedSum(seed: 1))
    }

    func testBidirectionalTwoLayersLastState() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3, 2], kernel: [3, 1],
                                 bidirectional: true, output: .last, head: head())
        try check(try model(config), input: input(channels: 2), loss: weightedSum(seed: 2))
    }

    func testBidirectionalGRUSequenceWithLengths() throws {
        let config = ModelConfig(cell: .convGRU, inputChannels: 1, hidden: [3], kernel: [3], bidirectional: true,
                                 output: .sequence, head: head())
        try check(try model(config), input: input(channels: 1), lengths: [4, 2], loss: weightedSum(seed: 3))
    }

    func testMaskAndLengthsConvLSTM() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3], output: .sequence,
                                 head: head())
        try check(try model(config), input: input(channels: 2), mask: randomMask(seed: 4), lengths: [3, 4],
                  loss: weightedSum(seed: 4))
    }

    func testMaskedConvRNNLastState() throws {
        let config = ModelConfig(cell: .convRNN, inputChannels: 2, hidden: [3], kernel: [5], output: .last,
                                 head: head())
        try check(try model(config), input: input(channels: 2), mask: randomMask(seed: 5), loss: weightedSum(seed: 5))
    }

    func testPoolDenseHeadOverValidPixels() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3], output: .last,
                                 head: head(.poolDense, outputs: 2))
        try check(try model(config), input: input(channels: 2), mask: randomMask(seed: 6), loss: weightedSum(seed: 6))
    }

    func testPoolDenseHeadPerStep() throws {
        let config = ModelConfig(cell: .convGRU, inputChannels: 2, hidden: [2], kernel: [3], output: .sequence,
                                 head: head(.poolDense, outputs: 1))
        try check(try model(config), input: input(channels: 2), mask: randomMask(seed: 7), loss: weightedSum(seed: 7))
    }

    func testEncoderForecaster() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3, 2], kernel: [3, 3], output: .sequence,
                                 architecture: .encoderForecaster, forecastSteps: 3, head: head(outputs: 1))
        try check(try model(config), input: input(channels: 2), mask: randomMask(seed: 8), loss: weightedSum(seed: 8))
    }

    func testLossesThroughTheModel() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3], output: .sequence,
                                 head: head(outputs: 3))
        let m = try model(config)
        let x = input(channels: 2)
        let shape = [geometry.batch, geometry.steps, 3, geometry.height, geometry.width]
        let soft = randomTensor(shape, seed: 31, scale: 0.5).floats.map { $0 + 0.5 }
        let target = Tensor(shape: shape, values: soft)
        var labelMask = Tensor(zeros: shape, dtype: .uint8)
        labelMask.withMutableRawBytes { for i in 0..<$0.count { $0[i] = i % 7 == 3 ? 0 : 1 } }
        for loss in [BinaryCrossEntropyLoss(positiveWeight: 2) as any Loss, MeanSquaredErrorLoss(), HuberLoss()] {
            try check(m, input: x) { loss.evaluate(prediction: $0, target: target, mask: labelMask) }
        }
        // Cross-entropy: classes on axis 2 of [B, T, O, H, W], as trainStep hands them over.
        let pixels = geometry.height * geometry.width
        var rng = SeededGenerator(seed: 32)
        let items = geometry.batch * geometry.steps
        let labels = Tensor(shape: [items, pixels],
                            values: (0..<(items * pixels)).map { _ in Float(Int.random(in: 0..<3, using: &rng)) })
        try check(m, input: x) { logits in
            let (l, g) = CrossEntropyLoss(classCount: 3).evaluate(
                prediction: logits.reshaped([self.geometry.batch * self.geometry.steps, 3, pixels]), target: labels,
                mask: nil)
            return (l, g.reshaped(logits.shape))
        }
    }

    /// [B, T, H, W] uint8 with about a third of the pixels masked.
    func randomMask(seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        var mask = Tensor(zeros: [geometry.batch, geometry.steps, geometry.height, geometry.width], dtype: .uint8)
        mask.withMutableRawBytes { for i in 0..<$0.count { $0[i] = rng.uniform() < 0.35 ? 0 : 1 } }
        return mask
    }
}
