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
}
