import StrataCore

/// What a volume says about itself beyond its voxels, in Strata's units: what readers report and writers store.
///
/// For HDF5 these are the dataset attributes of docs/formats-volumes.md; for NIfTI they come from the header.
///
/// ```swift
/// let metadata = VolumeMetadata(spacing: Spacing(x: 4, y: 4, z: 8), origin: [32, -40, 0],
///                               timeSeconds: (0..<20).map { Double($0) * 2 })
/// ```
public struct VolumeMetadata: Equatable, Sendable {
    /// Voxel size in mm.
    public var spacing: Spacing?
    /// Position of voxel (0, 0, 0) in mm, `[x, y, z]`.
    public var origin: [Double]?
    /// One ISO 8601 date or date-time per step.
    public var timeLabels: [String]?
    /// Seconds from the first step, one per step.
    public var timeSeconds: [Double]?
    /// The stored value that marks a voxel as missing.
    public var nodata: Double?
    /// One name per channel.
    public var bandNames: [String]?
    /// Physical value = stored × scale + offset (e.g. probabilities stored as uint8 × 250: scale 1/250); readers
    /// return physical values. `nodata` is a stored value.
    public var scale: Double?
    public var offset: Double?

    public init(spacing: Spacing? = nil, origin: [Double]? = nil, timeLabels: [String]? = nil,
                timeSeconds: [Double]? = nil, nodata: Double? = nil, bandNames: [String]? = nil,
                scale: Double? = nil, offset: Double? = nil) {
        self.spacing = spacing
        self.origin = origin
        self.timeLabels = timeLabels
        self.timeSeconds = timeSeconds
        self.nodata = nodata
        self.bandNames = bandNames
        self.scale = scale
        self.offset = offset
    }
}

/// One window of a volume stack: values and where they are valid.
///
/// ```swift
/// let window = try stack.read(region: VolumeRegion(x: -2, y: 0, z: 0, width: 8, height: 8, depth: 1))
/// window.values.shape   // [T, C, 1, 8, 8], float32; the two columns left of the volume hold nodata (or NaN)
/// window.mask.shape     // [T, 1, 8, 8], uint8: 1 where every channel is valid
/// ```
public struct VolumeWindow: Sendable {
    /// Physical values (scaling applied), float32 `[T, C, d, h, w]`.
    public var values: Tensor
    /// 1 where the voxel lies inside the volume and no channel is NaN or nodata, else 0; uint8 `[T, d, h, w]`.
    public var mask: Tensor

    public init(values: Tensor, mask: Tensor) {
        self.values = values
        self.mask = mask
    }
}
