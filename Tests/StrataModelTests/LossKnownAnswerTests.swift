import XCTest
@testable import StrataModel
import StrataCore

final class LossKnownAnswerTests: XCTestCase {
    func testBinaryCrossEntropyOfZeroLogitIsLn2() {
        let (loss, g) = BinaryCrossEntropyLoss().evaluate(
            prediction: Tensor(shape: [2], values: [0, 0]), target: Tensor(shape: [2], values: [1, 0]), mask: nil)
        XCTAssertEqual(loss, log(2), accuracy: 1e-15)
        XCTAssertEqual(g.floats, [-0.25, 0.25])   // (σ(0) − 1)/2 and σ(0)/2
    }

    func testPositiveWeightScalesOnlyThePositiveTerm() {
        let x = Tensor(shape: [1], values: [0.7])
        let one = Tensor(shape: [1], values: [1]), zero = Tensor(shape: [1], values: [0])
        let plain = BinaryCrossEntropyLoss(), weighted = BinaryCrossEntropyLoss(positiveWeight: 2)
        let positive = plain.evaluate(prediction: x, target: one, mask: nil)
        let positiveWeighted = weighted.evaluate(prediction: x, target: one, mask: nil)
        XCTAssertEqual(positiveWeighted.loss, 2 * positive.loss, accuracy: 1e-15)
        XCTAssertEqual(positiveWeighted.gradient[floats: 0], 2 * positive.gradient[floats: 0])
        XCTAssertEqual(weighted.evaluate(prediction: x, target: zero, mask: nil).loss,
                       plain.evaluate(prediction: x, target: zero, mask: nil).loss)
        XCTAssertEqual(positive.loss, log(1 + exp(-0.7)), accuracy: 1e-7)   // input 0.7 is float32-rounded
    }

    func testFocalLossKnownValueAndReductionToCrossEntropy() {
        // x = 0, y = 1, γ = 2, α = 0.25: p_t = ½, so ℓ = 0.25 · ½² · ln 2.
        let focal = FocalLoss(gamma: 2, alpha: 0.25)
        let value = focal.evaluate(prediction: Tensor(shape: [1], values: [0]), target: Tensor(shape: [1], values: [1]), mask: nil)
        XCTAssertEqual(value.loss, 0.25 * 0.25 * log(2), accuracy: 1e-15)
        // γ = 0 and no α is exactly binary cross-entropy.
        let x = Tensor(shape: [5], values: [-4, -0.5, 0, 1.5, 6]), y = Tensor(shape: [5], values: [1, 0, 1, 0.3, 1])
        let plain = FocalLoss(gamma: 0, alpha: nil).evaluate(prediction: x, target: y, mask: nil)
        let bce = BinaryCrossEntropyLoss().evaluate(prediction: x, target: y, mask: nil)
        XCTAssertEqual(plain.loss, bce.loss, accuracy: 1e-15)
        XCTAssertEqual(plain.gradient.floats, bce.gradient.floats)
    }

    func testDiceKnownValues() {
        // p = σ(0) = ½ everywhere, t = [1, 0, 1, 0], ε = 1: I = 1, S = 4, D = 3/5, ℓ = 0.4.
        let dice = DiceLoss(smooth: 1)
        let half = dice.evaluate(prediction: Tensor(shape: [4], values: [0, 0, 0, 0]),
                                 target: Tensor(shape: [4], values: [1, 0, 1, 0]), mask: nil)
        XCTAssertEqual(half.loss, 0.4, accuracy: 1e-15)
        // Perfect confident prediction: p = 1 on the object, 0 elsewhere, so D = 1.
        let perfect = dice.evaluate(prediction: Tensor(shape: [4], values: [1000, -1000, 1000, -1000]),
                                    target: Tensor(shape: [4], values: [1, 0, 1, 0]), mask: nil)
        XCTAssertEqual(perfect.loss, 0, accuracy: 1e-15)
    }

    func testCrossEntropyOfUniformLogitsIsLnK() {
        // N = 1, K = 4, P = 2, all logits 0: ℓ = ln 4 per pixel, gradient (¼ − [k = c]) / 2.
        let (loss, g) = CrossEntropyLoss(classCount: 4).evaluate(
            prediction: Tensor(zeros: [1, 4, 2]), target: Tensor(shape: [1, 2], values: [2, 0]), mask: nil)
        XCTAssertEqual(loss, log(4), accuracy: 1e-15)
        // Layout [N, K, P]: element (k, p) at k·2 + p.
        XCTAssertEqual(g.floats, [0.125, -0.375, 0.125, 0.125, -0.375, 0.125, 0.125, 0.125])
    }

    func testRegressionLossKnownValues() {
        let x = Tensor(shape: [3], values: [1, 3, -1]), y = Tensor(shape: [3], values: [1, 1, -0.5])
        // d = [0, 2, −0.5]
        let mse = MeanSquaredErrorLoss().evaluate(prediction: x, target: y, mask: nil)
        XCTAssertEqual(mse.loss, (0 + 4 + 0.25) / 3, accuracy: 1e-15)
        XCTAssertEqual(mse.gradient.floats, [0, Float(4.0 / 3), Float(-1.0 / 3)])
        let mae = MeanAbsoluteErrorLoss().evaluate(prediction: x, target: y, mask: nil)
        XCTAssertEqual(mae.loss, 2.5 / 3, accuracy: 1e-15)
        XCTAssertEqual(mae.gradient.floats, [0, Float(1.0 / 3), Float(-1.0 / 3)])   // subgradient 0 at d = 0
        let huber = HuberLoss(delta: 1).evaluate(prediction: x, target: y, mask: nil)
        XCTAssertEqual(huber.loss, (0 + 1.5 + 0.125) / 3, accuracy: 1e-15)          // 1·(2 − ½) and ½·0.25
        XCTAssertEqual(huber.gradient.floats, [0, Float(1.0 / 3), Float(-0.5 / 3)])
    }

    func testHugeLogitsGiveFiniteExactLossAndGradient() {
        let x = Tensor(shape: [4], values: [1000, -1000, 1000, -1000]), y = Tensor(shape: [4], values: [0, 1, 1, 0])
        // Two confidently wrong elements (ℓ = 1000 each) and two confidently right ones (ℓ = 0).
        let bce = BinaryCrossEntropyLoss().evaluate(prediction: x, target: y, mask: nil)
        XCTAssertEqual(bce.loss, 500)
        XCTAssertEqual(bce.gradient.floats, [0.25, -0.25, 0, 0])
        for loss in [FocalLoss(gamma: 2, alpha: 0.25), FocalLoss(gamma: 0.5, alpha: nil)] as [any Loss]
            + [DiceLoss(), DiceLoss(reduction: .perSample), BinaryCrossEntropyLoss(positiveWeight: 5)] {
            let (value, g) = loss.evaluate(prediction: x.reshaped([2, 2]), target: y.reshaped([2, 2]), mask: nil)
            XCTAssertTrue(value.isFinite && g.floats.allSatisfy(\.isFinite), "\(loss)")
        }
        let ce = CrossEntropyLoss(classCount: 3).evaluate(
            prediction: Tensor(shape: [1, 3, 2], values: [1000, -1000, -1000, 1000, 0, 0]),
            target: Tensor(shape: [1, 2], values: [1, 1]), mask: nil)
        // Pixel 0 logits (1000, −1000, 0) with class 1: ℓ = 2000; pixel 1 (−1000, 1000, 0) class 1: ℓ = 0.
        XCTAssertEqual(ce.loss, 1000)
        XCTAssertEqual(ce.gradient.floats, [0.5, 0, -0.5, 0, 0, 0])
    }
}
