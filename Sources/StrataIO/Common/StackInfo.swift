import StrataCore

/// What a user needs to know about an input before training: the result of `strata info`.
///
/// Its JSON form (keys in `CodingKeys`) is a stable interface documented in docs/cli.md; add keys, never rename.
public struct StackInfo: Equatable, Sendable, Codable {
    /// What kind of input this is.
    public enum Kind: String, Sendable, Codable {
        /// Several single-date rasters, one per time step.
        case rasterSeries = "raster-series"
        /// One multi-band raster read as `bands-per-step` bands per time step.
        case multibandRaster = "multiband-raster"
        /// A netCDF / Zarr / HDF5 subdataset read through GDAL whose bands carry a time dimension.
        case datacube = "datacube"
        /// A single raster with no time axis (one step).
        case raster = "raster"
        /// An HDF5 dataset `[T, (C,) (D,) H, W]`.
        case hdf5Volume = "hdf5-volume"
        /// A NIfTI-1 file (4-D) or a series of 3-D NIfTI files.
        case nifti = "nifti"
    }

    public var kind: Kind
    /// The paths (or GDAL dataset names) this stack was read from, in time order.
    public var sources: [String]
    /// Number of time steps.
    public var steps: Int
    /// One ISO 8601 date (or date-time) per step; `nil` where a step has no calendar date.
    public var dates: [String?]
    /// Seconds from the first step, where the input gives time as a duration (NIfTI TR); else `nil`.
    public var timeOffsetsSeconds: [Double]?
    /// Bands (channels) per step.
    public var bands: Int
    /// One description per band, empty strings where the file has none.
    public var bandNames: [String]
    public var width: Int
    public var height: Int
    /// Slices, for volumes only.
    public var depth: Int?
    /// Storage type as the file holds it: `uint8`, `int16`, `uint16`, `int32`, `uint32`, `float32`, `float64`.
    public var dtype: String
    public var crs: CRS?
    /// GDAL geotransform (six numbers), rasters only.
    public var geotransform: [Double]?
    /// Voxel spacing in mm, `[x, y, z]`, volumes only.
    public var spacing: [Double]?
    /// Position of the first voxel in mm, `[x, y, z]`, volumes only.
    public var origin: [Double]?
    /// The nodata value, when the input declares one.
    public var nodata: Double?
    /// Scale and offset applied to stored values (physical = stored * scale + offset).
    public var scale: Double?
    public var offset: Double?
    /// Native block (chunk) size `[width, height]` for rasters, the chunk shape for HDF5.
    public var blockSize: [Int]?
    /// Minimum and maximum valid value in a sample read of the first step (after scale/offset).
    public var valueRange: [Double]?

    public init(kind: Kind, sources: [String], steps: Int, dates: [String?], timeOffsetsSeconds: [Double]? = nil,
                bands: Int, bandNames: [String], width: Int, height: Int, depth: Int? = nil, dtype: String,
                crs: CRS? = nil, geotransform: [Double]? = nil, spacing: [Double]? = nil, origin: [Double]? = nil,
                nodata: Double? = nil, scale: Double? = nil, offset: Double? = nil, blockSize: [Int]? = nil,
                valueRange: [Double]? = nil) {
        self.kind = kind
        self.sources = sources
        self.steps = steps
        self.dates = dates
        self.timeOffsetsSeconds = timeOffsetsSeconds
        self.bands = bands
        self.bandNames = bandNames
        self.width = width
        self.height = height
        self.depth = depth
        self.dtype = dtype
        self.crs = crs
        self.geotransform = geotransform
        self.spacing = spacing
        self.origin = origin
        self.nodata = nodata
        self.scale = scale
        self.offset = offset
        self.blockSize = blockSize
        self.valueRange = valueRange
    }

    enum CodingKeys: String, CodingKey {
        case kind, sources, steps, dates, bands, width, height, depth, dtype, crs, geotransform, spacing, origin
        case nodata, scale, offset
        case timeOffsetsSeconds = "time_offsets_seconds"
        case bandNames = "band_names"
        case blockSize = "block_size"
        case valueRange = "value_range"
    }

    // Optional keys are always present (as null) so scripts can rely on them.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(sources, forKey: .sources)
        try c.encode(steps, forKey: .steps)
        try c.encode(dates, forKey: .dates)
        try c.encode(timeOffsetsSeconds, forKey: .timeOffsetsSeconds)
        try c.encode(bands, forKey: .bands)
        try c.encode(bandNames, forKey: .bandNames)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(depth, forKey: .depth)
        try c.encode(dtype, forKey: .dtype)
        try c.encode(crs, forKey: .crs)
        try c.encode(geotransform, forKey: .geotransform)
        try c.encode(spacing, forKey: .spacing)
        try c.encode(origin, forKey: .origin)
        try c.encode(nodata, forKey: .nodata)
        try c.encode(scale, forKey: .scale)
        try c.encode(offset, forKey: .offset)
        try c.encode(blockSize, forKey: .blockSize)
        try c.encode(valueRange, forKey: .valueRange)
    }
}
