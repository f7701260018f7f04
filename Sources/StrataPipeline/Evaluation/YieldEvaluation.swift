import StrataCore
import StrataIO

/// Scores a yield map per pixel and per field, window by window.
///
/// - Per pixel: RMSE, MAE, R² over pixels valid in both prediction and truth (truth given as a raster).
/// - Per field (with a field-id raster, 0 = no field): each field's value is the mean of its pixels (valid in the
///   prediction, and in the truth when the truth is a raster; see ``FieldMeans``); RMSE, MAE and R² are then
///   computed over fields. With a per-field truth table (CSV), the table's value is the field's truth; fields of
///   the table without a valid predicted pixel, and fields of the map missing from the table, are listed but not
///   scored.
///
/// Yield maps have one step and one band.
///
/// ```swift
/// let report = try YieldEvaluation().run(prediction: predicted, truth: .raster(observed), fields: fieldIDs)
/// report.pixels?.rmse, report.fieldScores?.r2
/// ```
public struct YieldEvaluation: Sendable {
    /// Where the true yield comes from.
    public enum Truth {
        /// A yield raster on the prediction's grid.
        case raster(EvaluationRaster)
        /// One value per field id (``FieldTruthTable``).
        case fieldTable([Int: Double])
    }

    /// Side of the square windows read at a time, pixels.
    public var tileSize: Int

    public init(tileSize: Int = 256) {
        self.tileSize = tileSize
    }

    /// - Throws: ``StrataError/gridMismatch(file:reference:property:expected:found:)`` when the grids differ,
    ///   ``StrataError/invalidArgument(name:reason:)`` for a table without fields, or rasters of several bands.
    public func run(prediction: EvaluationRaster, truth: Truth, fields: EvaluationRaster?) throws -> YieldReport {
        try requireSingleBand(prediction)
        var observed: EvaluationRaster?
        var table: [Int: Double]?
        switch truth {
        case .raster(let raster):
            try EvaluationGrid.requireSameGrid(prediction: prediction, truth: raster)
            try EvaluationGrid.requireSameLayout(prediction: prediction, truth: raster)
            observed = raster
        case .fieldTable(let values):
            guard fields != nil else {
                throw StrataError.invalidArgument(name: "--fields", reason: "a per-field truth table needs the "
                    + "field ids (--fields) to know which pixels make each field")
            }
            table = values
        }
        if let fields {
            try requireSingleBand(fields)
            try EvaluationGrid.requireSameGrid(prediction: prediction, truth: fields)
        }
        var pixels = RegressionAccumulator()
        var means = FieldMeans()
        for window in EvaluationTiles.windows(width: prediction.grid.width, height: prediction.grid.height,
                                              tileSize: tileSize) {
            let p = try prediction.read(window: window)
            let t = try observed?.read(window: window)
            let f = try fields?.read(window: window)
            Self.accumulate(prediction: p, truth: t, fields: f, pixels: &pixels, means: &means)
        }
        var rows = means.rows
        if let table {
            let mapped = Dictionary(uniqueKeysWithValues: rows.map { ($0.fieldID, $0) })
            rows = Set(mapped.keys).union(table.keys).sorted().map { id in
                FieldRow(fieldID: id, predicted: mapped[id]?.predicted, truth: table[id], pixels: mapped[id]?.pixels ?? 0)
            }
        }
        var fieldScores: RegressionAccumulator?
        if fields != nil {
            var scores = RegressionAccumulator()
            for row in rows {
                if let predicted = row.predicted, let truth = row.truth { scores.add(predicted: predicted, truth: truth) }
            }
            fieldScores = scores
        }
        return YieldReport(pixels: observed == nil ? nil : pixels, fields: fields == nil ? nil : rows,
                           fieldScores: fieldScores)
    }

    private func requireSingleBand(_ raster: EvaluationRaster) throws {
        guard raster.steps == 1, raster.bands == 1 else {
            throw StrataError.invalidArgument(name: raster.sourceName, reason: "a yield map or field raster has one "
                + "step of one band; this one has \(raster.steps) steps of \(raster.bands) bands")
        }
    }

    /// Adds one window: pixel pairs valid on both sides, and field sums of the pixels that count.
    static func accumulate(prediction: StackWindow, truth: StackWindow?, fields: StackWindow?,
                           pixels: inout RegressionAccumulator, means: inout FieldMeans) {
        let count = prediction.values.count
        let p = prediction.values.floats, pm = prediction.mask.floats
        let t = truth?.values.floats, tm = truth?.mask.floats
        let f = fields?.values.floats, fm = fields?.mask.floats
        for index in 0..<count where pm[index] != 0 {
            if let tm, tm[index] == 0 { continue }
            let truthValue = t?[index] ?? 0
            if t != nil { pixels.add(predicted: Double(p[index]), truth: Double(truthValue)) }
            if let f, let fm, fm[index] != 0 {
                means.add(field: Int(f[index].rounded()), predicted: p[index], truth: truthValue)
            }
        }
    }
}

/// What ``YieldEvaluation`` found.
public struct YieldReport: Equatable, Sendable {
    /// Per-pixel scores, when the truth is a raster.
    public let pixels: RegressionAccumulator?
    /// Per-field table (field id order), when field ids were given.
    public let fields: [FieldRow]?
    /// Scores over the fields that have both a predicted and a true value.
    public let fieldScores: RegressionAccumulator?
}
