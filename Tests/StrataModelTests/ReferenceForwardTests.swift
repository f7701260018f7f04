import Foundation
import XCTest
import StrataCore
import StrataIO

/// Recomputes every fixture's forward pass with the naive float64 reference in NaiveRecurrentReference.swift and
/// compares to PyTorch's float64 values.
///
/// Tolerance 1e-9 (absolute, values are O(1)): both sides compute in float64 from the same float32-exact inputs,
/// so they differ only by summation order (~1e-15); 1e-9 leaves room for that and nothing else. A wrong gate
/// order, channel order, padding or peephole timing moves values by 1e-2 or more.
final class ReferenceForwardTests: XCTestCase {
    let tolerance = 1e-9

    func assertClose(_ actual: [Double], _ expected: [Double], _ what: String, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, line: line)
        var worst = 0.0, at = 0
        for i in expected.indices where abs(actual[i] - expected[i]) > worst {
            worst = abs(actual[i] - expected[i])
            at = i
        }
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): worst difference \(worst) at flat index \(at)", line: line)
    }

    func checkSingleConvLSTM(_ name: String) throws {
        let f = try Fixture(name)
        let peepholes = f.config.peepholes == true
            ? Peepholes(inputGate: try f.values("cell.w_ci"), forgetGate: try f.values("cell.w_cf"),
                        outputGate: try f.values("cell.w_co"))
            : nil
        let (hidden, cellLast) = convLSTMLayer(
            x: try f.values("input"), h0: try f.values("h0"), c0: try f.values("c0"),
            weight: try f.values("cell.weight"), bias: try f.values("cell.bias"),
            peepholes: peepholes, shape: f.config.layerShape())
        assertClose(hidden, try f.values("hidden"), "\(name) hidden [B, T, Ch, H, W]")
        assertClose(cellLast, try f.values("cell_last"), "\(name) cell_last [B, Ch, H, W]")
        assertClose([dot(hidden, try f.values("upstream"))], try f.values("loss"), "\(name) loss")
    }

    /// Fixture (a): the one the engine will be held to first.
    func testConvLSTMKernel3() throws { try checkSingleConvLSTM("convlstm_k3") }

    /// Fixture (b): peepholes read c_{t-1} for i and f, c_t for o.
    func testConvLSTMPeepholesKernel5() throws { try checkSingleConvLSTM("convlstm_peephole_k5") }

    /// Fixture (c): K = 1, a per-pixel LSTM (the script also checks it against torch.nn.LSTM).
    func testConvLSTMKernel1() throws { try checkSingleConvLSTM("convlstm_k1") }

    /// Fixture (d): two layers, head, sigmoid, binary cross-entropy.
    func testStackWithHead() throws {
        let f = try Fixture("convlstm_stack_head")
        let layers = try (0..<2).map { (weight: try f.values("layers.\($0).weight"), bias: try f.values("layers.\($0).bias")) }
        let (hidden, probability) = convLSTMStackWithHead(
            x: try f.values("input"), layers: layers, hiddenChannels: f.config.hiddenChannels,
            headWeight: try f.values("head.weight"), headBias: try f.values("head.bias"), shape: f.config.layerShape())
        assertClose(hidden[0], try f.values("layers.0.hidden"), "layers.0.hidden")
        assertClose(hidden[1], try f.values("layers.1.hidden"), "layers.1.hidden")
        assertClose(probability, try f.values("probability"), "probability")
        let loss = binaryCrossEntropy(probability: probability, target: try f.values("target"))
        assertClose([loss], try f.values("loss"), "loss")
        XCTAssertTrue(try f.values("target").allSatisfy { $0 == 0 || $0 == 1 }, "targets are 0/1")
    }

    /// Fixture (e): ConvGRU with the reset gate applied to h before the candidate convolution.
    func testConvGRU() throws {
        let f = try Fixture("convgru_k3")
        let hidden = convGRULayer(
            x: try f.values("input"), h0: try f.values("h0"),
            weightGates: try f.values("cell.weight_gates"), biasGates: try f.values("cell.bias_gates"),
            weightCandidate: try f.values("cell.weight_candidate"), biasCandidate: try f.values("cell.bias_candidate"),
            shape: f.config.layerShape())
        assertClose(hidden, try f.values("hidden"), "convgru hidden")
        assertClose([dot(hidden, try f.values("upstream"))], try f.values("loss"), "convgru loss")
    }

    /// Fixture (e): plain ConvRNN.
    func testConvRNN() throws {
        let f = try Fixture("convrnn_k3")
        let hidden = convRNNLayer(x: try f.values("input"), h0: try f.values("h0"), weight: try f.values("cell.weight"),
                                  bias: try f.values("cell.bias"), shape: f.config.layerShape())
        assertClose(hidden, try f.values("hidden"), "convrnn hidden")
        assertClose([dot(hidden, try f.values("upstream"))], try f.values("loss"), "convrnn loss")
    }

    /// The comparison has teeth: swapping the f and i gate blocks of the weights and bias (a classic layout
    /// mistake) must move the hidden states far beyond the tolerance.
    func testSwappedGateBlocksAreDetected() throws {
        let f = try Fixture("convlstm_k3")
        let ch = 5, rowsPerBlock = ch * 8 * 3 * 3
        var weight = try f.values("cell.weight"), bias = try f.values("cell.bias")
        for r in 0..<rowsPerBlock { weight.swapAt(r, rowsPerBlock + r) }
        for r in 0..<ch { bias.swapAt(r, ch + r) }
        let (hidden, _) = convLSTMLayer(x: try f.values("input"), h0: try f.values("h0"), c0: try f.values("c0"),
                                        weight: weight, bias: bias, peepholes: nil, shape: f.config.layerShape())
        let expected = try f.values("hidden")
        let worst = zip(hidden, expected).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(worst, 1e-2)
    }
}
