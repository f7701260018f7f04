import XCTest
@testable import StrataModel
import StrataCore

final class OptimizerBehaviourTests: XCTestCase {
    /// f(θ) = Σ a_i·(θ_i − c_i)², a ∈ [0.5, 5]; ∇f = 2a(θ − c). Sets the gradient and returns f.
    struct Quadratic {
        let curvature: [Float], centre: [Float]
        init(count: Int, rng: inout SeededGenerator) {
            curvature = (0..<count).map { _ in Float(rng.uniform(0.5, 5)) }
            centre = (0..<count).map { _ in Float(rng.uniform(-2, 2)) }
        }
        @discardableResult
        func setGradient(_ p: Parameter) -> Double {
            let theta = p.value.floats
            p.gradient = Tensor(shape: p.shape, values: theta.indices.map { 2 * curvature[$0] * (theta[$0] - centre[$0]) })
            return theta.indices.reduce(0.0) { $0 + Double(curvature[$1]) * pow(Double(theta[$1] - centre[$1]), 2) }
        }
    }

    func testAdamConvergesOnQuadratic() {
        var rng = SeededGenerator(seed: 5)
        let f = Quadratic(count: 32, rng: &rng)
        let p = Parameter(name: "w", value: Tensor(zeros: [32]))
        let adam = Adam(parameters: [p], learningRate: 0.05)
        let schedule = LearningRateSchedule(baseRate: 0.05, warmupSteps: 20, decay: .cosine(totalSteps: 1500, floor: 0))
        let start = f.setGradient(p)
        for step in 0..<1500 {
            f.setGradient(p)
            adam.learningRate = schedule.learningRate(atStep: step)
            adam.step()
        }
        let end = f.setGradient(p)
        XCTAssertGreaterThan(start, 10)
        XCTAssertLessThan(end, 1e-6)
        for (theta, c) in zip(p.value.floats, f.centre) { XCTAssertEqual(theta, c, accuracy: 1e-3) }
    }

    func testClippingScalesToMaxNormExactly() {
        // Global norm of (3, 4) and (12) is 13.
        let a = Parameter(name: "a", value: Tensor(zeros: [2])), b = Parameter(name: "b", value: Tensor(zeros: [1]))
        a.gradient = Tensor(shape: [2], values: [3, 4])
        b.gradient = Tensor(shape: [1], values: [12])
        XCTAssertEqual(GradientClipping.clipGlobalNorm(of: [a, b], maxNorm: 6.5), 13)
        XCTAssertEqual(a.gradient.floats, [1.5, 2])
        XCTAssertEqual(b.gradient.floats, [6])
        // A norm that is not a power-of-two multiple: after clipping the norm is maxNorm to float32 rounding.
        var rng = SeededGenerator(seed: 6)
        let c = Parameter(name: "c", value: Tensor(zeros: [100]))
        c.gradient = Tensor(shape: [100], values: (0..<100).map { _ in Float(rng.normal()) })
        let before = GradientClipping.clipGlobalNorm(of: [a, b, c], maxNorm: 0.3)
        XCTAssertGreaterThan(before, 0.3)
        XCTAssertEqual(GradientClipping.globalNorm(of: [a, b, c]), 0.3, accuracy: 0.3 * 1e-6)
    }

    func testClippingLeavesSmallOrNonFiniteGradientsUntouched() {
        let a = Parameter(name: "a", value: Tensor(zeros: [2]))
        a.gradient = Tensor(shape: [2], values: [0.3, 0.4])
        XCTAssertEqual(GradientClipping.clipGlobalNorm(of: [a], maxNorm: 1), 0.5, accuracy: 1e-7)
        XCTAssertEqual(a.gradient.floats, [0.3, 0.4])
        a.gradient = Tensor(shape: [2], values: [.infinity, 1])
        XCTAssertEqual(GradientClipping.clipGlobalNorm(of: [a], maxNorm: 1), .infinity)
        XCTAssertEqual(a.gradient.floats, [.infinity, 1])
    }

    /// Two parameters with PyTorch-style names and random starting values from `seed`.
    func makeParameters(seed: UInt64) -> [Parameter] {
        var rng = SeededGenerator(seed: seed)
        return [("layers.0.cell.weight", [4, 3, 3, 3]), ("layers.0.cell.bias", [4])].map { name, shape in
            Parameter(name: name, value: Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.normal()) }))
        }
    }

    /// A gradient that depends on the parameter and the step (so trajectories differ if either is off).
    func setGradients(_ parameters: [Parameter], step: Int) {
        for p in parameters {
            let theta = p.value.floats
            p.gradient = Tensor(shape: p.shape, values: theta.indices.map { i in
                theta[i] * 0.5 + Float(sin(Double(i + 7 * step))) * 0.1
            })
        }
    }

    func bytes(_ parameters: [Parameter]) -> [[UInt8]] { parameters.map { $0.value.withRawBytes { Array($0) } } }

    func makeOptimizers(_ parameters: [Parameter]) -> [any Optimizer] {
        [SGD(parameters: parameters, learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3),
         Adam(parameters: parameters, learningRate: 0.01, weightDecay: 1e-2),
         AdamW(parameters: parameters, learningRate: 0.01, weightDecay: 0.1)]
    }

    func testResumeFromStateGivesBitIdenticalNextSteps() throws {
        for kind in 0..<3 {
            let original = makeParameters(seed: 7)
            let optimizer = makeOptimizers(original)[kind]
            for step in 0..<4 { setGradients(original, step: step); optimizer.step() }
            // "Checkpoint": parameter values and optimizer state; resume into fresh objects.
            let saved = optimizer.state()
            let resumed = makeParameters(seed: 99)
            for (r, o) in zip(resumed, original) { try r.load(o.value) }
            let restored = makeOptimizers(resumed)[kind]
            try restored.restore(saved)
            XCTAssertEqual(restored.stepCount, 4)
            for step in 4..<7 {
                setGradients(original, step: step); optimizer.step()
                setGradients(resumed, step: step); restored.step()
            }
            XCTAssertEqual(bytes(resumed), bytes(original), "optimizer \(kind)")
        }
    }

    func testStateKeysFollowPyTorchNames() {
        let parameters = makeParameters(seed: 8)
        let adam = Adam(parameters: parameters)
        XCTAssertEqual(Set(adam.state().tensors.keys), [
            "optimizer.layers.0.cell.weight.exp_avg", "optimizer.layers.0.cell.weight.exp_avg_sq",
            "optimizer.layers.0.cell.bias.exp_avg", "optimizer.layers.0.cell.bias.exp_avg_sq",
        ])
        let sgd = SGD(parameters: parameters, learningRate: 0.1, momentum: 0.9)
        XCTAssertEqual(Set(sgd.state().tensors.keys),
                       ["optimizer.layers.0.cell.weight.momentum_buffer", "optimizer.layers.0.cell.bias.momentum_buffer"])
        XCTAssertTrue(SGD(parameters: parameters, learningRate: 0.1).state().tensors.isEmpty)
        XCTAssertEqual(adam.state().scalars, ["optimizer.step": 0])
    }

    func testRestoreRejectsMissingOrMisshapenStateAndStaysUnchanged() {
        let parameters = makeParameters(seed: 9)
        let adam = Adam(parameters: parameters)
        setGradients(parameters, step: 0)
        adam.step()
        var state = adam.state()
        state.tensors["optimizer.layers.0.cell.bias.exp_avg"] = nil
        XCTAssertThrowsError(try adam.restore(state)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "optimizer.layers.0.cell.bias.exp_avg",
                                                                 reason: "missing from the optimizer state"))
        }
        state = adam.state()
        state.tensors["optimizer.layers.0.cell.bias.exp_avg_sq"] = Tensor(zeros: [5])
        XCTAssertThrowsError(try adam.restore(state)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "optimizer.layers.0.cell.bias.exp_avg_sq",
                                                                 reason: "float32 [5], expected float32 [4]"))
        }
        state = adam.state()
        state.scalars["optimizer.step"] = 2.5
        XCTAssertThrowsError(try adam.restore(state))
        XCTAssertEqual(adam.stepCount, 1)
        XCTAssertThrowsError(try parameters[1].load(Tensor(zeros: [3])))
    }

    func testSameSeedGivesIdenticalParameterBytes() {
        func run(seed: UInt64) -> [[UInt8]] {
            let parameters = makeParameters(seed: seed)
            let adamw = AdamW(parameters: parameters, learningRate: 0.01)
            for step in 0..<20 {
                setGradients(parameters, step: step)
                GradientClipping.clipGlobalNorm(of: parameters, maxNorm: 1)
                adamw.step()
            }
            return bytes(parameters)
        }
        XCTAssertEqual(run(seed: 11), run(seed: 11))
        XCTAssertNotEqual(run(seed: 11), run(seed: 12))
    }

    func testZeroGradClearsEveryGradient() {
        let parameters = makeParameters(seed: 10)
        setGradients(parameters, step: 1)
        let sgd = SGD(parameters: parameters, learningRate: 0.1)
        sgd.zeroGrad()
        for p in parameters { XCTAssertTrue(p.gradient.floats.allSatisfy { $0 == 0 }) }
    }
}
