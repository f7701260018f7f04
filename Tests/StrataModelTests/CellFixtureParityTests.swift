import Foundation
import XCTest
import StrataCore
import StrataIO
@testable import StrataModel

/// Engine parity with the PyTorch fixtures (scripts/reference/README.md), one recurrent layer at a time: hidden
/// states, final cell, and every gradient (weights, bias, peepholes, input, h0, c0) for ConvLSTM k3, k5 with
/// per-pixel peepholes, k1, ConvGRU and ConvRNN.
///
/// Relative error is measured per tensor as max_i |engine_i − reference_i| / max_i |reference_i| (the worst
/// element against the tensor's scale, so near-zero elements do not inflate it).
/// - fp32: 1e-5. The engine sums in float32 (reductions of up to (Cin + Ch)·K² = 200 terms, 4 steps); measured
///   worst 3e-7. 1e-5 leaves room for that and catches any real mistake (1e-2 or more).
/// - bf16 / fp16 operands: 1e-2. Every GEMM operand is rounded to 8 (bf16) or 11 (fp16) significant bits
///   (relative 2^-9 ≈ 2e-3 per operand for bf16); measured worst 3.4e-3 (ConvGRU grad.input, bf16).
final class CellFixtureParityTests: XCTestCase {
    static let fp32Tolerance = 1e-5
    static let bf16Tolerance = 1e-2

    func testConvLSTMKernel3() throws { try checkFixture("convlstm_k3") }
    func testConvLSTMPeepholeKernel5() throws { try checkFixture("convlstm_peephole_k5") }
    func testConvLSTMKernel1() throws { try checkFixture("convlstm_k1") }
    func testConvGRUKernel3() throws { try checkFixture("convgru_k3") }
    func testConvRNNKernel3() throws { try checkFixture("convrnn_k3") }

    func testConvLSTMKernel3BF16() throws { try checkFixture("convlstm_k3", precision: .bf16) }
    func testConvLSTMPeepholeKernel5BF16() throws { try checkFixture("convlstm_peephole_k5", precision: .bf16) }
    func testConvGRUKernel3BF16() throws { try checkFixture("convgru_k3", precision: .bf16) }
    func testConvRNNKernel3FP16() throws { try checkFixture("convrnn_k3", precision: .fp16) }

    func checkFixture(_ name: String, precision: ComputePrecision = .fp32) throws {
        let f = try Fixture(name)
        let c = f.config
        let tolerance = precision == .fp32 ? Self.fp32Tolerance : Self.bf16Tolerance
        let cell = try XCTUnwrap(ModelConfig.Cell(rawValue: c.cell))
        let config = ModelConfig(cell: cell, inputChannels: c.inputChannels, hidden: c.hiddenChannels,
                                 kernel: [c.kernelSize], peephole: c.peepholes == true ? .perPixel : .none,
                                 peepholeSize: c.peepholes == true ? [c.height, c.width] : nil, output: .sequence,
                                 head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
        let model = try RecurrentModel(config: config, seed: 1)
        let recurrent = model.parameters.filter { !$0.name.hasPrefix("head.") }
        for p in recurrent { try p.load(f.file.tensor(p.name.replacingOccurrences(of: "layers.0.", with: "cell."))) }

        let layer = model.encoder[0].directions[0]
        let g = SequenceGeometry(steps: c.time, batch: c.batch, height: c.height, width: c.width)
        let ch = c.hiddenChannels[0], hw = g.pixels
        let x = EngineCheck.timeMajor(try f.values("input").map(Float.init), batch: g.batch, steps: g.steps,
                                      block: c.inputChannels * hw)
        let h0 = try f.values("h0").map(Float.init)
        let c0 = layer.cell.hasCellState ? try f.values("c0").map(Float.init) : nil
        let upstream = EngineCheck.timeMajor(try f.values("upstream").map(Float.init), batch: g.batch,
                                             steps: g.steps, block: ch * hw)
        var dx = [Float](repeating: .nan, count: x.count)
        var hidden: [Float] = [], cellLast: [Float]?
        var dh0: [Float] = [], dc0: [Float]?
        x.withUnsafeBufferPointer { xp in
            h0.withUnsafeBufferPointer { hp in
                let cp = c0?.withUnsafeBufferPointer { $0 }
                layer.forward(x: xp.baseAddress, geometry: g, mask: nil, h0: hp.baseAddress, c0: cp?.baseAddress,
                              precision: precision)
                hidden = Array(UnsafeBufferPointer(start: layer.outputs, count: g.steps * layer.stateCount))
                cellLast = layer.finalCell.map { Array(UnsafeBufferPointer(start: $0, count: layer.stateCount)) }
                upstream.withUnsafeBufferPointer { up in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        layer.backward(dOut: .sequence(up.baseAddress!), dhFinal: nil, dcFinal: nil, dx: dxp.baseAddress,
                                       accumulateDx: false)
                    }
                }
                dh0 = Array(UnsafeBufferPointer(start: layer.initialHiddenGradient, count: layer.stateCount))
                dc0 = layer.initialCellGradient.map { Array(UnsafeBufferPointer(start: $0, count: layer.stateCount)) }
            }
        }
        let label = "\(name) \(precision)"
        EngineCheck.assertClose(EngineCheck.batchMajor(hidden, batch: g.batch, steps: g.steps, block: ch * hw),
                                try f.values("hidden"), tolerance, "\(label) hidden")
        if let cellLast {
            EngineCheck.assertClose(cellLast, try f.values("cell_last"), tolerance, "\(label) cell_last")
        }
        for p in recurrent {
            let reference = "grad." + p.name.replacingOccurrences(of: "layers.0.", with: "cell.")
            EngineCheck.assertClose(p.gradient.floats, try f.values(reference), tolerance, "\(label) \(reference)")
        }
        EngineCheck.assertClose(EngineCheck.batchMajor(dx, batch: g.batch, steps: g.steps, block: c.inputChannels * hw),
                                try f.values("grad.input"), tolerance, "\(label) grad.input")
        EngineCheck.assertClose(dh0, try f.values("grad.h0"), tolerance, "\(label) grad.h0")
        if let dc0 { EngineCheck.assertClose(dc0, try f.values("grad.c0"), tolerance, "\(label) grad.c0") }
    }
}

/// Shared numeric helpers of the engine tests.
enum EngineCheck {
    /// max |a − e| / max |e| (see CellFixtureParityTests for why this measure).
    static func relativeError(_ actual: [Float], _ expected: [Double]) -> Double {
        precondition(actual.count == expected.count, "\(actual.count) values against \(expected.count)")
        var worst = 0.0, scale = 0.0
        for i in expected.indices {
            worst = max(worst, abs(Double(actual[i]) - expected[i]))
            scale = max(scale, abs(expected[i]))
        }
        if worst.isNaN { return .infinity }
        return scale == 0 ? worst : worst / scale
    }

    static func assertClose(_ actual: [Float], _ expected: [Double], _ tolerance: Double, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        guard actual.count == expected.count else {
            XCTFail("\(what): \(actual.count) values, expected \(expected.count)", file: file, line: line)
            return
        }
        let error = relativeError(actual, expected)
        XCTAssertLessThanOrEqual(error, tolerance, "\(what): relative error \(error)", file: file, line: line)
    }

    /// [B, T, block] -> [T, B, block]
    static func timeMajor(_ v: [Float], batch: Int, steps: Int, block: Int) -> [Float] {
        var out = [Float](repeating: 0, count: v.count)
        for b in 0..<batch { for t in 0..<steps { for i in 0..<block {
            out[(t * batch + b) * block + i] = v[(b * steps + t) * block + i]
        } } }
        return out
    }

    /// [T, B, block] -> [B, T, block]
    static func batchMajor(_ v: [Float], batch: Int, steps: Int, block: Int) -> [Float] {
        var out = [Float](repeating: 0, count: v.count)
        for b in 0..<batch { for t in 0..<steps { for i in 0..<block {
            out[(b * steps + t) * block + i] = v[(t * batch + b) * block + i]
        } } }
        return out
    }
}
