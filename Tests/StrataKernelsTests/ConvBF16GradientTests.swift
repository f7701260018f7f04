// The bf16-dy backward entry points (strata_conv2d_backward_data_bf16, _weights_bf16, _weights_concat_bf16) against
// the fp32-dy ones fed the same dy rounded to bf16: the only difference is where the 16-bit dy comes from, so the
// results must be bit-identical, on every ISA, both algorithms, 1 and 2 threads.
import StrataCore
import StrataKernels
import XCTest

final class ConvBF16GradientTests: XCTestCase {
    // N = 4 runs images as pool tasks on 2 threads; K = 1 takes the direct path; C1 splits [x, h]; 24 channels of
    // 64x64 with K = 5 (150 KiB of dcol per image row) make the im2col input gradient run in chunks of image rows
    // (3 rows per 512 KiB chunk: 21 chunks of 3 and a last one of 1).
    static let shapes: [(N: Int, C1: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int)] = [
        (4, 3, 11, 16, 9, 7, 3), (1, 1, 6, 9, 5, 17, 5), (4, 5, 6, 8, 6, 6, 1), (1, 5, 24, 4, 64, 64, 5),
    ]

    /// Every output of the three bf16-dy passes and of the fp32-dy passes on the rounded dy: dx (written, then
    /// accumulated), dw + dbias (plain), dw + dbias (concat), each accumulated onto 0.5.
    func outputs(_ s: (N: Int, C1: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int),
                 seed: UInt64) -> (bf16: [Float], fp32: [Float]) {
        var rng = KernelTestRandom(seed: seed)
        let hw = s.H * s.W
        let x = rng.floats(s.N * s.Cin * hw), w = rng.floats(s.Cout * s.Cin * s.K * s.K)
        let x2 = rng.floats(s.N * (s.Cin - s.C1) * hw)
        var dy16 = [UInt16](repeating: 0, count: s.N * s.Cout * hw)
        strata_f32_to_bf16(rng.floats(dy16.count), &dy16, dy16.count)
        var dy = [Float](repeating: 0, count: dy16.count)
        strata_bf16_to_f32(dy16, &dy, dy.count)
        var d = strata_conv2d_desc(N: Int32(s.N), Cin: Int32(s.Cin), Cout: Int32(s.Cout), H: Int32(s.H),
                                   W: Int32(s.W), K: Int32(s.K), compute: STRATA_BF16)
        let ws = UnsafeMutableRawPointer.allocate(byteCount: max(strata_conv2d_workspace_size(&d), 1), alignment: 64)
        defer { ws.deallocate() }
        let wCount = s.Cout * s.Cin * s.K * s.K, dxCount = s.N * s.Cin * hw
        func run(_ bf16: Bool) -> [Float] {
            var dx = [Float](repeating: 0.5, count: dxCount), dxAcc = dx
            var dw = [Float](repeating: 0.5, count: wCount + s.Cout), dwConcat = dw
            for accumulate: Int32 in [0, 1] {
                let status = accumulate == 0 ? (bf16
                    ? strata_conv2d_backward_data_bf16(&d, dy16, w, &dx, 0, ws)
                    : strata_conv2d_backward_data(&d, dy, w, &dx, 0, ws))
                    : (bf16 ? strata_conv2d_backward_data_bf16(&d, dy16, w, &dxAcc, 1, ws)
                        : strata_conv2d_backward_data(&d, dy, w, &dxAcc, 1, ws))
                XCTAssertEqual(status, 0)
            }
            dw.withUnsafeMutableBufferPointer { p in
                let status = bf16 ? strata_conv2d_backward_weights_bf16(&d, x, dy16, p.baseAddress!,
                                                                          p.baseAddress! + wCount, ws)
                    : strata_conv2d_backward_weights(&d, x, dy, p.baseAddress!, p.baseAddress! + wCount, ws)
                XCTAssertEqual(status, 0)
            }
            let x1 = Array(x[0..<(s.N * s.C1 * hw)])
            if s.C1 < s.Cin {
                dwConcat.withUnsafeMutableBufferPointer { p in
                    let c1 = Int32(s.C1)
                    let status = bf16
                        ? strata_conv2d_backward_weights_concat_bf16(&d, c1, x1, x2, dy16, p.baseAddress!,
                                                                     p.baseAddress! + wCount, ws)
                        : strata_conv2d_backward_weights_concat(&d, c1, x1, x2, dy, p.baseAddress!,
                                                                p.baseAddress! + wCount, ws)
                    XCTAssertEqual(status, 0)
                }
            }
            return dx + dxAcc + dw + dwConcat
        }
        return (run(true), run(false))
    }

    func check(_ isa: KernelISA) throws {
        let threads = strata_threads()
        defer { strata_set_threads(threads) }
        for n in [1, 2] {
            strata_set_threads(Int32(n))
            for algorithm in [STRATA_CONV_IM2COL, STRATA_CONV_IMPLICIT] {
                for (k, s) in Self.shapes.enumerated() {
                    let r = try withKernelISA(isa) {
                        withConvAlgorithm(algorithm) { outputs(s, seed: UInt64(900 + k)) }
                    }
                    XCTAssertEqual(r.bf16.map(\.bitPattern), r.fp32.map(\.bitPattern),
                                   "\(isa) \(algorithm) \(n) threads shape \(k)")
                }
            }
        }
    }

    /// The im2col input gradient of one image in chunks of image rows gives the same bits on 1 and 2 threads (2: the
    /// chunks' GEMMs in rounds side by side, col2im split by channel), written and accumulated, fp32 and bf16; the
    /// 64x64 shape has 22 chunks, the 11 x 5 one with K 7 (94 KiB of dcol a row, 5 rows a chunk) 3: a lone chunk
    /// ends the rounds; chunks shorter than K - 1 rows leave all of col2im to the channel split. The 70 x 5 one with
    /// K 3 (17 KiB a row) has 3 chunks of 23-24 rows, whose own threads add the rows no earlier chunk reaches.
    func testIm2colInputGradientIsTheSameOnOneAndTwoThreads() throws {
        let threads = strata_threads()
        defer { strata_set_threads(threads) }
        let shapes: [(N: Int, C1: Int, Cin: Int, Cout: Int, H: Int, W: Int, K: Int)] = [
            Self.shapes[3], (1, 1, 96, 5, 11, 5, 7), (1, 1, 96, 5, 70, 5, 3),
        ]
        for (k, s) in shapes.enumerated() {
            var rng = KernelTestRandom(seed: UInt64(40 + k))
            let hw = s.H * s.W
            let w = rng.floats(s.Cout * s.Cin * s.K * s.K), dy = rng.floats(s.N * s.Cout * hw)
            let start = rng.floats(s.N * s.Cin * hw)
            for compute in [STRATA_F32, STRATA_BF16] {
                var d = strata_conv2d_desc(N: Int32(s.N), Cin: Int32(s.Cin), Cout: Int32(s.Cout), H: Int32(s.H),
                                           W: Int32(s.W), K: Int32(s.K), compute: compute)
                let ws = UnsafeMutableRawPointer.allocate(byteCount: strata_conv2d_workspace_size(&d), alignment: 64)
                defer { ws.deallocate() }
                func dx(threads n: Int32) -> [UInt32] {
                    strata_set_threads(n)
                    return withConvAlgorithm(STRATA_CONV_IM2COL) {
                        var written = start, accumulated = start
                        XCTAssertEqual(strata_conv2d_backward_data(&d, dy, w, &written, 0, ws), 0)
                        XCTAssertEqual(strata_conv2d_backward_data(&d, dy, w, &accumulated, 1, ws), 0)
                        return (written + accumulated).map(\.bitPattern)
                    }
                }
                XCTAssertEqual(dx(threads: 2), dx(threads: 1), "shape \(k) compute \(compute.rawValue)")
            }
        }
    }

    /// The im2col input gradient in chunks of image rows (the last shape: 22 chunks) against the implicit one, which
    /// has no dcol at all, for fp32 and bf16 operands on every vector ISA (AVX2 runs the portable col2im; the scalar
    /// ISA has no implicit path): the chunks' dy columns, dcol rows and dx rows line up (a wrong offset would differ
    /// by the size of the values, not by rounding).
    func testChunkedIm2colInputGradientMatchesImplicit() throws {
        let s = Self.shapes[3], hw = s.H * s.W
        var rng = KernelTestRandom(seed: 77)
        let w = rng.floats(s.Cout * s.Cin * s.K * s.K), dy = rng.floats(s.N * s.Cout * hw)
        for isa in KernelISA.supported where isa != .scalar { for compute in [STRATA_F32, STRATA_BF16] {
            var d = strata_conv2d_desc(N: Int32(s.N), Cin: Int32(s.Cin), Cout: Int32(s.Cout), H: Int32(s.H),
                                       W: Int32(s.W), K: Int32(s.K), compute: compute)
            let ws = UnsafeMutableRawPointer.allocate(byteCount: strata_conv2d_workspace_size(&d), alignment: 64)
            defer { ws.deallocate() }
            func dx(_ algorithm: strata_conv_algorithm) -> [Float] {
                var out = [Float](repeating: 0, count: s.N * s.Cin * hw)
                withConvAlgorithm(algorithm) { XCTAssertEqual(strata_conv2d_backward_data(&d, dy, w, &out, 0, ws), 0) }
                return out
            }
            let (chunked, implicit) = try withKernelISA(isa) { (dx(STRATA_CONV_IM2COL), dx(STRATA_CONV_IMPLICIT)) }
            let scale = implicit.map(abs).max() ?? 1
            let worst = zip(chunked, implicit).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5 * scale, "\(isa) compute \(compute)")
        } }
    }

    func testScalarMatchesRoundedFP32Gradient() throws { try check(.scalar) }
    func testAVX2MatchesRoundedFP32Gradient() throws { try check(.avx2) }
    func testAVX512MatchesRoundedFP32Gradient() throws { try check(.avx512) }
    func testAVX512BF16MatchesRoundedFP32Gradient() throws { try check(.avx512bf16) }

    /// A dy in bf16 needs a bf16 descriptor: fp32 and fp16 ones are rejected, and nothing is written.
    func testNonBF16DescriptorsAreRejected() {
        for compute in [STRATA_F32, STRATA_F16] {
            var d = strata_conv2d_desc(N: 1, Cin: 4, Cout: 2, H: 3, W: 3, K: 3, compute: compute)
            let ws = UnsafeMutableRawPointer.allocate(byteCount: strata_conv2d_workspace_size(&d), alignment: 64)
            defer { ws.deallocate() }
            let x = [Float](repeating: 1, count: 36), w = [Float](repeating: 1, count: 72)
            let dy = [UInt16](repeating: 0x3F80, count: 18)
            var dx = [Float](repeating: 0, count: 36), dw = [Float](repeating: 0, count: 72)
            XCTAssertEqual(strata_conv2d_backward_data_bf16(&d, dy, w, &dx, 0, ws), -1, "\(compute) data")
            XCTAssertEqual(strata_conv2d_backward_weights_bf16(&d, x, dy, &dw, nil, ws), -1, "\(compute) weights")
            XCTAssertEqual(strata_conv2d_backward_weights_concat_bf16(&d, 2, x, x, dy, &dw, nil, ws), -1,
                           "\(compute) concat")
            XCTAssertEqual(dx + dw, [Float](repeating: 0, count: 108), "a rejected call writes nothing")
        }
    }
}
