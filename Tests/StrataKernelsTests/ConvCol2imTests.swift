// The im2col input gradient's col2im (scatter-add of dcol onto dx), whose AVX-512 version sums each dx stretch in
// registers, against the implicit input gradient (no col2im at all) on lines wider than one vector and with edges.
import StrataCore
import StrataKernels
import XCTest

final class ConvCol2imTests: XCTestCase {
    // W = 16, 17, 33 and 40: one vector, a vector and a lane, and partial last vectors; K up to 7 shifts taps past
    // both line ends; W = 3 < K = 5 has taps that see only padding. W = 64 and 80 take the 4-stretch groups (80: and
    // a lone fifth), odd H leaves a line without a partner, and W = 1100 with K = 63 needs three tables of tap masks.
    static let shapes: [(N: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int)] = [
        (2, 3, 5, 4, 16, 3), (1, 2, 3, 5, 17, 5), (2, 3, 4, 3, 33, 7), (1, 4, 2, 2, 40, 3), (1, 2, 3, 6, 3, 5),
        (1, 2, 3, 5, 64, 3), (1, 2, 2, 7, 80, 5), (1, 1, 2, 1, 1100, 63),
    ]

    /// dx with im2col forced equals dx with the implicit path up to fp32 summation order (the GEMMs sum in another
    /// order; col2im adds the K² taps in a fixed one): bound 2·Cout·K² units of 2^-24 of Σ|products|.
    func check(_ isa: KernelISA) throws {
        for (k, s) in Self.shapes.enumerated() {
            let p = ConvProblem(N: s.N, Cin: s.Cin, Cout: s.Cout, H: s.H, W: s.W, K: s.K, seed: UInt64(k + 900))
            var rng = KernelTestRandom(seed: UInt64(k + 950))
            let g = rng.floats(p.ySize)
            let scale = p.gradients(STRATA_F32, g: g.map(abs), w: p.w.map(abs), x: p.x.map(abs))
            let (im2col, implicit) = try withKernelISA(isa) {
                (withConvAlgorithm(STRATA_CONV_IM2COL) { p.gradients(STRATA_F32, g: g) },
                 withConvAlgorithm(STRATA_CONV_IMPLICIT) { p.gradients(STRATA_F32, g: g) })
            }
            assertWithinRoundingBound(im2col.dx, implicit.dx.map(Double.init), scale: scale.dx.map(Double.init),
                                      terms: 2 * s.Cout * s.K * s.K, perTerm: 0, "\(isa) dx " + p.label)
        }
    }

    func testAVX2Col2imMatchesImplicit() throws { try check(.avx2) }
    func testAVX512Col2imMatchesImplicit() throws { try check(.avx512) }
}
