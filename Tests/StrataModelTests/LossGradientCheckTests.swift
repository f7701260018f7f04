import XCTest
@testable import StrataModel
import StrataCore

/// One loss with inputs of a suitable shape, shared by the gradient, masking and stability tests.
struct LossCase {
    let name: String
    let loss: any Loss
    var prediction: Tensor
    var target: Tensor
    /// Number of mask entries (prediction elements, or pixels for cross-entropy).
    let maskCount: Int
    /// The prediction elements that a mask entry switches off.
    let predictionIndices: (Int) -> [Int]

    /// Every loss of the module on small random inputs drawn from `seed`, away from kinks (MAE at 0, Huber at δ) so
    /// finite differences are meaningful.
    static func all(seed: UInt64) -> [LossCase] {
        var rng = SeededGenerator(seed: seed)
        let shape = [2, 1, 3, 4], n = 24
        func logits(_ scale: Double) -> Tensor { Tensor(shape: shape, values: (0..<n).map { _ in Float(rng.uniform(-scale, scale)) }) }
        func labels() -> Tensor { Tensor(shape: shape, values: (0..<n).map { _ in rng.uniform() < 0.4 ? 1 : 0 }) }
        func soft() -> Tensor { Tensor(shape: shape, values: (0..<n).map { _ in Float(rng.uniform()) }) }
        /// Target and a prediction at distance |d| in [low, high] (random sign) from it, |d| not within 0.05 of `avoid`.
        func regression(low: Double, high: Double, avoid: Double = -1) -> (Tensor, Tensor) {
            var x = [Float](), y = [Float]()
            for _ in 0..<n {
                var d = 0.0
                repeat { d = rng.uniform(low, high) } while abs(d - avoid) < 0.05
                let t = Float(rng.uniform(-1, 1))
                y.append(t)
                x.append(t + Float(rng.uniform() < 0.5 ? -d : d))
            }
            return (Tensor(shape: shape, values: x), Tensor(shape: shape, values: y))
        }
        let elementwise: (Int) -> [Int] = { [$0] }
        var cases = [
            LossCase(name: "BCE", loss: BinaryCrossEntropyLoss(), prediction: logits(4), target: labels(),
                     maskCount: n, predictionIndices: elementwise),
            LossCase(name: "BCE posWeight 3 soft targets", loss: BinaryCrossEntropyLoss(positiveWeight: 3),
                     prediction: logits(4), target: soft(), maskCount: n, predictionIndices: elementwise),
            LossCase(name: "focal γ2 α.25", loss: FocalLoss(gamma: 2, alpha: 0.25), prediction: logits(3),
                     target: labels(), maskCount: n, predictionIndices: elementwise),
            LossCase(name: "focal γ0.5 no α soft", loss: FocalLoss(gamma: 0.5, alpha: nil), prediction: logits(3),
                     target: soft(), maskCount: n, predictionIndices: elementwise),
            LossCase(name: "dice global", loss: DiceLoss(smooth: 1), prediction: logits(3), target: labels(),
                     maskCount: n, predictionIndices: elementwise),
            LossCase(name: "dice per sample", loss: DiceLoss(smooth: 0.5, reduction: .perSample), prediction: logits(3),
                     target: labels(), maskCount: n, predictionIndices: elementwise),
        ]
        let (mseX, mseY) = regression(low: 0, high: 2)
        cases.append(LossCase(name: "MSE", loss: MeanSquaredErrorLoss(), prediction: mseX, target: mseY,
                              maskCount: n, predictionIndices: elementwise))
        let (maeX, maeY) = regression(low: 0.01, high: 2)
        cases.append(LossCase(name: "MAE", loss: MeanAbsoluteErrorLoss(), prediction: maeX, target: maeY,
                              maskCount: n, predictionIndices: elementwise))
        let (huberX, huberY) = regression(low: 0.01, high: 2, avoid: 0.7)
        cases.append(LossCase(name: "Huber δ0.7", loss: HuberLoss(delta: 0.7), prediction: huberX, target: huberY,
                              maskCount: n, predictionIndices: elementwise))
        // Cross-entropy: N = 2 items, K = 4 classes, P = 5 pixels.
        let k = 4, pixels = 5
        let ceLogits = Tensor(shape: [2, k, pixels], values: (0..<(2 * k * pixels)).map { _ in Float(rng.uniform(-3, 3)) })
        let ceTargets = Tensor(shape: [2, pixels], values: (0..<(2 * pixels)).map { _ in Float(Int.random(in: 0..<k, using: &rng)) })
        cases.append(LossCase(name: "cross-entropy", loss: CrossEntropyLoss(classCount: k), prediction: ceLogits,
                              target: ceTargets, maskCount: 2 * pixels,
                              predictionIndices: { m in (0..<k).map { c in (m / pixels) * k * pixels + c * pixels + m % pixels } }))
        return cases
    }

    /// A mask with entries `off` set to 0 and all others 1.
    func mask(off: Set<Int>) -> Tensor {
        var mask = Tensor(zeros: [maskCount], dtype: .uint8)
        mask.withMutableRawBytes { m in for i in 0..<maskCount where !off.contains(i) { m[i] = 1 } }
        return mask
    }
}

final class LossGradientCheckTests: XCTestCase {
    /// Central differences on the loss value against the analytic gradient, element by element.
    ///
    /// Step h = 2^-10: the per-element terms are computed in Double from the float32 inputs, so the loss is
    /// accurate to ~1e-16 and rounding in (L(x+h) − L(x−h)) / 2h is ~1e-13; the truncation error h²·L'''/6 is
    /// below 2e-7 for these smooth, O(1)-curvature losses. Gradients are compared after multiplying by the element
    /// count n (a mean's gradient is O(1/n)) with tolerance 1e-5 absolute + 1e-5 relative: float32 rounding of the
    /// stored gradient is 6e-8 relative, so a correct gradient passes with margin and a wrong term (O(1e-2) or more)
    /// cannot.
    func assertGradientMatchesFiniteDifferences(_ c: LossCase, mask: Tensor?, file: StaticString = #filePath, line: UInt = #line) {
        let (_, analytic) = c.loss.evaluate(prediction: c.prediction, target: c.target, mask: mask)
        let g = analytic.floats, x = c.prediction.floats, n = Double(x.count)
        let h: Float = 0x1p-10
        for i in 0..<x.count {
            var plus = c.prediction, minus = c.prediction
            plus[floats: i] = x[i] + h
            minus[floats: i] = x[i] - h
            // The actual steps, since x ± h rounds in float32.
            let width = Double(plus[floats: i]) - Double(minus[floats: i])
            let lossPlus = c.loss.evaluate(prediction: plus, target: c.target, mask: mask).loss
            let lossMinus = c.loss.evaluate(prediction: minus, target: c.target, mask: mask).loss
            let numeric = (lossPlus - lossMinus) / width * n, exact = Double(g[i]) * n
            XCTAssertEqual(exact, numeric, accuracy: 1e-5 + 1e-5 * abs(numeric),
                           "\(c.name): element \(i)", file: file, line: line)
        }
    }

    func testEveryLossGradientMatchesFiniteDifferencesWithoutMask() {
        for c in LossCase.all(seed: 1) { assertGradientMatchesFiniteDifferences(c, mask: nil) }
    }

    func testEveryLossGradientMatchesFiniteDifferencesWithMask() {
        for c in LossCase.all(seed: 2) {
            let mask = c.mask(off: [0, 3, 4, 9])
            assertGradientMatchesFiniteDifferences(c, mask: mask)
        }
    }

    func testFocalLossGradientAtGammaBelowOneNearConfidentPredictions() {
        // γ < 1 puts q^(γ−1) in the gradient; confident logits (|x| up to 12) check the product stays accurate.
        var rng = SeededGenerator(seed: 3)
        let x = Tensor(shape: [16], values: (0..<16).map { _ in Float(rng.uniform(-12, 12)) })
        let y = Tensor(shape: [16], values: x.floats.map { $0 > 0 ? 1 : 0 })
        let c = LossCase(name: "focal γ0.3 confident", loss: FocalLoss(gamma: 0.3, alpha: 0.6), prediction: x, target: y,
                         maskCount: 16, predictionIndices: { [$0] })
        assertGradientMatchesFiniteDifferences(c, mask: nil)
    }
}
