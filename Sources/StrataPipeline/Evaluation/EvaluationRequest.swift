import Foundation
import StrataCore
import StrataIO

/// Everything `strata evaluate` is asked: which files, which task, which settings. ``run()`` opens the files,
/// picks the task, scores, and returns the summary the CLI prints.
///
/// ```swift
/// var request = EvaluationRequest(prediction: "change.tif", truth: "truth.tif")
/// request.threshold = 0.4
/// print(try request.run().json.text)
/// ```
public struct EvaluationRequest: Sendable {
    /// Prediction: a raster (GeoTIFF, netCDF, …) or a volume (`file.h5:/dataset`, `.nii`, `.nii.gz`).
    public var prediction: String
    /// Truth on the same grid; for `yield` also a CSV of field ids and yields (``FieldTruthTable``).
    public var truth: String
    /// The task, or `nil` to infer it (``EvaluationTask/infer(from:)``).
    public var task: EvaluationTask?
    /// change, lesions: prediction values at or above it are positive.
    public var threshold: Float = 0.5
    /// lesions: components of at most this volume (mm³) are not counted as lesions by the lesion-wise F1, on
    /// either side (0: all are; MSSEG-2016 scored with 3).
    public var minimumLesionVolume: Double = 0
    /// change: allowed |predicted − true| change step, in steps.
    public var dateTolerance = 1
    /// change: raster of predicted change steps (1, 2, …; 0 unchanged).
    public var predictionSteps: String?
    /// change: raster of true change steps.
    public var truthSteps: String?
    /// yield: an int32 field-id raster (0 = no field) or a vector file of polygons (`.geojson`, `.json`, `.gpkg`,
    /// `.shp`).
    public var fields: String?
    /// yield: the property holding each polygon's field id; nil for `id`, or `field_id` (what `strata synth yield`
    /// writes) when the polygons have no `id` (``FieldRasterizer/defaultIDProperties``).
    public var fieldIDProperty: String?
    /// nowcast: the last observed input frame (persistence).
    public var lastInput: String?
    /// nowcast: CSI thresholds, mm/h.
    public var thresholds = NowcastEvaluation.defaultThresholds
    /// Side of the square windows read at a time, pixels.
    public var tileSize = 256

    public init(prediction: String, truth: String) {
        self.prediction = prediction
        self.truth = truth
    }

    /// Opens the inputs, checks them, and scores them.
    ///
    /// - Throws: ``StrataError``: missing or unreadable files, grids that disagree (exit code 2), a task that
    ///   cannot be inferred, settings out of range.
    public func run() throws -> EvaluationSummary {
        try validateSettings()
        let predicted = try InputStack.open([prediction])
        let truthIsTable = truth.lowercased().hasSuffix(".csv")
        var bandNames: [String] = []
        if case .raster(let stack) = predicted { bandNames = stack.info.bandNames }
        let task = try task ?? EvaluationTask.infer(from: .init(
            predictionIsVolume: { if case .volume = predicted { return true } else { return false } }(),
            hasFields: fields != nil || truthIsTable, hasChangeSteps: predictionSteps != nil || truthSteps != nil,
            hasLastInput: lastInput != nil, bandNames: bandNames))

        if task == .lesions {
            guard case .volume(let predictedVolume) = predicted else {
                throw StrataError.invalidArgument(name: prediction, reason: "lesion evaluation needs volumes "
                    + "(file.h5:/dataset, .nii, .nii.gz); this is a raster")
            }
            guard case .volume(let trueVolume) = try InputStack.open([truth]) else {
                throw StrataError.invalidArgument(name: truth, reason: "the truth of a lesion evaluation is a volume "
                    + "(file.h5:/dataset, .nii, .nii.gz); this is a raster")
            }
            let report = try LesionEvaluation(threshold: threshold, minimumLesionVolumeMM3: minimumLesionVolume)
                .run(prediction: predictedVolume, truth: trueVolume)
            return .lesions(report, prediction: prediction, truth: truth)
        }
        guard minimumLesionVolume == 0 else {
            throw StrataError.invalidArgument(name: "--min-lesion-volume",
                                              reason: "applies to lesion evaluation only; this is \(task.rawValue)")
        }
        guard case .raster(let predictedRaster) = predicted else {
            throw StrataError.invalidArgument(name: prediction, reason: "\(task.rawValue) evaluation needs rasters; "
                + "volumes are evaluated with --task lesions")
        }
        switch task {
        case .change:
            let report = try ChangeEvaluation(threshold: threshold, dateTolerance: dateTolerance, tileSize: tileSize)
                .run(prediction: predictedRaster, truth: try raster(truth),
                     predictedSteps: try predictionSteps.map(raster), trueSteps: try truthSteps.map(raster))
            return .change(report, prediction: prediction, truth: truth)
        case .yield:
            let fieldIDs = try fields.map { try fieldRaster($0, grid: predictedRaster.grid) }
            let observed: YieldEvaluation.Truth = truthIsTable
                ? .fieldTable(try FieldTruthTable.read(path: truth)) : .raster(try raster(truth))
            let report = try withExtendedLifetime(fieldIDs) {
                try YieldEvaluation(tileSize: tileSize)
                    .run(prediction: predictedRaster, truth: observed, fields: fieldIDs?.raster)
            }
            return .yield(report, prediction: prediction, truth: truth)
        case .nowcast:
            let report = try NowcastEvaluation(thresholds: thresholds, tileSize: tileSize)
                .run(prediction: try frames(prediction, opened: predictedRaster), truth: try frames(truth),
                     lastInput: try lastInput.map { try frames($0) })
            return .nowcast(report, prediction: prediction, truth: truth)
        case .lesions:
            throw StrataError.internalError("lesions handled above")
        }
    }

    private func validateSettings() throws {
        guard threshold.isFinite else {
            throw StrataError.invalidArgument(name: "--threshold", reason: "must be a finite number")
        }
        guard minimumLesionVolume.isFinite, minimumLesionVolume >= 0 else {
            throw StrataError.invalidArgument(name: "--min-lesion-volume",
                                              reason: "must be a volume ≥ 0 mm³, got \(minimumLesionVolume)")
        }
        guard dateTolerance >= 0 else {
            throw StrataError.invalidArgument(name: "--date-tolerance", reason: "must be ≥ 0 steps, got \(dateTolerance)")
        }
        guard tileSize > 0 else {
            throw StrataError.invalidArgument(name: "--tile-size", reason: "must be ≥ 1 pixel, got \(tileSize)")
        }
        guard !thresholds.isEmpty, thresholds.allSatisfy(\.isFinite) else {
            throw StrataError.invalidArgument(name: "--thresholds", reason: "needs at least one finite number")
        }
    }

    /// A raster input: one file (or GDAL dataset name, or a netCDF variable); a volume is refused.
    private func raster(_ path: String) throws -> RasterStack {
        guard case .raster(let stack) = try InputStack.open([path]) else {
            throw StrataError.invalidArgument(name: path, reason: "expected a raster, found a volume")
        }
        return stack
    }

    /// Nowcast frames: a multi-band raster holds one frame per band (a datacube already has its time steps).
    private func frames(_ path: String, opened: RasterStack? = nil) throws -> RasterStack {
        let stack = try opened ?? raster(path)
        if stack.info.kind == .raster && stack.steps == 1 && stack.bands > 1 {
            return try RasterStack(file: path, bandsPerStep: 1)
        }
        return stack
    }

    /// Field ids: a raster as is, or polygons rasterized onto `grid` (by extension: vector formats GDAL reads).
    private func fieldRaster(_ path: String, grid: Grid) throws -> FieldIDs {
        let vectorExtensions = [".geojson", ".json", ".gpkg", ".shp", ".fgb", ".kml", ".gml"]
        if vectorExtensions.contains(where: path.lowercased().hasSuffix) {
            let rasterizer = try FieldRasterizer(vector: path, idProperty: fieldIDProperty, grid: grid)
            return FieldIDs(raster: rasterizer.raster, rasterizer: rasterizer)
        }
        return FieldIDs(raster: try raster(path), rasterizer: nil)
    }

    /// Keeps the rasterizer (and so its temporary file) alive while its raster is read.
    private struct FieldIDs {
        let raster: RasterStack
        let rasterizer: FieldRasterizer?
    }
}
