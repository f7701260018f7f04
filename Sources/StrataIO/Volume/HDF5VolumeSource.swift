import CHDF5
import Foundation
import StrataCore

/// An HDF5 dataset `[T, (C,) (D,) H, W]` read window by window through hyperslabs.
///
/// Each read selects the window on the file dataspace and a matching block of a memory dataspace shaped like the
/// output `[T, C, d, h, w]`; `H5Dread` converts to float32 on the way, so only the chunks the window touches are
/// read and no intermediate copy is made. The file and dataset stay open until the source is released.
final class HDF5VolumeSource: VolumeSource {
    let address: HDF5Address
    let shape: VolumeShape
    let axes: VolumeAxes
    /// The storage type (`float16` for 2-byte IEEE floats).
    let storedType: SampleType
    /// Chunk shape in dataset order, or `nil` for a contiguous dataset.
    let chunkShape: [Int]?
    let metadata: VolumeMetadata
    private let file: hid_t
    private let dataset: hid_t

    init(address: HDF5Address) throws {
        let path = address.description
        try InputPath.requireFile(address.file)
        guard isHDF5File(address.file) else {
            throw StrataError.unreadable(path: address.file, reason: "not an HDF5 file (no HDF5 signature)")
        }
        let file = H5Fopen(address.file, strata_h5f_acc_rdonly(), strata_h5p_default())
        guard file >= 0 else {
            throw StrataError.unreadable(path: address.file, reason: "HDF5 could not open the file")
        }
        var opened = false
        defer { if !opened { H5Fclose(file) } }
        try Self.requireDataset(file, address)
        let dataset = try h5Check(H5Dopen2(file, address.dataset, strata_h5p_default()), path, "open the dataset")
        defer { if !opened { H5Dclose(dataset) } }

        let storedType = try Self.sampleType(dataset, path)
        let dims = try Self.dims(dataset, path)
        let attributes = HDF5Attributes(object: dataset, path: path)
        let axes = try Self.axes(dims.count, attributes, address)
        guard !dims.contains(0) else {
            throw StrataError.invalidStack(reason: "\(path): dataset shape \(dims) has an empty axis")
        }
        var index = 0
        func next(_ present: Bool) -> Int {
            guard present else { return 1 }
            defer { index += 1 }
            return dims[index]
        }
        let steps = next(true), channels = next(axes.hasChannels), depth = next(axes.hasDepth)
        let shape = VolumeShape(steps: steps, channels: channels, depth: depth, height: next(true), width: next(true))
        let metadata = try Self.metadata(attributes, shape: shape, axes: axes, path: path)
        let chunkShape = try Self.chunkShape(dataset, rank: dims.count, path)

        self.address = address
        self.shape = shape
        self.axes = axes
        self.storedType = storedType
        self.chunkShape = chunkShape
        self.metadata = metadata
        self.file = file
        self.dataset = dataset
        opened = true
    }

    deinit {
        H5Dclose(dataset)
        H5Fclose(file)
    }

    /// Walks the path one link at a time (H5Lexists fails, rather than answering no, below a missing group) and
    /// checks that the object at the end is a dataset.
    private static func requireDataset(_ file: hid_t, _ address: HDF5Address) throws {
        let missing = StrataError.noSuchDataset(path: address.file, dataset: address.dataset)
        var prefix = ""
        for component in address.dataset.split(separator: "/") {
            prefix += "/" + component
            guard H5Lexists(file, prefix, strata_h5p_default()) > 0 else { throw missing }
        }
        let object = H5Oopen(file, address.dataset, strata_h5p_default())
        guard object >= 0 else { throw missing }
        defer { H5Oclose(object) }
        guard H5Iget_type(object) == H5I_DATASET else { throw missing }
    }

    /// The storage type; compound (complex), string and other non-numeric classes are unsupported.
    private static func sampleType(_ dataset: hid_t, _ path: String) throws -> SampleType {
        let type = try h5Check(H5Dget_type(dataset), path, "read the dataset type")
        defer { H5Tclose(type) }
        let size = H5Tget_size(type)
        let typeClass = H5Tget_class(type)
        if typeClass == H5T_FLOAT {
            switch size {
            case 2: return .float16
            case 4: return .float32
            case 8: return .float64
            default: break
            }
        } else if typeClass == H5T_INTEGER {
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (1, false): return .uint8
            case (1, true): return .int8
            case (2, false): return .uint16
            case (2, true): return .int16
            case (4, false): return .uint32
            case (4, true): return .int32
            default: break
            }
        }
        let names: [H5T_class_t: String] = [
            H5T_INTEGER: "integer", H5T_FLOAT: "float", H5T_STRING: "string", H5T_COMPOUND: "compound (e.g. complex)",
            H5T_ENUM: "enum", H5T_ARRAY: "array", H5T_VLEN: "variable-length", H5T_OPAQUE: "opaque",
            H5T_REFERENCE: "reference", H5T_BITFIELD: "bitfield", H5T_TIME: "time",
        ]
        let name = names[typeClass] ?? "unknown"
        throw StrataError.unsupported(
            path: path, reason: "dataset type is \(size)-byte \(name); Strata reads integers up to 32 bits and floats")
    }

    private static func dims(_ dataset: hid_t, _ path: String) throws -> [Int] {
        let space = try h5Check(H5Dget_space(dataset), path, "read the dataset shape")
        defer { H5Sclose(space) }
        let rank = Int(try h5Check(H5Sget_simple_extent_ndims(space), path, "read the dataset rank"))
        var dims = [hsize_t](repeating: 0, count: rank)
        try h5Check(H5Sget_simple_extent_dims(space, &dims, nil), path, "read the dataset shape")
        return dims.map { Int($0) }
    }

    private static func axes(_ rank: Int, _ attributes: HDF5Attributes, _ address: HDF5Address) throws -> VolumeAxes {
        guard (3...5).contains(rank) else {
            throw StrataError.badRank(path: address.file, dataset: address.dataset, rank: rank,
                                      expected: "3 to 5 ([T, (C,) (D,) H, W])")
        }
        guard let text = try attributes.strings("axes")?.first else { return VolumeAxes(inferredFromRank: rank)! }
        guard let axes = VolumeAxes(attribute: text) else {
            throw StrataError.invalidHeader(
                path: address.description, reason: "attribute 'axes' is '\(text)', expected T,(C,)(D,)H,W")
        }
        guard axes.rank == rank else {
            throw StrataError.invalidHeader(
                path: address.description, reason: "attribute 'axes' is '\(text)' (\(axes.rank) axes) "
                    + "but the dataset has rank \(rank)")
        }
        return axes
    }

    /// The convention's attributes, with each length checked against the shape.
    private static func metadata(_ attributes: HDF5Attributes, shape: VolumeShape, axes: VolumeAxes,
                                 path: String) throws -> VolumeMetadata {
        func require<T>(_ name: String, _ values: [T]?, counts: [Int], meaning: String) throws -> [T]? {
            guard let values else { return nil }
            guard counts.contains(values.count) else {
                let expected = counts.map(String.init).joined(separator: " or ")
                throw StrataError.invalidHeader(
                    path: path,
                    reason: "attribute '\(name)' has \(values.count) values, expected \(expected) (\(meaning))")
            }
            return values
        }
        // 2-D series may give spacing and origin as [x, y]; z then defaults to 1 mm and 0 mm.
        let xyz = axes.hasDepth ? [3] : [2, 3]
        // Voxel sizes feed every volume in mm³ and positions every exported header: a NaN, infinite, zero or
        // negative size is a broken file, not a value to carry along.
        func requireFinite(_ name: String, _ values: [Double]?, positive: Bool = false) throws {
            guard let bad = values?.first(where: { !$0.isFinite || (positive && $0 <= 0) }) else { return }
            throw StrataError.invalidHeader(
                path: path, reason: "attribute '\(name)' holds \(bad); expected finite\(positive ? ", positive" : "") "
                    + "values")
        }
        let spacing = try require("spacing", attributes.numbers("spacing"), counts: xyz, meaning: "mm along x, y, z")
        let origin = try require("origin", attributes.numbers("origin"), counts: xyz, meaning: "mm along x, y, z")
        try requireFinite("spacing", spacing, positive: true)
        try requireFinite("origin", origin)
        try requireFinite("time_seconds", attributes.numbers("time_seconds"))
        let nodata = try require("nodata", attributes.numbers("nodata"), counts: [1], meaning: "one value")
        let scale = try require("scale", attributes.numbers("scale"), counts: [1], meaning: "one value")
        let offset = try require("offset", attributes.numbers("offset"), counts: [1], meaning: "one value")
        try requireFinite("scale", scale)
        try requireFinite("offset", offset)
        if scale?[0] == 0 {
            throw StrataError.invalidHeader(path: path, reason: "attribute 'scale' is 0; physical = stored × scale")
        }
        return VolumeMetadata(
            spacing: spacing.map { Spacing(x: $0[0], y: $0[1], z: $0.count > 2 ? $0[2] : 1) },
            origin: origin.map { [$0[0], $0[1], $0.count > 2 ? $0[2] : 0] },
            timeLabels: try require("time_labels", attributes.strings("time_labels"), counts: [shape.steps],
                                    meaning: "one per time step"),
            timeSeconds: try require("time_seconds", attributes.numbers("time_seconds"), counts: [shape.steps],
                                     meaning: "one per time step"),
            nodata: nodata?[0],
            bandNames: try require("band_names", attributes.strings("band_names"), counts: [shape.channels],
                                   meaning: "one per channel"),
            scale: scale?[0], offset: offset?[0])
    }

    private static func chunkShape(_ dataset: hid_t, rank: Int, _ path: String) throws -> [Int]? {
        let plist = try h5Check(H5Dget_create_plist(dataset), path, "read the dataset creation properties")
        defer { H5Pclose(plist) }
        guard H5Pget_layout(plist) == H5D_CHUNKED else { return nil }
        var chunk = [hsize_t](repeating: 0, count: rank)
        try h5Check(H5Pget_chunk(plist, Int32(rank), &chunk), path, "read the chunk shape")
        return chunk.map { Int($0) }
    }

    func read(steps: Range<Int>, region inside: VolumeRegion, into out: UnsafeMutablePointer<Float>,
              layout: VolumeRegion) throws {
        let path = address.description
        let slab = axes.hyperslab(steps: steps, channels: shape.channels, region: inside)
        let fileSpace = try h5Check(H5Dget_space(dataset), path, "read the dataset shape")
        defer { H5Sclose(fileSpace) }
        var fileStart = slab.start.map { hsize_t($0) }, fileCount = slab.count.map { hsize_t($0) }
        try h5Check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &fileStart, nil, &fileCount, nil), path,
                    "select a window of the dataset")

        // The memory space is the whole output window; the in-volume part is a block of it at the same offset
        // the region has inside the window. Element order matches the file selection (row-major, T then C ...).
        var memoryDims = [steps.count, shape.channels, layout.depth, layout.height, layout.width].map { hsize_t($0) }
        let memorySpace = try h5Check(H5Screate_simple(5, &memoryDims, nil), path, "create a memory dataspace")
        defer { H5Sclose(memorySpace) }
        var memoryStart = [0, 0, inside.z - layout.z, inside.y - layout.y, inside.x - layout.x].map { hsize_t($0) }
        var memoryCount = [steps.count, shape.channels, inside.depth, inside.height, inside.width].map { hsize_t($0) }
        try h5Check(H5Sselect_hyperslab(memorySpace, H5S_SELECT_SET, &memoryStart, nil, &memoryCount, nil), path,
                    "select the window in memory")
        try h5Check(H5Dread(dataset, strata_h5t_native_float(), memorySpace, fileSpace, strata_h5p_default(), out),
                    path, "read a window of the dataset")
    }
}
