import XCTest
@testable import StrataModel
import StrataCore

final class LossMaskingTests: XCTestCase {
    let masked: Set<Int> = [1, 2, 7]

    func testMaskedElementsHaveExactlyZeroGradient() {
        for c in LossCase.all(seed: 10) {
            let g = c.loss.evaluate(prediction: c.prediction, target: c.target, mask: c.mask(off: masked)).gradient.floats
            for m in masked {
                for i in c.predictionIndices(m) { XCTAssertEqual(g[i], 0, "\(c.name): masked element \(i)") }
            }
            // And the unmasked ones are not all zero, so the check above is not vacuous.
            XCTAssertTrue(g.contains { $0 != 0 }, c.name)
        }
    }

    func testChangingMaskedTargetOrPredictionChangesNothing() {
        for c in LossCase.all(seed: 11) {
            let mask = c.mask(off: masked)
            let reference = c.loss.evaluate(prediction: c.prediction, target: c.target, mask: mask)
            var target = c.target, prediction = c.prediction
            let targetCount = target.count, maskCount = c.maskCount
            for m in masked {
                // Element-wise targets line up with mask entries; cross-entropy targets are per pixel too.
                XCTAssertEqual(targetCount, maskCount)
                target[floats: m] = .nan
                for i in c.predictionIndices(m) { prediction[floats: i] = .nan }
            }
            let changed = c.loss.evaluate(prediction: prediction, target: target, mask: mask)
            XCTAssertEqual(changed.loss, reference.loss, c.name)
            XCTAssertEqual(changed.gradient.floats, reference.gradient.floats, c.name)
        }
    }

    func testMeanDividesByValidCount() {
        // The masked loss equals the loss of the valid elements alone, so the denominator is the valid count.
        for c in LossCase.all(seed: 12) where !(c.loss is CrossEntropyLoss) && !(c.loss is DiceLoss && c.name.contains("per sample")) {
            let keep = (0..<c.maskCount).filter { !masked.contains($0) }
            let x = c.prediction.floats, y = c.target.floats
            let compactX = Tensor(shape: [keep.count], values: keep.map { x[$0] })
            let compactY = Tensor(shape: [keep.count], values: keep.map { y[$0] })
            let full = c.loss.evaluate(prediction: c.prediction, target: c.target, mask: c.mask(off: masked)).loss
            let compact = c.loss.evaluate(prediction: compactX, target: compactY, mask: nil).loss
            XCTAssertEqual(full, compact, accuracy: 1e-12 * max(1, abs(compact)), c.name)
        }
    }

    func testCrossEntropyMeanIsOverValidPixels() {
        // Cross-entropy with two pixels masked equals the average of each valid pixel evaluated alone.
        let c = LossCase.all(seed: 13).first { $0.loss is CrossEntropyLoss }!
        let k = 4, pixels = 5, x = c.prediction.floats, y = c.target.floats
        var sum = 0.0, valid = 0
        for m in 0..<c.maskCount where !masked.contains(m) {
            let item = m / pixels, p = m % pixels
            let single = Tensor(shape: [1, k, 1], values: (0..<k).map { x[item * k * pixels + $0 * pixels + p] })
            sum += c.loss.evaluate(prediction: single, target: Tensor(shape: [1, 1], values: [y[m]]), mask: nil).loss
            valid += 1
        }
        let full = c.loss.evaluate(prediction: c.prediction, target: c.target, mask: c.mask(off: masked)).loss
        XCTAssertEqual(full, sum / Double(valid), accuracy: 1e-12)
    }

    func testPerSampleDiceSkipsSamplesWithoutValidElements() {
        // Sample 0 fully masked: the per-sample Dice is that of sample 1 alone.
        let c = LossCase.all(seed: 14).first { $0.name == "dice per sample" }!
        let both = c.loss.evaluate(prediction: c.prediction, target: c.target, mask: c.mask(off: Set(0..<12)))
        let x = Array(c.prediction.floats[12...]), y = Array(c.target.floats[12...])
        let alone = c.loss.evaluate(prediction: Tensor(shape: [1, 12], values: x), target: Tensor(shape: [1, 12], values: y), mask: nil)
        XCTAssertEqual(both.loss, alone.loss, accuracy: 1e-12)
        XCTAssertEqual(Array(both.gradient.floats[12...]), alone.gradient.floats)
    }

    func testNoValidElementGivesZeroLossAndGradient() {
        for c in LossCase.all(seed: 15) {
            let (loss, gradient) = c.loss.evaluate(prediction: c.prediction, target: c.target, mask: c.mask(off: Set(0..<c.maskCount)))
            XCTAssertEqual(loss, 0, c.name)
            XCTAssertEqual(gradient.shape, c.prediction.shape, c.name)
            XCTAssertTrue(gradient.floats.allSatisfy { $0 == 0 }, c.name)
        }
    }

    func testUInt8TargetsEqualFloatTargets() {
        let x = Tensor(shape: [4], values: [-1, 0.5, 2, -3])
        var labels = Tensor(zeros: [4], dtype: .uint8)
        labels.withMutableRawBytes { $0[1] = 1; $0[2] = 1 }
        let asFloat = Tensor(shape: [4], values: [0, 1, 1, 0])
        let loss = BinaryCrossEntropyLoss(positiveWeight: 2)
        XCTAssertEqual(loss.evaluate(prediction: x, target: labels, mask: nil).loss,
                       loss.evaluate(prediction: x, target: asFloat, mask: nil).loss)
    }
}
