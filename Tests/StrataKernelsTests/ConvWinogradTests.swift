// The Winograd F(4x4, 3x3) and F(2x2, 5x5) convolutions (fp32, K = 3 and 5): all three passes on every ISA against
// float64 direct convolutions on awkward shapes (odd sizes give partial tiles, 1-pixel images are all padding), with
// the error bound the transforms allow, and the automatic choice of algorithm.
import StrataCore
import StrataKernels
import XCTest

final class ConvWinogradTests: XCTestCase {
    // H and W in 1, 2, 3, 5, 17, 33 (none a multiple of 4: partial tiles at the edges), C in 1, 3, 33 (in and out),
    // batch 1 to 3. `check` runs on 2 threads: 3 x 33x33 has 4 blocks of tile rows (pool tasks); shapes of one block
    // and more than one tile row are cut into one block per thread, with the weight gradient's chunks summed and
    // transformed by 2 tasks over input channels where Cin >= 2; a single tile row stays one block.
    static let shapes: [(N: Int, Cin: Int, Cout: Int, H: Int, W: Int)] = [
        (1, 1, 1, 1, 1), (2, 3, 5, 2, 3), (3, 33, 4, 5, 17), (1, 3, 33, 17, 5), (3, 1, 3, 33, 33),
        (2, 33, 33, 17, 17), (1, 3, 2, 3, 2), (3, 33, 1, 33, 2), (2, 3, 3, 1, 33),
    ]

    /// dx and dw of L = Σ g⊙conv(x, w) in float64, straight from the definition (dy = g), for p.K = 3 or 5.
    static func directGradients(_ p: ConvProblem, g: [Double], x: [Double], w: [Double])
        -> (dx: [Double], dw: [Double]) {
        var dx = [Double](repeating: 0, count: p.x.count), dw = [Double](repeating: 0, count: p.w.count)
        for n in 0..<p.N { for co in 0..<p.Cout { for i in 0..<p.H { for j in 0..<p.W {
            let gy = g[((n * p.Cout + co) * p.H + i) * p.W + j]
            for ci in 0..<p.Cin { for ky in 0..<p.K { for kx in 0..<p.K {
                let si = i + ky - p.K / 2, sj = j + kx - p.K / 2
                guard si >= 0, si < p.H, sj >= 0, sj < p.W else { continue }
                let xi = ((n * p.Cin + ci) * p.H + si) * p.W + sj, wi = ((co * p.Cin + ci) * p.K + ky) * p.K + kx
                dx[xi] += w[wi] * gy
                dw[wi] += x[xi] * gy
            } } }
        } } } }
        return (dx, dw)
    }

    /// Worst |got - want| / ((terms + c)·2^-24·scale), scale the same sum over |operands|, c = 64 for K = 3 and 128
    /// for K = 5: like a direct sum, whose error stays below terms·2^-24·scale, plus a constant for the transforms
    /// around each product (input tiles mix 6 pixels with weights up to 5, filter tiles divide by 6 and 24, output
    /// tiles weight products by up to 8; F(2x2, 5x5)'s filter tiles weight taps by up to 16/24). Measured (all
    /// shapes, every ISA, this machine): K = 3 at most 54 units (a 10-term y, Cin 1), K = 5 at most 98 units (a
    /// 25-term dx); must stay <= 1.
    func worst(_ got: [Float], _ want: [Double], scale: [Double], terms: Int, K: Int) -> Double {
        var worst = 0.0
        let unit = Double(terms + (K == 3 ? 64 : 128)) * 0x1p-24
        for k in got.indices { worst = max(worst, abs(Double(got[k]) - want[k]) / (unit * scale[k] + 1e-30)) }
        return worst
    }

    func check(_ isa: KernelISA) throws {
        let savedThreads = ThreadPool.threads
        defer { ThreadPool.setThreads(savedThreads) }
        ThreadPool.setThreads(2)
        for K in [3, 5] { for (k, s) in Self.shapes.enumerated() {
            let p = ConvProblem(N: s.N, Cin: s.Cin, Cout: s.Cout, H: s.H, W: s.W, K: K, seed: UInt64(k + 900))
            var rng = KernelTestRandom(seed: UInt64(k + 950))
            let g = rng.floats(p.ySize)
            let (x, w, gd) = (p.x.map(Double.init), p.w.map(Double.init), g.map(Double.init))
            let want = Self.directGradients(p, g: gd, x: x, w: w)
            let scale = Self.directGradients(p, g: gd.map(abs), x: x.map(abs), w: w.map(abs))
            let got = try withKernelISA(isa) {
                withConvAlgorithm(STRATA_CONV_WINOGRAD) { (p.forward(STRATA_F32), p.gradients(STRATA_F32, g: g)) }
            }
            let label = "\(isa) " + p.label
            XCTAssertLessThanOrEqual(worst(got.0, p.direct(), scale: p.absoluteScale, terms: K * K * s.Cin + 1, K: K),
                                     1, "y " + label)
            XCTAssertLessThanOrEqual(worst(got.1.dx, want.dx, scale: scale.dx, terms: K * K * s.Cout, K: K), 1,
                                     "dx " + label)
            // A filter's taps share their 6x6 sums, so a tap that no pixel reaches (exactly 0) still gets rounding
            // from its neighbours: each tap's scale is the largest of its filter's.
            let filterScale = (0..<scale.dw.count).map { i -> Double in
                let first = i / (K * K) * K * K
                return scale.dw[first..<(first + K * K)].max()!
            }
            XCTAssertLessThanOrEqual(worst(got.1.dw, want.dw, scale: filterScale, terms: s.N * s.H * s.W, K: K), 1,
                                     "dw " + label)
            // The bias gradient, summed in double per row and chunk, then rounded once: 1 unit of 2^-24 of Σ|g|.
            let hw = s.H * s.W
            for co in 0..<s.Cout {
                var sum = 0.0, size = 0.0
                for n in 0..<s.N {
                    for q in 0..<hw {
                        sum += gd[(n * s.Cout + co) * hw + q]
                        size += abs(gd[(n * s.Cout + co) * hw + q])
                    }
                }
                XCTAssertEqual(Double(got.1.db[co]), sum, accuracy: 0x1p-24 * size + 1e-30, "db[\(co)] " + label)
            }
        } }
    }

    func testScalarMatchesDirect() throws { try check(.scalar) }
    func testAVX2MatchesDirect() throws { try check(.avx2) }
    func testAVX512MatchesDirect() throws { try check(.avx512) }
    func testAVX512BF16MatchesDirect() throws { try check(.avx512bf16) }

    /// The default runs Winograd where its GEMMs are wide enough (Cout >= 16, and Cin >= 16 except for the input
    /// gradient) and the implicit GEMM elsewhere: each default result equals one forced algorithm's bit for bit.
    func testDefaultChoosesByChannels() {
        guard KernelISA.active != .scalar else { return }
        for (Cin, winogradForward) in [(16, true), (6, false)] {
            let p = ConvProblem(N: 2, Cin: Cin, Cout: 16, H: 9, W: 10, K: 3, seed: 78)
            var rng = KernelTestRandom(seed: 79)
            let g = rng.floats(p.ySize)
            func run() -> ([Float], (dx: [Float], dw: [Float], db: [Float])) {
                (p.forward(STRATA_F32), p.gradients(STRATA_F32, g: g))
            }
            let auto = run()
            let winograd = withConvAlgorithm(STRATA_CONV_WINOGRAD) { run() }
            let implicit = withConvAlgorithm(STRATA_CONV_IMPLICIT) { run() }
            let expected = winogradForward ? winograd : implicit
            XCTAssertEqual(auto.0, expected.0, "y Cin \(Cin)")
            XCTAssertEqual(auto.1.dw, expected.1.dw, "dw Cin \(Cin)")
            XCTAssertEqual(auto.1.dx, winograd.1.dx, "dx Cin \(Cin)")
            XCTAssertNotEqual(winograd.0, implicit.0, "the two algorithms round differently, so the check can fail")
        }
    }

    /// The weight gradient with its input split in two tensors (x = [x1, x2] per image, the cells' [x_t, h]) equals
    /// the one on the whole x bit for bit: both gather channel c of image n from the same floats, whichever tensor
    /// holds it. 3 x 33x33 runs 4 blocks as pool tasks on 2 threads.
    func testSplitWeightGradientMatchesWhole() {
        guard KernelISA.active != .scalar else { return }
        let threads = strata_threads()
        defer { strata_set_threads(threads) }
        for K in [3, 5] { for n in [1, 2] {
            strata_set_threads(Int32(n))
            let p = ConvProblem(N: 3, Cin: 21, Cout: 18, H: 33, W: 33, K: K, seed: 81)
            let (C1, hw) = (5, p.H * p.W)
            var rng = KernelTestRandom(seed: 82)
            let dy = rng.floats(p.ySize)
            var x1 = [Float](), x2 = [Float]()
            for image in 0..<p.N {
                let base = image * p.Cin * hw
                x1 += p.x[base..<(base + C1 * hw)]
                x2 += p.x[(base + C1 * hw)..<(base + p.Cin * hw)]
            }
            var d = p.desc(STRATA_F32)
            let ws = UnsafeMutableRawPointer.allocate(byteCount: strata_conv2d_workspace_size(&d), alignment: 64)
            defer { ws.deallocate() }
            let count = p.w.count + p.Cout
            var whole = [Float](repeating: 0.25, count: count), split = whole
            withConvAlgorithm(STRATA_CONV_WINOGRAD) {
                whole.withUnsafeMutableBufferPointer { g in
                    XCTAssertEqual(strata_conv2d_backward_weights(&d, p.x, dy, g.baseAddress!,
                                                                  g.baseAddress! + p.w.count, ws), 0)
                }
                split.withUnsafeMutableBufferPointer { g in
                    XCTAssertEqual(strata_conv2d_backward_weights_concat(&d, Int32(C1), x1, x2, dy, g.baseAddress!,
                                                                         g.baseAddress! + p.w.count, ws), 0)
                }
            }
            XCTAssertEqual(split, whole, "K \(K), \(n) threads")
            XCTAssertNotEqual(whole[0], 0.25, "the gradient was added")
        } }
    }

    /// Forced Winograd is reported and falls back to the implicit GEMM where it does not apply (K 7, bf16): those
    /// results equal the implicit ones exactly.
    func testForcedWinogradFallsBackOutsideItsShapes() {
        guard KernelISA.active != .scalar else { return }
        XCTAssertEqual(withConvAlgorithm(STRATA_CONV_WINOGRAD) { strata_conv2d_algorithm() }, STRATA_CONV_WINOGRAD)
        for (compute, K) in [(STRATA_F32, 7), (STRATA_BF16, 3)] {
            let p = ConvProblem(N: 2, Cin: 5, Cout: 7, H: 9, W: 6, K: K, seed: 77)
            let implicit = withConvAlgorithm(STRATA_CONV_IMPLICIT) { p.forward(compute) }
            let forced = withConvAlgorithm(STRATA_CONV_WINOGRAD) { p.forward(compute) }
            XCTAssertEqual(forced, implicit, "K \(K) \(compute)")
        }
    }
}
