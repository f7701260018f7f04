import CGDAL
import Foundation
import StrataCore

/// Writes a raster window by window to a tiled, compressed GeoTIFF or COG, atomically.
///
/// The file is written under a temporary name beside the target (``AtomicOutput``) and renamed only by
/// ``finish()``; an error, a ``cancel()``, or dropping the writer without `finish()` leaves nothing under the target
/// name. Windows are written as they come (`GDALDatasetRasterIO`), so outputs larger than memory are fine.
///
/// GeoTIFF layout: `TILED=YES`, 256 × 256 blocks, `COMPRESS=DEFLATE`, `PREDICTOR=2` for integer types and `3` for
/// floats, `BIGTIFF=IF_SAFER`; the grid's CRS and geotransform; nodata on every band; band descriptions
/// (`GDALSetDescription`); dataset and band metadata items; optionally a scale and offset per band
/// (`GDALSetRasterScale` / `GDALSetRasterOffset`), so GDAL readers know physical = stored × scale + offset.
/// COG (``RasterFormat/cog``): the finished temporary GeoTIFF is copied through GDAL's COG driver
/// (`COMPRESS=DEFLATE`, `OVERVIEWS=AUTO`, `BLOCKSIZE=256`), then renamed.
///
/// ```swift
/// let writer = try GeoTIFFWriter(path: "change.tif", grid: stack.grid, bands: 1, sampleType: .float32,
///                                nodata: -9999, bandDescriptions: ["change probability"],
///                                metadata: ["TIME_LABELS": "2021-06-05,2021-07-10"], format: .cog)
/// for window in stack.blockWindows() {
///     try writer.write(window: window, values: probabilities(window))   // float32 [1, h, w]
/// }
/// try writer.finish()
/// ```
///
/// Not thread-safe: one writer, one thread.
public final class GeoTIFFWriter {
    /// The target path (appears only after ``finish()``).
    public let path: String
    public let grid: Grid
    /// Bands, C.
    public let bands: Int
    public let sampleType: SampleType
    public let nodata: Double?
    public let format: RasterFormat

    private let output: AtomicOutput
    /// Where GDAL writes the GeoTIFF: the atomic temporary name, or for a COG a second hidden name next to it.
    private let geoTIFFPath: String
    private var dataset: GDALDatasetH?
    private let gdalType: GDALDataType
    private var finished = false

    /// Creates the temporary file with the grid, CRS, nodata, descriptions and metadata.
    ///
    /// - Parameters:
    ///   - grid: size, geotransform and CRS of the output.
    ///   - bands: bands per pixel, C (the `values` of every ``write(window:values:)`` are `[C, h, w]`).
    ///   - sampleType: uint8, int16, uint16, int32, uint32, float32 or float64.
    ///   - nodata: written on every band; must be representable in `sampleType`. NaN values are stored as it.
    ///   - bandDescriptions: one per band (what each band is), e.g. `["change probability"]`.
    ///   - metadata: dataset metadata items, e.g. the time labels of the steps the output summarises.
    ///   - bandMetadata: per-band metadata items (index = band).
    ///   - scales, offsets: empty, or one per band: recorded as the band's scale and offset, which GDAL readers
    ///     (`gdalinfo`, rasterio's `scales`/`offsets`, `gdal_translate -unscale`) apply as
    ///     physical = stored × scale + offset. The writer stores what ``write(window:values:)`` is given; scaling the
    ///     values into the integer range is the caller's (e.g. probability 0…1 stored as 0…250 with scale 1/250).
    public init(path: String, grid: Grid, bands: Int, sampleType: SampleType = .float32, nodata: Double? = nil,
                bandDescriptions: [String] = [], metadata: [String: String] = [:],
                bandMetadata: [[String: String]] = [], scales: [Double] = [], offsets: [Double] = [],
                format: RasterFormat = .geotiff) throws {
        GDALSession.start()
        guard bands > 0, grid.width > 0, grid.height > 0, grid.geoTransform.count == 6 else {
            throw StrataError.invalidArgument(name: "output grid", reason: "\(bands) bands of "
                + "\(grid.width)x\(grid.height) with \(grid.geoTransform.count) geotransform numbers")
        }
        guard let type = SampleConversion.gdalType(sampleType) else {
            throw StrataError.invalidArgument(name: "dtype", reason: "cannot write \(sampleType.rawValue); use uint8, "
                + "int16, uint16, int32, uint32, float32 or float64")
        }
        for (name, list) in [("scales", scales), ("offsets", offsets)] where !list.isEmpty {
            guard list.count == bands, list.allSatisfy(\.isFinite) else {
                throw StrataError.invalidArgument(name: name, reason: "\(list.count) value(s) for \(bands) band(s); "
                    + "give one finite number per band or none")
            }
        }
        if scales.contains(0) {
            throw StrataError.invalidArgument(name: "scales", reason: "0 would map every stored value to the offset")
        }
        if let nodata, !SampleConversion.representable(nodata, in: sampleType) {
            throw StrataError.invalidArgument(name: "nodata", reason: "\(nodata) is not a \(sampleType.rawValue)")
        }
        self.path = path
        self.grid = grid
        self.bands = bands
        self.sampleType = sampleType
        self.nodata = nodata
        self.format = format
        gdalType = type
        output = try AtomicOutput(path: path)
        geoTIFFPath = format == .cog ? output.temporaryPath + ".tif" : output.temporaryPath

        let options = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER",
                       "PREDICTOR=\(sampleType.isInteger ? 2 : 3)"]
        GDALSession.clearMessage()
        let driver = GDALGetDriverByName("GTiff")
        dataset = GDALStrings.withList(options) {
            GDALCreate(driver, geoTIFFPath, Int32(grid.width), Int32(grid.height), Int32(bands), type, $0)
        }
        guard let dataset else {
            throw StrataError.outputNotWritable(path: path, reason: GDALSession.lastMessage(or: "GDALCreate failed"))
        }
        var transform = grid.geoTransform
        GDALSetGeoTransform(dataset, &transform)
        if let crs = grid.crs { try setCRS(crs, on: dataset) }
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { GDALSetMetadataItem(dataset, key, value, nil) }
        for index in 0..<bands {
            let band = GDALGetRasterBand(dataset, Int32(index + 1))
            if let nodata { GDALSetRasterNoDataValue(band, nodata) }
            if index < bandDescriptions.count { GDALSetDescription(band, bandDescriptions[index]) }
            if index < scales.count { GDALSetRasterScale(band, scales[index]) }
            if index < offsets.count { GDALSetRasterOffset(band, offsets[index]) }
            if index < bandMetadata.count {
                for (key, value) in bandMetadata[index].sorted(by: { $0.key < $1.key }) {
                    GDALSetMetadataItem(band, key, value, nil)
                }
            }
        }
    }

    deinit {
        if !finished { cancel() }
    }

    /// Writes `values` (float32 `[C, h, w]`, physical units) at `window`, which must lie inside the grid.
    ///
    /// Values are converted to ``sampleType``: rounded half away from zero and clamped for integer types, NaN
    /// stored as ``nodata`` (0 without one).
    public func write(window: Window, values: Tensor) throws {
        guard let dataset, !finished else {
            throw StrataError.internalError("write after finish() or cancel() on \(path)")
        }
        guard window.clipped(toWidth: grid.width, height: grid.height) == window else {
            throw StrataError.invalidArgument(name: "window", reason: "x=\(window.x) y=\(window.y) "
                + "\(window.width)x\(window.height) is not inside the \(grid.width)x\(grid.height) output")
        }
        guard values.dtype == .float32, values.shape == [bands, window.height, window.width] else {
            throw StrataError.invalidArgument(name: "values", reason: "shape \(values.shape) \(values.dtype), "
                + "expected float32 [\(bands), \(window.height), \(window.width)]")
        }
        GDALSession.clearMessage()
        let status = values.withFloats { floats in
            SampleConversion.withConverted(floats, to: sampleType, nodata: nodata) { buffer in
                // Band-sequential buffer [C, h, w]: zero spacings mean "packed" to GDAL.
                GDALDatasetRasterIO(dataset, GF_Write, Int32(window.x), Int32(window.y), Int32(window.width),
                                    Int32(window.height), buffer, Int32(window.width), Int32(window.height), gdalType,
                                    Int32(bands), nil, 0, 0, 0)
            }
        }
        guard status == CE_None else {
            throw StrataError.ioFailure(path: path, reason: GDALSession.lastMessage(or: "write failed"))
        }
    }

    /// Flushes and closes the file, builds the COG when asked, and renames the result onto ``path``.
    public func finish() throws {
        guard let dataset, !finished else {
            throw StrataError.internalError("finish() called twice on \(path)")
        }
        GDALSession.clearMessage()
        GDALFlushCache(dataset)
        GDALClose(dataset)
        self.dataset = nil
        let failure = GDALSession.lastMessage(or: "")
        guard failure.isEmpty else {
            cancel()
            throw StrataError.ioFailure(path: path, reason: failure)
        }
        do {
            if format == .cog { try makeCOG() }
            try output.commit()
        } catch {
            cancel()
            throw error
        }
        finished = true
    }

    /// Abandons the output: closes the file and removes every temporary; nothing appears at ``path``.
    public func cancel() {
        if let dataset { GDALClose(dataset) }
        dataset = nil
        if format == .cog { try? FileManager.default.removeItem(atPath: geoTIFFPath) }
        output.discard()
        finished = true
    }

    private func makeCOG() throws {
        defer { try? FileManager.default.removeItem(atPath: geoTIFFPath) }
        GDALSession.clearMessage()
        guard let source = GDALOpenEx(geoTIFFPath, UInt32(GDAL_OF_RASTER | GDAL_OF_READONLY), nil, nil, nil) else {
            throw StrataError.ioFailure(path: path, reason: GDALSession.lastMessage(or: "cannot reopen the GeoTIFF"))
        }
        defer { GDALClose(source) }
        let options = ["COMPRESS=DEFLATE", "OVERVIEWS=AUTO", "BLOCKSIZE=256", "PREDICTOR=YES", "BIGTIFF=IF_SAFER"]
        let copy = GDALStrings.withList(options) {
            GDALCreateCopy(GDALGetDriverByName("COG"), output.temporaryPath, source, 0, $0, nil, nil)
        }
        guard let copy else {
            throw StrataError.ioFailure(path: path, reason: GDALSession.lastMessage(or: "COG driver failed"))
        }
        GDALClose(copy)
        let failure = GDALSession.lastMessage(or: "")
        if !failure.isEmpty { throw StrataError.ioFailure(path: path, reason: failure) }
    }

    private func setCRS(_ crs: CRS, on dataset: GDALDatasetH) throws {
        let srs = OSRNewSpatialReference(nil)
        defer { OSRDestroySpatialReference(srs) }
        let status: OGRErr
        if let epsg = crs.epsg {
            status = OSRImportFromEPSG(srs, Int32(epsg))
        } else {
            var text: UnsafeMutablePointer<CChar>? = strdup(crs.wkt)
            let start = text
            defer { free(start) }
            status = OSRImportFromWkt(srs, &text)
        }
        guard status == OGRERR_NONE, GDALSetSpatialRef(dataset, srs) == CE_None else {
            throw StrataError.invalidArgument(name: "crs", reason: "GDAL cannot use the output CRS "
                + (crs.epsg.map { "EPSG:\($0)" } ?? String(crs.wkt.prefix(60))))
        }
    }
}
