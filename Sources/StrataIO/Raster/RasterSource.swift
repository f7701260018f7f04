import CGDAL
import Foundation
import StrataCore

/// One open GDAL dataset of a stack: its handle, grid, CRS and data bands, checked on open.
///
/// Not thread-safe (GDAL dataset handles are not): ``RasterStack`` serialises every use behind its lock.
final class RasterSource {
    /// One data band (alpha bands are not data: they become the validity mask).
    struct Band {
        let index: Int32
        let handle: GDALRasterBandH
        /// The declared nodata value, stored units (before scale/offset).
        let nodata: Double?
        /// physical = stored * scale + offset (1 and 0 when the file declares none).
        let scale: Double
        let offset: Double
        let maskFlags: Int32
        let description: String
        let metadata: [String: String]
    }

    /// The dataset name as the user gave it (used in every error).
    let name: String
    let handle: GDALDatasetH
    let width: Int
    let height: Int
    let geoTransform: [Double]
    /// Owned clone, destroyed with the source; `nil` when the file has no CRS.
    let spatialReference: OGRSpatialReferenceH?
    let bands: [Band]
    let alphaBand: GDALRasterBandH?
    let sampleType: SampleType
    /// Native block size of the first data band, pixels.
    let blockWidth: Int
    let blockHeight: Int
    /// For a warped view: the source it warps, kept alive while the view is open.
    private let base: RasterSource?

    /// Opens `name` read-only and checks it: at least one band, no complex bands, a supported data type, and the
    /// last block of the last band readable (a truncated GeoTIFF opens fine and fails only there).
    convenience init(opening name: String) throws {
        try self.init(handle: GDALSession.openRaster(name), name: name, base: nil, bandsFrom: nil)
        try verifyReadable()
    }

    /// Wraps an open handle (ownership passes to the source). `bandsFrom` gives nodata/scale/offset/descriptions
    /// for a warped view, whose VRT bands do not carry them all.
    init(handle: GDALDatasetH, name: String, base: RasterSource?, bandsFrom original: RasterSource?) throws {
        self.handle = handle
        self.name = name
        self.base = base
        width = Int(GDALGetRasterXSize(handle))
        height = Int(GDALGetRasterYSize(handle))
        var transform = [Double](repeating: 0, count: 6)
        if GDALGetGeoTransform(handle, &transform) != CE_None { transform = [0, 1, 0, 0, 0, 1] }
        geoTransform = transform

        let count = GDALGetRasterCount(handle)
        guard count > 0 else {
            let subdatasets = GDALStrings.metadata(handle, domain: "SUBDATASETS")
                .filter { $0.key.hasSuffix("_NAME") }.map(\.value).sorted()
            GDALClose(handle)
            throw StrataError.unreadable(path: name, reason: subdatasets.isEmpty ? "no raster bands"
                : "a container of \(subdatasets.count) variables; open one of: "
                    + subdatasets.joined(separator: ", "))
        }
        var dataBands: [Band] = []
        var alpha: GDALRasterBandH?
        var firstType = GDT_Unknown
        for index in 1...count {
            guard let band = GDALGetRasterBand(handle, index) else { continue }
            let type = GDALGetRasterDataType(band)
            if GDALDataTypeIsComplex(type) != 0 {
                GDALClose(handle)
                throw StrataError.unsupported(path: name, reason: "band \(index) is complex-valued "
                    + "(\(String(cString: GDALGetDataTypeName(type)))); Strata reads real-valued bands only")
            }
            if count > 1, GDALGetRasterColorInterpretation(band) == GCI_AlphaBand {
                alpha = band
                continue
            }
            if dataBands.isEmpty { firstType = type }
            let position = dataBands.count
            let template = original.flatMap { position < $0.bands.count ? $0.bands[position] : nil }
            var hasNodata: Int32 = 0
            let nodataValue = GDALGetRasterNoDataValue(band, &hasNodata)
            var hasScale: Int32 = 0, hasOffset: Int32 = 0
            let scale = GDALGetRasterScale(band, &hasScale)
            let offset = GDALGetRasterOffset(band, &hasOffset)
            dataBands.append(Band(
                index: index, handle: band,
                nodata: template.map(\.nodata) ?? (hasNodata != 0 ? nodataValue : nil),
                scale: template?.scale ?? (hasScale != 0 ? scale : 1),
                offset: template?.offset ?? (hasOffset != 0 ? offset : 0),
                maskFlags: GDALGetMaskFlags(band),
                description: template?.description ?? String(cString: GDALGetDescription(band)),
                metadata: template?.metadata ?? GDALStrings.metadata(band)))
        }
        guard !dataBands.isEmpty else {
            GDALClose(handle)
            throw StrataError.unreadable(path: name, reason: "no raster bands")
        }
        bands = dataBands
        alphaBand = alpha
        guard let type = RasterSource.sampleType(firstType, band: dataBands[0].handle) else {
            GDALClose(handle)
            throw StrataError.unsupported(path: name, reason: "data type "
                + "\(String(cString: GDALGetDataTypeName(firstType))); supported: Byte, Int16, UInt16, Int32, "
                + "UInt32, Float32, Float64")
        }
        sampleType = type
        spatialReference = RasterSource.spatialReference(of: handle)
        var blockX: Int32 = 0, blockY: Int32 = 0
        GDALGetBlockSize(dataBands[0].handle, &blockX, &blockY)
        blockWidth = Int(max(blockX, 1))
        blockHeight = Int(max(blockY, 1))
    }

    deinit {
        if let spatialReference { OSRDestroySpatialReference(spatialReference) }
        GDALClose(handle)
    }

    /// The grid, with CRS as WKT2 and EPSG code.
    var grid: Grid {
        Grid(width: width, height: height, geoTransform: geoTransform, crs: spatialReference.map(CRSDescription.crs))
    }

    /// Reads the bottom-right block of the last data band, so that a truncated file fails on open, not mid-run.
    private func verifyReadable() throws {
        guard let last = bands.last else { return }
        let x = (width - 1) / blockWidth * blockWidth, y = (height - 1) / blockHeight * blockHeight
        let region = Window(x: x, y: y, width: min(blockWidth, width - x), height: min(blockHeight, height - y))
        var scratch = [Float](repeating: 0, count: region.pixelCount)
        try scratch.withUnsafeMutableBufferPointer {
            try read(band: last.handle, region: region, bufferWidth: region.width, bufferHeight: region.height,
                     into: $0.baseAddress!, lineStride: region.width)
        }
    }

    /// Reads `region` of a band as float32 (resampled nearest-neighbour to the buffer size when it differs) into
    /// `buffer`, rows `lineStride` floats apart.
    func read(band: GDALRasterBandH, region: Window, bufferWidth: Int, bufferHeight: Int,
              into buffer: UnsafeMutablePointer<Float>, lineStride: Int) throws {
        GDALSession.clearMessage()
        let status = GDALRasterIO(band, GF_Read, Int32(region.x), Int32(region.y), Int32(region.width),
                                  Int32(region.height), buffer, Int32(bufferWidth), Int32(bufferHeight), GDT_Float32,
                                  4, Int32(lineStride * 4))
        guard status == CE_None else {
            throw StrataError.unreadable(path: name, reason: GDALSession.lastMessage(or: "read failed")
                + " (window x=\(region.x) y=\(region.y) \(region.width)x\(region.height))")
        }
    }

    /// Reads `region` of a mask or alpha band as bytes (0 = invalid) into `buffer`, rows `lineStride` bytes apart.
    func readMask(band: GDALRasterBandH, region: Window, bufferWidth: Int, bufferHeight: Int,
                  into buffer: UnsafeMutablePointer<UInt8>, lineStride: Int) throws {
        GDALSession.clearMessage()
        let status = GDALRasterIO(band, GF_Read, Int32(region.x), Int32(region.y), Int32(region.width),
                                  Int32(region.height), buffer, Int32(bufferWidth), Int32(bufferHeight), GDT_Byte,
                                  1, Int32(lineStride))
        guard status == CE_None else {
            throw StrataError.unreadable(path: name, reason: GDALSession.lastMessage(or: "mask read failed"))
        }
    }

    private static func sampleType(_ type: GDALDataType, band: GDALRasterBandH) -> SampleType? {
        switch type {
        case GDT_Byte:
            let signed = GDALGetMetadataItem(band, "PIXELTYPE", "IMAGE_STRUCTURE").map { String(cString: $0) }
            return signed == "SIGNEDBYTE" ? .int8 : .uint8
        case GDT_UInt16: return .uint16
        case GDT_Int16: return .int16
        case GDT_UInt32: return .uint32
        case GDT_Int32: return .int32
        case GDT_Float32: return .float32
        case GDT_Float64: return .float64
        default: return nil
        }
    }

    /// The dataset's CRS (cloned), or WGS 84 lon/lat for a netCDF grid that has no CRS but geographic axes
    /// (a `GEOLOCATION` SRS, or `degrees_east`/`degrees_north` units), else `nil`.
    private static func spatialReference(of handle: GDALDatasetH) -> OGRSpatialReferenceH? {
        if let own = GDALGetSpatialRef(handle) { return OSRClone(own) }
        let geolocation = GDALStrings.metadata(handle, domain: "GEOLOCATION")
        let metadata = GDALStrings.metadata(handle)
        let geographicAxes = metadata.contains { $0.key.hasSuffix("#units") && $0.value == "degrees_east" }
            && metadata.contains { $0.key.hasSuffix("#units") && $0.value == "degrees_north" }
        guard geolocation["SRS"] != nil || geographicAxes else { return nil }
        let wgs84 = OSRNewSpatialReference(nil)
        guard OSRImportFromEPSG(wgs84, 4326) == OGRERR_NONE else {
            OSRDestroySpatialReference(wgs84)
            return nil
        }
        OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER)
        return wgs84
    }
}
