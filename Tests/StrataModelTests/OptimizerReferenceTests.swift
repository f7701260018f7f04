import Foundation
import XCTest
@testable import StrataModel
import StrataCore

/// Strata's optimizers against trajectories computed in float64 by scripts/reference/optimizers_reference.py from
/// PyTorch's documented update rules (Fixtures/optimizers.json).
///
/// Tolerance 2e-6·max(1, |expected|): Swift runs in float32 (unit roundoff 6e-8) with a handful of operations per
/// step over 3 steps, and inputs are exactly representable in float32, so a correct implementation differs from the
/// float64 reference by a few 1e-7; a wrong rule (no bias correction, coupled instead of decoupled decay, dampening
/// on the first step) moves parameters by ≥ 1e-4 here.
final class OptimizerReferenceTests: XCTestCase {
    struct Fixture {
        let shapes: [String: [Int]]
        let initial: [String: [Float]]
        let gradients: [[String: [Float]]]
        let cases: [[String: Any]]
    }

    static func loadFixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "optimizers", withExtension: "json", subdirectory: "Fixtures"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func floats(_ any: Any?) throws -> [String: [Float]] {
            let dictionary = try XCTUnwrap(any as? [String: [Double]])
            return dictionary.mapValues { $0.map(Float.init) }
        }
        return Fixture(
            shapes: try XCTUnwrap(root["shapes"] as? [String: [Int]]),
            initial: try floats(root["initial"]),
            gradients: try XCTUnwrap(root["gradients"] as? [Any]).map(floats),
            cases: try XCTUnwrap(root["cases"] as? [[String: Any]]))
    }

    func makeOptimizer(_ kind: String, _ h: [String: Any], _ parameters: [Parameter]) throws -> any Optimizer {
        let lr = try XCTUnwrap(h["lr"] as? Double), wd = h["weight_decay"] as? Double
        let betas = (h["betas"] as? [Double]) ?? [0.9, 0.999], eps = (h["eps"] as? Double) ?? 1e-8
        switch kind {
        case "sgd":
            return SGD(parameters: parameters, learningRate: lr, momentum: (h["momentum"] as? Double) ?? 0,
                       dampening: (h["dampening"] as? Double) ?? 0, nesterov: (h["nesterov"] as? Bool) ?? false,
                       weightDecay: wd ?? 0)
        case "adam":
            return Adam(parameters: parameters, learningRate: lr, beta1: betas[0], beta2: betas[1], epsilon: eps,
                        weightDecay: wd ?? 0)
        case "adamw":
            return AdamW(parameters: parameters, learningRate: lr, beta1: betas[0], beta2: betas[1], epsilon: eps,
                         weightDecay: wd ?? 0.01)
        default:
            throw XCTSkip("unknown optimizer \(kind) in fixture")
        }
    }

    func assertClose(_ actual: [Float], _ expected: [Double], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, message, file: file, line: line)
        for (a, e) in zip(actual, expected) {
            XCTAssertEqual(Double(a), e, accuracy: 2e-6 * max(1, abs(e)), message, file: file, line: line)
        }
    }

    func testTrajectoriesMatchPyTorchRules() throws {
        let fixture = try Self.loadFixture()
        XCTAssertEqual(fixture.cases.count, 7)
        for (index, testCase) in fixture.cases.enumerated() {
            let kind = try XCTUnwrap(testCase["optimizer"] as? String)
            let label = "case \(index) \(kind) \(testCase["hyperparameters"] ?? "")"
            let names = fixture.shapes.keys.sorted()
            let parameters = names.map {
                Parameter(name: $0, value: Tensor(shape: fixture.shapes[$0]!, values: fixture.initial[$0]!))
            }
            let optimizer = try makeOptimizer(kind, try XCTUnwrap(testCase["hyperparameters"] as? [String: Any]), parameters)
            let trajectory = try XCTUnwrap(testCase["trajectory"] as? [[String: [Double]]])
            for (step, expected) in trajectory.enumerated() {
                for p in parameters { p.gradient = Tensor(shape: p.shape, values: fixture.gradients[step][p.name]!) }
                optimizer.step()
                for p in parameters { assertClose(p.value.floats, expected[p.name]!, "\(label) step \(step + 1) \(p.name)") }
            }
            XCTAssertEqual(optimizer.stepCount, trajectory.count)
            let finalState = try XCTUnwrap(testCase["final_state"] as? [String: [Double]])
            let state = optimizer.state()
            XCTAssertEqual(Set(state.tensors.keys), Set(finalState.keys), label)
            for (key, expected) in finalState { assertClose(state.tensors[key]?.floats ?? [], expected, "\(label) \(key)") }
            XCTAssertEqual(state.scalars["optimizer.step"], Double(trajectory.count))
        }
    }
}
