import StrataCore
import StrataIO

/// Scores a change prediction against a true change mask, window by window over the raster.
///
/// - Prediction: a change probability (changed when ≥ ``threshold``) or a 0/1 mask.
/// - Truth: a 0/1 mask (changed when ≥ 0.5).
/// - Pixels invalid on either side (nodata, NaN, outside a mask) are excluded and counted in
///   ``ChangeReport/excludedPixels``.
/// - Every step and band is compared with the same step and band of the other side, and all are pooled into one
///   confusion matrix (a change map is usually one band of one step).
///
/// Memory is bounded by one window of both rasters (`tileSize²` pixels × steps × bands), never the image.
///
/// ```swift
/// let evaluation = ChangeEvaluation(threshold: 0.5, dateTolerance: 1)
/// let report = try evaluation.run(prediction: try RasterStack(files: ["change_probability.tif"]),
///                                 truth: try RasterStack(files: ["change_truth.tif"]))
/// report.confusion.f1
/// ```
public struct ChangeEvaluation: Sendable {
    /// Prediction values at or above it are change (probabilities in 0...1).
    public var threshold: Float
    /// Allowed |predicted − true| change step, in time steps, for ``ChangeDateAccuracy``.
    public var dateTolerance: Int
    /// Side of the square windows read at a time, pixels.
    public var tileSize: Int

    /// Truth values at or above this are change (truth is a 0/1 mask).
    public static let truthThreshold: Float = 0.5

    public init(threshold: Float = 0.5, dateTolerance: Int = 1, tileSize: Int = 256) {
        self.threshold = threshold
        self.dateTolerance = dateTolerance
        self.tileSize = tileSize
    }

    /// Confusion matrix of the change masks and, when both step rasters are given, the change-date accuracy.
    ///
    /// - Parameters:
    ///   - predictedSteps, trueSteps: rasters of the first step showing each pixel's change (0, 1, …; −1 = unchanged),
    ///     on the prediction's grid; see ``ChangeDateAccuracy``.
    /// - Throws: ``StrataError/gridMismatch(file:reference:property:expected:found:)`` when the grids, steps or
    ///   bands of the two sides differ.
    public func run(prediction: EvaluationRaster, truth: EvaluationRaster, predictedSteps: EvaluationRaster? = nil,
                    trueSteps: EvaluationRaster? = nil) throws -> ChangeReport {
        try EvaluationGrid.requireSameGrid(prediction: prediction, truth: truth)
        try EvaluationGrid.requireSameLayout(prediction: prediction, truth: truth)
        var confusion = BinaryConfusion()
        var excluded = 0
        for window in EvaluationTiles.windows(width: prediction.grid.width, height: prediction.grid.height,
                                              tileSize: tileSize) {
            let (counts, skipped) = try Self.confusion(of: prediction.read(window: window),
                                                      truth: truth.read(window: window), threshold: threshold)
            confusion.merge(counts)
            excluded += skipped
        }
        var dates: ChangeDateAccuracy?
        switch (predictedSteps, trueSteps) {
        case let (predictedSteps?, trueSteps?):
            dates = try dateAccuracy(predictedSteps: predictedSteps, trueSteps: trueSteps, on: prediction)
        case (nil, nil):
            break
        default:
            throw StrataError.invalidArgument(name: "--prediction-step/--truth-step",
                                              reason: "change-date accuracy needs both step rasters")
        }
        return ChangeReport(threshold: threshold, confusion: confusion, excludedPixels: excluded, dates: dates)
    }

    /// Change-date accuracy of two step rasters (on `reference`'s grid), window by window.
    public func dateAccuracy(predictedSteps: EvaluationRaster, trueSteps: EvaluationRaster,
                             on reference: EvaluationRaster) throws -> ChangeDateAccuracy {
        try EvaluationGrid.requireSameGrid(prediction: reference, truth: predictedSteps)
        try EvaluationGrid.requireSameGrid(prediction: reference, truth: trueSteps)
        try EvaluationGrid.requireSameLayout(prediction: predictedSteps, truth: trueSteps)
        var accuracy = ChangeDateAccuracy(tolerance: dateTolerance)
        for window in EvaluationTiles.windows(width: reference.grid.width, height: reference.grid.height,
                                              tileSize: tileSize) {
            accuracy.merge(Self.dateAccuracy(of: try predictedSteps.read(window: window),
                                             truth: try trueSteps.read(window: window), tolerance: dateTolerance))
        }
        return accuracy
    }

    /// Confusion counts of one window pair (same shapes), and the number of pixels excluded as invalid.
    static func confusion(of prediction: StackWindow, truth: StackWindow, threshold: Float)
        -> (BinaryConfusion, excluded: Int)
    {
        var counts = BinaryConfusion()
        var excluded = 0
        forEachValidPair(prediction, truth, invalid: { excluded += 1 }) { p, t in
            counts.add(predicted: p >= threshold, truth: t >= truthThreshold)
        }
        return (counts, excluded)
    }

    static func dateAccuracy(of prediction: StackWindow, truth: StackWindow, tolerance: Int) -> ChangeDateAccuracy {
        var accuracy = ChangeDateAccuracy(tolerance: tolerance)
        forEachValidPair(prediction, truth, invalid: {}) { p, t in accuracy.add(predictedStep: p, trueStep: t) }
        return accuracy
    }

    /// Calls `body` with every (prediction, truth) value pair valid on both sides, `[T, C, h, w]` in order, and
    /// `invalid` once per pixel-band left out.
    static func forEachValidPair(_ prediction: StackWindow, _ truth: StackWindow, invalid: () -> Void,
                                 _ body: (Float, Float) -> Void) {
        let shape = prediction.values.shape
        precondition(shape == truth.values.shape, "window shapes \(shape) and \(truth.values.shape) differ")
        let (steps, bands, plane) = (shape[0], shape[1], shape[2] * shape[3])
        prediction.values.withFloats { p in
            truth.values.withFloats { t in
                prediction.mask.withRawBytes { pm in
                    truth.mask.withRawBytes { tm in
                        for step in 0..<steps {
                            for band in 0..<bands {
                                let base = (step * bands + band) * plane
                                for pixel in 0..<plane {
                                    let m = step * plane + pixel
                                    if pm[m] != 0 && tm[m] != 0 {
                                        body(p[base + pixel], t[base + pixel])
                                    } else {
                                        invalid()
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What ``ChangeEvaluation`` found.
public struct ChangeReport: Equatable, Sendable {
    /// The prediction threshold used.
    public let threshold: Float
    /// Pixel counts over pixels valid on both sides.
    public let confusion: BinaryConfusion
    /// Pixel-bands left out because either side was invalid there.
    public let excludedPixels: Int
    /// Change-date accuracy, when both step rasters were given.
    public let dates: ChangeDateAccuracy?
}
