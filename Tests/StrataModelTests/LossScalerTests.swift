import XCTest
@testable import StrataModel
import StrataCore

final class LossScalerTests: XCTestCase {
    func testDefaultsMatchGradScaler() {
        let scaler = DynamicLossScaler()
        XCTAssertEqual(scaler.scale, 65536)
        XCTAssertEqual(scaler.growthInterval, 2000)
        XCTAssertEqual(scaler.growthFactor, 2)
        XCTAssertEqual(scaler.backoffFactor, 0.5)
    }

    func testDoublesAfterExactlyGrowthIntervalGoodSteps() {
        var scaler = DynamicLossScaler()
        for _ in 0..<1999 { scaler.update(foundOverflow: false) }
        XCTAssertEqual(scaler.scale, 65536)
        XCTAssertEqual(scaler.goodSteps, 1999)
        scaler.update(foundOverflow: false)
        XCTAssertEqual(scaler.scale, 131_072)
        XCTAssertEqual(scaler.goodSteps, 0)
    }

    func testOverflowHalvesAndRestartsTheCount() {
        var scaler = DynamicLossScaler(growthInterval: 3)
        scaler.update(foundOverflow: false)
        scaler.update(foundOverflow: false)
        scaler.update(foundOverflow: true)
        XCTAssertEqual(scaler.scale, 32768)
        XCTAssertEqual(scaler.goodSteps, 0)
        scaler.update(foundOverflow: false)
        scaler.update(foundOverflow: false)
        XCTAssertEqual(scaler.scale, 32768)   // only 2 good steps since the overflow
        scaler.update(foundOverflow: false)
        XCTAssertEqual(scaler.scale, 65536)
    }

    func testUnscaleDividesExactlyAndReportsOverflow() {
        let scaler = DynamicLossScaler()
        let p = Parameter(name: "w", value: Tensor(zeros: [3]))
        var seed = Tensor(shape: [3], values: [0.5, -3, 1e-6])
        scaler.scaleGradient(&seed)
        XCTAssertEqual(seed.floats, [32768, -196_608, 1e-6 * 65536])
        p.gradient = seed
        XCTAssertFalse(scaler.unscale([p]))
        XCTAssertEqual(p.gradient.floats, [0.5, -3, 1e-6])   // power-of-two scale: exact round trip
        // The largest and smallest finite floats are not overflows (the check reads the exponent bits).
        p.gradient = Tensor(shape: [3], values: [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude])
        XCTAssertFalse(DynamicLossScaler(initialScale: 1).unscale([p]))
        for bad: Float in [.infinity, -.infinity, .nan, -.nan, .signalingNaN] {
            p.gradient = Tensor(shape: [3], values: [1, bad, 2])
            XCTAssertTrue(scaler.unscale([p]), "\(bad)")
        }
    }

    func testStepSkipsTheOptimizerOnOverflow() {
        var scaler = DynamicLossScaler(initialScale: 1024, growthInterval: 2)
        let p = Parameter(name: "w", value: Tensor(shape: [2], values: [1, 1]))
        let sgd = SGD(parameters: [p], learningRate: 0.5)
        p.gradient = Tensor(shape: [2], values: [.infinity, 1024])
        XCTAssertFalse(scaler.step(sgd))
        XCTAssertEqual(p.value.floats, [1, 1])
        XCTAssertEqual(sgd.stepCount, 0)
        XCTAssertEqual(scaler.scale, 512)
        p.gradient = Tensor(shape: [2], values: [512, -1024])   // unscaled: (1, −2)
        XCTAssertTrue(scaler.step(sgd))
        XCTAssertEqual(p.value.floats, [0.5, 2])
        p.gradient = Tensor(shape: [2], values: [0, 5120])      // unscaled (0, 10), clipped to norm 1: (0, 1)
        XCTAssertTrue(scaler.step(sgd, maxGradientNorm: 1))
        XCTAssertEqual(p.value.floats, [0.5, 1.5])
        XCTAssertEqual(scaler.scale, 1024)                      // two good steps in a row
    }

    func testStateRoundTripAndRejection() throws {
        var scaler = DynamicLossScaler(growthInterval: 10)
        scaler.update(foundOverflow: true)
        for _ in 0..<4 { scaler.update(foundOverflow: false) }
        var resumed = DynamicLossScaler(growthInterval: 10)
        try resumed.restore(scaler.state())
        XCTAssertEqual(resumed, scaler)
        XCTAssertThrowsError(try resumed.restore(["scaler.scale": 2])) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "scaler.growth_tracker", reason: "missing from the scaler state"))
        }
        XCTAssertThrowsError(try resumed.restore(["scaler.scale": -1, "scaler.growth_tracker": 0]))
        XCTAssertThrowsError(try resumed.restore(["scaler.scale": 8, "scaler.growth_tracker": 10]))
        XCTAssertEqual(resumed, scaler)
    }
}
