// fp32 <-> bf16 / fp16 conversions: the scalar references against independent computations in this file, and every
// vector variant bit for bit against the references.
import StrataCore
import StrataKernels
import XCTest

/// Runs `body` with `isa` forced, restoring the previous ISA afterwards; throws XCTSkip if the CPU lacks `isa`.
func withKernelISA<R>(_ isa: KernelISA, _ body: () throws -> R) throws -> R {
    guard isa.isSupported else {
        throw XCTSkip("this CPU does not support \(isa.rawValue); its variants are not tested here")
    }
    let saved = KernelISA.active
    try KernelISA.use(isa)
    defer { try? KernelISA.use(saved) }
    return try body()
}

/// Deterministic pseudo-random numbers (SplitMix64), so failures reproduce.
struct KernelTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<n).map { _ in uniform(lo, hi) }
    }
}

final class ConvertTests: XCTestCase {
    /// Values where rounding is easy to get wrong. Ties are built from bit patterns so they are exact.
    static let edgeCases: [Float] = {
        var v: [Float] = [0, -0.0, 1, -1, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                          .leastNormalMagnitude, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 65504, 65519.996,
                          65520, -65520, 1e-8, 5.960464477539063e-08, 2.9802322387695312e-08, 2.98023259e-08,
                          6.097555160522461e-05, 6.103515625e-05, 3.0517578125e-05, .pi, -.pi, 1e30, -1e-30]
        for bits: UInt32 in [0x3F80_8000, 0x3F81_8000, 0x3F80_8001, 0x3F80_7FFF, 0xBF80_8000, 0x7F7F_8000, 0x7F7F_7FFF,
                             0x0000_8000, 0x0001_8000, 0x0000_7FFF, 0x8040_8000, 0x007F_FFFF, 0x3F80_1000, 0x3F80_3000,
                             0x3F80_1001, 0x3F80_0FFF, 0x3380_0000, 0x3300_0000, 0x3300_0001, 0x387F_E000, 0x387F_F000,
                             0x7F80_0001, 0xFFC0_0000, 0x7FBF_FFFF, 0x7FC1_2345, 0xFF80_4000] {
            v.append(Float(bitPattern: bits))
        }
        return v
    }()

    static func randomBitPatterns(_ n: Int) -> [Float] {
        var rng = KernelTestRandom(seed: 42)
        return (0..<n).map { i in
            var bits = UInt32(truncatingIfNeeded: rng.next())
            // Bias a third of the values toward the fp16 range and a seventh to fp32 subnormals.
            if i % 3 == 0 { bits = (bits & 0x807F_FFFF) | ((100 + (bits >> 23) % 40) << 23) }
            if i % 7 == 0 { bits &= 0x807F_FFFF }
            return Float(bitPattern: bits)
        }
    }

    /// bf16 of `x`, computed independently: pick the nearer of the two bf16 neighbours in Double, ties to even.
    static func bf16Independent(_ x: Float) -> UInt16 {
        if x.isNaN { return UInt16(x.bitPattern >> 16) | 0x40 }
        let lo = x.bitPattern & 0xFFFF_0000
        if lo == x.bitPattern { return UInt16(lo >> 16) }
        let hi = lo + 0x1_0000
        func value(_ b: UInt32) -> Double {
            // The bf16 above the largest finite one is 2^128 for rounding purposes (IEEE overflow rule).
            if b & 0x7FFF_FFFF == 0x7F80_0000 { return (b >> 31 == 1 ? -1 : 1) * 0x1p128 }
            return Double(Float(bitPattern: b))
        }
        let dl = abs(Double(x) - value(lo)), dh = abs(value(hi) - Double(x))
        if dl < dh { return UInt16(lo >> 16) }
        if dh < dl { return UInt16(hi >> 16) }
        return (lo >> 16) & 1 == 0 ? UInt16(lo >> 16) : UInt16(hi >> 16)
    }

    func convert(_ x: [Float], _ f: (UnsafePointer<Float>, UnsafeMutablePointer<UInt16>, Int) -> Void) -> [UInt16] {
        var out = [UInt16](repeating: 0xDEAD, count: x.count)
        x.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { d in f(s.baseAddress!, d.baseAddress!, x.count) } }
        return out
    }

    func widen(_ x: [UInt16], _ f: (UnsafePointer<UInt16>, UnsafeMutablePointer<Float>, Int) -> Void) -> [UInt32] {
        var out = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { d in f(s.baseAddress!, d.baseAddress!, x.count) } }
        return out.map(\.bitPattern)
    }

    func testBF16ReferenceRoundsToNearestEven() {
        let x = Self.edgeCases + Self.randomBitPatterns(20_000)
        let got = convert(x, strata_f32_to_bf16_reference)
        for (v, g) in zip(x, got) {
            XCTAssertEqual(g, Self.bf16Independent(v), "bf16 of \(v) (bits \(String(v.bitPattern, radix: 16)))")
        }
        // Specific expectations a reader can check by hand.
        XCTAssertEqual(convert([Float(bitPattern: 0x3F80_8000)], strata_f32_to_bf16_reference), [0x3F80])  // tie, even down
        XCTAssertEqual(convert([Float(bitPattern: 0x3F81_8000)], strata_f32_to_bf16_reference), [0x3F82])  // tie, even up
        XCTAssertEqual(convert([Float(bitPattern: 0x7F7F_8000)], strata_f32_to_bf16_reference), [0x7F80])  // max -> inf
        XCTAssertEqual(convert([-0.0], strata_f32_to_bf16_reference), [0x8000])
        XCTAssertEqual(convert([Float(bitPattern: 0x0000_8001)], strata_f32_to_bf16_reference), [0x0001])  // subnormal
    }

    func testF16ReferenceMatchesSwiftFloat16() {
        let x = Self.edgeCases + Self.randomBitPatterns(50_000)
        let got = convert(x, strata_f32_to_f16_reference)
        for (v, g) in zip(x, got) {
            if v.isNaN {
                XCTAssertTrue(Float16(bitPattern: g).isNaN, "NaN \(String(v.bitPattern, radix: 16)) -> \(g)")
                XCTAssertEqual(g & 0x8000, UInt16(v.bitPattern >> 16) & 0x8000, "NaN sign")
            } else {
                XCTAssertEqual(g, Float16(v).bitPattern, "fp16 of \(v) (bits \(String(v.bitPattern, radix: 16)))")
            }
        }
        // Every fp16 value widens exactly.
        let all = (0...UInt16.max).map { $0 }
        let wide = widen(all, strata_f16_to_f32_reference)
        for (h, w) in zip(all, wide) {
            let expected = Float(Float16(bitPattern: h))
            if expected.isNaN { XCTAssertTrue(Float(bitPattern: w).isNaN) } else { XCTAssertEqual(w, expected.bitPattern) }
        }
    }

    func testRoundTripsAreExact() {
        let all = (0...UInt16.max).map { $0 }
        let viaBF16 = convert(widen(all, strata_bf16_to_f32_reference).map { Float(bitPattern: $0) },
                              strata_f32_to_bf16_reference)
        let viaF16 = convert(widen(all, strata_f16_to_f32_reference).map { Float(bitPattern: $0) },
                             strata_f32_to_f16_reference)
        for h in all {
            let isNaN16 = h & 0x7C00 == 0x7C00 && h & 0x03FF != 0
            // NaNs come back quiet (bit 0x40 for bf16, 0x200 for fp16): OR-ing the quiet bit is the only change.
            XCTAssertEqual(viaBF16[Int(h)], Float(bitPattern: UInt32(h) << 16).isNaN ? h | 0x40 : h)
            XCTAssertEqual(viaF16[Int(h)], isNaN16 ? h | 0x200 : h)
        }
    }

    func checkVariantsMatchReference(_ isa: KernelISA) throws {
        // Odd lengths exercise the vector tails.
        let x = Self.edgeCases + Self.randomBitPatterns(100_003)
        let all = (0...UInt16.max).map { $0 } + [0x3F80, 0x7FC0, 0x0001]
        let refs = (convert(x, strata_f32_to_bf16_reference), convert(x, strata_f32_to_f16_reference),
                    widen(all, strata_bf16_to_f32_reference), widen(all, strata_f16_to_f32_reference))
        try withKernelISA(isa) {
            XCTAssertEqual(convert(x, strata_f32_to_bf16), refs.0, "\(isa) fp32->bf16")
            XCTAssertEqual(convert(x, strata_f32_to_f16), refs.1, "\(isa) fp32->fp16")
            XCTAssertEqual(widen(all, strata_bf16_to_f32), refs.2, "\(isa) bf16->fp32")
            XCTAssertEqual(widen(all, strata_f16_to_f32), refs.3, "\(isa) fp16->fp32")
            for n in [0, 1, 7, 15, 16, 17, 33] {
                let part = Array(x.prefix(n))
                XCTAssertEqual(convert(part, strata_f32_to_bf16), Array(refs.0.prefix(n)), "\(isa) bf16 n=\(n)")
                XCTAssertEqual(convert(part, strata_f32_to_f16), Array(refs.1.prefix(n)), "\(isa) fp16 n=\(n)")
            }
        }
    }

    func testScalarDispatchIsReference() throws { try checkVariantsMatchReference(.scalar) }
    func testAVX2MatchesReference() throws { try checkVariantsMatchReference(.avx2) }
    func testAVX512MatchesReference() throws { try checkVariantsMatchReference(.avx512) }
    func testAVX512BF16MatchesReference() throws { try checkVariantsMatchReference(.avx512bf16) }
}
