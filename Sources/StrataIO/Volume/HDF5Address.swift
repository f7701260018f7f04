import CHDF5
import Foundation
import StrataCore

/// An HDF5 dataset named as `file.h5:/path/to/dataset`.
///
/// The split is at the last `:` that is followed by `/`, so file names may contain colons. A path that exists as a
/// file as written is never split.
///
/// ```swift
/// HDF5Address("runs/scan.h5:/subject1/bold")   // file "runs/scan.h5", dataset "/subject1/bold"
/// HDF5Address("bold.nii.gz")                    // nil
/// ```
public struct HDF5Address: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The HDF5 file.
    public var file: String
    /// Absolute path of the dataset inside the file, starting with `/`.
    public var dataset: String

    public init(file: String, dataset: String) {
        self.file = file
        self.dataset = dataset.hasPrefix("/") ? dataset : "/" + dataset
    }

    /// Parses `file.h5:/dataset`; `nil` when `path` names no dataset or exists as a file as written.
    public init?(_ path: String) {
        guard !FileManager.default.fileExists(atPath: path),
              let separator = path.range(of: ":/", options: .backwards) else { return nil }
        let file = String(path[..<separator.lowerBound])
        var dataset = String(path[path.index(after: separator.lowerBound)...])
        while dataset.count > 1, dataset.hasSuffix("/") { dataset.removeLast() }
        guard !file.isEmpty else { return nil }
        self.init(file: file, dataset: dataset)
    }

    /// `file:/dataset`, as the user writes it.
    public var description: String { "\(file):\(dataset)" }
}

/// Throws ``StrataError/ioFailure(path:reason:)`` when an HDF5 call returned a negative id or status.
@discardableResult
func h5Check<T: BinaryInteger>(_ result: T, _ path: String, _ what: @autoclosure () -> String) throws -> T {
    guard result >= 0 else { throw StrataError.ioFailure(path: path, reason: "HDF5 could not \(what())") }
    return result
}

/// Whether `path` starts with the HDF5 signature (HDF5 also looks at 512, 1024 ... for files with a user block).
func isHDF5File(_ path: String) -> Bool {
    strata_h5_silence_errors()
    return H5Fis_hdf5(path) > 0
}
