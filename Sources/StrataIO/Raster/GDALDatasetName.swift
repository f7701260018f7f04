import Foundation
import StrataCore

/// Checks the file behind a GDAL dataset name before GDAL sees it.
///
/// A dataset name is either a plain path (`scene.tif`) or a driver-prefixed name whose file is quoted
/// (`NETCDF:"cube.nc":pr`, `ZARR:"cube.zarr":/pr`, `HDF5:"f.h5"://x`). `/vsi…` virtual paths are left to GDAL.
enum GDALDatasetName {
    /// The file (or Zarr folder) a dataset name refers to: the quoted part of a prefixed name, else the name.
    static func filePath(of name: String) -> String {
        if let open = name.range(of: ":\""), let close = name[open.upperBound...].firstIndex(of: "\"") {
            return String(name[open.upperBound..<close])
        }
        return name
    }

    /// The variable part of a driver-prefixed name (`pr` in `NETCDF:"f.nc":pr`), or `nil` for a plain path.
    static func variable(of name: String) -> String? {
        guard let open = name.range(of: ":\""), let close = name[open.upperBound...].firstIndex(of: "\"") else {
            return nil
        }
        let rest = name[name.index(after: close)...]
        guard rest.hasPrefix(":") else { return nil }
        let variable = rest.dropFirst().trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        return variable.isEmpty ? nil : variable
    }

    /// Throws `fileNotFound`, `isDirectory` or `emptyFile` for the file behind `name`.
    ///
    /// Zarr stores are folders, so a folder is accepted when its name ends in `.zarr`.
    static func check(_ name: String) throws {
        if name.hasPrefix("/vsi") { return }
        let path = filePath(of: name)
        var isDirectory: ObjCBool = false
        if path.hasSuffix(".zarr"), FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
            isDirectory.boolValue
        {
            return
        }
        do {
            try InputPath.requireFile(path)
        } catch let error as StrataError where path != name {
            // Name the whole dataset name in the error, so the user sees what they typed.
            switch error {
            case .fileNotFound: throw StrataError.fileNotFound(path: name)
            case .isDirectory: throw StrataError.isDirectory(path: name)
            case .emptyFile: throw StrataError.emptyFile(path: name)
            default: throw error
            }
        }
    }
}
