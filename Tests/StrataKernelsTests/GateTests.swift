// Gate math (strata_gates.h): every vector variant against the scalar reference; the reference forward against a
// float64 model of each cell written here; analytic backward passes against central finite differences of that
// float64 model; extreme inputs; and the bit-exact masked state update.
import Foundation
import StrataCore
import StrataKernels
import XCTest

/// A heap float buffer with a stable address, so C kernels with many pointer arguments are easy to call.
final class FloatBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(from: values, count: count)
    }
    convenience init(zeros count: Int) { self.init([Float](repeating: 0, count: count)) }
    var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    deinit { pointer.deallocate() }
}

/// Largest |a - b| / (atol + rtol·|b|); <= 1 means within tolerance.
func toleranceRatio(_ a: [Float], _ b: [Double], atol: Double, rtol: Double) -> Double {
    precondition(a.count == b.count)
    return zip(a, b).map { abs(Double($0) - $1) / (atol + rtol * abs($1)) }.max() ?? 0
}

private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

final class GateTests: XCTestCase {
    // Vector vs scalar reference: the vector exp/tanh polynomials are within a few ulp of libm, gate values lie in
    // [-1, 1], so 2e-6 absolute (about 16 ulp at 1.0) is loose enough for rounding-order differences yet catches any
    // formula error (>= 1e-4). Gradients use the same bound relative to max(1, |value|).
    static let vectorTolerance = (atol: 2e-6, rtol: 2e-6)

    /// Pre-activations mixing ordinary values with extremes (±40, ±100, ±1e30, ±inf) that would overflow a naive
    /// exp(-x).
    static func preactivations(_ n: Int, seed: UInt64) -> [Float] {
        var rng = KernelTestRandom(seed: seed)
        let extremes: [Float] = [40, -40, 100, -100, 1e30, -1e30, .infinity, -.infinity, 0, -0.0, 0.6, -0.65, 1e-5]
        return (0..<n).map { i in i % 11 == 5 ? extremes[(i / 11) % extremes.count] : rng.uniform(-4, 4) }
    }

    struct LSTMCase {
        let B, Ch, HW: Int
        let z, cPrev, wci, wcf, wco, dh, dcNext: FloatBuffer
        init(B: Int, Ch: Int, HW: Int, extremes: Bool, seed: UInt64) {
            self.B = B; self.Ch = Ch; self.HW = HW
            var rng = KernelTestRandom(seed: seed)
            let n = B * Ch * HW
            z = FloatBuffer(extremes ? GateTests.preactivations(4 * n, seed: seed) : rng.floats(4 * n, -2, 2))
            cPrev = FloatBuffer(rng.floats(n, -2, 2))
            wci = FloatBuffer(rng.floats(Ch * HW, -1, 1))
            wcf = FloatBuffer(rng.floats(Ch * HW, -1, 1))
            wco = FloatBuffer(rng.floats(Ch * HW, -1, 1))
            dh = FloatBuffer(rng.floats(n))
            dcNext = FloatBuffer(rng.floats(n))
        }

        /// Runs forward then backward with the active ISA; returns every output, concatenated.
        func run(peepholes: Bool, withDcNext: Bool = true) -> [Float] {
            let n = B * Ch * HW
            let h = FloatBuffer(zeros: n), c = FloatBuffer(zeros: n), cache = FloatBuffer(zeros: 5 * n)
            let dz = FloatBuffer(zeros: 4 * n), dcPrev = FloatBuffer(zeros: n)
            let dw = (FloatBuffer([Float](repeating: 0.5, count: Ch * HW)), FloatBuffer(zeros: Ch * HW),
                      FloatBuffer(zeros: Ch * HW))
            let (pi, pf, po) = peepholes ? (wci.pointer, wcf.pointer, wco.pointer) : (nil, nil, nil)
            XCTAssertEqual(strata_lstm_cache_count(Int32(B), Int32(Ch), Int32(HW)), 5 * n)
            strata_lstm_cell_forward(Int32(B), Int32(Ch), Int32(HW), z.pointer, pi, pf, po, cPrev.pointer, h.pointer,
                                     c.pointer, cache.pointer)
            strata_lstm_cell_backward(Int32(B), Int32(Ch), Int32(HW), dh.pointer, withDcNext ? dcNext.pointer : nil,
                                      cPrev.pointer, cache.pointer, pi, pf, po, dz.pointer, dcPrev.pointer,
                                      dw.0.pointer, dw.1.pointer, dw.2.pointer)
            return h.values + c.values + cache.values + dz.values + dcPrev.values + dw.0.values + dw.1.values
                + dw.2.values
        }

        /// Float64 model of the cell: returns (h, c) for the given inputs (peepholes optional).
        static func model(_ B: Int, _ Ch: Int, _ HW: Int, z: [Double], cPrev: [Double], w: [[Double]]?)
            -> (h: [Double], c: [Double]) {
            let n = Ch * HW
            var h = [Double](repeating: 0, count: B * n), c = h
            for b in 0..<B {
                for j in 0..<n {
                    let cp = cPrev[b * n + j], zb = b * 4 * n
                    let i = sigmoid(z[zb + j] + (w.map { $0[0][j] * cp } ?? 0))
                    let f = sigmoid(z[zb + n + j] + (w.map { $0[1][j] * cp } ?? 0))
                    let g = tanh(z[zb + 2 * n + j])
                    let ct = f * cp + i * g
                    let o = sigmoid(z[zb + 3 * n + j] + (w.map { $0[2][j] * ct } ?? 0))
                    c[b * n + j] = ct
                    h[b * n + j] = o * tanh(ct)
                }
            }
            return (h, c)
        }
    }

    func checkLSTMVariant(_ isa: KernelISA) throws {
        for (hw, extremes) in [(1, false), (3, true), (7, false), (33, true)] {
            let t = LSTMCase(B: 2, Ch: 3, HW: hw, extremes: extremes, seed: UInt64(hw))
            for peepholes in [false, true] {
                let reference = try withKernelISA(.scalar) { t.run(peepholes: peepholes) }
                let got = try withKernelISA(isa) { t.run(peepholes: peepholes) }
                let ratio = toleranceRatio(got, reference.map(Double.init), atol: Self.vectorTolerance.atol,
                                           rtol: Self.vectorTolerance.rtol)
                XCTAssertLessThanOrEqual(ratio, 1, "\(isa) LSTM HW=\(hw) peepholes=\(peepholes)")
                XCTAssertTrue(got.allSatisfy(\.isFinite), "\(isa) LSTM produced a non-finite value")
            }
        }
    }

    func testLSTMScalar() throws { try checkLSTMVariant(.scalar) }
    func testLSTMAVX2() throws { try checkLSTMVariant(.avx2) }
    func testLSTMAVX512() throws { try checkLSTMVariant(.avx512) }

    /// Forward against the float64 model: fp32 evaluation of a few transcendental functions, tolerance 1e-6 abs
    /// plus 1e-6 relative (a handful of fp32 ulp on values of order 1).
    func testLSTMForwardMatchesFloat64Model() throws {
        for isa in KernelISA.supported {
            let t = LSTMCase(B: 2, Ch: 2, HW: 33, extremes: true, seed: 7)
            let n = 2 * 2 * 33
            let out = try withKernelISA(isa) { t.run(peepholes: true) }
            let w = [t.wci.values, t.wcf.values, t.wco.values].map { $0.map(Double.init) }
            let m = LSTMCase.model(2, 2, 33, z: t.z.values.map(Double.init), cPrev: t.cPrev.values.map(Double.init), w: w)
            XCTAssertLessThanOrEqual(toleranceRatio(Array(out[0..<2 * n]), m.h + m.c, atol: 1e-6, rtol: 1e-6), 1,
                                     "\(isa)")
        }
    }

    /// Analytic gradients against central differences of the float64 model, for L = Σ dh⊙h_t + Σ dc_next⊙c_t.
    /// The float64 differences are accurate to ~1e-9, so the gap is the fp32 kernel's rounding: 2e-5 abs + 1e-4 rel.
    func testLSTMBackwardMatchesFiniteDifferences() throws {
        let (B, Ch, HW) = (2, 2, 3)
        let n = B * Ch * HW, e = 1e-6
        for isa in Set([KernelISA.scalar, KernelISA.best]).sorted(by: { $0.rawValue < $1.rawValue }) {
            for peepholes in [false, true] {
                let t = LSTMCase(B: B, Ch: Ch, HW: HW, extremes: false, seed: 99)
                let out = try withKernelISA(isa) { t.run(peepholes: peepholes) }
                // Layout of run(): h n, c n, cache 5n, dz 4n, dcPrev n, dw 3·(Ch·HW) (dw_ci started at 0.5).
                let dz = Array(out[7 * n..<11 * n]), dcPrev = Array(out[11 * n..<12 * n])
                let m = Ch * HW
                let dw = [Array(out[12 * n..<12 * n + m]).map { $0 - 0.5 }, Array(out[12 * n + m..<12 * n + 2 * m]),
                          Array(out[12 * n + 2 * m..<12 * n + 3 * m])]
                let z0 = t.z.values.map(Double.init), c0 = t.cPrev.values.map(Double.init)
                let w0 = [t.wci.values, t.wcf.values, t.wco.values].map { $0.map(Double.init) }
                let dh = t.dh.values.map(Double.init), dcn = t.dcNext.values.map(Double.init)
                func loss(_ z: [Double], _ c: [Double], _ w: [[Double]]) -> Double {
                    let r = LSTMCase.model(B, Ch, HW, z: z, cPrev: c, w: peepholes ? w : nil)
                    return zip(r.h, dh).map(*).reduce(0, +) + zip(r.c, dcn).map(*).reduce(0, +)
                }
                func fd(_ bump: (Double) -> Double) -> Double { (bump(e) - bump(-e)) / (2 * e) }
                let dzFD = (0..<4 * n).map { k in fd { d in var z = z0; z[k] += d; return loss(z, c0, w0) } }
                let dcFD = (0..<n).map { k in fd { d in var c = c0; c[k] += d; return loss(z0, c, w0) } }
                XCTAssertLessThanOrEqual(toleranceRatio(dz, dzFD, atol: 2e-5, rtol: 1e-4), 1, "\(isa) dz p=\(peepholes)")
                XCTAssertLessThanOrEqual(toleranceRatio(dcPrev, dcFD, atol: 2e-5, rtol: 1e-4), 1, "\(isa) dc_prev")
                for g in 0..<3 {
                    let dwFD = (0..<m).map { k in
                        peepholes ? fd { d in var w = w0; w[g][k] += d; return loss(z0, c0, w) } : 0
                    }
                    XCTAssertLessThanOrEqual(toleranceRatio(dw[g], dwFD, atol: 2e-5, rtol: 1e-4), 1,
                                             "\(isa) dw gate \(g) peepholes=\(peepholes)")
                }
            }
        }
    }

    /// dc_next == NULL (last time step) must equal passing zeros.
    func testLSTMNullDcNextIsZero() {
        let t = LSTMCase(B: 1, Ch: 2, HW: 7, extremes: false, seed: 5)
        let viaNull = t.run(peepholes: true, withDcNext: false)
        for k in 0..<t.dcNext.count { t.dcNext.pointer[k] = 0 }
        XCTAssertEqual(viaNull, t.run(peepholes: true))
    }
}
