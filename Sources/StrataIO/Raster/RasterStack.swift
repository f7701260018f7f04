import CGDAL
import Foundation
import StrataCore

/// A time stack of rasters read through GDAL: T steps of C bands on one grid, read window by window.
///
/// Three ways to form it (rules in docs/formats-raster.md):
/// - ``init(files:dates:keepOrder:align:)``: one single-date raster per step (any GDAL format, C bands each);
/// - ``init(file:bandsPerStep:)``: one multi-band raster, bands `t1b1…t1bN, t2b1…`;
/// - ``init(datacube:)``: a netCDF (or other GDAL multidimensional) variable with a time dimension.
///
/// ```swift
/// let stack = try RasterStack(files: ["ndvi_20210605.tif", "ndvi_20210510.tif"])
/// stack.info.dates                      // ["2021-05-10", "2021-06-05"]: sorted by date
/// for window in stack.windows(tileSize: 256, overlap: 16) {
///     let tile = try stack.read(window: window)   // values [T, C, 288, 288], mask [T, 288, 288]
/// }
/// ```
///
/// Thread safety: GDAL dataset handles are not thread-safe, so every read takes the stack's lock; sharing one stack
/// between threads is safe but serial. For parallel reads open one `RasterStack` per thread (one reader per thread).
public final class RasterStack: @unchecked Sendable {
    /// The grid every step is read on (the first member's grid in time order).
    public let grid: Grid
    /// Number of time steps, T.
    public let steps: Int
    /// Bands per step, C.
    public let bands: Int
    /// The date of each step (UTC), or `nil` for every step when the input has no dates.
    public let dates: [Date?]
    /// Storage type of the first step's bands.
    public let sampleType: SampleType
    /// What invalid pixels hold in ``StackWindow/values``: the declared nodata value of the first band (as
    /// declared, not scaled), or NaN when it declares none.
    public let fillValue: Float
    /// Native block size of the first member, pixels (read windows aligned to it touch each block once).
    public let blockSize: (width: Int, height: Int)
    /// Everything `strata info` reports, filled on open (including a sampled value range of the first step).
    public private(set) var info: StackInfo

    let sources: [RasterSource]
    /// For each step: which source, and which of its data bands (indices into `RasterSource.bands`).
    let layout: [(source: Int, bands: [Int])]
    let lock = NSLock()

    /// Opens an ordered list of single-date rasters as a time stack.
    ///
    /// - Parameters:
    ///   - files: raster paths (or GDAL dataset names), one per step, in any order.
    ///   - dates: one date per file, same order as `files`; overrides dates in names and metadata.
    ///   - keepOrder: take the input order as the time order (needed when files carry no dates).
    ///   - align: warp members whose grid differs from the first one (in time order) onto it, lazily per window;
    ///     without it a difference throws ``StrataError/gridMismatch(file:reference:property:expected:found:)``.
    ///
    /// ```swift
    /// let stack = try RasterStack(files: paths, align: true)
    /// ```
    public convenience init(files: [String], dates: [Date]? = nil, keepOrder: Bool = false, align: Bool = false)
        throws
    {
        guard !files.isEmpty else { throw StrataError.invalidStack(reason: "no input rasters") }
        let opened = try files.map { try RasterSource(opening: $0) }
        let found = dates != nil ? [] : opened.map {
            FileNameDate.seconds(in: GDALDatasetName.filePath(of: $0.name)) ?? AcquisitionDate.seconds(in: $0.handle)
        }
        let (order, seconds) = try SeriesOrder.order(names: files, dates: dates,
                                                     found: dates != nil ? files.map { _ in nil } : found,
                                                     keepOrder: keepOrder)
        let reference = opened[order[0]]
        var members: [RasterSource] = [reference]
        for index in order.dropFirst() {
            let member = opened[index]
            let needsWarp = try GridAgreement.check(member, against: reference, align: align)
            members.append(needsWarp ? try WarpedSource.warp(member, onto: reference) : member)
        }
        try self.init(kind: files.count == 1 ? .raster : .rasterSeries, sources: members,
                      layout: members.indices.map { ($0, Array(members[$0].bands.indices)) },
                      seconds: seconds, sourceNames: order.map { files[$0] })
    }

    /// Opens one multi-band raster as `bands / bandsPerStep` steps of `bandsPerStep` bands (band order
    /// `t1b1…t1bN, t2b1…t2bN, …`). Steps carry no dates.
    ///
    /// ```swift
    /// let stack = try RasterStack(file: "series.tif", bandsPerStep: 2)   // 12 bands -> T = 6, C = 2
    /// ```
    public convenience init(file: String, bandsPerStep: Int, dates: [Date]? = nil) throws {
        guard bandsPerStep > 0 else {
            throw StrataError.invalidArgument(name: "bands-per-step", reason: "must be at least 1, got \(bandsPerStep)")
        }
        let source = try RasterSource(opening: file)
        guard source.bands.count % bandsPerStep == 0 else {
            throw StrataError.invalidArgument(name: "bands-per-step", reason: "\(file) has \(source.bands.count) "
                + "bands, not a multiple of \(bandsPerStep)")
        }
        let steps = source.bands.count / bandsPerStep
        // A multi-band raster carries no dates of its own; --dates gives one per step (not per file).
        if let dates, dates.count != steps {
            throw StrataError.invalidArgument(
                name: "--dates", reason: "\(dates.count) date(s) for the \(steps) steps of \(file) "
                    + "(\(source.bands.count) bands, \(bandsPerStep) per step)")
        }
        try self.init(kind: .multibandRaster, sources: [source],
                      layout: (0..<steps).map { (0, Array($0 * bandsPerStep..<($0 + 1) * bandsPerStep)) },
                      seconds: dates.map { $0.map { Int64($0.timeIntervalSince1970.rounded()) } }, sourceNames: [file])
    }

    /// Opens a netCDF (or Zarr/HDF5 through GDAL) variable whose bands carry a time dimension; the time
    /// coordinate becomes the dates (CF units, see docs/formats-raster.md).
    ///
    /// ```swift
    /// let cube = try RasterStack(datacube: #"NETCDF:"bcsd_obs_1999.nc":pr"#)   // T = 12, dates 1999-01-31…
    /// ```
    ///
    /// A plain file with one variable opens that variable; with several, the error lists the names to choose
    /// from. A variable without a time dimension throws ``StrataError/missingTimeDimension(path:variable:)``.
    public convenience init(datacube name: String) throws {
        let source = try RasterSource(opening: try DatacubeLayout.resolve(name))
        let (steps, seconds) = try DatacubeLayout.steps(of: source)
        try self.init(kind: .datacube, sources: [source], layout: steps.map { (0, $0) }, seconds: seconds,
                      sourceNames: [source.name])
    }

    /// Opens `inputs` the way the CLI does: with `bandsPerStep`, one multi-band raster; a single netCDF/Zarr/HDF5
    /// input (by extension or `NETCDF:`/`ZARR:`/`HDF5:` prefix) as a datacube; anything else as a raster series.
    ///
    /// ```swift
    /// let stack = try RasterStack.open(["a_20210101.tif", "a_20210201.tif"])
    /// ```
    public static func open(_ inputs: [String], dates: [Date]? = nil, bandsPerStep: Int? = nil,
                            keepOrder: Bool = false, align: Bool = false) throws -> RasterStack {
        if let bandsPerStep {
            guard inputs.count == 1 else {
                throw StrataError.invalidArgument(name: "bands-per-step",
                                                  reason: "needs exactly one input raster, got \(inputs.count)")
            }
            return try RasterStack(file: inputs[0], bandsPerStep: bandsPerStep, dates: dates)
        }
        if inputs.count == 1, isDatacube(inputs[0]) {
            guard dates == nil else {
                throw StrataError.invalidArgument(
                    name: "--dates", reason: "\(inputs[0]) is a datacube: its dates come from its time coordinate")
            }
            return try RasterStack(datacube: inputs[0])
        }
        return try RasterStack(files: inputs, dates: dates, keepOrder: keepOrder, align: align)
    }

    static func isDatacube(_ name: String) -> Bool {
        let prefixes = ["NETCDF:", "ZARR:", "HDF5:"]
        let extensions = [".nc", ".nc4", ".cdf", ".zarr", ".h5", ".hdf5", ".he5"]
        return prefixes.contains { name.uppercased().hasPrefix($0) }
            || extensions.contains { name.lowercased().hasSuffix($0) }
    }

    init(kind: StackInfo.Kind, sources: [RasterSource], layout: [(source: Int, bands: [Int])], seconds: [Int64]?,
         sourceNames: [String]) throws {
        let reference = sources[0]
        self.sources = sources
        self.layout = layout
        grid = reference.grid
        steps = layout.count
        bands = layout[0].bands.count
        dates = seconds.map { $0.map { Date(timeIntervalSince1970: TimeInterval($0)) } }
            ?? Array(repeating: nil, count: layout.count)
        sampleType = reference.sampleType
        let first = reference.bands[layout[0].bands[0]]
        fillValue = first.nodata.map { Float($0) } ?? .nan
        blockSize = (reference.blockWidth, reference.blockHeight)
        info = StackInfo(kind: kind, sources: sourceNames, steps: layout.count,
                         dates: seconds?.map { CivilTime.iso8601($0) } ?? Array(repeating: nil, count: layout.count),
                         bands: layout[0].bands.count,
                         bandNames: layout[0].bands.map { reference.bands[$0].description }, width: grid.width,
                         height: grid.height, dtype: reference.sampleType.rawValue, crs: grid.crs,
                         geotransform: grid.geoTransform, nodata: first.nodata,
                         scale: first.scale == 1 && first.offset == 0 ? nil : first.scale,
                         offset: first.scale == 1 && first.offset == 0 ? nil : first.offset,
                         blockSize: [reference.blockWidth, reference.blockHeight])
        if kind == .datacube, info.bandNames.allSatisfy(\.isEmpty) {
            info.bandNames = layout[0].bands.map { reference.bands[$0].metadata["NETCDF_VARNAME"] ?? "" }
        }
        info.valueRange = try sampledValueRange()
    }
}
