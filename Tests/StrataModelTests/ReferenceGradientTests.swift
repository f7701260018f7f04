import Foundation
import XCTest
import StrataCore
import StrataIO

/// Checks a sample of every stored gradient (`grad.<name>`) against central finite differences of the loss
/// computed by the naive float64 reference, so the fixtures' gradients are known to be d(loss)/d(name) for the
/// documented loss before any backward pass is written against them.
///
/// Tolerance: central differences with step 1e-5 in float64 have truncation error ~1e-10 and rounding error
/// ~1e-16·|loss|/1e-5 ≈ 1e-9 for these losses (|loss| < 100); 1e-6·max(1, |g|) is well above both and far below
/// what a wrong gradient would show.
final class ReferenceGradientTests: XCTestCase {
    let step = 1e-5
    let samplesPerTensor = 6

    /// Compares `grad.<name>` at a few seeded flat indices (always including the first and last) with
    /// (loss(x + step) − loss(x − step)) / (2·step).
    func checkGradients(_ f: Fixture, names: [String], loss: ([String: [Double]]) -> Double) throws {
        var inputs: [String: [Double]] = [:]
        for name in f.file.names where !name.hasPrefix("grad.") { inputs[name] = try f.values(name) }
        var rng = SeededGenerator(seed: UInt64(f.config.seed))
        for name in names {
            let gradient = try f.values("grad.\(name)")
            let count = inputs[name]!.count
            XCTAssertEqual(gradient.count, count, name)
            let indices = [0, count - 1] + (0..<(samplesPerTensor - 2)).map { _ in Int.random(in: 0..<count, using: &rng) }
            for index in indices {
                var plus = inputs, minus = inputs
                plus[name]![index] += step
                minus[name]![index] -= step
                let numeric = (loss(plus) - loss(minus)) / (2 * step)
                XCTAssertEqual(gradient[index], numeric, accuracy: 1e-6 * max(1, abs(numeric)),
                               "\(f.name): grad.\(name)[\(index)]")
            }
        }
    }

    func checkSingleConvLSTM(_ name: String) throws {
        let f = try Fixture(name)
        let shape = f.config.layerShape()
        let peepholes = f.config.peepholes == true
        var names = ["cell.weight", "cell.bias", "input", "h0", "c0"]
        if peepholes { names += ["cell.w_ci", "cell.w_cf", "cell.w_co"] }
        try checkGradients(f, names: names) { v in
            let p = peepholes ? Peepholes(inputGate: v["cell.w_ci"]!, forgetGate: v["cell.w_cf"]!,
                                          outputGate: v["cell.w_co"]!) : nil
            let hidden = convLSTMLayer(x: v["input"]!, h0: v["h0"]!, c0: v["c0"]!, weight: v["cell.weight"]!,
                                       bias: v["cell.bias"]!, peepholes: p, shape: shape).hidden
            return dot(hidden, v["upstream"]!)
        }
    }

    func testConvLSTMKernel3Gradients() throws { try checkSingleConvLSTM("convlstm_k3") }
    func testConvLSTMPeepholeGradients() throws { try checkSingleConvLSTM("convlstm_peephole_k5") }
    func testConvLSTMKernel1Gradients() throws { try checkSingleConvLSTM("convlstm_k1") }

    func testStackWithHeadGradients() throws {
        let f = try Fixture("convlstm_stack_head")
        let shape = f.config.layerShape(), hidden = f.config.hiddenChannels
        let names = ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "head.weight", "head.bias", "input"]
        try checkGradients(f, names: names) { v in
            let layers = (0..<2).map { (weight: v["layers.\($0).weight"]!, bias: v["layers.\($0).bias"]!) }
            let probability = convLSTMStackWithHead(x: v["input"]!, layers: layers, hiddenChannels: hidden,
                                                    headWeight: v["head.weight"]!, headBias: v["head.bias"]!,
                                                    shape: shape).probability
            return binaryCrossEntropy(probability: probability, target: v["target"]!)
        }
    }

    func testConvGRUGradients() throws {
        let f = try Fixture("convgru_k3")
        let shape = f.config.layerShape()
        let names = ["cell.weight_gates", "cell.bias_gates", "cell.weight_candidate", "cell.bias_candidate",
                     "input", "h0"]
        try checkGradients(f, names: names) { v in
            let hidden = convGRULayer(x: v["input"]!, h0: v["h0"]!, weightGates: v["cell.weight_gates"]!,
                                      biasGates: v["cell.bias_gates"]!, weightCandidate: v["cell.weight_candidate"]!,
                                      biasCandidate: v["cell.bias_candidate"]!, shape: shape)
            return dot(hidden, v["upstream"]!)
        }
    }

    func testConvRNNGradients() throws {
        let f = try Fixture("convrnn_k3")
        let shape = f.config.layerShape()
        try checkGradients(f, names: ["cell.weight", "cell.bias", "input", "h0"]) { v in
            let hidden = convRNNLayer(x: v["input"]!, h0: v["h0"]!, weight: v["cell.weight"]!,
                                      bias: v["cell.bias"]!, shape: shape)
            return dot(hidden, v["upstream"]!)
        }
    }
}
