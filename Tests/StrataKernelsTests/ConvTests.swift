// 2-D convolution (strata_conv.h): forward against a direct float64 convolution written here, input / weight / bias
// gradients against central finite differences of that float64 convolution, the bf16 / fp16 compute paths against
// worst-case rounding bounds, every ISA against the scalar one, and the descriptor checks.
import StrataCore
import StrataKernels
import XCTest

/// A convolution problem with random fp32 data and a float64 reference.
struct ConvProblem {
    let N, Cin, Cout, H, W, K: Int
    let x, w, b: [Float]

    init(N: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int, seed: UInt64) {
        self.N = N; self.Cin = Cin; self.Cout = Cout; self.H = H; self.W = W; self.K = K
        var rng = KernelTestRandom(seed: seed)
        x = rng.floats(N * Cin * H * W)
        w = rng.floats(Cout * Cin * K * K)
        b = rng.floats(Cout)
    }

    var ySize: Int { N * Cout * H * W }
    var label: String { "N\(N) Cin\(Cin) Cout\(Cout) \(H)x\(W) K\(K)" }

    func desc(_ compute: strata_dtype) -> strata_conv2d_desc {
        strata_conv2d_desc(N: Int32(N), Cin: Int32(Cin), Cout: Int32(Cout), H: Int32(H), W: Int32(W), K: Int32(K),
                           compute: compute)
    }

    /// Direct nested-loop convolution in float64: y[n][co][i][j] = b[co] + Σ w[co][ci][ky][kx]·x[n][ci][i+ky-p][j+kx-p].
    static func direct(_ N: Int, _ Cin: Int, _ Cout: Int, _ H: Int, _ W: Int, _ K: Int, x: [Double], w: [Double],
                       b: [Double]?) -> [Double] {
        let p = K / 2
        var y = [Double](repeating: 0, count: N * Cout * H * W)
        for n in 0..<N { for co in 0..<Cout { for i in 0..<H { for j in 0..<W {
            var s = b?[co] ?? 0
            for ci in 0..<Cin { for ky in 0..<K { for kx in 0..<K {
                let si = i + ky - p, sj = j + kx - p
                guard si >= 0, si < H, sj >= 0, sj < W else { continue }
                s += w[((co * Cin + ci) * K + ky) * K + kx] * x[((n * Cin + ci) * H + si) * W + sj]
            } } }
            y[((n * Cout + co) * H + i) * W + j] = s
        } } } }
        return y
    }

    func direct(x: [Double]? = nil, w: [Double]? = nil, b: [Double]? = nil) -> [Double] {
        Self.direct(N, Cin, Cout, H, W, K, x: x ?? self.x.map(Double.init), w: w ?? self.w.map(Double.init),
                    b: b ?? self.b.map(Double.init))
    }

    /// Σ|w·x| + |b| per output: the scale of the worst-case rounding error of each output.
    var absoluteScale: [Double] {
        Self.direct(N, Cin, Cout, H, W, K, x: x.map { Double(abs($0)) }, w: w.map { Double(abs($0)) },
                    b: b.map { Double(abs($0)) })
    }

    func workspace(_ compute: strata_dtype) -> UnsafeMutableRawPointer {
        var d = desc(compute)
        return UnsafeMutableRawPointer.allocate(byteCount: max(strata_conv2d_workspace_size(&d), 1), alignment: 64)
    }

    func forward(_ compute: strata_dtype, x xs: [Float]? = nil, w ws: [Float]? = nil, bias: Bool = true) -> [Float] {
        var d = desc(compute)
        let xb = FloatBuffer(xs ?? x), wb = FloatBuffer(ws ?? w), bb = FloatBuffer(b), y = FloatBuffer(zeros: ySize)
        let space = workspace(compute)
        defer { space.deallocate() }
        XCTAssertEqual(strata_conv2d_forward(&d, xb.pointer, wb.pointer, bias ? bb.pointer : nil, y.pointer, 0, space), 0)
        keepAlive(xb, wb, bb)
        return y.values
    }

    /// (dx, dw, dbias) for L = Σ g⊙y, from the kernel.
    func gradients(_ compute: strata_dtype, g: [Float], w ws: [Float]? = nil, x xs: [Float]? = nil)
        -> (dx: [Float], dw: [Float], db: [Float]) {
        var d = desc(compute)
        let gb = FloatBuffer(g), wb = FloatBuffer(ws ?? w), xb = FloatBuffer(xs ?? x)
        let dx = FloatBuffer(zeros: x.count), dw = FloatBuffer(zeros: w.count), db = FloatBuffer(zeros: Cout)
        let space = workspace(compute)
        defer { space.deallocate() }
        XCTAssertEqual(strata_conv2d_backward_data(&d, gb.pointer, wb.pointer, dx.pointer, 0, space), 0)
        XCTAssertEqual(strata_conv2d_backward_weights(&d, xb.pointer, gb.pointer, dw.pointer, db.pointer, space), 0)
        keepAlive(gb, wb, xb)
        return (dx.values, dw.values, db.values)
    }
}

final class ConvTests: XCTestCase {
    // Awkward pixel counts (1, 3, 7, 33 and a square) and every K in 1, 3, 5, 7, including kernels wider than the
    // image, where most taps fall in the padding.
    static let shapes: [(N: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int)] = [
        (2, 3, 2, 1, 1, 1), (1, 2, 3, 1, 3, 3), (2, 1, 2, 7, 1, 5), (1, 2, 2, 3, 11, 7), (2, 3, 4, 3, 11, 3),
        (1, 2, 3, 5, 5, 1), (1, 1, 1, 1, 1, 7), (2, 2, 2, 4, 4, 5),
    ]

    /// Unit roundoffs: fp32 2^-24; bf16 2^-8 (8 significant bits, "about 3 significant digits"); fp16 2^-11.
    static func twoRoundings(_ u: Double) -> Double { 2 * u + u * u }
    static let u32 = 0x1p-24, bf16Unit = 0x1p-8, f16Unit = 0x1p-11

    func testForwardFP32MatchesDirectConvolution() {
        for (k, s) in Self.shapes.enumerated() {
            let p = ConvProblem(N: s.N, Cin: s.Cin, Cout: s.Cout, H: s.H, W: s.W, K: s.K, seed: UInt64(k))
            assertWithinRoundingBound(p.forward(STRATA_F32), p.direct(), scale: p.absoluteScale,
                                      terms: s.Cin * s.K * s.K + 1, perTerm: 0, p.label)
            let noBias = p.forward(STRATA_F32, bias: false)
            let want = p.direct(b: [Double](repeating: 0, count: s.Cout))
            assertWithinRoundingBound(noBias, want, scale: p.absoluteScale, terms: s.Cin * s.K * s.K + 1, perTerm: 0,
                                      p.label + " no bias")
        }
    }

    /// bf16 / fp16 operands: each product carries up to two operand roundings (2u + u²).
    func testForward16BitWithinRoundingBound() {
        for (k, s) in Self.shapes.enumerated() {
            let p = ConvProblem(N: s.N, Cin: s.Cin, Cout: s.Cout, H: s.H, W: s.W, K: s.K, seed: UInt64(k + 100))
            let terms = s.Cin * s.K * s.K + 1
            assertWithinRoundingBound(p.forward(STRATA_BF16), p.direct(), scale: p.absoluteScale, terms: terms,
                                      perTerm: Self.twoRoundings(Self.bf16Unit), "bf16 " + p.label)
            assertWithinRoundingBound(p.forward(STRATA_F16), p.direct(), scale: p.absoluteScale, terms: terms,
                                      perTerm: Self.twoRoundings(Self.f16Unit), "fp16 " + p.label)
        }
        // The bound is not vacuous: bf16 really differs from fp32 on a 5x5 problem.
        let p = ConvProblem(N: 1, Cin: 3, Cout: 2, H: 5, W: 5, K: 3, seed: 1)
        XCTAssertNotEqual(p.forward(STRATA_BF16), p.forward(STRATA_F32))
    }

    /// Analytic gradients of L = Σ g⊙conv(x, w, b) against central differences of the float64 convolution
    /// (step 1e-3; L is linear in each parameter, so the difference is exact up to float64 rounding, ~1e-12).
    /// The kernel computes in fp32 with at most Cout·K²·N·HW terms of size ~1: tolerance 1e-5 abs + 1e-5 rel.
    /// Every algorithm (im2col, implicit GEMM, Winograd for K = 3; the scalar ISA runs im2col unless Winograd is
    /// forced).
    func testGradientsMatchFiniteDifferences() {
        let tiny: [(N: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int)] = [
            (2, 2, 3, 3, 4, 3), (1, 2, 2, 1, 3, 5), (2, 3, 2, 3, 1, 1), (1, 1, 2, 7, 1, 7), (1, 2, 1, 3, 11, 3),
        ]
        for (k, s) in tiny.enumerated() {
            let p = ConvProblem(N: s.N, Cin: s.Cin, Cout: s.Cout, H: s.H, W: s.W, K: s.K, seed: UInt64(k + 7))
            var rng = KernelTestRandom(seed: UInt64(k + 1000))
            let g = rng.floats(p.ySize)
            let gd = g.map(Double.init)
            let x0 = p.x.map(Double.init), w0 = p.w.map(Double.init), b0 = p.b.map(Double.init)
            let e = 1e-3
            func loss(x: [Double], w: [Double], b: [Double]) -> Double {
                zip(p.direct(x: x, w: w, b: b), gd).map(*).reduce(0, +)
            }
            let dxFD = (0..<x0.count).map { i -> Double in
                var a = x0, c = x0; a[i] += e; c[i] -= e
                return (loss(x: a, w: w0, b: b0) - loss(x: c, w: w0, b: b0)) / (2 * e)
            }
            let dwFD = (0..<w0.count).map { i -> Double in
                var a = w0, c = w0; a[i] += e; c[i] -= e
                return (loss(x: x0, w: a, b: b0) - loss(x: x0, w: c, b: b0)) / (2 * e)
            }
            let dbFD = (0..<b0.count).map { i -> Double in
                var a = b0, c = b0; a[i] += e; c[i] -= e
                return (loss(x: x0, w: w0, b: a) - loss(x: x0, w: w0, b: c)) / (2 * e)
            }
            for (algorithm, name) in [(STRATA_CONV_IM2COL, "im2col"), (STRATA_CONV_IMPLICIT, "implicit"),
                                      (STRATA_CONV_WINOGRAD, "winograd")] {
                let got = withConvAlgorithm(algorithm) { p.gradients(STRATA_F32, g: g) }
                let label = "\(name) " + p.label
                XCTAssertLessThanOrEqual(toleranceRatio(got.dx, dxFD, atol: 1e-5, rtol: 1e-5), 1, "dx " + label)
                XCTAssertLessThanOrEqual(toleranceRatio(got.dw, dwFD, atol: 1e-5, rtol: 1e-5), 1, "dw " + label)
                XCTAssertLessThanOrEqual(toleranceRatio(got.db, dbFD, atol: 1e-5, rtol: 1e-5), 1, "dbias " + label)
            }
        }
    }

    /// 16-bit backward passes against the fp32 ones, with the rounding bound scaled by the same pass run on |g|,
    /// |w|, |x| in fp32 (Σ of absolute products).
    func testGradients16BitWithinRoundingBound() {
        for (k, s) in Self.shapes.enumerated() {
            let p = ConvProblem(N: s.N, Cin: s.Cin, Cout: s.Cout, H: s.H, W: s.W, K: s.K, seed: UInt64(k + 200))
            var rng = KernelTestRandom(seed: UInt64(k + 300))
            let g = rng.floats(p.ySize)
            let exact = p.gradients(STRATA_F32, g: g)
            let scale = p.gradients(STRATA_F32, g: g.map(abs), w: p.w.map(abs), x: p.x.map(abs))
            let termsDx = s.Cout * s.K * s.K, termsDw = s.N * s.H * s.W
            for (compute, unit, name) in [(STRATA_BF16, Self.bf16Unit, "bf16"), (STRATA_F16, Self.f16Unit, "fp16")] {
                let got = p.gradients(compute, g: g)
                // The fp32 "exact" values carry their own fp32 rounding: one more unit of the fp32 bound.
                assertWithinRoundingBound(got.dx, exact.dx.map(Double.init), scale: scale.dx.map(Double.init),
                                          terms: 2 * termsDx, perTerm: Self.twoRoundings(unit), "\(name) dx " + p.label)
                assertWithinRoundingBound(got.dw, exact.dw.map(Double.init), scale: scale.dw.map(Double.init),
                                          terms: 2 * termsDw, perTerm: Self.twoRoundings(unit), "\(name) dw " + p.label)
                // The bias gradient is summed from the fp32 dy in every mode.
                XCTAssertEqual(got.db, exact.db, "\(name) dbias " + p.label)
            }
        }
    }

    /// accumulate = 1 adds onto y / dx; dw and dbias always accumulate (the time loop sums steps into them).
    /// Tolerance 1e-6 abs + 1e-6 rel: accumulating changes only where one extra fp32 addition rounds (values ~1-5).
    func testAccumulation() {
        for K in [1, 3] {
            let q = ConvProblem(N: 2, Cin: 2, Cout: 3, H: 3, W: 5, K: K, seed: 12)
            var d = q.desc(STRATA_F32)
            let space = q.workspace(STRATA_F32)
            defer { space.deallocate() }
            let x = FloatBuffer(q.x), w = FloatBuffer(q.w), b = FloatBuffer(q.b)
            let y = FloatBuffer([Float](repeating: 2, count: q.ySize))
            XCTAssertEqual(strata_conv2d_forward(&d, x.pointer, w.pointer, b.pointer, y.pointer, 1, space), 0)
            XCTAssertLessThanOrEqual(toleranceRatio(y.values, q.forward(STRATA_F32).map { Double($0) + 2 },
                                                    atol: 1e-6, rtol: 1e-6), 1, "forward accumulate K\(K)")
            var rng = KernelTestRandom(seed: 5)
            let g = FloatBuffer(rng.floats(q.ySize))
            let once = q.gradients(STRATA_F32, g: g.values)
            let dx = FloatBuffer([Float](repeating: 1, count: q.x.count)), dw = FloatBuffer(once.dw),
                db = FloatBuffer(once.db)
            XCTAssertEqual(strata_conv2d_backward_data(&d, g.pointer, w.pointer, dx.pointer, 1, space), 0)
            XCTAssertEqual(strata_conv2d_backward_weights(&d, x.pointer, g.pointer, dw.pointer, db.pointer, space), 0)
            keepAlive(x, w, b, g)
            XCTAssertLessThanOrEqual(toleranceRatio(dx.values, once.dx.map { Double($0) + 1 }, atol: 1e-6, rtol: 1e-6),
                                     1, "dx accumulate K\(K)")
            XCTAssertLessThanOrEqual(toleranceRatio(dw.values, once.dw.map { 2 * Double($0) }, atol: 1e-6, rtol: 1e-6),
                                     1, "dw accumulate K\(K)")
            XCTAssertLessThanOrEqual(toleranceRatio(db.values, once.db.map { 2 * Double($0) }, atol: 1e-6, rtol: 1e-6),
                                     1, "dbias accumulate K\(K)")
        }
    }

    /// Same results on every ISA (the conv dispatches through the GEMM and the conversions): within the fp32
    /// rounding bound, since GEMM variants may sum in another order.
    func checkISA(_ isa: KernelISA) throws {
        for (k, s) in Self.shapes.enumerated() {
            let p = ConvProblem(N: s.N, Cin: s.Cin, Cout: s.Cout, H: s.H, W: s.W, K: s.K, seed: UInt64(k + 400))
            for (compute, name) in [(STRATA_F32, "fp32"), (STRATA_BF16, "bf16"), (STRATA_F16, "fp16")] {
                let reference = try withKernelISA(.scalar) { p.forward(compute) }
                let got = try withKernelISA(isa) { p.forward(compute) }
                // Both sides use identically rounded 16-bit operands, so only the fp32 summation order differs;
                // bf16 products may be formed differently by vdpbf16ps, hence the bf16 product bound for that ISA.
                let perTerm = isa == .avx512bf16 && compute == STRATA_BF16 ? Self.twoRoundings(Self.bf16Unit) : 0
                assertWithinRoundingBound(got, reference.map(Double.init), scale: p.absoluteScale,
                                          terms: 2 * (s.Cin * s.K * s.K + 1), perTerm: perTerm,
                                          "\(isa) \(name) " + p.label)
            }
        }
    }

    func testISAAVX2() throws { try checkISA(.avx2) }
    func testISAAVX512() throws { try checkISA(.avx512) }
    func testISAAVX512BF16() throws { try checkISA(.avx512bf16) }

    func testWorkspaceSizes() {
        var d = strata_conv2d_desc(N: 4, Cin: 65, Cout: 256, H: 64, W: 64, K: 1, compute: STRATA_F32)
        XCTAssertEqual(strata_conv2d_workspace_size(&d), 0, "K = 1 in fp32 runs the GEMM on x itself")
        d.K = 5
        // col (im2col) + dcol for 1 image row (1625 · 64 · 4 bytes a row, 512 KiB chunks) + flipped weights (implicit
        // input gradient) + w^T packed for the GEMM, fp32, then Winograd's section: at least its filter tiles and
        // weight-gradient sums, 2 · 36 · 65 · 256 floats.
        let packed = (strata_gemm_packed_a_bound(1625, 256) + 63) / 64 * 64
        XCTAssertGreaterThanOrEqual(strata_conv2d_workspace_size(&d), 1625 * 4096 * 4 + 1625 * 64 * 4
                                    + 256 * 1625 * 4 + packed + 2 * 36 * 65 * 256 * 4)
        d.compute = STRATA_BF16
        // w16 + x16 + col16 + dy16 + dcol32 (1 row) + wt16 + packed w^T.
        XCTAssertEqual(strata_conv2d_workspace_size(&d), 256 * 1625 * 2 + 65 * 4096 * 2 + 1625 * 4096 * 2
                       + 256 * 4096 * 2 + 1625 * 64 * 4 + 256 * 1625 * 2 + packed)
    }

    /// Invalid descriptors, one per line: each is rejected with -1 and a workspace size of 0.
    func testInvalidDescriptorsAreRejected() {
        let good = strata_conv2d_desc(N: 1, Cin: 1, Cout: 1, H: 2, W: 2, K: 3, compute: STRATA_F32)
        var bad: [strata_conv2d_desc] = []
        var d = good; d.K = 2; bad.append(d)                       // even kernel
        d = good; d.K = 0; bad.append(d)                           // empty kernel
        d = good; d.N = 0; bad.append(d)                           // no images
        d = good; d.Cin = -1; bad.append(d)                        // negative channels
        d = good; d.H = 0; bad.append(d)                           // empty image
        d = good; d.compute = strata_dtype(rawValue: 7); bad.append(d)  // unknown compute type
        d = good; d.H = 65536; d.W = 65536; bad.append(d)          // H·W overflows the GEMM's int
        for var b in bad {
            XCTAssertEqual(strata_conv2d_check(&b), -1, "\(b)")
            XCTAssertEqual(strata_conv2d_workspace_size(&b), 0, "\(b)")
            let x = FloatBuffer(zeros: 4)
            XCTAssertEqual(strata_conv2d_forward(&b, x.pointer, x.pointer, nil, x.pointer, 0, x.pointer), -1, "\(b)")
            keepAlive(x)
        }
        var ok = good
        XCTAssertEqual(strata_conv2d_check(&ok), 0)
        let x = FloatBuffer(zeros: 4)
        XCTAssertEqual(strata_conv2d_forward(&ok, x.pointer, x.pointer, nil, x.pointer, 0, nil), -1, "missing workspace")
        keepAlive(x)
    }

    // ---- Swift wrapper (StrataCore.Conv2D) ----

    func testConv2DWrapperMatchesKernelAndChecksShapes() throws {
        let p = ConvProblem(N: 2, Cin: 3, Cout: 2, H: 3, W: 11, K: 3, seed: 21)
        let conv = try Conv2D(inputChannels: 3, outputChannels: 2, kernelSize: 3)
        let workspace = Conv2D.Workspace()
        let x = Tensor(shape: [2, 3, 3, 11], values: p.x), w = Tensor(shape: conv.weightShape, values: p.w)
        let b = Tensor(shape: [2], values: p.b)
        XCTAssertEqual(try conv.forward(x, weights: w, bias: b, workspace: workspace).floats, p.forward(STRATA_F32))
        XCTAssertEqual(workspace.byteCount, conv.workspaceByteCount(batch: 2, height: 3, width: 11))
        var rng = KernelTestRandom(seed: 22)
        let g = rng.floats(p.ySize)
        let dy = Tensor(shape: [2, 2, 3, 11], values: g)
        let expected = p.gradients(STRATA_F32, g: g)
        XCTAssertEqual(try conv.inputGradient(dy, weights: w, workspace: workspace).floats, expected.dx)
        var dw = Tensor(zeros: conv.weightShape)
        var db: Tensor? = Tensor(zeros: [2])
        try conv.accumulateWeightGradient(input: x, outputGradient: dy, into: &dw, biasGradient: &db,
                                          workspace: workspace)
        XCTAssertEqual(dw.floats, expected.dw)
        XCTAssertEqual(db?.floats, expected.db)

        // Bad arguments, one per line, with the error each must raise.
        XCTAssertThrowsError(try Conv2D(inputChannels: 3, outputChannels: 2, kernelSize: 4)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "kernel size",
                                                                 reason: "must be odd and positive for 'same' padding, got 4"))
        }
        XCTAssertThrowsError(try conv.forward(Tensor(zeros: [2, 4, 3, 11]), weights: w, bias: b, workspace: workspace)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "input",
                                                                 reason: "shape [2, 4, 3, 11], expected [N, 3, H, W]"))
        }
        XCTAssertThrowsError(try conv.forward(x, weights: Tensor(zeros: [2, 3, 5, 5]), bias: b, workspace: workspace)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "weights",
                                                                 reason: "shape [2, 3, 5, 5], expected [2, 3, 3, 3]"))
        }
        XCTAssertThrowsError(try conv.forward(x, weights: w, bias: Tensor(zeros: [3]), workspace: workspace)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "bias", reason: "shape [3], expected [2]"))
        }
        XCTAssertThrowsError(try conv.forward(x.converted(to: .bfloat16), weights: w, bias: b, workspace: workspace)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "input", reason: "must be float32, got bfloat16"))
        }
    }
}

extension XCTestCase {
    /// Checks |got - want| <= (perTerm + (terms + 1)·2^-24)·scale + slack elementwise: the classical worst-case
    /// bound of an fp32 dot product of `terms` products whose operands were each rounded to 16 bits beforehand
    /// (perTerm = 0 for fp32; 2u + u² for two roundings of unit u). With 16-bit operands, slack adds terms·2^-24 for
    /// operands that land in fp16's subnormal range, where the error is absolute (half of 2^-24), not relative.
    func assertWithinRoundingBound(_ got: [Float], _ want: [Double], scale: [Double], terms: Int, perTerm: Double,
                                   _ message: String) {
        XCTAssertEqual(got.count, want.count, message)
        let unit = perTerm + Double(terms + 1) * ConvTests.u32
        let slack = perTerm > 0 ? Double(terms) * 0x1p-24 : 1e-12
        var worst = 0.0
        for k in 0..<got.count { worst = max(worst, abs(Double(got[k]) - want[k]) / (unit * scale[k] + slack)) }
        XCTAssertLessThanOrEqual(worst, 1, message + " (error / bound)")
    }
}
