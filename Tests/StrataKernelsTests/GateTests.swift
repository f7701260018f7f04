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

/// Swift may free an object right after its last use, which for a buffer passed as `.pointer` is before the C call
/// runs; calling this after the last C call keeps the buffers alive until then.
func keepAlive(_ objects: AnyObject...) { withExtendedLifetime(objects) {} }

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
        /// `outputPeepholeOnly` passes w_ci = w_cf = NULL with a real w_co (each peephole is optional on its own).
        func run(peepholes: Bool, withDcNext: Bool = true, outputPeepholeOnly: Bool = false) -> [Float] {
            let n = B * Ch * HW
            let h = FloatBuffer(zeros: n), c = FloatBuffer(zeros: n), gates = FloatBuffer(zeros: 4 * n)
            let dz = FloatBuffer(zeros: 4 * n), dcPrev = FloatBuffer(zeros: n)
            let dw = (FloatBuffer([Float](repeating: 0.5, count: Ch * HW)), FloatBuffer(zeros: Ch * HW),
                      FloatBuffer(zeros: Ch * HW))
            var (pi, pf, po) = peepholes ? (wci.pointer, wcf.pointer, wco.pointer) : (nil, nil, nil)
            if outputPeepholeOnly { (pi, pf, po) = (nil, nil, wco.pointer) }
            strata_lstm_cell_forward(Int32(B), Int32(Ch), Int32(HW), z.pointer, pi, pf, po, cPrev.pointer, h.pointer,
                                     c.pointer, gates.pointer)
            strata_lstm_cell_backward(Int32(B), Int32(Ch), Int32(HW), dh.pointer, withDcNext ? dcNext.pointer : nil,
                                      cPrev.pointer, gates.pointer, pi, pf, po, dz.pointer, dcPrev.pointer,
                                      dw.0.pointer, dw.1.pointer, dw.2.pointer)
            return h.values + c.values + gates.values + dz.values + dcPrev.values + dw.0.values + dw.1.values
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
            let reference = try withKernelISA(.scalar) { t.run(peepholes: false, outputPeepholeOnly: true) }
            let got = try withKernelISA(isa) { t.run(peepholes: false, outputPeepholeOnly: true) }
            XCTAssertLessThanOrEqual(toleranceRatio(got, reference.map(Double.init), atol: Self.vectorTolerance.atol,
                                                    rtol: Self.vectorTolerance.rtol), 1, "\(isa) LSTM HW=\(hw) w_co only")
            // dw_ci and dw_cf stay untouched without their weights (dw_ci started at 0.5, dw_cf at 0).
            let n = 2 * 3 * hw, m = 3 * hw
            XCTAssertEqual(Array(got[11 * n..<11 * n + 2 * m]), [Float](repeating: 0.5, count: m) + [Float](repeating: 0, count: m))
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
                // Layout of run(): h n, c n, gates 4n, dz 4n, dcPrev n, dw 3·(Ch·HW) (dw_ci started at 0.5).
                let dz = Array(out[6 * n..<10 * n]), dcPrev = Array(out[10 * n..<11 * n])
                let m = Ch * HW
                let dw = [Array(out[11 * n..<11 * n + m]).map { $0 - 0.5 }, Array(out[11 * n + m..<11 * n + 2 * m]),
                          Array(out[11 * n + 2 * m..<11 * n + 3 * m])]
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

    // ---- ConvGRU and ConvRNN ----

    /// One GRU step through the four kernels, with the candidate convolution replaced by an elementwise stand-in
    /// z_n = zx + s⊙(r⊙h) (the kernels never see the convolution, only its input r⊙h and output z_n); backward
    /// with dh = a. Returns forward outputs and the gradients w.r.t. z_ru, zx (= dz_n) and h_prev, concatenated.
    struct GRUCase {
        let B, Ch, HW: Int
        let zru, zx, s, hPrev, a: [Float]
        init(B: Int, Ch: Int, HW: Int, extremes: Bool, seed: UInt64) {
            self.B = B; self.Ch = Ch; self.HW = HW
            var rng = KernelTestRandom(seed: seed)
            let n = B * Ch * HW
            zru = extremes ? GateTests.preactivations(2 * n, seed: seed) : rng.floats(2 * n, -2, 2)
            zx = extremes ? GateTests.preactivations(n, seed: seed + 1) : rng.floats(n, -2, 2)
            s = rng.floats(n, -1, 1)
            hPrev = rng.floats(n)
            a = rng.floats(n)
        }

        /// `inPlace` runs the engine's way: gates over z_ru, n over z_n, dz_n over n, dz_ru over the gates (the
        /// forward results are copied out before the backward overwrites them).
        func run(inPlace: Bool = false) -> [Float] {
            let (b, c, p) = (Int32(B), Int32(Ch), Int32(HW))
            let n = B * Ch * HW
            let zruB = FloatBuffer(zru), hB = FloatBuffer(hPrev)
            let gates = inPlace ? zruB : FloatBuffer(zeros: 2 * n)
            let rh = FloatBuffer(zeros: n), h = FloatBuffer(zeros: n)
            strata_gru_reset_forward(b, c, p, zruB.pointer, hB.pointer, gates.pointer, rh.pointer)
            let zn = FloatBuffer((0..<n).map { zx[$0] + s[$0] * rh.pointer[$0] })
            let cand = inPlace ? zn : FloatBuffer(zeros: n)
            strata_gru_output_forward(b, c, p, zn.pointer, gates.pointer, hB.pointer, cand.pointer, h.pointer)
            let forward = gates.values + rh.values + cand.values + h.values
            let dh = FloatBuffer(a), dhPrev = FloatBuffer(zeros: n)
            let dzn = inPlace ? cand : FloatBuffer(zeros: n), dzru = inPlace ? gates : FloatBuffer(zeros: 2 * n)
            strata_gru_output_backward(b, c, p, dh.pointer, hB.pointer, gates.pointer, cand.pointer, dzn.pointer,
                                       dzru.pointer, dhPrev.pointer)
            let drh = FloatBuffer((0..<n).map { s[$0] * dzn.pointer[$0] })
            strata_gru_reset_backward(b, c, p, drh.pointer, hB.pointer, gates.pointer, dzru.pointer, dhPrev.pointer)
            keepAlive(zruB, hB, zn, dh, drh)
            return forward + dzru.values + dzn.values + dhPrev.values
        }

        /// Float64 model: h_t for the given inputs.
        func model(zru: [Double], zx: [Double], hPrev: [Double]) -> [Double] {
            let n = Ch * HW
            var h = [Double](repeating: 0, count: B * n)
            for b in 0..<B {
                for j in 0..<n {
                    let k = b * n + j
                    let r = sigmoid(zru[b * 2 * n + j]), u = sigmoid(zru[b * 2 * n + n + j])
                    let cand = tanh(zx[k] + Double(s[k]) * r * hPrev[k])
                    h[k] = (1 - u) * cand + u * hPrev[k]
                }
            }
            return h
        }
    }

    func checkGRUAndRNNVariant(_ isa: KernelISA) throws {
        for (hw, extremes) in [(1, false), (3, true), (7, false), (33, true)] {
            let t = GRUCase(B: 2, Ch: 3, HW: hw, extremes: extremes, seed: UInt64(hw + 50))
            let reference = try withKernelISA(.scalar) { t.run() }
            let got = try withKernelISA(isa) { t.run() }
            XCTAssertLessThanOrEqual(toleranceRatio(got, reference.map(Double.init), atol: Self.vectorTolerance.atol,
                                                    rtol: Self.vectorTolerance.rtol), 1, "\(isa) GRU HW=\(hw)")
            XCTAssertTrue(got.allSatisfy(\.isFinite), "\(isa) GRU produced a non-finite value")
            let z = Self.preactivations(2 * 3 * hw, seed: UInt64(hw))
            var dhRandom = KernelTestRandom(seed: 3)
            let dh = dhRandom.floats(z.count)
            func rnn() -> [Float] {
                let zb = FloatBuffer(z), h = FloatBuffer(zeros: z.count), dz = FloatBuffer(zeros: z.count)
                strata_rnn_cell_forward(z.count, zb.pointer, h.pointer)
                let dhb = FloatBuffer(dh)
                strata_rnn_cell_backward(z.count, dhb.pointer, h.pointer, dz.pointer)
                keepAlive(zb, dhb)
                return h.values + dz.values
            }
            let rnnRef = try withKernelISA(.scalar) { rnn() }
            let rnnGot = try withKernelISA(isa) { rnn() }
            XCTAssertLessThanOrEqual(toleranceRatio(rnnGot, rnnRef.map(Double.init), atol: Self.vectorTolerance.atol,
                                                    rtol: Self.vectorTolerance.rtol), 1, "\(isa) RNN HW=\(hw)")
        }
    }

    /// The GRU kernels in place (the engine's use) give the separate-buffer results bit for bit.
    func testGRUInPlace() throws {
        for isa in KernelISA.supported {
            let t = GRUCase(B: 2, Ch: 2, HW: 33, extremes: true, seed: 21)
            let (separate, inPlace) = try withKernelISA(isa) { (t.run(), t.run(inPlace: true)) }
            XCTAssertEqual(inPlace.map(\.bitPattern), separate.map(\.bitPattern), "\(isa)")
        }
    }

    func testGRUAndRNNScalar() throws { try checkGRUAndRNNVariant(.scalar) }
    func testGRUAndRNNAVX2() throws { try checkGRUAndRNNVariant(.avx2) }
    func testGRUAndRNNAVX512() throws { try checkGRUAndRNNVariant(.avx512) }

    /// GRU forward against the float64 model and its backward against central differences (step 1e-6; tolerance as
    /// for the LSTM: 2e-5 abs + 1e-4 rel, the fp32 rounding of the kernels).
    func testGRUMatchesFloat64ModelAndFiniteDifferences() throws {
        let (B, Ch, HW) = (2, 2, 3)
        let n = B * Ch * HW, e = 1e-6
        for isa in Set([KernelISA.scalar, KernelISA.best]).sorted(by: { $0.rawValue < $1.rawValue }) {
            let t = GRUCase(B: B, Ch: Ch, HW: HW, extremes: false, seed: 77)
            let out = try withKernelISA(isa) { t.run() }
            // Layout of run(): gates 2n, rh n, cand n, h n, dz_ru 2n, dz_n n, dh_prev n.
            let h = Array(out[4 * n..<5 * n]), dzru = Array(out[5 * n..<7 * n]), dzn = Array(out[7 * n..<8 * n])
            let dhPrev = Array(out[8 * n..<9 * n])
            let zru0 = t.zru.map(Double.init), zx0 = t.zx.map(Double.init), h0 = t.hPrev.map(Double.init)
            XCTAssertLessThanOrEqual(toleranceRatio(h, t.model(zru: zru0, zx: zx0, hPrev: h0), atol: 1e-6, rtol: 1e-6),
                                     1, "\(isa) GRU forward")
            let a = t.a.map(Double.init)
            func loss(_ zru: [Double], _ zx: [Double], _ hp: [Double]) -> Double {
                zip(t.model(zru: zru, zx: zx, hPrev: hp), a).map(*).reduce(0, +)
            }
            func fd(_ bump: (Double) -> Double) -> Double { (bump(e) - bump(-e)) / (2 * e) }
            let dzruFD = (0..<2 * n).map { k in fd { d in var z = zru0; z[k] += d; return loss(z, zx0, h0) } }
            let dznFD = (0..<n).map { k in fd { d in var z = zx0; z[k] += d; return loss(zru0, z, h0) } }
            let dhFD = (0..<n).map { k in fd { d in var hp = h0; hp[k] += d; return loss(zru0, zx0, hp) } }
            XCTAssertLessThanOrEqual(toleranceRatio(dzru, dzruFD, atol: 2e-5, rtol: 1e-4), 1, "\(isa) dz_ru")
            XCTAssertLessThanOrEqual(toleranceRatio(dzn, dznFD, atol: 2e-5, rtol: 1e-4), 1, "\(isa) dz_n")
            XCTAssertLessThanOrEqual(toleranceRatio(dhPrev, dhFD, atol: 2e-5, rtol: 1e-4), 1, "\(isa) dh_prev")
        }
    }

    /// RNN: tanh against float64 over a wide range (1e-6 abs + 1e-6 rel), backward against central differences.
    func testRNNMatchesFloat64() throws {
        var z = (0..<2001).map { Float($0 - 1000) / 100 }   // -10 ... 10 in steps of 0.01, crossing 0.625
        z += [1e-7, -1e-7, 0.6249, 0.6251, -0.6251, 20, -20, 1e30, -.infinity]
        var dhRandom = KernelTestRandom(seed: 8)
        let dh = dhRandom.floats(z.count)
        for isa in KernelISA.supported {
            let (h, dz) = try withKernelISA(isa) { () -> ([Float], [Float]) in
                let zb = FloatBuffer(z), hb = FloatBuffer(zeros: z.count), dzb = FloatBuffer(zeros: z.count)
                strata_rnn_cell_forward(z.count, zb.pointer, hb.pointer)
                let dhb = FloatBuffer(dh)
                strata_rnn_cell_backward(z.count, dhb.pointer, hb.pointer, dzb.pointer)
                keepAlive(zb, dhb)
                return (hb.values, dzb.values)
            }
            let exact = z.map { tanh(Double($0)) }
            XCTAssertLessThanOrEqual(toleranceRatio(h, exact, atol: 1e-6, rtol: 1e-6), 1, "\(isa) tanh")
            // Small arguments keep relative accuracy (the polynomial branch), not just absolute.
            XCTAssertEqual(Double(h[2001]), 1e-7, accuracy: 1e-13, "\(isa) tanh(1e-7)")
            let e = 1e-6
            let dzFD = z.indices.map { k -> Double in
                let zk = Double(z[k])
                let slope: Double = (tanh(zk + e) - tanh(zk - e)) / (2 * e)
                return Double(dh[k]) * slope
            }
            XCTAssertLessThanOrEqual(toleranceRatio(dz, dzFD, atol: 2e-6, rtol: 1e-5), 1, "\(isa) tanh backward")
        }
    }

    // ---- Masked state update ----

    func testMaskedStateUpdateIsBitExact() {
        let (B, Ch, HW) = (2, 3, 7)
        let n = B * Ch * HW
        var rng = KernelTestRandom(seed: 31)
        let mask = (0..<B * HW).map { _ in UInt8(rng.next() % 3 == 0 ? 0 : 1 + rng.next() % 200) }
        // Payload-carrying NaNs, -0 and subnormals must come through untouched.
        let special: [Float] = [.nan, Float(bitPattern: 0x7FA0_0001), -0.0, .leastNonzeroMagnitude, -.infinity]
        let hNew = (0..<n).map { $0 % 5 == 0 ? special[$0 % special.count] : rng.uniform(-1, 1) }
        let hPrev = (0..<n).map { $0 % 4 == 0 ? special[($0 + 1) % special.count] : rng.uniform(-1, 1) }
        let cNew = rng.floats(n), cPrev = rng.floats(n)
        func expected(_ new: [Float], _ prev: [Float]) -> [UInt32] {
            (0..<n).map { k in
                let b = k / (Ch * HW), p = k % HW
                return (mask[b * HW + p] != 0 ? new[k] : prev[k]).bitPattern
            }
        }
        for withC in [false, true] {
            let hn = FloatBuffer(hNew), hp = FloatBuffer(hPrev), ho = FloatBuffer(zeros: n)
            let cn = FloatBuffer(cNew), cp = FloatBuffer(cPrev), co = FloatBuffer([Float](repeating: 9, count: n))
            strata_masked_state_update(Int32(B), Int32(Ch), Int32(HW), mask, hn.pointer, hp.pointer, ho.pointer,
                                       withC ? cn.pointer : nil, withC ? cp.pointer : nil, withC ? co.pointer : nil)
            keepAlive(hn, hp, cn, cp)
            XCTAssertEqual(ho.values.map(\.bitPattern), expected(hNew, hPrev))
            XCTAssertEqual(co.values.map(\.bitPattern),
                           withC ? expected(cNew, cPrev) : [Float](repeating: 9, count: n).map(\.bitPattern))
        }
        // In place over h_prev (the usual time-loop use).
        let hn = FloatBuffer(hNew), hp = FloatBuffer(hPrev)
        strata_masked_state_update(Int32(B), Int32(Ch), Int32(HW), mask, hn.pointer, hp.pointer, hp.pointer,
                                   nil, nil, nil)
        XCTAssertEqual(hp.values.map(\.bitPattern), expected(hNew, hPrev))
        keepAlive(hn)

        // Backward: valid pixels route the gradient to the new state, masked ones to the previous state (+=).
        let dOut = rng.floats(n)
        let dNew = FloatBuffer([Float](repeating: 7, count: n)), dPrev = FloatBuffer([Float](repeating: 1, count: n))
        let dOutBuffer = FloatBuffer(dOut)
        strata_masked_state_backward(Int32(B), Int32(Ch), Int32(HW), mask, dOutBuffer.pointer, dNew.pointer,
                                     dPrev.pointer)
        keepAlive(dOutBuffer)
        for k in 0..<n {
            let valid = mask[(k / (Ch * HW)) * HW + k % HW] != 0
            XCTAssertEqual(dNew.pointer[k], valid ? dOut[k] : 0)
            XCTAssertEqual(dPrev.pointer[k], valid ? 1 : 1 + dOut[k])
        }
    }

    /// In place: c_t over c_{t-1} and the gates over z in the forward, dc_prev over dc_next and dz over the gates in
    /// the backward (the engine's use: one buffer per step for z, gates and dz) give the same results as separate
    /// buffers, bit for bit (same code, same order of operations; only the memory differs). Peepholes with their
    /// gradients, so the recomputed c_t feeds dw_co.
    func testLSTMInPlace() throws {
        for isa in KernelISA.supported {
            try withKernelISA(isa) {
                let t = LSTMCase(B: 2, Ch: 2, HW: 33, extremes: false, seed: 17)
                let separate = t.run(peepholes: true)
                let n = 2 * 2 * 33, m = 2 * 33
                let cPrevCopy = FloatBuffer(t.cPrev.values), state = FloatBuffer(t.cPrev.values)
                let h = FloatBuffer(zeros: n), slot = FloatBuffer(t.z.values)
                let grad = FloatBuffer(t.dcNext.values)
                let dw = (FloatBuffer([Float](repeating: 0.5, count: m)), FloatBuffer(zeros: m), FloatBuffer(zeros: m))
                strata_lstm_cell_forward(2, 2, 33, slot.pointer, t.wci.pointer, t.wcf.pointer, t.wco.pointer,
                                         state.pointer, h.pointer, state.pointer, slot.pointer)
                XCTAssertEqual(h.values + state.values + slot.values, Array(separate[0..<6 * n]),
                               "\(isa) forward in place")
                strata_lstm_cell_backward(2, 2, 33, t.dh.pointer, grad.pointer, cPrevCopy.pointer, slot.pointer,
                                          t.wci.pointer, t.wcf.pointer, t.wco.pointer, slot.pointer, grad.pointer,
                                          dw.0.pointer, dw.1.pointer, dw.2.pointer)
                keepAlive(cPrevCopy)
                let backward: [Float] = [slot, grad, dw.0, dw.1, dw.2].flatMap(\.values)
                XCTAssertEqual(backward, Array(separate[(6 * n)...]), "\(isa) backward in place")
            }
        }
    }

    /// One batch item (a prediction tile) splits into parts run on several threads: forward and backward (peephole
    /// weights without their gradients) are bit-identical to one thread, on uneven splits too (n = 65 555 is not a
    /// multiple of 16 or of the thread count).
    func testLSTMOneItemSplitAcrossThreadsIsBitIdentical() throws {
        let saved = ThreadPool.threads
        defer { ThreadPool.setThreads(saved) }
        let t = LSTMCase(B: 1, Ch: 5, HW: 13_111, extremes: true, seed: 23)
        let n = 5 * 13_111
        func run(threads: Int) -> [Float] {
            ThreadPool.setThreads(threads)
            let h = FloatBuffer(zeros: n), c = FloatBuffer(zeros: n), gates = FloatBuffer(zeros: 4 * n)
            let dz = FloatBuffer(zeros: 4 * n), dcPrev = FloatBuffer(zeros: n)
            strata_lstm_cell_forward(1, 5, 13_111, t.z.pointer, t.wci.pointer, t.wcf.pointer, t.wco.pointer,
                                     t.cPrev.pointer, h.pointer, c.pointer, gates.pointer)
            strata_lstm_cell_backward(1, 5, 13_111, t.dh.pointer, t.dcNext.pointer, t.cPrev.pointer, gates.pointer,
                                      t.wci.pointer, t.wcf.pointer, t.wco.pointer, dz.pointer, dcPrev.pointer,
                                      nil, nil, nil)
            return [h, c, gates, dz, dcPrev].flatMap(\.values)
        }
        let serial = run(threads: 1)
        XCTAssertEqual(run(threads: 2), serial, "two parts")
        XCTAssertEqual(run(threads: 3), serial, "three parts")
        let model = LSTMCase.model(1, 5, 13_111, z: t.z.values.map(Double.init), cPrev: t.cPrev.values.map(Double.init),
                                   w: [t.wci, t.wcf, t.wco].map { $0.values.map(Double.init) })
        XCTAssertLessThanOrEqual(toleranceRatio(Array(serial[0..<2 * n]), model.h + model.c, atol: 1e-5, rtol: 1e-5), 1)
    }

    /// NaN in, NaN out (a diverging model must not be masked by saturated gates), on every ISA.
    func testNaNPropagates() throws {
        for isa in KernelISA.supported {
            try withKernelISA(isa) {
                let t = LSTMCase(B: 1, Ch: 1, HW: 33, extremes: false, seed: 4)
                for j in [0, 20, 32] { t.z.pointer[j] = .nan }            // i gate at pixels 0, 20 and 32
                let out = t.run(peepholes: false)
                for j in [0, 20, 32] { XCTAssertTrue(out[j].isNaN && out[33 + j].isNaN, "\(isa) pixel \(j)") }
                XCTAssertTrue(out[1].isFinite, "\(isa) NaN leaked to a neighbour")
                let z = FloatBuffer([.nan] + [Float](repeating: 0.5, count: 32)), h = FloatBuffer(zeros: 33)
                strata_rnn_cell_forward(33, z.pointer, h.pointer)
                keepAlive(z)
                XCTAssertTrue(h.pointer[0].isNaN, "\(isa) tanh(NaN)")
            }
        }
    }

    /// Extreme pre-activations must not overflow anywhere: gates stay in [0, 1], states finite.
    func testExtremePreactivationsStayFinite() throws {
        for isa in KernelISA.supported {
            let t = LSTMCase(B: 1, Ch: 2, HW: 33, extremes: true, seed: 3)
            for k in 0..<t.z.count where k % 2 == 0 { t.z.pointer[k] = k % 4 == 0 ? 1e38 : -.infinity }
            let out = try withKernelISA(isa) { t.run(peepholes: true) }
            XCTAssertTrue(out.allSatisfy(\.isFinite), "\(isa)")
            let n = 2 * 33
            XCTAssertTrue(out[2 * n..<6 * n].allSatisfy { abs($0) <= 1 }, "\(isa) gate outside [-1, 1]")
        }
    }
}
