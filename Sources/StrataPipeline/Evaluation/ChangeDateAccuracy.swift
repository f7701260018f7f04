/// Counts how many truly changed pixels get a predicted change step within a tolerance of the true one.
///
/// Step rasters hold, per pixel, the index of the first time step that shows the change, counted from 0, and a
/// negative value (−1) where nothing changed — the convention `strata synth` writes in `change_step.tif` and
/// `strata predict` writes in its `change_date` band; nodata pixels on either side are skipped. What counts:
/// - the denominator is every valid pixel whose **true** step is ≥ 0 (truly changed);
/// - a hit is such a pixel whose predicted step is ≥ 0 and within `tolerance` steps of the true one;
/// - a truly changed pixel predicted unchanged (negative step) is a miss, as is a step off by more than the
///   tolerance; pixels that truly did not change do not enter this score (false alarms are in the confusion matrix).
///
/// ```swift
/// var dates = ChangeDateAccuracy(tolerance: 1)
/// dates.add(predictedStep: 4, trueStep: 5)     // hit: |4 − 5| ≤ 1
/// dates.add(predictedStep: -1, trueStep: 2)    // miss: predicted unchanged
/// dates.accuracy                               // 0.5
/// ```
public struct ChangeDateAccuracy: Equatable, Sendable {
    /// Largest allowed |predicted − true| step difference for a hit, in time steps.
    public let tolerance: Int
    /// Valid pixels whose true step is ≥ 0.
    public private(set) var changed = 0
    /// Truly changed pixels with a predicted step within the tolerance.
    public private(set) var withinTolerance = 0
    /// Truly changed pixels predicted unchanged (negative step); part of the misses.
    public private(set) var predictedUnchanged = 0

    public init(tolerance: Int) {
        self.tolerance = tolerance
    }

    /// Counts one valid pixel pair; steps are rounded to the nearest whole step first (rasters store floats).
    @inline(__always)
    public mutating func add(predictedStep: Float, trueStep: Float) {
        let truth = trueStep.rounded(), predicted = predictedStep.rounded()
        guard truth >= 0 else { return }
        changed += 1
        if predicted < 0 {
            predictedUnchanged += 1
        } else if abs(predicted - truth) <= Float(tolerance) {
            withinTolerance += 1
        }
    }

    /// Adds the counts of another window (same tolerance).
    public mutating func merge(_ other: ChangeDateAccuracy) {
        precondition(other.tolerance == tolerance, "merging date accuracies with different tolerances")
        changed += other.changed
        withinTolerance += other.withinTolerance
        predictedUnchanged += other.predictedUnchanged
    }

    /// withinTolerance / changed, or `nil` when no pixel truly changed.
    public var accuracy: Double? { BinaryConfusion.ratio(withinTolerance, changed) }
}
