import XCTest
@testable import StrataModel

final class ScheduleTests: XCTestCase {
    func testConstantWithAndWithoutWarmup() {
        let constant = LearningRateSchedule(baseRate: 0.01)
        XCTAssertEqual([0, 1, 1_000_000].map(constant.learningRate(atStep:)), [0.01, 0.01, 0.01])
        let warm = LearningRateSchedule(baseRate: 0.01, warmupSteps: 4)
        // η·(s + 1)/W for s < W, then η.
        XCTAssertEqual((0..<6).map(warm.learningRate(atStep:)), [0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01])
    }

    func testCosineDecayAtKnownSteps() {
        let s = LearningRateSchedule(baseRate: 1e-3, warmupSteps: 10, decay: .cosine(totalSteps: 110, floor: 1e-5))
        XCTAssertEqual(s.learningRate(atStep: 9), 1e-3)                                  // end of warm-up
        XCTAssertEqual(s.learningRate(atStep: 10), 1e-3, accuracy: 1e-18)                // cos 0
        XCTAssertEqual(s.learningRate(atStep: 60), (1e-3 + 1e-5) / 2, accuracy: 1e-18)   // halfway: cos(π/2) = 0
        XCTAssertEqual(s.learningRate(atStep: 35), 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + cos(Double.pi / 4)), accuracy: 1e-18)
        XCTAssertEqual(s.learningRate(atStep: 110), 1e-5, accuracy: 1e-18)               // cos π
        XCTAssertEqual(s.learningRate(atStep: 5000), 1e-5, accuracy: 1e-18)              // held at the floor
        // Monotone non-increasing after warm-up.
        let rates = (10...110).map(s.learningRate(atStep:))
        XCTAssertTrue(zip(rates, rates.dropFirst()).allSatisfy { $0 >= $1 })
    }

    func testStepDecayAtBoundaries() {
        let s = LearningRateSchedule(baseRate: 0.1, warmupSteps: 2, decay: .step(every: 3, gamma: 0.5))
        XCTAssertEqual((0..<11).map(s.learningRate(atStep:)),
                       [0.05, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025])
    }

    func testScheduleIsAPureFunctionOfTheStep() {
        // Resuming at step 500 must see the rate an uninterrupted run sees; evaluate out of order to prove no state.
        let s = LearningRateSchedule(baseRate: 3e-4, warmupSteps: 100, decay: .cosine(totalSteps: 1000, floor: 0))
        let forward = (0..<1000).map(s.learningRate(atStep:))
        let backward = (0..<1000).reversed().map(s.learningRate(atStep:)).reversed()
        XCTAssertEqual(forward, Array(backward))
    }
}
