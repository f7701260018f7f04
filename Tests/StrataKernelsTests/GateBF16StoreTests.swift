// strata_lstm_cell_forward_bf16 / _backward_bf16 (gates and dz stored in bf16) against the fp32 kernels with the
// rounding done separately: the row kernels are element-wise, so every output must be bit-identical, on every ISA,
// with and without peepholes, with the batch items on the calling thread or as pool tasks, and in place (dz over
// the gates, as the ConvLSTM cell calls it).
import StrataCore
import StrataKernels
import XCTest

final class GateBF16StoreTests: XCTestCase {
    /// B·Ch·HW chosen so one item is not a whole number of the kernel's 512-element pieces, (B = 4) large enough
    /// to run the items as pool tasks on 2 threads, and (B = 1, a prediction tile) large enough to split the one item
    /// into parts on 2 and 3 threads.
    static let shapes: [(B: Int, Ch: Int, HW: Int)] = [(3, 2, 37), (4, 3, 5467), (1, 5, 13_111)]

    func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

    func check(_ isa: KernelISA) throws {
        let threads = strata_threads()
        defer { strata_set_threads(threads) }
        for (k, s) in Self.shapes.enumerated() {
            for peepholes in [false, true] {
                for t in [1, 2, 3] {
                    strata_set_threads(Int32(t))
                    try withKernelISA(isa) { compare(s, peepholes: peepholes, seed: UInt64(40 + k), "\(isa) \(k) \(t)") }
                }
            }
        }
    }

    func compare(_ s: (B: Int, Ch: Int, HW: Int), peepholes: Bool, seed: UInt64, _ label: String) {
        var rng = KernelTestRandom(seed: seed)
        let n = s.B * s.Ch * s.HW, m = s.Ch * s.HW
        let z = GateTests.preactivations(4 * n, seed: seed), cPrev = rng.floats(n, -2, 2)
        let w = rng.floats(3 * m, -1, 1)  // w_ci, w_cf, w_co
        let dh = rng.floats(n), dcNext = rng.floats(n)
        let (b, ch, hw) = (Int32(s.B), Int32(s.Ch), Int32(s.HW))
        let what = "\(label) peepholes \(peepholes)"
        w.withUnsafeBufferPointer { wb in
            func wp(_ i: Int) -> UnsafePointer<Float>? { peepholes ? wb.baseAddress! + i * m : nil }
            // Forward: fp32 kernel then rounding, against the bf16 kernel.
            var h32 = [Float](repeating: 0, count: n), c32 = h32, g32 = [Float](repeating: 0, count: 4 * n)
            var h16 = h32, c16 = h32, g16 = [UInt16](repeating: 0, count: 4 * n)
            var rounded = g16
            strata_lstm_cell_forward(b, ch, hw, z, wp(0), wp(1), wp(2), cPrev, &h32, &c32, &g32)
            strata_f32_to_bf16(g32, &rounded, 4 * n)
            strata_lstm_cell_forward_bf16(b, ch, hw, z, wp(0), wp(1), wp(2), cPrev, &h16, &c16, &g16)
            XCTAssertEqual(g16, rounded, "\(what): forward gates")
            XCTAssertEqual(bits(h16), bits(h32), "\(what): h")
            XCTAssertEqual(bits(c16), bits(c32), "\(what): c")

            // Backward from the bf16 gates: widened for the fp32 kernel, in place for the bf16 one.
            var wide = [Float](repeating: 0, count: 4 * n)
            strata_bf16_to_f32(g16, &wide, 4 * n)
            var dc32 = dcNext, dc16 = dcNext
            var dw32 = [Float](repeating: 0.25, count: 3 * m), dw16 = dw32  // dw_ci, dw_cf, dw_co
            func dwp(_ p: UnsafeMutableBufferPointer<Float>, _ i: Int) -> UnsafeMutablePointer<Float>? {
                peepholes ? p.baseAddress! + i * m : nil
            }
            wide.withUnsafeMutableBufferPointer { g in
                dw32.withUnsafeMutableBufferPointer { d in
                    strata_lstm_cell_backward(b, ch, hw, dh, dc32, cPrev, g.baseAddress!, wp(0), wp(1), wp(2),
                                              g.baseAddress!, &dc32, dwp(d, 0), dwp(d, 1), dwp(d, 2))
                }
            }
            g16.withUnsafeMutableBufferPointer { g in
                dw16.withUnsafeMutableBufferPointer { d in
                    strata_lstm_cell_backward_bf16(b, ch, hw, dh, dc16, cPrev, g.baseAddress!, wp(0), wp(1), wp(2),
                                                   g.baseAddress!, &dc16, dwp(d, 0), dwp(d, 1), dwp(d, 2))
                }
            }
            strata_f32_to_bf16(wide, &rounded, 4 * n)
            XCTAssertEqual(g16, rounded, "\(what): dz")
            XCTAssertEqual(bits(dc16), bits(dc32), "\(what): dc_prev")
            XCTAssertEqual(bits(dw16), bits(dw32), "\(what): peephole gradients")
        }
    }

    func testScalarMatchesFP32KernelsRounded() throws { try check(.scalar) }
    func testAVX2MatchesFP32KernelsRounded() throws { try check(.avx2) }
    func testAVX512MatchesFP32KernelsRounded() throws { try check(.avx512) }
}
