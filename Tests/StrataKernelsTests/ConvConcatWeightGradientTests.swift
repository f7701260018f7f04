// strata_conv2d_backward_weights_concat (the weight gradient over [x, h] without concatenating them) against
// strata_conv2d_backward_weights on the concatenated input, on every ISA, every algorithm and fp32 / bf16, plus the
// split-specific descriptor checks.
import StrataCore
import StrataKernels
import XCTest

final class ConvConcatWeightGradientTests: XCTestCase {
    // N = 4 runs images as pool tasks on 2 threads, N = 1 threads the GEMM; C1 = 1 and 5 of Cin 6 and 38 put the
    // split inside a K slice and at its edge; K = 1 takes the direct (no im2col) path.
    static let shapes: [(N: Int, C1: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int)] = [
        (4, 6, 38, 16, 8, 7, 3), (1, 1, 6, 9, 5, 17, 5), (4, 5, 6, 8, 6, 6, 1),
    ]

    /// (dw, dbias) from the concat entry point (x1, x2 separate) and from the plain one on their concatenation.
    func both(_ s: (N: Int, C1: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int), compute: strata_dtype,
              seed: UInt64) -> (concat: [Float], plain: [Float]) {
        var rng = KernelTestRandom(seed: seed)
        let hw = s.H * s.W, c2 = s.Cin - s.C1
        let x1 = rng.floats(s.N * s.C1 * hw), x2 = rng.floats(s.N * c2 * hw), dy = rng.floats(s.N * s.Cout * hw)
        var x: [Float] = []
        for n in 0..<s.N {
            let (a, b) = (n * s.C1 * hw, n * c2 * hw)
            x += x1[a..<(a + s.C1 * hw)]
            x += x2[b..<(b + c2 * hw)]
        }
        var d = strata_conv2d_desc(N: Int32(s.N), Cin: Int32(s.Cin), Cout: Int32(s.Cout), H: Int32(s.H),
                                   W: Int32(s.W), K: Int32(s.K), compute: compute)
        let ws = UnsafeMutableRawPointer.allocate(byteCount: max(strata_conv2d_workspace_size(&d), 1), alignment: 64)
        defer { ws.deallocate() }
        let count = s.Cout * s.Cin * s.K * s.K
        var dwA = [Float](repeating: 0.5, count: count + s.Cout), dwB = dwA  // dw then dbias, accumulated onto 0.5
        dwA.withUnsafeMutableBufferPointer { a in
            XCTAssertEqual(strata_conv2d_backward_weights_concat(&d, Int32(s.C1), x1, x2, dy, a.baseAddress!,
                                                                 a.baseAddress! + count, ws), 0)
        }
        dwB.withUnsafeMutableBufferPointer { b in
            XCTAssertEqual(strata_conv2d_backward_weights(&d, x, dy, b.baseAddress!, b.baseAddress! + count, ws), 0)
        }
        return (dwA, dwB)
    }

    /// Same products, same per-element k order: equal up to fp32 rounding of the sums (1e-5 of the largest value).
    func check(_ isa: KernelISA) throws {
        for algorithm in [STRATA_CONV_IM2COL, STRATA_CONV_IMPLICIT, STRATA_CONV_WINOGRAD] {
            for compute in [STRATA_F32, STRATA_BF16] {
                for (k, s) in Self.shapes.enumerated() {
                    let r = try withKernelISA(isa) {
                        withConvAlgorithm(algorithm) { both(s, compute: compute, seed: UInt64(700 + k)) }
                    }
                    let scale = r.plain.map { abs($0) }.max()!
                    for i in r.plain.indices {
                        XCTAssertEqual(r.concat[i], r.plain[i], accuracy: 1e-5 * scale,
                                       "\(isa) \(algorithm) \(compute) shape \(k) [\(i)]")
                    }
                }
            }
        }
    }

    func testScalarMatchesConcatenatedInput() throws { try check(.scalar) }
    func testAVX2MatchesConcatenatedInput() throws { try check(.avx2) }
    func testAVX512MatchesConcatenatedInput() throws { try check(.avx512) }
    func testAVX512BF16MatchesConcatenatedInput() throws { try check(.avx512bf16) }

    /// The split must leave channels on both sides; the plain checks still apply.
    func testInvalidSplitsAreRejected() {
        var d = strata_conv2d_desc(N: 1, Cin: 4, Cout: 2, H: 3, W: 3, K: 3, compute: STRATA_F32)
        let ws = UnsafeMutableRawPointer.allocate(byteCount: strata_conv2d_workspace_size(&d), alignment: 64)
        defer { ws.deallocate() }
        let x = [Float](repeating: 1, count: 36), dy = [Float](repeating: 1, count: 18)
        var dw = [Float](repeating: 0, count: 72)
        for split: Int32 in [0, 4, -1, 5] {
            XCTAssertEqual(strata_conv2d_backward_weights_concat(&d, split, x, x, dy, &dw, nil, ws), -1, "C1 \(split)")
        }
        XCTAssertEqual(strata_conv2d_backward_weights_concat(&d, 2, x, nil, dy, &dw, nil, ws), -1, "no x2")
        XCTAssertEqual(dw, [Float](repeating: 0, count: 72), "a rejected call writes nothing")
    }
}
