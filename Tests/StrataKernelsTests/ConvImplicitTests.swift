// The implicit-GEMM convolution (the default on vector ISAs): every pass, precision and ISA variant against the
// scalar reference (im2col + reference GEMM) on awkward shapes, the two algorithms against each other, and the
// input / weight gradients of the implicit path against finite differences.
import StrataCore
import StrataKernels
import XCTest

/// Runs `body` with the convolution algorithm forced, restoring the default afterwards.
func withConvAlgorithm<R>(_ algorithm: strata_conv_algorithm, _ body: () throws -> R) rethrows -> R {
    strata_conv2d_set_algorithm(algorithm)
    defer { strata_conv2d_set_algorithm(STRATA_CONV_AUTO) }
    return try body()
}

final class ConvImplicitTests: XCTestCase {
    // Every K in 1/3/5/7, C in 1/3/33, H and W in 1/5/17, batch 1/2/3 (2 runs images as pool tasks on 2 threads; 1
    // and 3 thread the GEMM instead), Cout around the 8-row tile edge. 33·5·5 = 825 and 17·17 = 289 reduce over more
    // than one K slice of 256; 3·3·3 = 27 is an odd K for bf16 pairs; kernels wider than the image see only padding;
    // K = 33 is past the widest kernel whose gathers use precomputed masks (im2col.c), so it takes the general packing.
    static let shapes: [(N: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int)] = [
        (1, 1, 2, 1, 1, 3), (3, 3, 5, 5, 17, 3), (1, 33, 9, 17, 5, 5), (3, 1, 4, 17, 17, 7), (2, 3, 8, 1, 17, 5),
        (3, 33, 3, 5, 1, 7), (1, 33, 17, 17, 17, 3), (3, 3, 33, 5, 5, 1), (2, 1, 50, 1, 5, 3), (1, 3, 7, 17, 1, 5),
        (1, 2, 3, 4, 6, 33),
    ]

    /// Forward, input gradient and weight gradient of `p` on `isa` (bias included), in one compute type, with the
    /// implicit algorithm forced for every pass (the scalar ISA runs im2col regardless).
    func passes(_ p: ConvProblem, _ compute: strata_dtype, g: [Float], isa: KernelISA) throws
        -> (y: [Float], dx: [Float], dw: [Float]) {
        try withKernelISA(isa) {
            withConvAlgorithm(STRATA_CONV_IMPLICIT) {
                let y = p.forward(compute)
                let grads = p.gradients(compute, g: g)
                return (y, grads.dx, grads.dw)
            }
        }
    }

    /// Each vector ISA's implicit passes against the scalar ISA's im2col + reference GEMM. Both sides use identically
    /// rounded 16-bit operands, so only the fp32 summation order differs (bound: 2·terms units of 2^-24 of Σ|products|),
    /// except bf16 on avx512bf16, whose vdpbf16ps / AMX products may round differently (bf16 product bound).
    func checkISA(_ isa: KernelISA) throws {
        XCTAssertEqual(try withKernelISA(isa) { strata_conv2d_algorithm() }, STRATA_CONV_IMPLICIT)
        XCTAssertEqual(try withKernelISA(.scalar) { strata_conv2d_algorithm() }, STRATA_CONV_IM2COL)
        for (k, s) in Self.shapes.enumerated() {
            let p = ConvProblem(N: s.N, Cin: s.Cin, Cout: s.Cout, H: s.H, W: s.W, K: s.K, seed: UInt64(k + 500))
            var rng = KernelTestRandom(seed: UInt64(k + 600))
            let g = rng.floats(p.ySize)
            let scale = p.gradients(STRATA_F32, g: g.map(abs), w: p.w.map(abs), x: p.x.map(abs))
            for (compute, name) in [(STRATA_F32, "fp32"), (STRATA_BF16, "bf16"), (STRATA_F16, "fp16")] {
                let want = try passes(p, compute, g: g, isa: .scalar)
                let got = try passes(p, compute, g: g, isa: isa)
                let pairProducts = isa == .avx512bf16 && compute == STRATA_BF16
                let perTerm: Double = pairProducts ? ConvTests.twoRoundings(ConvTests.bf16Unit) : 0
                let label = "\(isa) \(name) " + p.label
                let termsY: Int = 2 * (s.Cin * s.K * s.K + 1), termsDx: Int = 2 * s.Cout * s.K * s.K
                let termsDw: Int = 2 * s.N * s.H * s.W
                let wantY: [Double] = want.y.map(Double.init), wantDx: [Double] = want.dx.map(Double.init)
                let wantDw: [Double] = want.dw.map(Double.init)
                let scaleDx: [Double] = scale.dx.map(Double.init), scaleDw: [Double] = scale.dw.map(Double.init)
                assertWithinRoundingBound(got.y, wantY, scale: p.absoluteScale, terms: termsY, perTerm: perTerm,
                                          "y " + label)
                assertWithinRoundingBound(got.dx, wantDx, scale: scaleDx, terms: termsDx, perTerm: perTerm,
                                          "dx " + label)
                assertWithinRoundingBound(got.dw, wantDw, scale: scaleDw, terms: termsDw, perTerm: perTerm,
                                          "dw " + label)
            }
        }
    }

    func testImplicitAVX2MatchesReference() throws { try checkISA(.avx2) }
    func testImplicitAVX512MatchesReference() throws { try checkISA(.avx512) }
    func testImplicitAVX512BF16MatchesReference() throws { try checkISA(.avx512bf16) }

    /// On one ISA, forcing im2col and the implicit path give the same fp32 results up to summation order, and the
    /// forced setting really selects the algorithm.
    func testAlgorithmsAgree() {
        guard KernelISA.active != .scalar else { return }
        let p = ConvProblem(N: 2, Cin: 33, Cout: 9, H: 17, W: 5, K: 5, seed: 31)
        var rng = KernelTestRandom(seed: 32)
        let g = rng.floats(p.ySize)
        let scale = p.gradients(STRATA_F32, g: g.map(abs), w: p.w.map(abs), x: p.x.map(abs))
        let im2col = withConvAlgorithm(STRATA_CONV_IM2COL) { (p.forward(STRATA_F32), p.gradients(STRATA_F32, g: g)) }
        let implicit = withConvAlgorithm(STRATA_CONV_IMPLICIT) {
            XCTAssertEqual(strata_conv2d_algorithm(), STRATA_CONV_IMPLICIT)
            return (p.forward(STRATA_F32), p.gradients(STRATA_F32, g: g))
        }
        XCTAssertEqual(withConvAlgorithm(STRATA_CONV_IM2COL) { strata_conv2d_algorithm() }, STRATA_CONV_IM2COL)
        assertWithinRoundingBound(implicit.0, im2col.0.map(Double.init), scale: p.absoluteScale,
                                       terms: 2 * (33 * 25 + 1), perTerm: 0, "y")
        assertWithinRoundingBound(implicit.1.dx, im2col.1.dx.map(Double.init), scale: scale.dx.map(Double.init),
                                       terms: 2 * 9 * 25, perTerm: 0, "dx")
        assertWithinRoundingBound(implicit.1.dw, im2col.1.dw.map(Double.init), scale: scale.dw.map(Double.init),
                                       terms: 2 * 2 * 85, perTerm: 0, "dw")
    }
}
