import Foundation
import StrataCore

/// Checks common to every reader before a library sees the file, so that the error names the file and the problem.
public enum InputPath {
    /// Throws unless `path` is an existing, non-empty regular file (or a symlink to one).
    ///
    /// ```swift
    /// try InputPath.requireFile("scene.tif")   // StrataError.fileNotFound / .isDirectory / .emptyFile
    /// ```
    public static func requireFile(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StrataError.fileNotFound(path: path)
        }
        if isDirectory.boolValue { throw StrataError.isDirectory(path: path) }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? NSNumber, size.int64Value == 0 { throw StrataError.emptyFile(path: path) }
    }

    /// The sorted files matching `pattern` when its file name part is a glob (`*`, `?`, `[...]`, fnmatch rules);
    /// `pattern` itself when it has no glob characters, names an existing file, or is a dataset address
    /// (`NETCDF:"f.nc":pr`, `file.h5:/group/data`, a URL). Empty when a glob matches nothing.
    ///
    /// Shells expand unquoted globs themselves; this serves quoted ones, job files and very long file lists.
    ///
    /// ```swift
    /// InputPath.matches("scenes/scene_*.tif")   // ["scenes/scene_20210110.tif", "scenes/scene_20210209.tif"]
    /// ```
    public static func matches(_ pattern: String) -> [String] {
        guard pattern.contains(where: { "*?[".contains($0) }), !pattern.contains(":"),
              !FileManager.default.fileExists(atPath: pattern) else { return [pattern] }
        let url = URL(fileURLWithPath: pattern)
        let folder = url.deletingLastPathComponent().path, namePattern = url.lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let prefix = pattern.contains("/") ? String(pattern[..<pattern.lastIndex(of: "/")!]) + "/" : ""
        return names.filter { fnmatch(namePattern, $0, 0) == 0 }.sorted().map { prefix + $0 }
    }
}
