import CHDF5
import Foundation
import StrataCore

/// The datasets of an HDF5 file, found by walking every group from the root, and a reader for whole numeric
/// datasets: enough to take weights out of a framework's file (Keras 3 `.weights.h5`) whose layout Strata does
/// not control.
///
/// The walk follows links in name order and stops 64 groups deep (HDF5 allows cycles through hard links; weight
/// files never nest that deep). Only numeric (integer or float) datasets are readable; `H5Dread` converts them
/// to float32 on the way.
///
/// ```swift
/// let tree = try HDF5Tree(path: "model.weights.h5")
/// for dataset in tree.datasets { print(dataset.path, dataset.shape) }   // "layers/conv2d/vars/0" [1, 1, 5, 2]
/// let kernel = try tree.floats("layers/conv2d/vars/0")                  // row-major, 10 values
/// ```
public final class HDF5Tree {
    /// One dataset: its path from the root without the leading slash, its shape, and whether it is numeric.
    public struct Dataset: Sendable, Equatable {
        public let path: String
        public let shape: [Int]
        public let isNumeric: Bool

        /// Number of elements.
        public var count: Int { shape.reduce(1, *) }
    }

    /// The file the tree was read from.
    public let path: String
    /// Every dataset in the file, sorted by path.
    public let datasets: [Dataset]
    private let file: hid_t

    private static let maximumDepth = 64

    /// Opens `path` and lists its datasets.
    ///
    /// - Throws: ``StrataError/fileNotFound(path:)``, ``StrataError/isDirectory(path:)``,
    ///   ``StrataError/emptyFile(path:)``, ``StrataError/unreadable(path:reason:)`` for a file that is not HDF5.
    public init(path: String) throws {
        try InputPath.requireFile(path)
        guard isHDF5File(path) else {
            throw StrataError.unreadable(path: path, reason: "not an HDF5 file (no HDF5 signature)")
        }
        let file = H5Fopen(path, strata_h5f_acc_rdonly(), strata_h5p_default())
        guard file >= 0 else { throw StrataError.unreadable(path: path, reason: "HDF5 could not open the file") }
        var found: [Dataset] = []
        do {
            try Self.walk(file, group: "/", depth: 0, path: path, into: &found)
        } catch {
            H5Fclose(file)
            throw error
        }
        self.path = path
        self.file = file
        self.datasets = found.sorted { $0.path < $1.path }
    }

    deinit { H5Fclose(file) }

    /// The dataset at `datasetPath` (no leading slash), or nil.
    public func dataset(_ datasetPath: String) -> Dataset? {
        datasets.first { $0.path == datasetPath }
    }

    /// All elements of a numeric dataset as float32, row-major.
    ///
    /// - Throws: ``StrataError/noSuchDataset(path:dataset:)``; ``StrataError/unsupported(path:reason:)`` for a
    ///   string or compound dataset.
    public func floats(_ datasetPath: String) throws -> [Float] {
        guard let entry = dataset(datasetPath) else {
            throw StrataError.noSuchDataset(path: path, dataset: datasetPath)
        }
        guard entry.isNumeric else {
            throw StrataError.unsupported(path: path, reason: "dataset '\(datasetPath)' is not numeric")
        }
        let dataset = try h5Check(H5Dopen2(file, "/" + datasetPath, strata_h5p_default()), path,
                                  "open dataset '\(datasetPath)'")
        defer { H5Dclose(dataset) }
        var values = [Float](repeating: 0, count: entry.count)
        if entry.count > 0 {
            try values.withUnsafeMutableBytes { out in
                _ = try h5Check(H5Dread(dataset, strata_h5t_native_float(), strata_h5s_all(), strata_h5s_all(),
                                        strata_h5p_default(), out.baseAddress), path, "read dataset '\(datasetPath)'")
            }
        }
        return values
    }

    /// Lists the links of `group` in name order; datasets are recorded, groups walked into.
    private static func walk(_ file: hid_t, group: String, depth: Int, path: String, into found: inout [Dataset]) throws {
        guard depth < maximumDepth else {
            throw StrataError.unsupported(path: path, reason: "groups nested deeper than \(maximumDepth) at '\(group)'")
        }
        let id = try h5Check(H5Gopen2(file, group, strata_h5p_default()), path, "open group '\(group)'")
        defer { H5Gclose(id) }
        var info = H5G_info_t()
        try h5Check(H5Gget_info(id, &info), path, "list group '\(group)'")
        for index in 0..<info.nlinks {
            let length = try h5Check(H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0,
                                                        strata_h5p_default()), path, "list group '\(group)'")
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            try h5Check(H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count,
                                           strata_h5p_default()), path, "list group '\(group)'")
            let name = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let child = group == "/" ? "/" + name : group + "/" + name
            // A dangling soft or external link opens as nothing; it holds no weights, so it is skipped.
            let object = H5Oopen(file, child, strata_h5p_default())
            guard object >= 0 else { continue }
            defer { H5Oclose(object) }
            switch H5Iget_type(object) {
            case H5I_GROUP:
                try walk(file, group: child, depth: depth + 1, path: path, into: &found)
            case H5I_DATASET:
                found.append(try describe(object, path: String(child.dropFirst()), file: path))
            default:
                continue
            }
        }
    }

    private static func describe(_ dataset: hid_t, path datasetPath: String, file: String) throws -> Dataset {
        let space = try h5Check(H5Dget_space(dataset), file, "read the shape of '\(datasetPath)'")
        defer { H5Sclose(space) }
        let rank = Int(try h5Check(H5Sget_simple_extent_ndims(space), file, "read the rank of '\(datasetPath)'"))
        var dims = [hsize_t](repeating: 0, count: rank)
        if rank > 0 { try h5Check(H5Sget_simple_extent_dims(space, &dims, nil), file, "read '\(datasetPath)'") }
        let type = try h5Check(H5Dget_type(dataset), file, "read the type of '\(datasetPath)'")
        defer { H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        return Dataset(path: datasetPath, shape: dims.map { Int($0) },
                       isNumeric: typeClass == H5T_FLOAT || typeClass == H5T_INTEGER)
    }
}
