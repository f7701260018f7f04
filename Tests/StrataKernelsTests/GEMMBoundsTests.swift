// The GEMM's packing never reads outside its operands: each operand is placed flush against an inaccessible page
// (after its last element, then before its first), so a read past either end faults instead of passing unnoticed.
// The packers load whole vectors and mask off the elements past the edge of a row, a panel or K; the padding they
// write in place of those elements only meets discarded rows and columns of C, so a wrong mask shows up here as a
// crash and nowhere else.
import Glibc
import StrataCore
import StrataKernels
import XCTest

/// `count` bytes that end where a PROT_NONE page begins (`flushEnd`), or begin where one ends.
private final class GuardedBytes {
    private let mapping: UnsafeMutableRawPointer
    private let length: Int
    let start: UnsafeMutableRawPointer

    init(_ contents: [UInt8], flushEnd: Bool) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let dataPages = (contents.count + page - 1) / page
        length = (dataPages + 1) * page
        guard let map = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              map != MAP_FAILED else { fatalError("mmap of \(length) bytes failed") }
        mapping = map
        if flushEnd {
            precondition(mprotect(map + dataPages * page, page, PROT_NONE) == 0)
            start = map + dataPages * page - contents.count
        } else {
            precondition(mprotect(map, page, PROT_NONE) == 0)
            start = map + page
        }
        contents.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: contents.count) }
    }

    deinit { munmap(mapping, length) }
}

final class GEMMBoundsTests: XCTestCase {
    /// M, N, K off every vector and panel width (16, 32, 48), with K odd so bf16 pairs end half-empty.
    static let shapes: [(m: Int, n: Int, k: Int)] = [(33, 17, 7), (5, 49, 31), (17, 3, 65), (1, 1, 1)]

    func testAVX2() throws { try check(.avx2, modes: [nil]) }
    func testAVX512() throws { try check(.avx512, modes: [nil]) }
    func testAVX512BF16() throws {
        let amx = strata_gemm_amx_available() != 0
        try check(.avx512bf16, modes: [STRATA_BF16_PAIRS, STRATA_BF16_WIDEN] + (amx ? [STRATA_BF16_AMX] : []))
    }

    /// Every shape, transpose pair, precision and guard side on `isa` (and each bf16 mode): C from the guarded
    /// operands equals C from ordinary arrays, bit for bit (same ISA, same code path).
    private func check(_ isa: KernelISA, modes: [strata_bf16_mode?]) throws {
        guard isa.isSupported else { throw XCTSkip("this CPU lacks \(isa.rawValue)") }
        let saved = KernelISA.active
        defer {
            try? KernelISA.use(saved)
            strata_gemm_set_bf16_mode(STRATA_BF16_AUTO)
        }
        try KernelISA.use(isa)
        for mode in modes {
            if let mode { strata_gemm_set_bf16_mode(mode) }
            for (index, s) in Self.shapes.enumerated() {
                for precision in [STRATA_F32, STRATA_BF16] where mode == nil || precision == STRATA_BF16 {
                    for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
                        for flushEnd in [true, false] {
                            let label = "\(isa.rawValue) mode \(mode.map { "\($0.rawValue)" } ?? "-") M\(s.m) N\(s.n) "
                                + "K\(s.k) transA \(transA) transB \(transB) guard \(flushEnd ? "after" : "before")"
                            compare(s, precision: precision, transA: transA, transB: transB, flushEnd: flushEnd,
                                    seed: UInt64(index), label)
                        }
                    }
                }
            }
        }
    }

    private func compare(_ s: (m: Int, n: Int, k: Int), precision: strata_dtype, transA: Bool, transB: Bool,
                         flushEnd: Bool, seed: UInt64, _ label: String) {
        let a = Self.encode(randomFloats(s.m * s.k, seed: seed * 2 + 1), precision)
        let b = Self.encode(randomFloats(s.k * s.n, seed: seed * 2 + 2), precision)
        let lda = Int32(transA ? s.m : s.k), ldb = Int32(transB ? s.k : s.n)
        let ta = transA ? STRATA_TRANS : STRATA_NO_TRANS, tb = transB ? STRATA_TRANS : STRATA_NO_TRANS
        var want = [Float](repeating: 0, count: s.m * s.n), got = want
        strata_gemm(ta, tb, Int32(s.m), Int32(s.n), Int32(s.k), 1, a, lda, b, ldb, precision, 0, &want, Int32(s.n))
        let guardedA = GuardedBytes(a, flushEnd: flushEnd), guardedB = GuardedBytes(b, flushEnd: flushEnd)
        strata_gemm(ta, tb, Int32(s.m), Int32(s.n), Int32(s.k), 1, guardedA.start, lda, guardedB.start, ldb,
                    precision, 0, &got, Int32(s.n))
        XCTAssertEqual(got, want, label)
    }

    private static func encode(_ values: [Float], _ precision: strata_dtype) -> [UInt8] {
        if precision == STRATA_F32 { return values.withUnsafeBytes { Array($0) } }
        var halves = [UInt16](repeating: 0, count: values.count)
        strata_f32_to_bf16(values, &halves, values.count)
        return halves.withUnsafeBytes { Array($0) }
    }
}
