import StrataCore
import StrataIO

/// A time stack seen as a set of 2-D planes, the unit the 2-D ConvLSTM trains on.
///
/// A raster stack is one plane of `H × W` pixels. A volume stack `[T, C, D, H, W]` is `D` planes, one per z-slice
/// (optionally with neighbouring slices as extra channels, see ``VolumePlanes``). Sampling, splits and
/// normalisation work on this protocol, so rasters and volumes share one code path.
///
/// Legend: T time steps, C channels, H height (rows), W width (columns), h × w a window's size.
///
/// ```swift
/// let planes: any PlaneStack = RasterPlanes(try RasterStack(files: paths))
/// let tile = try planes.read(window: Window(x: 0, y: 0, width: 32, height: 32), plane: 0)
/// tile.values.shape   // [T, C, 32, 32]
/// ```
public protocol PlaneStack: AnyObject {
    /// Columns of every plane, W.
    var width: Int { get }
    /// Rows of every plane, H.
    var height: Int { get }
    /// Number of planes: 1 for a raster, D (slices) for a volume.
    var planes: Int { get }
    /// Time steps, T.
    var steps: Int { get }
    /// Channels of one sample, C (for volumes read as slabs, channels × slab).
    var channels: Int { get }
    /// Native block size in pixels: windows aligned to it decode each block once.
    var blockSize: (width: Int, height: Int) { get }
    /// Reads `window` (may reach outside the plane: fill value, mask 0) of `plane`: values float32
    /// `[T, C, h, w]` in physical units and mask uint8 `[T, h, w]`.
    func read(window: Window, plane: Int) throws -> StackWindow
}

/// A ``RasterStack`` as a single plane.
///
/// ```swift
/// let planes = RasterPlanes(stack)   // planes == 1, channels == stack.bands
/// ```
public final class RasterPlanes: PlaneStack {
    /// The stack read.
    public let stack: RasterStack

    public init(_ stack: RasterStack) { self.stack = stack }

    public var width: Int { stack.grid.width }
    public var height: Int { stack.grid.height }
    public var planes: Int { 1 }
    public var steps: Int { stack.steps }
    public var channels: Int { stack.bands }
    public var blockSize: (width: Int, height: Int) { stack.blockSize }

    public func read(window: Window, plane: Int) throws -> StackWindow {
        precondition(plane == 0, "a raster has one plane, asked for \(plane)")
        return try stack.read(window: window)
    }
}

/// A ``VolumeStack`` as 2-D planes: plane `z` is slice `z`, or a slab of `slab` slices centred on `z`.
///
/// Choice for 2-D ConvLSTMs on volumes: each z-slice is a sample (`slab: 1`, the default), so the model sees
/// `[T, C, p, p]` exactly as for rasters. With `slab: s` (odd), slices `z - s/2 … z + s/2` become channels:
/// `[T, C·s, p, p]`, channel index `c·s + j` for slice `z - s/2 + j`, which gives the model through-plane context
/// without a 3-D convolution. The mask is the centre slice's mask (the sample is *about* slice `z`); where a
/// neighbour slice is invalid or outside the volume, the centre slice's value is used instead (replicate padding in
/// z), so no fill value or NaN ever reaches a valid position.
///
/// ```swift
/// let planes = try VolumePlanes(try VolumeStack(path: "scan.h5:/t1"), slab: 3)   // channels == 3·C
/// ```
public final class VolumePlanes: PlaneStack {
    /// The stack read.
    public let stack: VolumeStack
    /// Slices per sample (odd, ≥ 1).
    public let slab: Int

    public init(_ stack: VolumeStack, slab: Int = 1) throws {
        guard slab >= 1, slab % 2 == 1 else {
            throw StrataError.invalidArgument(name: "slab",
                                              reason: "must be an odd number of slices ≥ 1, got \(slab)")
        }
        self.stack = stack
        self.slab = slab
    }

    public var width: Int { stack.shape.width }
    public var height: Int { stack.shape.height }
    public var planes: Int { stack.shape.depth }
    public var steps: Int { stack.shape.steps }
    public var channels: Int { stack.shape.channels * slab }
    /// One whole slice: HDF5 chunks and NIfTI slices are read per slice span.
    public var blockSize: (width: Int, height: Int) { (stack.shape.width, stack.shape.height) }

    public func read(window: Window, plane: Int) throws -> StackWindow {
        precondition((0..<planes).contains(plane), "slice \(plane) outside 0..<\(planes)")
        let half = slab / 2
        let read = try stack.read(region: VolumeRegion(x: window.x, y: window.y, z: plane - half,
                                                       width: window.width, height: window.height, depth: slab))
        // read.values [T, C, s, h, w], read.mask [T, s, h, w]
        let t = steps, c = stack.shape.channels, s = slab, area = window.width * window.height
        var values = Tensor(zeros: [t, c * s, window.height, window.width])
        var mask = Tensor(zeros: [t, window.height, window.width], dtype: .uint8)
        read.values.withFloats { source in
            read.mask.withRawBytes { sourceMask in
                values.withMutableFloats { out in
                    mask.withMutableRawBytes { outMask in
                        for step in 0..<t {
                            let centreMask = (step * s + half) * area
                            for k in 0..<area { outMask[step * area + k] = sourceMask[centreMask + k] }
                            for channel in 0..<c {
                                let centre = ((step * c + channel) * s + half) * area
                                for j in 0..<s {
                                    // [T, C, s, h, w] and [T, C·s, h, w] share one memory layout: same offset.
                                    let at = ((step * c + channel) * s + j) * area
                                    let slice = (step * s + j) * area
                                    for k in 0..<area {
                                        out[at + k] = sourceMask[slice + k] != 0 ? source[at + k] : source[centre + k]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return StackWindow(window: window, values: values, mask: mask)
    }
}

extension InputStack {
    /// The stack as 2-D planes: a raster as one plane, a volume as one plane per slice (`slab` slices each).
    ///
    /// ```swift
    /// let planes = try InputStack.open(["scan.h5:/t1"]).planes(slab: 3)
    /// ```
    public func planes(slab: Int = 1) throws -> any PlaneStack {
        switch self {
        case .raster(let stack): return RasterPlanes(stack)
        case .volume(let stack): return try VolumePlanes(stack, slab: slab)
        }
    }
}
