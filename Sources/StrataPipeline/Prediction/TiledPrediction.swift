import Foundation
import StrataCore
import StrataIO

/// Tiled, streaming inference: runs a ``Predictor`` over a raster or volume of any size and writes its outputs
/// with the input's georeference or voxel geometry.
///
/// For each plane (the raster, or each z-slice of a volume), windows of ``tile`` pixels from a ``TilePlan`` are read
/// (values `[T, C, tile, tile]`, mask `[T, tile, tile]`), normalised, predicted (`[K, tile, tile]`) and added to a
/// ``StripAccumulator`` with ``BlendWindow`` weights. After each row of tiles, the image rows no later tile
/// touches are divided by their weights and written, so memory is bounded by the tile size and the image width
/// (``bufferBytes(width:height:tile:steps:channels:outputs:)``), never the image area. A pixel whose input has no
/// valid step is nodata in every output. Outputs are written under temporary names and renamed when complete.
///
/// Legend: T time steps, C channels, K outputs, D slices, H × W image rows × columns.
///
/// ```swift
/// let input = try InputStack.open(paths)
/// let job = TiledPrediction(tile: 256, overlap: 32, blend: .hann, dtype: .uint8)
/// let summary = try job.run(input: input, normalization: stats, predictor: model, output: "change.tif")
/// for warning in summary.warnings { print("warning: \(warning)") }
/// ```
public struct TiledPrediction: Sendable {
    /// The window side when none is given: 256 px, rounded up to whole blocks of a model that folds pixels.
    public static let defaultTile = 256
    /// Window side in pixels; `nil` takes ``defaultTile`` (a side given explicitly must hold whole blocks of a
    /// folding model, see ``TilePlan``).
    public var tile: Int?
    /// Pixels each window extends past its core on every side; `nil` picks the predictor's receptive radius plus
    /// `tile / 16` (a smooth blending band of `tile / 8`), at most `(tile − 1) / 2`, and 0 for a per-pixel model
    /// (radius 0), whose windows agree everywhere.
    public var overlap: Int?
    public var blend: BlendWindow
    /// Output format; `nil` takes it from the output path's extension (``PredictionFormat/init(path:)``).
    public var format: PredictionFormat?
    public var dtype: PredictionDType

    public init(tile: Int? = nil, overlap: Int? = nil, blend: BlendWindow = .hann, format: PredictionFormat? = nil,
                dtype: PredictionDType = .float32) {
        self.tile = tile
        self.overlap = overlap
        self.blend = blend
        self.format = format
        self.dtype = dtype
    }

    /// Predicts every pixel of `input` (a raster stack, or a volume slice by slice) into `output`.
    ///
    /// - Parameters:
    ///   - normalization: per-channel statistics applied to every window; `nil` passes physical values (invalid
    ///     positions are zeroed either way, so no fill value or NaN reaches the model).
    ///   - output: a `.tif` (GeoTIFF/COG) for rasters; `.h5[:/dataset]` or `.nii[.gz]` for volumes.
    /// - Throws: ``StrataError`` for a format that does not fit the input, a dtype the format cannot hold, too few
    ///   steps, mismatched statistics, a bad tile/overlap, or any read/write/predictor error (then no output file
    ///   is left).
    public func run(input: InputStack, normalization: NormalizationStats?, predictor: any Predictor,
                    output: String) throws -> PredictionSummary {
        try run(planes: input.planes(), normalization: normalization, predictor: predictor, output: output)
    }

    /// Predicts every plane of `planes`: a ``RasterPlanes`` (GeoTIFF/COG output with its grid) or a
    /// ``VolumePlanes`` (HDF5 or NIfTI output with its geometry; a slab adds neighbouring slices as channels).
    public func run(planes: any PlaneStack, normalization: NormalizationStats?, predictor: any Predictor,
                    output: String) throws -> PredictionSummary {
        let started = Date()
        let outputs = predictor.outputs, k = outputs.count
        guard k > 0 else {
            throw StrataError.invalidArgument(name: "predictor \(predictor.name)", reason: "declares no outputs")
        }
        guard planes.steps >= predictor.minimumSteps else {
            throw StrataError.invalidStack(reason: "\(planes.steps) time steps, model \(predictor.name) needs at "
                                           + "least \(predictor.minimumSteps)")
        }
        if let normalization, normalization.channels != planes.channels {
            throw StrataError.invalidArgument(
                name: "normalization", reason: "statistics for \(normalization.channels) channels, the input has "
                    + "\(planes.channels)")
        }
        let radius = max(0, predictor.receptiveRadius)
        // A window larger than the image only adds padding the model sees as invalid (zeros), so it predicts the
        // same values as the smallest window covering the image: take that (rounded up to whole blocks of a
        // folding model) rather than allocate for a tile the image never fills. Then one window covers everything
        // and the overlap has nothing to blend.
        let extent = max(planes.width, planes.height), alignment = max(1, predictor.alignment)
        let requested = self.tile ?? (Self.defaultTile + alignment - 1) / alignment * alignment
        // The options as given are checked first (tile ≥ 1, 0 ≤ overlap < tile / 2, whole blocks), so a bad value
        // is an error whether or not the tile then shrinks to the image.
        _ = try TilePlan(width: planes.width, height: planes.height, tile: requested, overlap: self.overlap ?? 0,
                         alignment: alignment)
        let covering = (extent + alignment - 1) / alignment * alignment
        let tile = requested > covering && requested % alignment == 0 ? covering : requested
        let clamped = tile < requested
        // Capped so that windows still advance by a block of a folding model (1 px otherwise). A per-pixel model
        // (radius 0) gives every pixel the same value in any window: blending would only recompute the margins.
        let overlap = clamped ? 0
            : self.overlap ?? (radius == 0 ? 0 : min(radius + tile / 16, max(0, (tile - alignment) / 2)))
        let needed = Self.bufferBytes(width: planes.width, height: planes.height, tile: tile, steps: planes.steps,
                                      channels: planes.channels, outputs: k)
        guard UInt64(needed) < ProcessInfo.processInfo.physicalMemory else {
            throw StrataError.invalidArgument(
                name: "--tile", reason: "\(tile) px windows need \(needed >> 20) MiB of buffers, more than this "
                    + "machine's \(ProcessInfo.processInfo.physicalMemory >> 20) MiB of memory; use a smaller --tile")
        }
        let plan = try TilePlan(width: planes.width, height: planes.height, tile: tile, overlap: overlap,
                                alignment: alignment)
        var warnings: [String] = []
        if overlap < radius, !clamped {  // one window covering the image has no inner edges
            warnings.append("overlap \(overlap) px is less than the receptive radius \(radius) px of "
                            + "\(predictor.name): predictions near tile edges miss context and may show seams")
        }
        let sink = try makeSink(planes: planes, predictor: predictor, output: output)

        let margin = min(overlap, radius)
        let ramp = blend.ramp(margin: margin, transition: 2 * (overlap - margin))
        var strip = StripAccumulator(width: plan.width, outputs: k, capacity: min(tile, plan.height),
                                     rounded: predictor.outputs.map { $0.kind == .index })
        var tiles = 0, empty = 0, nodata = 0, tileBytes = 0, stripBytes = 0
        do {
            for z in 0..<planes.planes {
                strip.reset()
                for row in 0..<plan.rowStarts.count {
                    for column in 0..<plan.columnStarts.count {
                        let piece = plan.tile(row * plan.columnStarts.count + column)
                        var read = try planes.read(window: piece.window, plane: z)
                        tiles += 1
                        guard read.mask.withRawBytes({ $0.contains { $0 != 0 } }) else {
                            // Nothing valid: every pixel of it is nodata, no prediction needed.
                            empty += 1
                            continue
                        }
                        if let normalization {
                            normalization.apply(to: &read.values, mask: read.mask)
                        } else {
                            Self.zeroInvalid(&read.values, mask: read.mask)
                        }
                        let prediction = try predictor.predict(values: read.values, mask: read.mask)
                        guard prediction.dtype == .float32, prediction.shape == [k, tile, tile] else {
                            throw StrataError.invalidArgument(
                                name: "predictor \(predictor.name)", reason: "returned \(prediction.dtype) "
                                    + "\(prediction.shape) for a window of \(tile)x\(tile), expected "
                                    + "float32 [\(k), \(tile), \(tile)]")
                        }
                        tileBytes = max(tileBytes, read.values.byteCount + read.mask.byteCount
                                            + prediction.byteCount)
                        try strip.add(
                            prediction: prediction, mask: read.mask, window: piece.window, rows: plan.height,
                            steps: planes.steps,
                            profileX: blend.profile(tile: tile, ramp: ramp, startIsEdge: piece.edges.left,
                                                    endIsEdge: piece.edges.right),
                            profileY: blend.profile(tile: tile, ramp: ramp, startIsEdge: piece.edges.top,
                                                    endIsEdge: piece.edges.bottom))
                    }
                    let first = strip.firstRow
                    let finished = try strip.takeRows(upTo: plan.finishedRows(after: row))
                    nodata += finished.nodata
                    stripBytes = max(stripBytes, finished.values.byteCount)
                    try sink.write(finished.values, plane: z, y: first)
                }
            }
            try sink.finish()
        } catch {
            sink.cancel()
            throw error
        }

        let pixels = plan.width * plan.height * planes.planes
        if nodata == pixels {
            warnings.append("the input has no valid pixel in any step: every output pixel is nodata")
        }
        let seconds = Date().timeIntervalSince(started)
        return PredictionSummary(
            outputs: sink.paths, outputNames: outputs.map(\.name), width: plan.width, height: plan.height,
            planes: planes.planes, tile: tile, overlap: overlap, tiles: tiles, tilesWithoutData: empty,
            seconds: seconds, megapixelsPerSecond: Double(pixels) / 1e6 / max(seconds, 1e-9),
            peakBufferBytes: strip.byteCount + stripBytes + tileBytes, nodataPixels: nodata, warnings: warnings)
    }

    /// The bytes a run holds in its own buffers, the memory bound of tiled inference:
    ///
    /// `R · W · (4 · (K + 1) + 1)` (strip accumulator: K weighted sums, a weight and a validity byte per pixel)
    /// `+ 4 · K · R · W` (the finished strip handed to the writer)
    /// `+ tile² · (4 · T · C + T + 4 · K)` (one window: values, mask and prediction),
    /// with `R = min(tile, H)`. It grows with the image width, never its height or area. Not counted: the
    /// writer's own cache (GDAL block cache, HDF5 chunk cache, one strip of converted values), the reader's
    /// transient copies, and the model's activations.
    ///
    /// ```swift
    /// TiledPrediction.bufferBytes(width: 20_000, height: 20_000, tile: 512, steps: 12, channels: 4, outputs: 2)
    /// // 512 · 20000 · (13 + 8) + 512² · (192 + 12 + 8) ≈ 271 MB
    /// ```
    public static func bufferBytes(width: Int, height: Int, tile: Int, steps: Int, channels: Int,
                                   outputs: Int) -> Int {
        let rows = min(tile, height)
        return rows * width * (4 * (outputs + 1) + 1) + 4 * outputs * rows * width
            + tile * tile * (4 * steps * channels + steps + 4 * outputs)
    }

    /// Sets every invalid position (mask 0) of `[T, C, h, w]` to 0, as ``NormalizationStats/apply(to:mask:)``
    /// does after normalising.
    static func zeroInvalid(_ values: inout Tensor, mask: Tensor) {
        let s = values.shape
        let (t, c, area) = (s[0], s[1], s[2] * s[3])
        values.withMutableFloats { v in
            mask.withRawBytes { m in
                for step in 0..<t {
                    for channel in 0..<c {
                        let base = (step * c + channel) * area
                        for i in 0..<area where m[step * area + i] == 0 { v[base + i] = 0 }
                    }
                }
            }
        }
    }

    /// The sink for the input's kind and the chosen format, with the input's geometry and the run's metadata.
    private func makeSink(planes: any PlaneStack, predictor: any Predictor,
                          output: String) throws -> any PredictionSink {
        guard let format = format ?? PredictionFormat(path: output) else {
            throw StrataError.invalidArgument(
                name: output, reason: "cannot tell the output format from the name; use .tif, .h5, .nii or "
                    + ".nii.gz, or pass --format")
        }
        if let raster = planes as? RasterPlanes {
            guard format.isRaster else {
                throw StrataError.invalidArgument(
                    name: "--format", reason: "\(format.rawValue) is for volumes; raster predictions are GeoTIFF "
                        + "or COG")
            }
            let labels = raster.stack.info.dates.compactMap { $0 }
            let metadata = ["STRATA_PRODUCT": "prediction", "STRATA_MODEL": predictor.name,
                            "STRATA_TIME_LABELS": labels.joined(separator: ","),
                            "STRATA_OUTPUT_DTYPE": dtype.rawValue]
            return try GeoTIFFPredictionSink(path: output, grid: raster.stack.grid, outputs: predictor.outputs,
                                             dtype: dtype, cog: format == .cog, metadata: metadata)
        }
        if let volume = planes as? VolumePlanes {
            switch format {
            case .hdf5:
                return try HDF5PredictionSink(path: output, input: volume.stack, outputs: predictor.outputs,
                                              dtype: dtype)
            case .nifti:
                return try NIfTIPredictionSink(path: output, input: volume.stack, outputs: predictor.outputs,
                                               dtype: dtype, model: predictor.name)
            case .geotiff, .cog:
                throw StrataError.invalidArgument(
                    name: "--format", reason: "\(format.rawValue) is for rasters; volume predictions are HDF5 or "
                        + "NIfTI")
            }
        }
        throw StrataError.invalidArgument(
            name: "input", reason: "tiled prediction writes RasterPlanes or VolumePlanes, got \(type(of: planes))")
    }
}
