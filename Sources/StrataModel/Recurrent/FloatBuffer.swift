import StrataCore

/// A growable, 64-byte aligned block of `Element`s owned by a layer and reused across calls, so the time loop never
/// allocates: `ensure(_:)` reallocates only when a call needs more than any call before it. ``FloatBuffer`` holds
/// activations and workspaces, ``BF16Buffer`` the bf16 gates a cell keeps under precision bf16 (raw `UInt16` bits),
/// ``ByteBuffer`` validity masks `[T, B, HW]`.
final class GrowableBuffer<Element> {
    private(set) var capacity = 0
    private(set) var pointer: UnsafeMutablePointer<Element>

    /// Elements in the smallest block: 64 bytes.
    private static var minimumCount: Int { max(1, 64 / MemoryLayout<Element>.stride) }

    init() { pointer = Self.allocate(Self.minimumCount) }
    deinit { pointer.deallocate() }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Element> {
        UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Element>.stride, alignment: 64)
            .bindMemory(to: Element.self, capacity: count)
    }

    /// Makes room for `count` elements (contents are undefined after a growth) and returns the base pointer.
    @discardableResult
    func ensure(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            pointer.deallocate()
            pointer = Self.allocate(max(count, Self.minimumCount))
            capacity = count
        }
        return pointer
    }
}

typealias FloatBuffer = GrowableBuffer<Float>
typealias BF16Buffer = GrowableBuffer<UInt16>
typealias ByteBuffer = GrowableBuffer<UInt8>

extension GrowableBuffer where Element == Float {
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
