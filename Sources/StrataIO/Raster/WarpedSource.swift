import CGDAL
import StrataCore

/// Builds a lazily warped view of a stack member on the reference grid (`align: true`).
///
/// The view is an in-memory warped VRT made by `GDALWarp` (`-of VRT`): nothing is resampled until a window is
/// read, and then only the source pixels that window needs. Resampling is bilinear for floating-point bands
/// (continuous quantities) and nearest-neighbour for integer bands (classes must not be averaged). An alpha band
/// (`-dstalpha`) marks target pixels no valid source pixel reaches; source nodata is carried through.
enum WarpedSource {
    static func warp(_ member: RasterSource, onto reference: RasterSource) throws -> RasterSource {
        let gt = reference.geoTransform
        guard gt[2] == 0, gt[4] == 0, gt[5] < 0 else {
            throw StrataError.unsupported(path: reference.name,
                                          reason: "align needs a north-up reference grid (no rotation)")
        }
        let xMax = gt[0] + Double(reference.width) * gt[1]
        let yMin = gt[3] + Double(reference.height) * gt[5]
        var arguments = ["-of", "VRT",
                         "-te", "\(gt[0])", "\(yMin)", "\(xMax)", "\(gt[3])",
                         "-ts", "\(reference.width)", "\(reference.height)",
                         "-r", member.sampleType.isInteger ? "near" : "bilinear",
                         "-dstalpha"]
        if let srs = reference.spatialReference { arguments += ["-t_srs", CRSDescription.crs(srs).wkt] }
        GDALSession.clearMessage()
        let options: OpaquePointer? = GDALStrings.withList(arguments) { GDALWarpAppOptionsNew($0, nil) }
        guard let options else {
            throw StrataError.internalError("GDALWarp rejected options \(arguments.prefix(12))")
        }
        defer { GDALWarpAppOptionsFree(options) }
        var sources: [GDALDatasetH?] = [member.handle]
        var usageError: Int32 = 0
        let warped = sources.withUnsafeMutableBufferPointer {
            GDALWarp("", nil, 1, $0.baseAddress, options, &usageError)
        }
        guard let warped else {
            throw StrataError.unreadable(path: member.name, reason: "cannot warp onto the grid of \(reference.name): "
                + GDALSession.lastMessage(or: "GDALWarp failed"))
        }
        return try RasterSource(handle: warped, name: member.name, base: member, bandsFrom: member)
    }
}
