/// A box of voxels: column `x`, row `y`, slice `z`, and its extent `width` × `height` × `depth` in voxels.
///
/// Regions may reach outside the volume (boundless reads): the part outside is filled with the nodata value (NaN
/// when the volume declares none) and masked out.
///
/// ```swift
/// let region = VolumeRegion(x: 0, y: 0, z: 1, width: 17, height: 21, depth: 1)   // slice 1 of functional.nii
/// region.voxelCount   // 357
/// ```
public struct VolumeRegion: Equatable, Hashable, Sendable, Codable {
    public var x: Int
    public var y: Int
    public var z: Int
    public var width: Int
    public var height: Int
    public var depth: Int

    public init(x: Int, y: Int, z: Int, width: Int, height: Int, depth: Int) {
        self.x = x
        self.y = y
        self.z = z
        self.width = width
        self.height = height
        self.depth = depth
    }

    /// Number of voxels covered.
    public var voxelCount: Int { width * height * depth }

    /// The part of this region that lies inside a volume of `width × height × depth` voxels, or `nil` when none does.
    public func clipped(toWidth volumeWidth: Int, height volumeHeight: Int, depth volumeDepth: Int) -> VolumeRegion? {
        let x0 = max(x, 0), y0 = max(y, 0), z0 = max(z, 0)
        let x1 = min(x + width, volumeWidth), y1 = min(y + height, volumeHeight), z1 = min(z + depth, volumeDepth)
        guard x1 > x0, y1 > y0, z1 > z0 else { return nil }
        return VolumeRegion(x: x0, y: y0, z: z0, width: x1 - x0, height: y1 - y0, depth: z1 - z0)
    }
}
