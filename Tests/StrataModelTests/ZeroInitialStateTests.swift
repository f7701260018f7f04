import XCTest
import StrataCore
@testable import StrataModel

/// Without an initial state the layers skip step 0's recurrent convolution and its share of the recurrent weight
/// gradient (h_{-1} = 0 contributes nothing). The skipping path must give what the full path gives for an explicit
/// all-zero initial state: the same forward bits (z + 0 is z) and the same gradients up to fp32 summation order.
final class ZeroInitialStateTests: XCTestCase {
    func config(_ cell: ModelConfig.Cell) -> ModelConfig {
        ModelConfig(cell: cell, inputChannels: 2, hidden: [4, 3], kernel: [3, 3], output: .sequence,
                    head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
    }

    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform(-1, 1)) })
    }

    /// Forward logits and h_0 / c_0 gradients bit-identical; every parameter gradient within 1e-5 of the largest
    /// element (the recurrent weight gradient sums one image fewer per batch item, so chunk sums round differently).
    func testSkippedFirstStepMatchesExplicitZeroState() throws {
        let (batch, steps, size) = (2, 5, 6)
        for cell in [ModelConfig.Cell.convLSTM, .convGRU, .convRNN] {
            let model = try RecurrentModel(config: config(cell), seed: 21)
            let x = random([batch, steps, 2, size, size], seed: 3)
            let dLogits = random([batch, steps, 1, size, size], seed: 4)
            let zero = RecurrentState(layers: [4, 3].map { ch in
                let t = Tensor(zeros: [batch, ch, size, size])
                return [RecurrentState.LayerState(hidden: t, cell: cell == .convLSTM ? t : nil)]
            })
            var runs: [(logits: [Float], grads: [[Float]], dh0: [[Float]])] = []
            for state in [nil, zero] {
                model.parameters.forEach { $0.zeroGrad() }
                let logits = try model.forward(x, initialState: state).logits.floats
                let g = try model.backward(outputGradient: dLogits)
                runs.append((logits, model.parameters.map { $0.gradient.floats },
                             g.initialState.layers.map { $0[0].hidden.floats }))
            }
            XCTAssertEqual(runs[0].logits, runs[1].logits, "\(cell): logits")
            XCTAssertEqual(runs[0].dh0, runs[1].dh0, "\(cell): ∂L/∂h_0")
            for (i, (a, b)) in zip(runs[0].grads, runs[1].grads).enumerated() {
                let scale = max(b.map { abs($0) }.max() ?? 0, 1e-6)
                XCTAssertGreaterThan(scale, 1e-6, "\(cell) parameter \(i): gradient is all zeros")
                for j in a.indices {
                    XCTAssertEqual(a[j], b[j], accuracy: 1e-5 * scale, "\(cell) parameter \(i)[\(j)]")
                }
            }
        }
    }
}
