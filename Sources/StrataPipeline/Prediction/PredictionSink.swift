import Foundation
import StrataCore
import StrataIO

/// Where finished rows of predictions go: a GeoTIFF/COG, an HDF5 dataset or NIfTI files, all written atomically.
///
/// Rows arrive in order (plane by plane, top to bottom) as physical values float32 `[K, n, W]` with NaN for nodata;
/// each sink scales them into ``PredictionDType`` and hands them to the StrataIO writer at once, so nothing beyond
/// one strip is held here. Nothing appears under an output name before ``finish()``; ``cancel()`` (or an error)
/// leaves no output.
protocol PredictionSink: AnyObject {
    /// The files that ``finish()`` creates.
    var paths: [String] { get }
    /// Writes rows `y..<y + n` of plane `plane`: float32 `[K, n, W]`, NaN = nodata.
    func write(_ rows: Tensor, plane: Int, y: Int) throws
    func finish() throws
    func cancel()
}

/// Predictions of a raster: one GeoTIFF/COG with the input grid, one band per output.
final class GeoTIFFPredictionSink: PredictionSink {
    let paths: [String]
    private let writer: GeoTIFFWriter
    private let encodings: [PredictionDType.Encoding]

    init(path: String, grid: Grid, outputs: [PredictionOutput], dtype: PredictionDType, cog: Bool,
         metadata: [String: String]) throws {
        let sampleType: SampleType
        switch dtype {
        case .float32: sampleType = .float32
        case .uint8: sampleType = .uint8
        case .int16: sampleType = .int16
        case .float16:
            throw StrataError.invalidArgument(name: "--output-dtype", reason: "float16 is written to HDF5 only; "
                                              + "GeoTIFF predictions are float32, uint8 or int16")
        }
        encodings = try outputs.map(dtype.encoding)
        let bandMetadata = zip(outputs, encodings).map { output, encoding -> [String: String] in
            var items = ["STRATA_KIND": output.kind.rawValue, "STRATA_SCALE": "\(encoding.scale)"]
            if let unit = output.unit { items["STRATA_UNIT"] = unit }
            items.merge(output.metadata ?? [:]) { own, _ in own }
            return items
        }
        writer = try GeoTIFFWriter(path: path, grid: grid, bands: outputs.count, sampleType: sampleType,
                                   nodata: encodings[0].nodata, bandDescriptions: outputs.map(\.name),
                                   metadata: metadata, bandMetadata: bandMetadata,
                                   scales: dtype == .float32 ? [] : encodings.map(\.scale),
                                   format: cog ? .cog : .geotiff)
        paths = [path]
    }

    func write(_ rows: Tensor, plane: Int, y: Int) throws {
        let (k, n, w) = (rows.shape[0], rows.shape[1], rows.shape[2])
        let values = PredictionDType.stored(rows, encodings: encodings)
        try writer.write(window: Window(x: 0, y: y, width: w, height: n), values: Tensor(shape: [k, n, w],
                                                                                        values: values))
    }

    func finish() throws { try writer.finish() }
    func cancel() { writer.cancel() }
}

/// Predictions of a volume as one HDF5 dataset `[1, K, D, H, W]` (axes `T,C,D,H,W`; C and D are left out when 1,
/// as the volume convention does): one step (the prediction), the K outputs as channels named by `band_names`,
/// spacing and origin from the input, `time_labels`/`time_seconds` = the input's last step (the time the
/// prediction is about).
final class HDF5PredictionSink: PredictionSink {
    let paths: [String]
    private let writer: HDF5VolumeWriter
    private let dataset: String
    private let encodings: [PredictionDType.Encoding]

    /// `path` is `file.h5` (dataset `/prediction`) or `file.h5:/group/dataset`.
    init(path: String, input: VolumeStack, outputs: [PredictionOutput], dtype: PredictionDType) throws {
        let storage: HDF5VolumeWriter.StorageType
        switch dtype {
        case .float32: storage = .float32
        case .float16: storage = .float16
        case .uint8: storage = .uint8
        case .int16:
            throw StrataError.invalidArgument(name: "--output-dtype", reason: "HDF5 predictions are float32, "
                                              + "float16 or uint8; int16 is for GeoTIFF and NIfTI")
        }
        let address = HDF5Address(path) ?? HDF5Address(file: path, dataset: "/prediction")
        encodings = try outputs.map(dtype.encoding)
        // One dataset carries one scale attribute (physical = stored × scale), which every output must share.
        guard Set(encodings.map(\.scale)).count == 1 else {
            throw StrataError.invalidArgument(
                name: "--output-dtype", reason: "\(dtype.rawValue) scales these outputs differently, and an HDF5 "
                    + "prediction is one dataset with one scale; use float32 or float16")
        }
        let source = input.metadata
        let shape = VolumeShape(steps: 1, channels: outputs.count, depth: input.shape.depth,
                                height: input.shape.height, width: input.shape.width)
        let metadata = VolumeMetadata(
            spacing: source.spacing, origin: source.origin, timeLabels: source.timeLabels?.last.map { [$0] },
            timeSeconds: source.timeSeconds?.last.map { [$0] }, nodata: encodings[0].nodata,
            bandNames: outputs.map(\.name), scale: encodings[0].scale == 1 ? nil : encodings[0].scale)
        // Other datasets of an existing file stay: several subjects may be predicted into one file.
        writer = try HDF5VolumeWriter(path: address.file, existing: .keepDatasets)
        dataset = address.dataset
        try writer.createDataset(dataset, shape: shape, storage: storage, metadata: metadata)
        paths = [address.file]
    }

    func write(_ rows: Tensor, plane: Int, y: Int) throws {
        let (k, n, w) = (rows.shape[0], rows.shape[1], rows.shape[2])
        let values = PredictionDType.stored(rows, encodings: encodings)
        // [K, n, W] and [1, K, 1, n, W] share one layout.
        try writer.write(Tensor(shape: [1, k, 1, n, w], values: values), to: dataset, firstStep: 0,
                         region: VolumeRegion(x: 0, y: y, z: plane, width: w, height: n, depth: 1))
    }

    func finish() throws { try writer.finish() }
    // The writer removes its temporary file when released without finish().
    func cancel() {}
}

/// Predictions of a volume as NIfTI-1: one 3-D file `[D, H, W]` per output, with the input header's geometry
/// (qform, sform, pixdim, units copied bit for bit; from an HDF5 input, an sform of its spacing and origin).
/// One output is written to `path` itself; several to `<stem>_<output name>.nii[.gz]`. Integer types store
/// `scl_slope` = the encoding's scale, so readers see physical values.
final class NIfTIPredictionSink: PredictionSink {
    let paths: [String]
    private var writers: [NIfTIWriter]
    /// Physical value written for nodata: NaN (float32) or nodata × scale (the writer divides by `scl_slope`).
    private let nodataValues: [Float]
    private let ranges: [ClosedRange<Double>?]

    init(path: String, input: VolumeStack, outputs: [PredictionOutput], dtype: PredictionDType,
         model: String) throws {
        let datatype: NIfTIHeader.Datatype
        switch dtype {
        case .float32: datatype = .float32
        case .uint8: datatype = .uint8
        case .int16: datatype = .int16
        case .float16:
            throw StrataError.invalidArgument(name: "--output-dtype", reason: "float16 is written to HDF5 only; "
                                              + "NIfTI predictions are float32, uint8 or int16")
        }
        let encodings = try outputs.map(dtype.encoding)
        paths = outputs.count == 1 ? [path] : outputs.map { Self.path(path, suffix: $0.name) }
        nodataValues = encodings.map { dtype == .float32 ? .nan : Float($0.nodata * $0.scale) }
        ranges = encodings.map(\.validRange)
        let s = input.shape
        writers = []
        for (index, output) in outputs.enumerated() {
            var header = try NIfTIHeader(width: s.width, height: s.height, depth: s.depth, steps: 1,
                                         datatype: datatype, spacing: input.metadata.spacing
                                             ?? Spacing(x: 1, y: 1, z: 1))
            if let source = input.niftiHeader {
                header.copyGeometry(from: source)
            } else {
                let rows = input.affine.map { $0.map(Float.init) }
                header.srowX = rows[0]
                header.srowY = rows[1]
                header.srowZ = rows[2]
                header.sformCode = 1
            }
            if dtype != .float32 {
                header.sclSlope = Float(encodings[index].scale)
                header.sclInter = 0
            }
            let description = Array("strata \(model): \(output.name)".utf8.prefix(79))
            header.descrip = description + [UInt8](repeating: 0, count: 80 - description.count)
            writers.append(try NIfTIWriter(path: paths[index], header: header))
        }
    }

    /// `lesion.nii.gz` + `probability` → `lesion_probability.nii.gz`.
    static func path(_ path: String, suffix: String) -> String {
        for ext in [".nii.gz", ".nii"] where path.lowercased().hasSuffix(ext) {
            return String(path.dropLast(ext.count)) + "_\(suffix)" + String(path.suffix(ext.count))
        }
        return path + "_\(suffix)"
    }

    func write(_ rows: Tensor, plane: Int, y: Int) throws {
        let (n, w) = (rows.shape[1], rows.shape[2])
        let values = rows.floats
        for (c, writer) in writers.enumerated() {
            let low = ranges[c].map { Float($0.lowerBound) } ?? -.infinity
            let high = ranges[c].map { Float($0.upperBound) } ?? .infinity
            let band = values[c * n * w..<(c + 1) * n * w].map { $0.isNaN ? nodataValues[c] : min(max($0, low), high) }
            try writer.appendRows(Tensor(shape: [n, w], values: band))
        }
    }

    func finish() throws {
        for writer in writers { try writer.finish() }
    }

    // Writers remove their temporary files when released without finish().
    func cancel() { writers = [] }
}
