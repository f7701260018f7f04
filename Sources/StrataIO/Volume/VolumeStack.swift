import Foundation
import StrataCore

/// A time stack of volumes (medical scans, 3-D fields) read window by window: an HDF5 dataset or NIfTI files.
///
/// Inputs:
/// - `scan.h5:/group/dataset` — an HDF5 dataset `[T, (C,) (D,) H, W]` (layout in docs/formats-volumes.md);
/// - `bold.nii`, `bold.nii.gz` — one NIfTI-1 file, `dim[4]` is time;
/// - several 3-D `.nii`/`.nii.gz` files — one time step each, in the order given.
///
/// Windows are `[T, C, d, h, w]` float32 with a `[T, d, h, w]` validity mask; they may reach outside the volume.
///
/// ```swift
/// let stack = try VolumeStack(path: "functional.nii")
/// stack.info.steps               // 20
/// stack.info.spacing             // [4, 4, 8] (mm)
/// let window = try stack.read(region: VolumeRegion(x: 0, y: 0, z: 0, width: 17, height: 21, depth: 3))
/// ```
public final class VolumeStack {
    /// The `strata info` record.
    public private(set) var info: StackInfo
    /// Sizes `[T, C, D, H, W]`.
    public let shape: VolumeShape
    /// Voxel index (x, y, z) to mm, 4×4 row-major. NIfTI: sform, else qform, else spacing. HDF5: spacing and origin
    /// (axis-aligned).
    public let affine: [[Double]]
    /// Spacing, origin, time, nodata and band names, ready to hand to a writer.
    public let metadata: VolumeMetadata
    /// The header of the (first) NIfTI file, to write results with the same geometry; `nil` for HDF5.
    public let niftiHeader: NIfTIHeader?

    private let source: VolumeSource
    /// The value of voxels outside the volume: nodata when declared, else NaN.
    private let fillValue: Float

    /// Opens one input: `file.h5:/path/to/dataset` or a NIfTI file (`.nii`, `.nii.gz`).
    ///
    /// - Throws: ``StrataError`` — `.fileNotFound`, `.isDirectory`, `.emptyFile` for bad paths; `.invalidHeader`,
    ///   `.unsupported` for NIfTI; `.noSuchDataset`, `.badRank`, `.unreadable`, `.unsupported` for HDF5.
    public convenience init(path: String) throws {
        if let address = HDF5Address(path) {
            try self.init(hdf5: HDF5VolumeSource(address: address))
            return
        }
        try InputPath.requireFile(path)
        if isHDF5File(path) {
            throw StrataError.invalidArgument(
                name: path, reason: "an HDF5 file needs a dataset: address it as \(path):/path/to/dataset")
        }
        try self.init(source: NIfTIVolumeSource(path: path), sources: [path])
    }

    /// Opens several 3-D NIfTI files as the time steps of one stack, in the order given.
    ///
    /// ```swift
    /// let stack = try VolumeStack(niftiSeries: ["t0.nii.gz", "t1.nii.gz", "t2.nii.gz"])
    /// ```
    public convenience init(niftiSeries paths: [String]) throws {
        try self.init(source: NIfTIVolumeSource(series: paths), sources: paths)
    }

    /// Opens one path with ``init(path:)``, or several as a NIfTI series with ``init(niftiSeries:)``.
    static func isNIfTI(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz")
    }

    public convenience init(paths: [String]) throws {
        if paths.count == 1 {
            try self.init(path: paths[0])
        } else if let hdf5 = paths.first(where: { InputStack.isVolume($0) && !Self.isNIfTI($0) }) {
            // Only NIfTI files form a series of 3-D volumes; an HDF5 dataset holds its time steps itself.
            throw StrataError.invalidArgument(
                name: hdf5, reason: "several HDF5 datasets do not form one stack; store the time steps in one "
                    + "dataset [T, (C,) (D,) H, W] and pass that alone")
        } else {
            try self.init(niftiSeries: paths)
        }
    }

    private convenience init(source: NIfTIVolumeSource, sources: [String]) throws {
        let header = source.files[0].header
        let shape = source.shape
        let spacing = header.spacingMM
        let affine = header.affine
        let origin = [affine[0][3], affine[1][3], affine[2][3]]
        // TR applies within one 4-D file; a series of 3-D files carries no time step.
        let offsets: [Double]? = source.files.count == 1
            ? header.stepSeconds.map { tr in (0..<shape.steps).map { Double($0) * tr } } : nil
        let scaled = header.sclSlope != 0 && header.sclSlope.isFinite
        let metadata = VolumeMetadata(spacing: spacing, origin: origin, timeSeconds: offsets)
        let info = StackInfo(
            kind: .nifti, sources: sources, steps: shape.steps, dates: Array(repeating: nil, count: shape.steps),
            timeOffsetsSeconds: offsets, bands: shape.channels,
            bandNames: Array(repeating: "", count: shape.channels), width: shape.width, height: shape.height,
            depth: shape.depth, dtype: source.files[0].voxelType.sampleType.rawValue,
            spacing: [spacing.x, spacing.y, spacing.z], origin: origin,
            scale: scaled ? Double(header.sclSlope) : nil, offset: scaled ? Double(header.sclInter) : nil)
        try self.init(source: source, info: info, affine: affine, metadata: metadata, niftiHeader: header)
    }

    private convenience init(hdf5 source: HDF5VolumeSource) throws {
        let shape = source.shape
        let m = source.metadata
        let spacing = m.spacing ?? Spacing(x: 1, y: 1, z: 1)
        let origin = m.origin ?? [0, 0, 0]
        let affine = [[spacing.x, 0, 0, origin[0]], [0, spacing.y, 0, origin[1]], [0, 0, spacing.z, origin[2]],
                      [0, 0, 0, 1]]
        let dates = m.timeLabels?.map { ISOTime.seconds($0) == nil ? nil : $0 }
            ?? Array(repeating: nil, count: shape.steps)
        // Offsets from the first step: time_seconds when given, else the labels when all are ISO dates.
        var offsets: [Double]?
        if let seconds = m.timeSeconds {
            offsets = seconds.map { $0 - seconds[0] }
        } else if let labels = m.timeLabels {
            let parsed = labels.compactMap(ISOTime.seconds)
            if parsed.count == labels.count { offsets = parsed.map { $0 - parsed[0] } }
        }
        let info = StackInfo(
            kind: .hdf5Volume, sources: [source.address.description], steps: shape.steps, dates: dates,
            timeOffsetsSeconds: offsets, bands: shape.channels,
            bandNames: m.bandNames ?? Array(repeating: "", count: shape.channels), width: shape.width,
            height: shape.height, depth: shape.depth, dtype: source.storedType.rawValue,
            spacing: m.spacing.map { [$0.x, $0.y, $0.z] }, origin: m.origin, nodata: m.nodata,
            scale: m.scale, offset: m.offset, blockSize: source.chunkShape)
        try self.init(source: source, info: info, affine: affine, metadata: m, niftiHeader: nil)
    }

    /// Completes `info` with the value range of a bounded sample and stores everything.
    init(source: VolumeSource, info: StackInfo, affine: [[Double]], metadata: VolumeMetadata,
         niftiHeader: NIfTIHeader?) throws {
        self.source = source
        self.shape = source.shape
        self.affine = affine
        self.metadata = metadata
        self.niftiHeader = niftiHeader
        self.fillValue = metadata.nodata.map { Float($0) } ?? .nan
        self.info = info
        // The value range needs a read, so it is filled in once the reader is complete.
        self.info.valueRange = try sampleRange()
    }

    /// Reads `region` of every channel for `steps` (all steps by default).
    ///
    /// - Parameters:
    ///   - region: voxels to read; may extend past the volume, where values are nodata (or NaN) and the mask 0.
    ///   - steps: time steps to read, a subrange of `0..<shape.steps`.
    /// - Returns: values float32 `[T, C, d, h, w]` and mask uint8 `[T, d, h, w]`.
    public func read(region: VolumeRegion, steps: Range<Int>? = nil) throws -> VolumeWindow {
        let steps = steps ?? 0..<shape.steps
        guard steps.lowerBound >= 0, steps.upperBound <= shape.steps, !steps.isEmpty else {
            throw StrataError.invalidArgument(
                name: "steps", reason: "\(steps) is not a non-empty part of 0..<\(shape.steps)")
        }
        guard region.width > 0, region.height > 0, region.depth > 0 else {
            throw StrataError.invalidArgument(
                name: "region",
                reason: "\(region.width)×\(region.height)×\(region.depth) voxels; each size must be ≥ 1")
        }
        let c = shape.channels
        var values = Tensor(zeros: [steps.count, c, region.depth, region.height, region.width])
        var mask = Tensor(zeros: [steps.count, region.depth, region.height, region.width], dtype: .uint8)
        let inside = region.clipped(toWidth: shape.width, height: shape.height, depth: shape.depth)
        try values.withMutableFloats { buffer in
            if inside != region { buffer.update(repeating: fillValue) }
            if let inside {
                try source.read(steps: steps, region: inside, into: buffer.baseAddress!, layout: region)
            }
        }
        guard let inside else { return VolumeWindow(values: values, mask: mask) }
        // Valid: inside the volume and no channel NaN or nodata.
        let nodata = metadata.nodata.map { Float($0) }
        let plane = region.height * region.width
        let volume = region.depth * plane
        values.withFloats { v in
            mask.withMutableRawBytes { raw in
                let m = raw.bindMemory(to: UInt8.self)
                for t in 0..<steps.count {
                    for z in inside.z..<inside.z + inside.depth {
                        for y in inside.y..<inside.y + inside.height {
                            let row = (z - region.z) * plane + (y - region.y) * region.width - region.x
                            for x in inside.x..<inside.x + inside.width {
                                var valid: UInt8 = 1
                                for channel in 0..<c {
                                    let value = v[(t * c + channel) * volume + row + x]
                                    if value.isNaN || value == nodata { valid = 0 }
                                }
                                m[t * volume + row + x] = valid
                            }
                        }
                    }
                }
            }
        }
        // Physical values once nodata (a stored value) has been recognised; NIfTI sources apply scl_slope themselves.
        if metadata.scale != nil || metadata.offset != nil {
            let scale = Float(metadata.scale ?? 1), offset = Float(metadata.offset ?? 0)
            values.withMutableFloats { v in for i in v.indices { v[i] = v[i] * scale + offset } }
        }
        return VolumeWindow(values: values, mask: mask)
    }

    /// Minimum and maximum valid value of step 0 over a centred box of at most 256 × 256 × 16 voxels.
    private func sampleRange() throws -> [Double]? {
        let w = min(shape.width, 256), h = min(shape.height, 256), d = min(shape.depth, 16)
        let region = VolumeRegion(x: (shape.width - w) / 2, y: (shape.height - h) / 2, z: (shape.depth - d) / 2,
                                  width: w, height: h, depth: d)
        let window = try read(region: region, steps: 0..<1)
        let voxels = region.voxelCount
        var low = Float.infinity, high = -Float.infinity
        window.values.withFloats { v in
            window.mask.withRawBytes { m in
                for channel in 0..<shape.channels {
                    for i in 0..<voxels where m[i] == 1 {
                        let value = v[channel * voxels + i]
                        low = min(low, value)
                        high = max(high, value)
                    }
                }
            }
        }
        return low <= high ? [Double(low), Double(high)] : nil
    }
}
