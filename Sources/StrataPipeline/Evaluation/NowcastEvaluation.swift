import StrataCore
import StrataIO

/// Scores a precipitation nowcast frame by frame (per lead time) against observed frames, and against
/// persistence (the last observed input frame repeated for every lead).
///
/// Inputs are rasters of one band per step: the prediction has L steps (leads 1…L). The truth has either L steps
/// (leads 1…L; persistence then comes from `lastInput`, a one-step raster) or L + 1 steps, whose first step is the
/// last observed input frame and the others leads 1…L (`lastInput` must then be absent). Without either, there is
/// no persistence score.
///
/// Pixels scored at lead ℓ: valid in the prediction and in the truth at ℓ, and in the persistence frame when there
/// is one, so the forecast and persistence MSE cover the same pixels. CSI uses the same pixels; an event is a value
/// at or above a threshold (mm/h). Overall scores pool every lead's pixels.
///
/// ```swift
/// let report = try NowcastEvaluation(thresholds: [0.5, 2, 5]).run(prediction: forecast, truth: observed)
/// report.leads[0].forecast.mse, report.leads[0].persistence?.mse, report.leads[0].csi[1].score
/// ```
public struct NowcastEvaluation: Sendable {
    /// CSI event thresholds, in the units of the values (mm/h).
    public var thresholds: [Float]
    /// Side of the square windows read at a time, pixels.
    public var tileSize: Int

    /// The default CSI thresholds, mm/h: light, moderate and heavy rain.
    public static let defaultThresholds: [Float] = [0.5, 2, 5]

    public init(thresholds: [Float] = NowcastEvaluation.defaultThresholds, tileSize: Int = 256) {
        self.thresholds = thresholds
        self.tileSize = tileSize
    }

    /// - Throws: ``StrataError/gridMismatch(file:reference:property:expected:found:)`` when grids or step counts
    ///   disagree; ``StrataError/invalidArgument(name:reason:)`` for multi-band inputs or a doubled persistence.
    public func run(prediction: EvaluationRaster, truth: EvaluationRaster, lastInput: EvaluationRaster? = nil)
        throws -> NowcastReport
    {
        for raster in [prediction, truth] + (lastInput.map { [$0] } ?? []) where raster.bands != 1 {
            throw StrataError.invalidArgument(name: raster.sourceName, reason: "nowcast frames have one band per "
                + "step; this one has \(raster.bands)")
        }
        try EvaluationGrid.requireSameGrid(prediction: prediction, truth: truth)
        let leads = prediction.steps
        let truthOffset: Int
        switch truth.steps {
        case leads: truthOffset = 0
        case leads + 1:
            guard lastInput == nil else {
                throw StrataError.invalidArgument(name: "--last-input", reason: "\(truth.sourceName) already "
                    + "holds the last input frame as its first step (\(leads + 1) steps for \(leads) leads)")
            }
            truthOffset = 1
        default:
            throw StrataError.gridMismatch(file: truth.sourceName, reference: prediction.sourceName,
                                           property: "steps", expected: "\(leads) (or \(leads + 1) with the last "
                                               + "input first)", found: "\(truth.steps)")
        }
        if let lastInput {
            try EvaluationGrid.requireSameGrid(prediction: prediction, truth: lastInput)
            guard lastInput.steps == 1 else {
                throw StrataError.invalidArgument(name: lastInput.sourceName, reason: "the last input frame is one "
                    + "step, this raster has \(lastInput.steps)")
            }
        }
        let persistenceSource: NowcastReport.PersistenceSource =
            truthOffset == 1 ? .truthFirstStep : (lastInput == nil ? .none : .lastInput)
        var scores = (0..<leads).map { _ in
            LeadScores(thresholds: thresholds, hasPersistence: persistenceSource != .none)
        }
        for window in EvaluationTiles.windows(width: prediction.grid.width, height: prediction.grid.height,
                                              tileSize: tileSize) {
            let p = try prediction.read(window: window)
            let t = try truth.read(window: window)
            let last = try lastInput?.read(window: window)
            let plane = window.width * window.height
            let pv = p.values.floats, pm = p.mask.floats, tv = t.values.floats, tm = t.mask.floats
            let lv = last?.values.floats, lm = last?.mask.floats
            for lead in 0..<leads {
                let truthStep = lead + truthOffset
                for pixel in 0..<plane {
                    let at = lead * plane + pixel, observedAt = truthStep * plane + pixel
                    guard pm[at] != 0, tm[observedAt] != 0 else { continue }
                    var persistence: Float?
                    if truthOffset == 1 {
                        guard tm[pixel] != 0 else { continue }
                        persistence = tv[pixel]
                    } else if let lv, let lm {
                        guard lm[pixel] != 0 else { continue }
                        persistence = lv[pixel]
                    }
                    scores[lead].add(forecast: pv[at], observed: tv[observedAt], persistence: persistence)
                }
            }
        }
        return NowcastReport(thresholds: thresholds, persistenceSource: persistenceSource, leads: scores)
    }
}

/// What ``NowcastEvaluation`` found.
public struct NowcastReport: Equatable, Sendable {
    /// Where the persistence frame came from.
    public enum PersistenceSource: String, Sendable {
        case lastInput = "last-input"
        case truthFirstStep = "truth-first-step"
        case none
    }

    public let thresholds: [Float]
    public let persistenceSource: PersistenceSource
    /// One per lead time, lead 1 first.
    public let leads: [LeadScores]

    /// Every lead pooled.
    public var overall: LeadScores {
        var total = LeadScores(thresholds: thresholds, hasPersistence: persistenceSource != .none)
        for lead in leads { total.merge(lead) }
        return total
    }
}
