import StrataKernels

/// Random A[M, K] and B[K, N] in one precision and an fp32 C[M, N], 64-byte aligned, row-major, no padding.
final class GEMMInputs {
    let shape: GEMMShape
    let precision: KernelPrecision
    private let a: UnsafeMutableRawPointer, b: UnsafeMutableRawPointer
    private let c: UnsafeMutablePointer<Float>

    init(shape: GEMMShape, precision: KernelPrecision) {
        self.shape = shape
        self.precision = precision
        a = Self.randomMatrix(count: shape.m * shape.k, precision: precision, seed: 1)
        b = Self.randomMatrix(count: shape.k * shape.n, precision: precision, seed: 2)
        c = UnsafeMutableRawPointer.allocate(byteCount: shape.m * shape.n * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: shape.m * shape.n)
        c.initialize(repeating: 0, count: shape.m * shape.n)
    }

    func deallocate() {
        a.deallocate()
        b.deallocate()
        c.deallocate()
    }

    /// C = A·B through the dispatched GEMM (active ISA, pool threads).
    func multiply() {
        strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, Int32(shape.m), Int32(shape.n), Int32(shape.k), 1, a,
                    Int32(shape.k), b, Int32(shape.n), precision.dtype, 0, c, Int32(shape.n))
    }

    /// `count` floats uniform in [-1, 1) from a fixed-seed xorshift (fast, and the same inputs every run):
    /// ordinary magnitudes, so no run hits the slow denormal path. The caller deallocates.
    static func uniform(count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
        let floats = UnsafeMutablePointer<Float>.allocate(capacity: count)
        var state = 0x9E37_79B9_7F4A_7C15 &* seed
        for i in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            floats[i] = Float(state >> 40) / Float(1 << 23) - 1
        }
        return floats
    }

    /// ``uniform(count:seed:)`` rounded to the precision, in its storage type.
    private static func randomMatrix(count: Int, precision: KernelPrecision, seed: UInt64) -> UnsafeMutableRawPointer {
        let floats = uniform(count: count, seed: seed)
        defer { floats.deallocate() }
        let bytes = count * (precision == .fp32 ? 4 : 2)
        let out = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        switch precision {
        case .fp32: out.copyMemory(from: floats, byteCount: bytes)
        case .bf16: strata_f32_to_bf16(floats, out.assumingMemoryBound(to: UInt16.self), count)
        case .fp16: strata_f32_to_f16(floats, out.assumingMemoryBound(to: UInt16.self), count)
        }
        return out
    }
}
