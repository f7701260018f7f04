import XCTest
import StrataCore
@testable import StrataModel

/// The 1×1 head's per-step feature gradient (what the backward time loop adds into ∂L/∂h_t, so no `[T, B, C, HW]`
/// gradient buffer is kept) against its whole-sequence backward, and both against a float64 product.
final class HeadStepGradientTests: XCTestCase {
    func testPerStepFeatureGradientEqualsTheSequenceGradient() {
        let (steps, batch, channels, outputs, height, width) = (3, 2, 5, 2, 4, 3)
        let hw = height * width, perStep = batch * channels * hw
        var rng = SeededGenerator(seed: 5)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &rng) } }
        let weight = Parameter(name: "head.weight", value: Tensor(shape: [outputs, channels, 1, 1],
                                                                  values: values(outputs * channels)))
        let bias = Parameter(name: "head.bias", value: Tensor(shape: [outputs], values: values(outputs)))
        let features = values(steps * perStep), dLogits = values(steps * batch * outputs * hw)
        let start = values(perStep)   // what dh already holds when the step's gradient arrives

        func run(stepwise: Bool) -> (dh: [[Float]], dw: [Float], db: [Float]) {
            weight.gradient = Tensor(zeros: weight.shape)
            bias.gradient = Tensor(zeros: bias.shape)
            let head = ConvHead(weight: weight, bias: bias)
            var dh: [[Float]] = []
            features.withUnsafeBufferPointer { f in
                dLogits.withUnsafeBufferPointer { g in
                    _ = head.forward(features: f.baseAddress!, images: steps * batch, height: height, width: width,
                                     validity: nil)
                    if stepwise {
                        head.backwardWeights(outputGradient: g.baseAddress!, imagesPerStep: batch)
                        for t in 0..<steps {
                            var d = start
                            d.withUnsafeMutableBufferPointer {
                                head.addFeatureGradient(outputGradient: g.baseAddress!, step: t, into: $0.baseAddress!)
                            }
                            dh.append(d)
                        }
                    } else {
                        let all = head.backward(outputGradient: g.baseAddress!)
                        for t in 0..<steps {
                            var d = start
                            for j in 0..<perStep { d[j] += all[t * perStep + j] }
                            dh.append(d)
                        }
                    }
                }
            }
            return (dh, weight.gradient.floats, bias.gradient.floats)
        }
        let sequence = run(stepwise: false), stepwise = run(stepwise: true)
        // Same GEMM, and beta = 1 adds the product to dh exactly as the separate addition did: bit for bit.
        XCTAssertEqual(stepwise.dh.flatMap { $0 }.map(\.bitPattern), sequence.dh.flatMap { $0 }.map(\.bitPattern))
        XCTAssertEqual(stepwise.dw, sequence.dw)
        XCTAssertEqual(stepwise.db, sequence.db)
        // And the values are Wᵀ·dLogits + start (float64, 1e-6: a sum of 2 fp32 products of values in [-1, 1]).
        let w = weight.value.floats
        for t in 0..<steps {
            for b in 0..<batch {
                for c in 0..<channels {
                    for q in 0..<hw {
                        var expected = Double(start[(b * channels + c) * hw + q])
                        for o in 0..<outputs {
                            expected += Double(w[o * channels + c])
                                * Double(dLogits[((t * batch + b) * outputs + o) * hw + q])
                        }
                        XCTAssertEqual(Double(stepwise.dh[t][(b * channels + c) * hw + q]), expected, accuracy: 1e-6)
                    }
                }
            }
        }
    }
}
