import XCTest
import StrataCore
import StrataKernels

/// Every GEMM variant this CPU runs, against the scalar reference (`strata_gemm_reference`).
///
/// Tolerance, per element of C, relative to the magnitude bound S = |alpha| Σ_k |a_ik||b_kj| + |beta||c_ij| (the sum
/// the rounding errors scale with; a plain relative error is meaningless where terms cancel):
/// - fp32: 1e-5 · S. Both sides read identical inputs; only the order of the fp32 additions differs.
/// - bf16 / fp16: (1e-5 + 2e-7 · K) · S. The reference reads the same rounded 16-bit inputs and every product is exact
///   in fp32, so again only summation order differs (vdpbf16ps adds two products per step). The worst-case error
///   of a K-term fp32 sum grows like K · 2⁻²⁴ ≈ 6e-8 · K, for each side; 2e-7 · K covers both with margin.
final class GEMMTests: XCTestCase {
    /// (M, N, K): awkward sizes (1, 3, 7, 33, 257), K not a multiple of 8 or 16, several K slices (K > 512),
    /// several column chunks (N > 1024), and shapes big enough to use the thread pool.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (3, 7, 33), (7, 33, 3), (33, 257, 7), (257, 3, 33), (8, 48, 512), (17, 100, 513),
        (9, 50, 1100), (300, 20, 10), (3, 1100, 5), (64, 200, 300),
    ]

    func testScalar() throws { try checkVariant(.scalar) }
    func testAVX2() throws { try checkVariant(.avx2) }
    func testAVX512() throws { try checkVariant(.avx512) }
    /// Both bf16 modes of the avx512bf16 ISA: vdpbf16ps pairs and bf16 widened to fp32 (the timed choice picks one).
    func testAVX512BF16() throws {
        defer { strata_gemm_set_bf16_mode(STRATA_BF16_AUTO) }
        for mode in [STRATA_BF16_PAIRS, STRATA_BF16_WIDEN] {
            strata_gemm_set_bf16_mode(mode)
            try checkVariant(.avx512bf16)
        }
    }

    /// The AMX mode of the avx512bf16 ISA (tdpbf16ps on 16 x 16 tiles, 32 x 32 blocks of C, K in blocks of 32): the
    /// same shapes and tolerance, which reach the zero-padded edges (M, N or K not multiples of 32), then shapes of
    /// whole 32 x 32 blocks.
    func testAMX() throws {
        guard KernelISA.avx512bf16.isSupported else { throw XCTSkip("this CPU lacks avx512bf16") }
        guard strata_gemm_amx_available() != 0 else {
            throw XCTSkip("AMX unavailable: the CPU lacks AMX-TILE/AMX-BF16 or the OS refused the tile state")
        }
        defer { strata_gemm_set_bf16_mode(STRATA_BF16_AUTO) }
        strata_gemm_set_bf16_mode(STRATA_BF16_AMX)
        XCTAssertEqual(strata_gemm_bf16_mode(), STRATA_BF16_AMX)
        try checkVariant(.avx512bf16)
        // Full 32 x 32 blocks with alpha 1 (C goes straight to and from the tiles), several K slices and chunks.
        for (m, n, k, beta) in [(64, 1088, 1056, Float(0)), (96, 64, 1600, 1), (128, 2080, 576, 1)] {
            for (transA, transB) in [(false, false), (true, true)] {
                checkOne(isa: .avx512bf16, m: m, n: n, k: k, precision: STRATA_BF16, transA: transA, transB: transB,
                         alpha: 1, beta: beta, padding: 0)
            }
        }
    }

    /// Default bf16 mode: AMX where available, else the faster of the two timed AVX-512 modes.
    func testTimedBF16ModeIsOneOfTheTwo() {
        strata_gemm_set_bf16_mode(STRATA_BF16_AUTO)
        let expected = strata_gemm_amx_available() != 0 && KernelISA.avx512bf16.isSupported
            ? [STRATA_BF16_AMX] : [STRATA_BF16_PAIRS, STRATA_BF16_WIDEN]
        XCTAssert(expected.contains(strata_gemm_bf16_mode()))
    }

    /// bf16 GEMMs from inside pool tasks run on the workers: with AMX each worker thread configures its own tiles
    /// (the OS grant is per process, the tile configuration per thread).
    func testAMXGEMMInsideParallelFor() throws {
        guard KernelISA.avx512bf16.isSupported, strata_gemm_amx_available() != 0 else {
            throw XCTSkip("AMX unavailable: the CPU lacks AMX-TILE/AMX-BF16 or the OS refused the tile state")
        }
        let (m, n, k) = (70, 90, 100)
        var a16 = [UInt16](repeating: 0, count: m * k), b16 = [UInt16](repeating: 0, count: k * n)
        strata_f32_to_bf16(randomFloats(m * k, seed: 21), &a16, m * k)
        strata_f32_to_bf16(randomFloats(k * n, seed: 22), &b16, k * n)
        var expected = [Float](repeating: 0, count: m * n)
        strata_gemm_reference(STRATA_NO_TRANS, STRATA_NO_TRANS, Int32(m), Int32(n), Int32(k), 1, a16, Int32(k), b16,
                              Int32(n), STRATA_BF16, 0, &expected, Int32(n))
        let savedThreads = ThreadPool.threads, savedISA = KernelISA.active
        defer {
            ThreadPool.setThreads(savedThreads)
            try? KernelISA.use(savedISA)
            strata_gemm_set_bf16_mode(STRATA_BF16_AUTO)
        }
        ThreadPool.setThreads(2)
        try KernelISA.use(.avx512bf16)
        strata_gemm_set_bf16_mode(STRATA_BF16_AMX)
        let tasks = 16
        let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: tasks * m * n)
        defer { results.deallocate() }
        ThreadPool.parallelFor(tasks) { task in
            strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, Int32(m), Int32(n), Int32(k), 1, a16, Int32(k), b16,
                        Int32(n), STRATA_BF16, 0, results.baseAddress! + task * m * n, Int32(n))
        }
        // Same bf16 inputs, exact products: only summation order differs (bound as in checkOne, |a|, |b| < 1).
        let tolerance = Float((1e-5 + 2e-7 * Double(k)) * Double(k))
        for task in 0..<tasks {
            for i in 0..<m * n {
                XCTAssertEqual(results[task * m * n + i], expected[i], accuracy: tolerance, "task \(task) element \(i)")
            }
        }
    }

    /// A packed once (strata_gemm_pack_a) then multiplied (strata_gemm_packed_a) gives strata_gemm's C bit for bit on
    /// every ISA with a packed GEMM, for every storage type and bf16 mode: awkward M, K over one slice (513), both
    /// transposes of A, enough columns for the thread pool, beta 0 and 1. The scalar ISA packs nothing and says so.
    func testPackedAMatchesGEMM() throws {
        let saved = ThreadPool.threads
        defer {
            ThreadPool.setThreads(saved)
            strata_gemm_set_bf16_mode(STRATA_BF16_AUTO)
        }
        ThreadPool.setThreads(2)
        let amx = strata_gemm_amx_available() != 0
        let modes = [STRATA_BF16_PAIRS, STRATA_BF16_WIDEN] + (amx ? [STRATA_BF16_AMX] : [])
        for isa in KernelISA.supported {
            try withISA(isa) {
                for mode in isa == .avx512bf16 ? modes : [STRATA_BF16_AUTO] {
                    strata_gemm_set_bf16_mode(mode)
                    for precision in [STRATA_F32, STRATA_BF16, STRATA_F16] {
                        checkPackedA(isa: isa, precision: precision, mode: mode)
                    }
                }
            }
        }
    }

    private func checkPackedA(isa: KernelISA, precision: strata_dtype, mode: strata_bf16_mode) {
        for (m, n, k) in [(1, 1, 1), (7, 33, 3), (17, 100, 513), (44, 3000, 300)] {
            for transA in [false, true] {
                let a = Matrix(rows: transA ? k : m, ld: transA ? m : k, precision: precision, seed: UInt64(m + k))
                let b = Matrix(rows: k, ld: n, precision: precision, seed: UInt64(n))
                let ta = transA ? STRATA_TRANS : STRATA_NO_TRANS, lda = Int32(transA ? m : k)
                let bound = strata_gemm_packed_a_bound(Int32(m), Int32(k))
                var packed = [UInt8](repeating: 0, count: bound)
                let bytes = strata_gemm_pack_a(ta, Int32(m), Int32(k), a.bytes, lda, precision, &packed)
                let label = "\(isa.rawValue) mode \(mode.rawValue) dtype \(precision.rawValue) M\(m) N\(n) K\(k) "
                    + "transA \(transA)"
                if isa == .scalar {
                    XCTAssertEqual(bytes, 0, label)
                    continue
                }
                XCTAssertGreaterThan(bytes, 0, label)
                XCTAssertLessThanOrEqual(bytes, bound, label)
                for beta: Float in [0, 1] {
                    var want = randomFloats(m * n, seed: 5), got = want
                    strata_gemm(ta, STRATA_NO_TRANS, Int32(m), Int32(n), Int32(k), 1, a.bytes, lda, b.bytes, Int32(n),
                                precision, beta, &want, Int32(n))
                    strata_gemm_packed_a(Int32(m), Int32(n), Int32(k), 1, packed, b.bytes, Int32(n), STRATA_NO_TRANS,
                                         precision, beta, &got, Int32(n))
                    XCTAssertEqual(got, want, "\(label) beta \(beta)")
                }
            }
        }
    }

    /// Both operands packed by the caller (strata_gemm_packed_ab, B̃ written here by hand in the documented panel
    /// layout) give strata_gemm's C bit for bit, threaded or not; K over one slice and the scalar ISA are refused
    /// with C untouched.
    func testPackedABMatchesGEMM() throws {
        let saved = ThreadPool.threads
        defer { ThreadPool.setThreads(saved) }
        ThreadPool.setThreads(2)
        for isa in KernelISA.supported {
            try withISA(isa) {
                let nr = Int(strata_gemm_panel_width())
                XCTAssertEqual(nr, isa == .scalar ? 0 : isa == .avx2 ? 16 : 48, "\(isa)")
                for (m, n, k) in [(1, 1, 1), (13, 70, 38), (128, 64, 64), (20, 2500, 256), (9, 9, 257)] {
                    let a = randomFloats(m * k, seed: UInt64(m)), b = randomFloats(k * n, seed: UInt64(k))
                    var packedA = [UInt8](repeating: 0, count: strata_gemm_packed_a_bound(Int32(m), Int32(k)))
                    let bytes = strata_gemm_pack_a(STRATA_NO_TRANS, Int32(m), Int32(k), a, Int32(k), STRATA_F32,
                                                   &packedA)
                    // Panels 64-byte aligned (the micro-kernel's loads are), 16 spare floats apart.
                    let panels = nr == 0 ? 1 : (n + nr - 1) / nr, stride = (max(nr, 1) * k + 31) / 16 * 16
                    let packedB = UnsafeMutableBufferPointer(
                        start: UnsafeMutableRawPointer.allocate(byteCount: panels * stride * 4, alignment: 64)
                            .bindMemory(to: Float.self, capacity: panels * stride), count: panels * stride)
                    defer { packedB.deallocate() }
                    packedB.initialize(repeating: 0)
                    for q in 0..<panels where nr > 0 {
                        for step in 0..<k {
                            for column in 0..<nr where q * nr + column < n {
                                packedB[q * stride + step * nr + column] = b[step * n + q * nr + column]
                            }
                        }
                    }
                    var want = randomFloats(m * n, seed: 3), got = want
                    let before = got
                    strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b,
                                Int32(n), STRATA_F32, 1, &want, Int32(n))
                    let status = packedA.withUnsafeBytes { pa in
                        strata_gemm_packed_ab(Int32(m), Int32(n), Int32(k), pa.baseAddress, packedB.baseAddress, stride,
                                              1, &got, Int32(n))
                    }
                    let label = "\(isa.rawValue) M\(m) N\(n) K\(k)"
                    if isa == .scalar || k > Int(STRATA_GEMM_PACKED_MAX_K) {
                        XCTAssertEqual(status, -1, label)
                        XCTAssertEqual(got, before, label)
                        continue
                    }
                    XCTAssertGreaterThan(bytes, 0, label)
                    XCTAssertEqual(status, 0, label)
                    XCTAssertEqual(got, want, label)
                }
            }
        }
    }

    func testZeroKScalesC() throws {
        for isa in KernelISA.supported {
            try withISA(isa) {
                var c: [Float] = [1, 2, 3, 4]
                let a: [Float] = [0], b: [Float] = [0]
                strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, 2, 2, 0, 1, a, 1, b, 2, STRATA_F32, 0.5, &c, 2)
                XCTAssertEqual(c, [0.5, 1, 1.5, 2], "\(isa)")
            }
        }
    }

    /// Every thread count splits C into tasks (even or guided column chunks, some split by rows) that together cover
    /// each element exactly once, and an element's K slices are summed in the same order whoever computes it: the
    /// result must be bit-identical to one thread's. The shapes reach both plans: few row tiles and many panels (the
    /// guided tail, single panels split by rows), many row tiles and few panels (even chunks split by rows), a part
    /// -filled last panel, several K slices, and rows fewer than the row parts asked for.
    func testThreadCountsGiveIdenticalResults() throws {
        let saved = ThreadPool.threads
        defer { ThreadPool.setThreads(saved) }
        for isa in KernelISA.supported where isa != .scalar {
            try withISA(isa) {
                for (m, n, k) in [(40, 1030, 70), (128, 1024, 64), (512, 520, 16), (9, 2000, 250), (100, 97, 600),
                                  (16, 4100, 40)] {
                    let a = randomFloats(m * k, seed: UInt64(m + k)), b = randomFloats(k * n, seed: UInt64(n + k))
                    func product(threads: Int) -> [Float] {
                        ThreadPool.setThreads(threads)
                        var c = [Float](repeating: .nan, count: m * n)
                        strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b,
                                    Int32(n), STRATA_F32, 0, &c, Int32(n))
                        return c
                    }
                    let single = product(threads: 1)
                    for threads in [2, 3, 4] {
                        let got = product(threads: threads)
                        let differing = zip(got, single).filter { $0.bitPattern != $1.bitPattern }.count
                        XCTAssertEqual(differing, 0, "\(isa.rawValue) M\(m) N\(n) K\(k) on \(threads) threads")
                    }
                }
            }
        }
    }

    /// A GEMM called from inside pool tasks (as convolution does) must run and give the same result.
    func testGEMMInsideParallelFor() throws {
        let (m, n, k) = (40, 70, 90)
        let a = randomFloats(m * k, seed: 11), b = randomFloats(k * n, seed: 12)
        var expected = [Float](repeating: 0, count: m * n)
        strata_gemm_reference(STRATA_NO_TRANS, STRATA_NO_TRANS, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b,
                              Int32(n), STRATA_F32, 0, &expected, Int32(n))
        let saved = ThreadPool.threads
        defer { ThreadPool.setThreads(saved) }
        ThreadPool.setThreads(2)
        let tasks = 8
        let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: tasks * m * n)
        defer { results.deallocate() }
        ThreadPool.parallelFor(tasks) { task in
            strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n),
                        STRATA_F32, 0, results.baseAddress! + task * m * n, Int32(n))
        }
        for task in 0..<tasks {
            for i in 0..<m * n {
                XCTAssertEqual(results[task * m * n + i], expected[i], accuracy: 1e-4, "task \(task) element \(i)")
            }
        }
    }

    private func checkVariant(_ isa: KernelISA) throws {
        guard isa.isSupported else { throw XCTSkip("this CPU lacks \(isa.rawValue)") }
        try withISA(isa) {
            for (index, (m, n, k)) in Self.shapes.enumerated() {
                for precision in [STRATA_F32, STRATA_BF16, STRATA_F16] {
                    for transA in [false, true] {
                        for transB in [false, true] {
                            let variant = index + (transA ? 1 : 0) + (transB ? 2 : 0)
                            checkOne(isa: isa, m: m, n: n, k: k, precision: precision, transA: transA,
                                     transB: transB, alpha: variant % 2 == 0 ? 1 : -0.75,
                                     beta: variant % 3 == 0 ? 0 : 1.25, padding: variant % 2 == 0 ? 0 : 5)
                        }
                    }
                }
            }
            // The micro-kernels' unscaled epilogues (alpha 1, beta 0 or 1, whole 16-column vectors) from the caller's
            // beta, not only from later K slices.
            for beta: Float in [0, 1] {
                checkOne(isa: isa, m: 16, n: 96, k: 40, precision: STRATA_F32, transA: false, transB: false, alpha: 1,
                         beta: beta, padding: 0)
            }
            // Packed A over 8 MiB (2100 x 1000): two row blocks. Two cases only, the scalar reference is slow here.
            checkOne(isa: isa, m: 2100, n: 2, k: 1000, precision: STRATA_F32, transA: false, transB: true, alpha: 1,
                     beta: 0.5, padding: 0)
            checkOne(isa: isa, m: 2100, n: 2, k: 1000, precision: STRATA_BF16, transA: true, transB: false, alpha: 2,
                     beta: 0, padding: 3)
        }
    }

    private func checkOne(isa: KernelISA, m: Int, n: Int, k: Int, precision: strata_dtype, transA: Bool,
                          transB: Bool, alpha: Float, beta: Float, padding: Int) {
        // Stored shapes: A is [M, K] or, transposed, [K, M]; B is [K, N] or [N, K]. lda/ldb/ldc carry padding.
        let (aRows, aCols) = transA ? (k, m) : (m, k)
        let (bRows, bCols) = transB ? (n, k) : (k, n)
        let lda = aCols + padding, ldb = bCols + padding, ldc = n + padding
        let a = Matrix(rows: aRows, ld: lda, precision: precision, seed: UInt64(m * 31 + k))
        let b = Matrix(rows: bRows, ld: ldb, precision: precision, seed: UInt64(n * 17 + k + 1))
        // beta == 0 must ignore C entirely, NaNs included; padding columns must stay untouched.
        let sentinel: Float = 12345
        var c0 = randomFloats(m * ldc, seed: 99)
        for i in 0..<m { for j in 0..<ldc where j >= n || beta == 0 { c0[i * ldc + j] = j >= n ? sentinel : .nan } }
        let ta = transA ? STRATA_TRANS : STRATA_NO_TRANS, tb = transB ? STRATA_TRANS : STRATA_NO_TRANS
        var got = c0, want = c0
        strata_gemm(ta, tb, Int32(m), Int32(n), Int32(k), alpha, a.bytes, Int32(lda), b.bytes, Int32(ldb), precision,
                    beta, &got, Int32(ldc))
        strata_gemm_reference(ta, tb, Int32(m), Int32(n), Int32(k), alpha, a.bytes, Int32(lda), b.bytes, Int32(ldb),
                              precision, beta, &want, Int32(ldc))
        // S: the same product on absolute values.
        var bound = [Float](repeating: 0, count: m * ldc)
        strata_gemm_reference(ta, tb, Int32(m), Int32(n), Int32(k), abs(alpha), a.absoluteBytes, Int32(lda),
                              b.absoluteBytes, Int32(ldb), precision, 0, &bound, Int32(ldc))
        let relative = precision == STRATA_F32 ? 1e-5 : 1e-5 + 2e-7 * Double(k)
        let precisionName = precision == STRATA_F32 ? "fp32" : precision == STRATA_BF16 ? "bf16" : "fp16"
        let label = "\(isa.rawValue) \(precisionName) M\(m) N\(n) K\(k) transA \(transA) transB \(transB) alpha \(alpha) "
            + "beta \(beta) padding \(padding)"
        var failures = 0
        for i in 0..<m {
            for j in 0..<ldc {
                let index = i * ldc + j
                if j >= n {
                    if got[index] != sentinel { failures += 1 }
                    continue
                }
                let scale = Double(bound[index]) + (beta == 0 ? 0 : Double(abs(beta * c0[index])))
                let error = abs(Double(got[index]) - Double(want[index]))
                if !(error <= relative * scale + 1e-30) { failures += 1 }
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) elements outside tolerance: \(label)")
    }

    private func withISA(_ isa: KernelISA, _ body: () throws -> Void) throws {
        let saved = KernelISA.active
        defer { try? KernelISA.use(saved) }
        try KernelISA.use(isa)
        try body()
    }
}

/// A row-major matrix of random values in [-1, 1) stored in one precision (owned bytes, padded rows).
private struct Matrix {
    let bytes: [UInt8]
    /// The same matrix with every element's sign cleared, for the tolerance bound.
    let absoluteBytes: [UInt8]
    let precision: strata_dtype

    init(rows: Int, ld: Int, precision: strata_dtype, seed: UInt64) {
        let values = randomFloats(rows * ld, seed: seed)
        self.precision = precision
        bytes = Self.encode(values, precision)
        absoluteBytes = Self.encode(values.map(abs), precision)
    }

    private static func encode(_ values: [Float], _ precision: strata_dtype) -> [UInt8] {
        if precision == STRATA_F32 { return values.withUnsafeBytes { Array($0) } }
        var halves = [UInt16](repeating: 0, count: values.count)
        if precision == STRATA_BF16 { strata_f32_to_bf16(values, &halves, values.count) }
        else { strata_f32_to_f16(values, &halves, values.count) }
        return halves.withUnsafeBytes { Array($0) }
    }
}

/// Deterministic uniform values in [-1, 1) (xorshift), so a failure reproduces.
func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
    var state = 0x9E37_79B9_7F4A_7C15 &* (seed + 1)
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Float(state >> 40) / Float(1 << 23) - 1
    }
}
