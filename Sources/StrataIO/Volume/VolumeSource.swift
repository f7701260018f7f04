/// What ``VolumeStack`` needs from a volume format: its sizes and a read of a region that lies inside the volume.
///
/// Formats only ever see in-bounds regions; ``VolumeStack`` handles boundless reads, fill values and masks.
protocol VolumeSource: AnyObject {
    /// Sizes `[T, C, D, H, W]` (a 2-D time series has depth 1, a single-band one 1 channel).
    var shape: VolumeShape { get }

    /// Reads `steps` and every channel of `inside` (within the volume) into `out`, a float32 buffer laid out as
    /// `[steps.count, C, layout.depth, layout.height, layout.width]` for the region `layout`, which contains
    /// `inside`. Voxels of `layout` outside `inside` are left untouched.
    func read(steps: Range<Int>, region inside: VolumeRegion, into out: UnsafeMutablePointer<Float>,
              layout: VolumeRegion) throws
}

/// The sizes of a volume time stack, `[T, C, D, H, W]`.
public struct VolumeShape: Equatable, Hashable, Sendable, Codable {
    public var steps: Int
    public var channels: Int
    public var depth: Int
    public var height: Int
    public var width: Int

    public init(steps: Int, channels: Int, depth: Int, height: Int, width: Int) {
        self.steps = steps
        self.channels = channels
        self.depth = depth
        self.height = height
        self.width = width
    }

    /// The whole volume as a region.
    public var fullRegion: VolumeRegion { VolumeRegion(x: 0, y: 0, z: 0, width: width, height: height, depth: depth) }
}
