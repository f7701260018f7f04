import CGDAL
import Foundation
import StrataCore

/// Field polygons (GeoJSON, or any vector format GDAL reads) burnt into a temporary int32 raster of field ids on
/// the prediction's grid, read window by window like any other raster.
///
/// Each pixel whose **centre** lies inside a polygon gets that polygon's id property (GDAL's default rasterization
/// rule, `gdal_rasterize -a <id>`); other pixels are 0, "no field". Where polygons overlap, the one drawn last wins.
/// A layer whose CRS differs from the grid's is reprojected by GDAL; a GeoJSON without a `crs` member is WGS 84.
/// The temporary GeoTIFF (tiled, deflate) lives in the system temporary folder and is deleted with this object,
/// so memory stays bounded by a window even for large grids.
///
/// ```swift
/// let fields = try FieldRasterizer(vector: "fields.geojson", idProperty: "id", grid: prediction.grid)
/// let window = try fields.raster.read(window: Window(x: 0, y: 0, width: 256, height: 256))
/// ```
public final class FieldRasterizer {
    /// The rasterized field ids: one step, one band, int32 values read as float32 (ids up to 2²⁴ are exact).
    public let raster: RasterStack
    private let path: String

    /// - Throws: ``StrataError/fileNotFound(path:)`` for a missing vector file; ``StrataError/unreadable(path:reason:)``
    ///   when GDAL cannot open it as vector data or cannot burn the id property (GDAL's message is kept).
    public init(vector: String, idProperty: String, grid: Grid) throws {
        try InputPath.requireFile(vector)
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("strata-fields-\(UUID().uuidString).tif").path
        // The writer sets size, geotransform and CRS exactly as the prediction's; blocks never written read as 0.
        try GeoTIFFWriter(path: path, grid: grid, bands: 1, sampleType: .int32).finish()
        self.path = path
        do {
            try Self.burn(vector: vector, idProperty: idProperty, into: path)
            raster = try RasterStack(files: [path], keepOrder: true)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    private static func burn(vector: String, idProperty: String, into path: String) throws {
        GDALSession.clearMessage()
        guard let source = GDALOpenEx(vector, UInt32(GDAL_OF_VECTOR | GDAL_OF_READONLY), nil, nil, nil) else {
            throw StrataError.unreadable(path: vector, reason: GDALSession.lastMessage(or: "not vector data GDAL reads"))
        }
        defer { GDALClose(source) }
        guard let target = GDALOpenEx(path, UInt32(GDAL_OF_RASTER | GDAL_OF_UPDATE), nil, nil, nil) else {
            throw StrataError.ioFailure(path: path, reason: GDALSession.lastMessage(or: "cannot reopen the field raster"))
        }
        let options = GDALStrings.withList(["-a", idProperty]) { GDALRasterizeOptionsNew($0, nil) }
        defer { GDALRasterizeOptionsFree(options) }
        var usageError: Int32 = 0
        // With a target dataset GDALRasterize returns that same handle, closed once below (which flushes it).
        let burnt = GDALRasterize(nil, target, source, options, &usageError)
        let failure = CPLGetLastErrorType().rawValue >= CE_Failure.rawValue
        GDALClose(target)
        if burnt == nil || usageError != 0 || failure {
            throw StrataError.unreadable(
                path: vector, reason: GDALSession.lastMessage(or: "GDAL could not burn property '\(idProperty)'"))
        }
    }
}
