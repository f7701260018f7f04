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
/// The id property is the one named, or without a name the first of ``defaultIDProperties`` the layer has: `id`, or
/// `field_id` as `strata synth yield` writes.
///
/// ```swift
/// let fields = try FieldRasterizer(vector: "fields.geojson", idProperty: "id", grid: prediction.grid)
/// let window = try fields.raster.read(window: Window(x: 0, y: 0, width: 256, height: 256))
/// ```
public final class FieldRasterizer {
    /// Properties tried, in order, when no id property is named.
    public static let defaultIDProperties = ["id", "field_id"]

    /// The rasterized field ids: one step, one band, int32 values read as float32 (ids up to 2²⁴ are exact).
    public let raster: RasterStack
    /// The property the ids were burnt from.
    public let idProperty: String
    private let path: String

    /// - Parameter idProperty: the property holding each polygon's id; nil for the first of
    ///   ``defaultIDProperties`` the layer has.
    /// - Throws: ``StrataError/fileNotFound(path:)`` for a missing vector file; ``StrataError/unreadable(path:reason:)``
    ///   when GDAL cannot open it as vector data, the layer has no such property (the message lists the ones it
    ///   has), or GDAL cannot burn it (GDAL's message is kept).
    public init(vector: String, idProperty: String? = nil, grid: Grid) throws {
        try InputPath.requireFile(vector)
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("strata-fields-\(UUID().uuidString).tif").path
        // The writer sets size, geotransform and CRS exactly as the prediction's; blocks never written read as 0.
        try GeoTIFFWriter(path: path, grid: grid, bands: 1, sampleType: .int32).finish()
        self.path = path
        do {
            self.idProperty = try Self.burn(vector: vector, idProperty: idProperty, into: path)
            raster = try RasterStack(files: [path], keepOrder: true)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Burns the ids into the raster at `path`; returns the property used.
    private static func burn(vector: String, idProperty requested: String?, into path: String) throws -> String {
        GDALSession.clearMessage()
        guard let source = GDALOpenEx(vector, UInt32(GDAL_OF_VECTOR | GDAL_OF_READONLY), nil, nil, nil) else {
            throw StrataError.unreadable(path: vector, reason: GDALSession.lastMessage(or: "not vector data GDAL reads"))
        }
        defer { GDALClose(source) }
        let idProperty = try chooseProperty(requested, in: source, vector: vector)
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
        return idProperty
    }

    /// The requested property, or the first default one, checked against the first layer's properties so that a
    /// wrong name fails with the names the layer does have (GDAL's own message names neither).
    private static func chooseProperty(_ requested: String?, in source: GDALDatasetH, vector: String) throws -> String {
        guard let layer = GDALDatasetGetLayer(source, 0) else {
            throw StrataError.unreadable(path: vector, reason: "no vector layer")
        }
        let definition = OGR_L_GetLayerDefn(layer)
        let properties = (0..<OGR_FD_GetFieldCount(definition)).map {
            String(cString: OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(definition, $0)))
        }
        let candidates = requested.map { [$0] } ?? defaultIDProperties
        if let found = candidates.first(where: properties.contains) {
            // Ids are burnt as numbers: a text property ('wheat') would burn as 0, "no field", everywhere and
            // leave nothing to score.
            let index = OGR_FD_GetFieldIndex(definition, found)
            let type = OGR_Fld_GetType(OGR_FD_GetFieldDefn(definition, index))
            guard type == OFTInteger || type == OFTInteger64 || type == OFTReal else {
                let integers = properties.filter { name in
                    let t = OGR_Fld_GetType(OGR_FD_GetFieldDefn(definition, OGR_FD_GetFieldIndex(definition, name)))
                    return t == OFTInteger || t == OFTInteger64 || t == OFTReal
                }
                throw StrataError.unreadable(
                    path: vector, reason: "property '\(found)' is not an integer field id; numeric properties: "
                        + (integers.isEmpty ? "none" : integers.map { "'\($0)'" }.joined(separator: ", "))
                        + " (name one with --field-id)")
            }
            return found
        }
        let has = properties.isEmpty ? "none" : properties.map { "'\($0)'" }.joined(separator: ", ")
        let wanted = requested.map { "no property '\($0)'" }
            ?? "no field id property (looked for " + defaultIDProperties.map { "'\($0)'" }.joined(separator: ", ") + ")"
        throw StrataError.unreadable(path: vector, reason: "\(wanted); the polygons have \(has): name the id with"
            + " --field-id")
    }
}
