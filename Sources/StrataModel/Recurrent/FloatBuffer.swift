import StrataCore

/// A growable, 64-byte aligned block of float32 (or raw bytes) owned by a layer and reused across calls, so the
/// time loop never allocates: `ensure(_:)` reallocates only when a call needs more than any call before it.
final class FloatBuffer {
    private(set) var capacity = 0
    private(set) var pointer: UnsafeMutablePointer<Float>

    init() { pointer = UnsafeMutablePointer<Float>.allocate(capacity: 16) }
    deinit { pointer.deallocate() }

    /// Makes room for `count` floats (contents are undefined after a growth) and returns the base pointer.
    @discardableResult
    func ensure(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * 4, alignment: 64)
            pointer = raw.bindMemory(to: Float.self, capacity: max(count, 16))
            capacity = count
        }
        return pointer
    }

    /// Sets the first `count` floats to 0.
    func zero(_ count: Int) { ensure(count).update(repeating: 0, count: count) }

    /// Raw bytes view (the conv workspace), at least `bytes` long.
    func raw(atLeast bytes: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(ensure((bytes + 3) / 4))
    }
}

/// Small vector helpers on raw pointers, written so the compiler vectorises them.
enum Vector {
    /// y += x
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// dst = src
    @inline(__always)
    static func copy(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
        dst.update(from: src, count: count)
    }

    /// Copies `[outer, inner, block]` to `[inner, outer, block]` (B-major ↔ T-major sequences); dst may not
    /// alias src.
    static func swapLeadingAxes(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, outer: Int,
                                inner: Int, block: Int) {
        for o in 0..<outer {
            for i in 0..<inner {
                (dst + (i * outer + o) * block).update(from: src + (o * inner + i) * block, count: block)
            }
        }
    }

    /// Adds or copies `[T, ...]` steps in reversed order: dst[t] (+)= src[T-1-t], each step `block` floats.
    static func reverseSteps(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, steps: Int, block: Int,
                             accumulate: Bool) {
        for t in 0..<steps {
            let s = src + (steps - 1 - t) * block, d = dst + t * block
            if accumulate { add(s, into: d, count: block) } else { d.update(from: s, count: block) }
        }
    }
}

extension Tensor {
    /// The float32 storage as a pointer that lives as long as this tensor's storage (parameters own theirs).
    /// Read-only use: writers go through `withMutableFloats`, which keeps copy-on-write intact.
    var floatPointer: UnsafePointer<Float> {
        UnsafePointer(storage.bytes.assumingMemoryBound(to: Float.self))
    }
}

/// A growable byte block (validity masks `[T, B, HW]`), reused like ``FloatBuffer``.
final class ByteBuffer {
    private(set) var capacity = 0
    private(set) var pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)

    deinit { pointer.deallocate() }

    @discardableResult
    func ensure(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        if count > capacity {
            pointer.deallocate()
            pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 64))
            capacity = count
        }
        return pointer
    }
}

/// A growable, 64-byte aligned block of bf16 values (raw `UInt16` bits), reused like ``FloatBuffer``: the gates and
/// gate gradients a cell keeps per step under precision bf16.
final class BF16Buffer {
    private(set) var capacity = 0
    private(set) var pointer: UnsafeMutablePointer<UInt16>

    init() { pointer = UnsafeMutablePointer<UInt16>.allocate(capacity: 32) }
    deinit { pointer.deallocate() }

    /// Makes room for `count` values (contents are undefined after a growth) and returns the base pointer.
    @discardableResult
    func ensure(_ count: Int) -> UnsafeMutablePointer<UInt16> {
        if count > capacity {
            pointer.deallocate()
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 32) * 2, alignment: 64)
            pointer = raw.bindMemory(to: UInt16.self, capacity: max(count, 32))
            capacity = count
        }
        return pointer
    }
}
