import StrataKernels

/// Element types a ``Tensor`` can hold.
public enum DType: String, Sendable, Codable, CaseIterable {
    case float32, bfloat16, float16, uint8

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32: return 4
        case .bfloat16, .float16: return 2
        case .uint8: return 1
        }
    }
}

/// Owns one 64-byte aligned allocation; shared by tensors until one of them writes (copy on write).
public final class TensorStorage: @unchecked Sendable {
    public let bytes: UnsafeMutableRawPointer
    public let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        // 64-byte alignment: one cache line, one AVX-512 register.
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }

    deinit { bytes.deallocate() }
}

/// A dense, contiguous, row-major n-dimensional array of ``DType`` elements.
///
/// Shapes are written with the legend B batch, T time, C channels, D depth, H height, W width; a raster window is
/// `[T, C, H, W]` and its validity mask `[T, H, W]`.
///
/// ```swift
/// var x = Tensor(zeros: [2, 3])            // float32
/// x[floats: 4] = 1.5                        // flat index
/// let y = x.converted(to: .bfloat16)        // round to nearest even
/// ```
public struct Tensor: Sendable {
    public private(set) var shape: [Int]
    public let dtype: DType
    public private(set) var storage: TensorStorage

    /// A zero-filled tensor.
    public init(zeros shape: [Int], dtype: DType = .float32) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.dtype = dtype
        self.storage = TensorStorage(byteCount: shape.reduce(1, *) * dtype.size)
    }

    /// A float32 tensor holding `values` (count must equal the product of `shape`).
    public init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(zeros: shape, dtype: .float32)
        values.withUnsafeBytes { storage.bytes.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of bytes of element data.
    public var byteCount: Int { count * dtype.size }

    /// The same elements under a new shape with the same element count (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        var t = self
        t.shape = newShape
        return t
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            let copy = TensorStorage(byteCount: storage.byteCount)
            copy.bytes.copyMemory(from: storage.bytes, byteCount: storage.byteCount)
            storage = copy
        }
    }

    /// Read-only access to float32 elements.
    public func withFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(dtype == .float32, "withFloats on a \(dtype) tensor")
        return try body(UnsafeBufferPointer(start: storage.bytes.assumingMemoryBound(to: Float.self), count: count))
    }

    /// Mutable access to float32 elements (copies first if the storage is shared).
    public mutating func withMutableFloats<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(dtype == .float32, "withMutableFloats on a \(dtype) tensor")
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.bytes.assumingMemoryBound(to: Float.self), count: count))
    }

    /// Read-only access to the raw element bytes (any dtype).
    public func withRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.bytes, count: byteCount))
    }

    /// Mutable access to the raw element bytes (copies first if the storage is shared).
    public mutating func withMutableRawBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableRawBufferPointer(start: storage.bytes, count: byteCount))
    }

    /// Float32 element at a flat index.
    public subscript(floats index: Int) -> Float {
        get { withFloats { $0[index] } }
        set { withMutableFloats { $0[index] = newValue } }
    }

    /// All elements as float32 values (converting from bf16/fp16/uint8).
    public var floats: [Float] {
        let t = converted(to: .float32)
        return t.withFloats { Array($0) }
    }

    /// A copy with elements converted to `target`; floats to bf16/fp16 round to nearest even.
    public func converted(to target: DType) -> Tensor {
        if target == dtype { return self }
        let out = Tensor(zeros: shape, dtype: target)
        let n = count
        let src = storage.bytes
        let dst = out.storage.bytes
        switch (dtype, target) {
        case (.float32, .bfloat16):
            strata_f32_to_bf16(src.assumingMemoryBound(to: Float.self), dst.assumingMemoryBound(to: UInt16.self), n)
        case (.bfloat16, .float32):
            strata_bf16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst.assumingMemoryBound(to: Float.self), n)
        case (.float32, .float16):
            strata_f32_to_f16(src.assumingMemoryBound(to: Float.self), dst.assumingMemoryBound(to: UInt16.self), n)
        case (.float16, .float32):
            strata_f16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst.assumingMemoryBound(to: Float.self), n)
        case (.uint8, .float32):
            let s = src.assumingMemoryBound(to: UInt8.self), d = dst.assumingMemoryBound(to: Float.self)
            for i in 0..<n { d[i] = Float(s[i]) }
        case (.float32, .uint8):
            let s = src.assumingMemoryBound(to: Float.self), d = dst.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { d[i] = UInt8(max(0, min(255, s[i].rounded()))) }
        default:
            return converted(to: .float32).converted(to: target)
        }
        return out
    }
}
