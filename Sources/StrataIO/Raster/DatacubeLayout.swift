import CGDAL
import Foundation
import StrataCore

/// Reads the time axis of a netCDF variable opened through GDAL (`NETCDF:"cube.nc":pr`).
///
/// GDAL's netCDF driver turns every extra dimension into bands and describes it in metadata: the dataset lists the
/// extra dimensions (`NETCDF_DIM_EXTRA={time}`), their units and calendar (`time#units`, `time#calendar`), and each
/// band carries its coordinate (`NETCDF_DIM_time=17927`). The time dimension is the extra dimension named `time`,
/// or whose `standard_name` is `time`, `axis` is `T`, or units read `… since …`. Bands with the same time value form
/// one step (other extra dimensions, such as a pressure level, become bands of the step, in GDAL's band order).
enum DatacubeLayout {
    /// The dataset name to open: `name` itself, or the only subdataset of a plain file; a plain file with several
    /// variables is an error that lists them.
    static func resolve(_ name: String) throws -> String {
        let handle = try GDALSession.openRaster(name)
        defer { GDALClose(handle) }
        let subdatasets = GDALStrings.metadata(handle, domain: "SUBDATASETS")
            .filter { $0.key.hasSuffix("_NAME") }
            .sorted { Int($0.key.filter(\.isNumber)) ?? 0 < Int($1.key.filter(\.isNumber)) ?? 0 }
            .map(\.value)
        guard !subdatasets.isEmpty, GDALGetRasterCount(handle) == 0 || GDALDatasetName.variable(of: name) == nil
        else { return name }
        if subdatasets.count == 1 { return subdatasets[0] }
        throw StrataError.invalidArgument(name: name, reason: "holds \(subdatasets.count) variables; choose one: "
            + subdatasets.joined(separator: ", "))
    }

    /// Steps (lists of indices into `source.bands`) in time order, and their dates (seconds since 1970, UTC) when
    /// the time dimension has CF units.
    static func steps(of source: RasterSource) throws -> (steps: [[Int]], seconds: [Int64]?) {
        let metadata = GDALStrings.metadata(source.handle)
        let variable = GDALDatasetName.variable(of: source.name)
            ?? source.bands[0].metadata["NETCDF_VARNAME"] ?? "Band1"
        let extra = (metadata["NETCDF_DIM_EXTRA"] ?? "")
            .trimmingCharacters(in: CharacterSet(charactersIn: "{} "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let time = extra.first { dimension in
            dimension.lowercased() == "time" || metadata["\(dimension)#standard_name"] == "time"
                || metadata["\(dimension)#axis"] == "T" || (metadata["\(dimension)#units"] ?? "").contains(" since ")
        }
        guard let time else { throw StrataError.missingTimeDimension(path: source.name, variable: variable) }

        var groups: [(value: Double, bands: [Int])] = []
        for (position, band) in source.bands.enumerated() {
            guard let text = band.metadata["NETCDF_DIM_\(time)"], let value = Double(text) else {
                throw StrataError.missingTimeDimension(path: source.name, variable: variable)
            }
            if let group = groups.firstIndex(where: { $0.value == value }) {
                groups[group].bands.append(position)
            } else {
                groups.append((value, [position]))
            }
        }
        guard Set(groups.map(\.bands.count)).count == 1 else {
            throw StrataError.invalidStack(reason: "\(source.name): time steps of '\(variable)' have different "
                + "numbers of bands")
        }
        groups.sort { $0.value < $1.value }
        guard let units = metadata["\(time)#units"] else { return (groups.map(\.bands), nil) }
        let seconds = try CFTime.decode(groups.map(\.value), units: units, calendar: metadata["\(time)#calendar"],
                                        path: source.name)
        return (groups.map(\.bands), seconds)
    }
}
