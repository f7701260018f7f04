/// A 2 × 2 confusion matrix of pixel (or voxel) counts, and the scores derived from it.
///
/// Counts are added window by window (``add(predicted:truth:)`` or ``merge(_:)``), so a whole raster is scored
/// with memory bounded by one window. Every score is `nil` when its denominator is zero (for example precision
/// when nothing is predicted positive): the scores are undefined there, and the JSON reports `null`.
///
/// ```swift
/// var matrix = BinaryConfusion()
/// matrix.add(predicted: true, truth: true)     // a hit
/// matrix.add(predicted: true, truth: false)    // a false alarm
/// matrix.precision                             // 0.5
/// ```
public struct BinaryConfusion: Equatable, Sendable {
    /// Predicted positive, truly positive.
    public var truePositives = 0
    /// Predicted positive, truly negative.
    public var falsePositives = 0
    /// Predicted negative, truly positive.
    public var falseNegatives = 0
    /// Predicted negative, truly negative.
    public var trueNegatives = 0

    public init(truePositives: Int = 0, falsePositives: Int = 0, falseNegatives: Int = 0, trueNegatives: Int = 0) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.trueNegatives = trueNegatives
    }

    /// Counts one pixel.
    @inline(__always)
    public mutating func add(predicted: Bool, truth: Bool) {
        switch (predicted, truth) {
        case (true, true): truePositives += 1
        case (true, false): falsePositives += 1
        case (false, true): falseNegatives += 1
        case (false, false): trueNegatives += 1
        }
    }

    /// Adds the counts of another matrix (another window, another time step).
    public mutating func merge(_ other: BinaryConfusion) {
        truePositives += other.truePositives
        falsePositives += other.falsePositives
        falseNegatives += other.falseNegatives
        trueNegatives += other.trueNegatives
    }

    /// Number of pixels counted.
    public var total: Int { truePositives + falsePositives + falseNegatives + trueNegatives }

    /// TP / (TP + FP): the share of predicted positives that are right.
    public var precision: Double? { Self.ratio(truePositives, truePositives + falsePositives) }

    /// TP / (TP + FN): the share of true positives that are found.
    public var recall: Double? { Self.ratio(truePositives, truePositives + falseNegatives) }

    /// 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall (also the Dice coefficient).
    public var f1: Double? { Self.ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }

    /// TP / (TP + FP + FN), intersection over union of the positive sets (Jaccard index).
    public var iou: Double? { Self.ratio(truePositives, truePositives + falsePositives + falseNegatives) }

    /// Cohen's kappa, (p_o − p_e) / (1 − p_e): agreement beyond what chance would give with the same marginals.
    ///
    /// p_o = (TP + TN) / N; p_e = [(TP + FP)(TP + FN) + (FN + TN)(FP + TN)] / N². Computed in the equivalent form
    /// 2(TP·TN − FN·FP) / [(TP + FP)(FP + TN) + (TP + FN)(FN + TN)], one division of products of counts, so small
    /// cases come out exact (0.4, not 0.3999999999999999). `nil` when that denominator is 0, i.e. p_e = 1: both
    /// sides hold one class only, so chance agreement is already perfect (also when nothing was counted).
    public var kappa: Double? {
        let tp = Double(truePositives), fp = Double(falsePositives)
        let fn = Double(falseNegatives), tn = Double(trueNegatives)
        let denominator = (tp + fp) * (fp + tn) + (tp + fn) * (fn + tn)
        guard denominator > 0 else { return nil }
        return 2 * (tp * tn - fn * fp) / denominator
    }

    static func ratio(_ numerator: Int, _ denominator: Int) -> Double? {
        denominator == 0 ? nil : Double(numerator) / Double(denominator)
    }
}
