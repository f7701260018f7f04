import CHDF5
import Foundation
import StrataCore

/// Writes volume time stacks as chunked, compressed HDF5 datasets `[T, (C,) (D,) H, W]`, window by window.
///
/// The file is written under a temporary name and appears under `path` only when ``finish()`` succeeds; a failure
/// or a writer released without `finish()` leaves nothing under `path`. Each dataset carries the attributes of the
/// volume convention (docs/formats-volumes.md), is chunked by ``chunkShape(for:axes:elementSize:)`` and compressed
/// with the shuffle and deflate filters. Windows are written with hyperslabs, so outputs larger than memory work.
///
/// ```swift
/// let writer = try HDF5VolumeWriter(path: "prediction.h5")
/// let shape = VolumeShape(steps: 4, channels: 1, depth: 3, height: 21, width: 17)
/// try writer.createDataset("/prediction", shape: shape, storage: .float16,
///                          metadata: VolumeMetadata(spacing: Spacing(x: 4, y: 4, z: 8)))
/// try writer.write(window, to: "/prediction", firstStep: 0, region: shape.fullRegion)   // [T, C, d, h, w] float32
/// try writer.finish()
/// ```
public final class HDF5VolumeWriter {
    /// Element types a dataset can be stored as.
    public enum StorageType: String, Sendable, CaseIterable {
        /// IEEE binary32.
        case float32
        /// IEEE binary16 (round to nearest even; about 3 significant digits, largest finite value 65504).
        case float16
        /// Unsigned bytes: values are rounded and clamped to 0...255; NaN is written as `nodata` when declared.
        case uint8

        var size: Int { self == .uint8 ? 1 : (self == .float16 ? 2 : 4) }
    }

    /// The deflate level used unless ``createDataset(_:shape:axes:storage:metadata:deflateLevel:)`` says otherwise.
    public static let defaultDeflateLevel = 5

    private struct Dataset {
        let id: hid_t
        let shape: VolumeShape
        let axes: VolumeAxes
        let storage: StorageType
        let nodata: Double?
    }

    private let output: AtomicOutput
    private var file: hid_t
    private var datasets: [String: Dataset] = [:]

    /// Whether the datasets of a file already at `path` stay.
    public enum ExistingFile: Sendable {
        /// The new file replaces it (the default).
        case replace
        /// Its datasets are kept and the new ones added beside them (one of the same name is replaced), as a user
        /// who predicts several subjects into `results.h5:/subject1`, `results.h5:/subject2` ... expects. The
        /// file is copied to the temporary name first, so until ``finish()`` the original stays as it was.
        case keepDatasets
    }

    private let existing: ExistingFile

    /// Creates the (temporary) file. Nothing appears under `path` until ``finish()``.
    ///
    /// - Throws: ``StrataError/outputNotWritable(path:reason:)`` when the folder is missing or not writable, or
    ///   (`keepDatasets`) when the file at `path` is not HDF5.
    public init(path: String, existing: ExistingFile = .replace) throws {
        strata_h5_silence_errors()
        output = try AtomicOutput(path: path)
        self.existing = existing
        if existing == .keepDatasets, FileManager.default.fileExists(atPath: path) {
            guard H5Fis_hdf5(path) > 0 else {
                throw StrataError.outputNotWritable(
                    path: path, reason: "the file exists and is not HDF5; remove it or choose another name")
            }
            do {
                try FileManager.default.copyItem(atPath: path, toPath: output.temporaryPath)
            } catch {
                output.discard()
                throw StrataError.outputNotWritable(path: path, reason: "could not copy the existing file: \(error)")
            }
            file = H5Fopen(output.temporaryPath, strata_h5f_acc_rdwr(), strata_h5p_default())
        } else {
            file = H5Fcreate(output.temporaryPath, strata_h5f_acc_trunc(), strata_h5p_default(), strata_h5p_default())
        }
        guard file >= 0 else {
            output.discard()
            throw StrataError.outputNotWritable(path: path, reason: "HDF5 could not create the file")
        }
    }

    deinit { closeAll() }

    /// Chunk shape in dataset order for storing `shape` with `elementSize`-byte elements.
    ///
    /// Rule: one step and one channel, the whole `D × H × W` block, halving its largest side until the chunk holds
    /// at most 1 MiB; then, while it holds less than 10 KiB, grouping consecutive steps (then channels) up to the
    /// dataset's size. A window of a few slices thus touches few chunks, and tiny volumes are not split into
    /// chunks whose per-chunk overhead would dominate. Only a dataset smaller than 10 KiB gets a smaller chunk.
    public static func chunkShape(for shape: VolumeShape, axes: VolumeAxes, elementSize: Int) -> [Int] {
        let maximum = 1 << 20, minimum = 10 << 10
        var spatial = [shape.depth, shape.height, shape.width]
        var bytes: Int { spatial.reduce(elementSize, *) }
        while bytes > maximum, let largest = spatial.indices.max(by: { spatial[$0] < spatial[$1] }) {
            spatial[largest] = (spatial[largest] + 1) / 2
        }
        var steps = 1, channels = 1
        if bytes < minimum {
            steps = min(shape.steps, (minimum + bytes - 1) / bytes)
            if bytes * steps < minimum, steps == shape.steps {
                channels = min(shape.channels, (minimum + bytes * steps - 1) / (bytes * steps))
            }
        }
        let chunk = VolumeShape(steps: steps, channels: channels, depth: spatial[0], height: spatial[1],
                                width: spatial[2])
        return axes.datasetDims(chunk)
    }

    /// Creates a dataset (and any missing groups on its path) with the convention's attributes.
    ///
    /// - Parameters:
    ///   - name: path inside the file, e.g. `/prediction` or `/subject1/probability`.
    ///   - shape: `[T, C, D, H, W]` sizes.
    ///   - axes: which axes to store; by default C when `channels > 1` and D when `depth > 1`.
    ///   - storage: element type in the file.
    ///   - metadata: spacing, origin, time, nodata, band names; each present one becomes an attribute.
    ///   - deflateLevel: 1 (fast) to 9 (small).
    public func createDataset(_ name: String, shape: VolumeShape, axes: VolumeAxes? = nil,
                              storage: StorageType = .float32, metadata: VolumeMetadata = VolumeMetadata(),
                              deflateLevel: Int = HDF5VolumeWriter.defaultDeflateLevel) throws {
        let path = "\(output.path):\(name)"
        let axes = axes ?? VolumeAxes(hasChannels: shape.channels > 1, hasDepth: shape.depth > 1)
        let sizes = [shape.steps, shape.channels, shape.depth, shape.height, shape.width]
        guard sizes.allSatisfy({ $0 >= 1 }), (axes.hasChannels || shape.channels == 1),
              (axes.hasDepth || shape.depth == 1) else {
            throw StrataError.invalidArgument(
                name: "shape", reason: "\(sizes) cannot be stored with axes \(axes.attributeValue)")
        }
        guard datasets[name] == nil else {
            throw StrataError.invalidArgument(name: name, reason: "dataset is already being written")
        }
        if existing == .keepDatasets, H5Lexists(file, name, strata_h5p_default()) > 0 {
            // A dataset of the same name in the kept file: this one replaces it (a rerun writes it again).
            try h5Check(H5Ldelete(file, name, strata_h5p_default()), path, "replace the existing dataset")
        }
        guard (1...9).contains(deflateLevel) else {
            throw StrataError.invalidArgument(name: "deflate level", reason: "\(deflateLevel) is not in 1...9")
        }
        try validate(metadata, shape: shape)
        var metadata = metadata
        metadata.nodata = try metadata.nodata.map { try Self.representable(nodata: $0, in: storage) }

        var dims = axes.datasetDims(shape).map { hsize_t($0) }
        let space = try h5Check(H5Screate_simple(Int32(dims.count), &dims, nil), path, "create the dataspace")
        defer { H5Sclose(space) }
        let fileType = try h5Check(fileTypeCopy(storage), path, "create the element type")
        defer { H5Tclose(fileType) }
        let create = try h5Check(H5Pcreate(strata_h5p_dataset_create()), path, "create dataset properties")
        defer { H5Pclose(create) }
        var chunk = Self.chunkShape(for: shape, axes: axes, elementSize: storage.size).map { hsize_t($0) }
        try h5Check(H5Pset_chunk(create, Int32(chunk.count), &chunk), path, "set the chunk shape")
        // Shuffle groups the bytes of each element, so deflate sees runs of similar exponent bytes.
        try h5Check(H5Pset_shuffle(create), path, "add the shuffle filter")
        try h5Check(H5Pset_deflate(create, UInt32(deflateLevel)), path, "add the deflate filter")
        try h5Check(H5Pset_obj_track_times(create, false), path, "drop object times (same input, same bytes)")
        if var nodata = metadata.nodata {
            // Chunks never written read back as nodata rather than 0.
            try h5Check(H5Pset_fill_value(create, strata_h5t_native_double(), &nodata), path, "set the fill value")
        }
        let links = try h5Check(H5Pcreate(strata_h5p_link_create()), path, "create link properties")
        defer { H5Pclose(links) }
        try h5Check(H5Pset_create_intermediate_group(links, 1), path, "allow intermediate groups")
        let dataset = try h5Check(
            H5Dcreate2(file, name, fileType, space, links, create, strata_h5p_default()), path, "create the dataset")
        datasets[name] = Dataset(id: dataset, shape: shape, axes: axes, storage: storage, nodata: metadata.nodata)
        try writeAttributes(metadata, axes: axes, on: dataset, path: path)
    }

    /// Writes `values` (float32 `[t, C, d, h, w]`) at steps `firstStep..<firstStep + t` and `region` of a dataset.
    ///
    /// `region` defaults to the box of size `d × h × w` at the origin and must lie inside the dataset; its size must
    /// match the tensor's last three dimensions.
    public func write(_ values: Tensor, to name: String, firstStep: Int = 0, region: VolumeRegion? = nil) throws {
        guard let dataset = datasets[name] else {
            throw StrataError.invalidArgument(name: name, reason: "no such dataset in this writer; create it first")
        }
        let path = "\(output.path):\(name)"
        let s = values.shape
        guard values.dtype == .float32, s.count == 5, s[1] == dataset.shape.channels else {
            throw StrataError.invalidArgument(
                name: "values", reason: "expected float32 [t, \(dataset.shape.channels), d, h, w], got "
                    + "\(values.dtype) \(s)")
        }
        let region = region ?? VolumeRegion(x: 0, y: 0, z: 0, width: s[4], height: s[3], depth: s[2])
        let full = dataset.shape
        guard region.width == s[4], region.height == s[3], region.depth == s[2],
              region.clipped(toWidth: full.width, height: full.height, depth: full.depth) == region,
              firstStep >= 0, firstStep + s[0] <= full.steps else {
            throw StrataError.invalidArgument(
                name: "region", reason: "\(s) at step \(firstStep), \(region) does not fit inside \(full)")
        }
        let (stored, memoryType) = try storageValues(values, dataset, path)
        defer { H5Tclose(memoryType) }

        let slab = dataset.axes.hyperslab(steps: firstStep..<firstStep + s[0], channels: full.channels, region: region)
        let fileSpace = try h5Check(H5Dget_space(dataset.id), path, "read the dataspace")
        defer { H5Sclose(fileSpace) }
        var start = slab.start.map { hsize_t($0) }, count = slab.count.map { hsize_t($0) }
        try h5Check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &count, nil), path,
                    "select the window to write")
        let memorySpace = try h5Check(H5Screate_simple(Int32(count.count), &count, nil), path, "create memory space")
        defer { H5Sclose(memorySpace) }
        _ = try stored.withRawBytes { bytes in
            try h5Check(H5Dwrite(dataset.id, memoryType, memorySpace, fileSpace, strata_h5p_default(),
                                 bytes.baseAddress), path, "write a window")
        }
    }

    /// Closes the file and moves it to its final name.
    public func finish() throws {
        guard file >= 0 else {
            throw StrataError.invalidArgument(name: output.path, reason: "the writer is already finished")
        }
        var failed = false
        for dataset in datasets.values where H5Dclose(dataset.id) < 0 { failed = true }
        datasets = [:]
        if H5Fclose(file) < 0 { failed = true }
        file = -1
        guard !failed else {
            output.discard()
            throw StrataError.ioFailure(path: output.path, reason: "HDF5 could not flush and close the file")
        }
        try output.commit()
    }

    private func closeAll() {
        for dataset in datasets.values { H5Dclose(dataset.id) }
        datasets = [:]
        if file >= 0 { H5Fclose(file) }
        file = -1
    }

    /// A new type id for the file's element type; the caller closes it.
    private func fileTypeCopy(_ storage: StorageType) -> hid_t {
        switch storage {
        case .float32: return H5Tcopy(strata_h5t_native_float())
        case .float16: return strata_h5t_ieee_f16le_copy()
        case .uint8: return H5Tcopy(strata_h5t_native_uint8())
        }
    }

    /// The values converted to the storage type (NaN replaced by nodata first) and the matching memory type.
    private func storageValues(_ values: Tensor, _ dataset: Dataset, _ path: String) throws -> (Tensor, hid_t) {
        var values = values
        if let nodata = dataset.nodata {
            let fill = Float(nodata)
            values.withMutableFloats { v in
                for i in v.indices where v[i].isNaN { v[i] = fill }
            }
        }
        let memoryType = try h5Check(fileTypeCopy(dataset.storage), path, "create the element type")
        switch dataset.storage {
        case .float32: return (values, memoryType)
        case .float16: return (values.converted(to: .float16), memoryType)
        case .uint8: return (values.converted(to: .uint8), memoryType)
        }
    }

    /// Nodata as the storage type holds it, so that the attribute, the fill value and stored voxels compare equal
    /// (-9999 is stored as -10000 in float16, for instance).
    private static func representable(nodata: Double, in storage: StorageType) throws -> Double {
        switch storage {
        case .float32:
            return Double(Float(nodata))
        case .float16:
            return Double(Tensor(shape: [1], values: [Float(nodata)]).converted(to: .float16).floats[0])
        case .uint8:
            guard nodata == nodata.rounded(), (0...255).contains(nodata) else {
                throw StrataError.invalidArgument(
                    name: "nodata", reason: "\(nodata) cannot be stored as uint8; use a whole number in 0...255")
            }
            return nodata
        }
    }

    private func validate(_ metadata: VolumeMetadata, shape: VolumeShape) throws {
        func check(_ name: String, _ count: Int?, _ expected: Int) throws {
            guard let count, count != expected else { return }
            throw StrataError.invalidArgument(name: name, reason: "\(count) values, expected \(expected)")
        }
        try check("origin", metadata.origin?.count, 3)
        try check("time_labels", metadata.timeLabels?.count, shape.steps)
        try check("time_seconds", metadata.timeSeconds?.count, shape.steps)
        try check("band_names", metadata.bandNames?.count, shape.channels)
    }

    private func writeAttributes(_ m: VolumeMetadata, axes: VolumeAxes, on dataset: hid_t, path: String) throws {
        let attributes = HDF5Attributes(object: dataset, path: path)
        try attributes.write("axes", strings: [axes.attributeValue], scalar: true)
        if let s = m.spacing { try attributes.write("spacing", numbers: [s.x, s.y, s.z]) }
        if let origin = m.origin { try attributes.write("origin", numbers: origin) }
        if let labels = m.timeLabels { try attributes.write("time_labels", strings: labels) }
        if let seconds = m.timeSeconds { try attributes.write("time_seconds", numbers: seconds) }
        if let nodata = m.nodata { try attributes.write("nodata", numbers: [nodata], scalar: true) }
        if let names = m.bandNames { try attributes.write("band_names", strings: names) }
        if let scale = m.scale { try attributes.write("scale", numbers: [scale], scalar: true) }
        if let offset = m.offset { try attributes.write("offset", numbers: [offset], scalar: true) }
    }
}
