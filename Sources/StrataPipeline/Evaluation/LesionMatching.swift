/// One-to-one matching of predicted and true lesions (connected components) by their overlap.
///
/// For every pair of a predicted and a true lesion that share voxels, IoU = |P ∩ T| / |P ∪ T|. Pairs with IoU
/// strictly above ``minimumIoU`` (0.1) are candidates; they are taken greedily in order of decreasing IoU (ties:
/// lower true label, then lower predicted label), skipping a pair when either lesion is already matched. Matched
/// pairs are true positives; unmatched predicted lesions are false positives, unmatched true lesions false
/// negatives.
///
/// ```swift
/// let matching = LesionMatching(predicted: predictedComponents, truth: trueComponents)
/// matching.truePositives, matching.falsePositives, matching.falseNegatives
/// matching.f1    // 2·TP / (2·TP + FP + FN)
/// ```
public struct LesionMatching: Equatable, Sendable {
    /// IoU a pair must exceed to be matched.
    public static let minimumIoU = 0.1

    /// Matched pairs `(predicted label, true label, IoU)`, in the order they were taken.
    public let pairs: [Pair]
    public let truePositives: Int
    public let falsePositives: Int
    public let falseNegatives: Int

    /// A matched pair of lesions.
    public struct Pair: Equatable, Sendable {
        public let predicted: Int32
        public let truth: Int32
        public let iou: Double
    }

    /// Matches the components of two label volumes of the same shape.
    public init(predicted: ConnectedComponents, truth: ConnectedComponents) {
        precondition(predicted.labels.count == truth.labels.count, "label volumes of different sizes")
        // Overlap of every touching pair, keyed by (predicted, true) label: only pairs that meet are stored.
        var overlaps: [Int64: Int] = [:]
        for index in predicted.labels.indices {
            let p = predicted.labels[index], t = truth.labels[index]
            if p != 0 && t != 0 { overlaps[Int64(p) << 32 | Int64(t), default: 0] += 1 }
        }
        var candidates: [Pair] = []
        for (key, intersection) in overlaps {
            let p = Int32(key >> 32), t = Int32(truncatingIfNeeded: key)
            let union = predicted.sizes[Int(p) - 1] + truth.sizes[Int(t) - 1] - intersection
            let iou = Double(intersection) / Double(union)
            if iou > Self.minimumIoU { candidates.append(Pair(predicted: p, truth: t, iou: iou)) }
        }
        candidates.sort { a, b in
            if a.iou != b.iou { return a.iou > b.iou }
            if a.truth != b.truth { return a.truth < b.truth }
            return a.predicted < b.predicted
        }
        var usedPredicted = Set<Int32>(), usedTruth = Set<Int32>()
        var pairs: [Pair] = []
        for pair in candidates where !usedPredicted.contains(pair.predicted) && !usedTruth.contains(pair.truth) {
            usedPredicted.insert(pair.predicted)
            usedTruth.insert(pair.truth)
            pairs.append(pair)
        }
        self.pairs = pairs
        truePositives = pairs.count
        falsePositives = predicted.count - pairs.count
        falseNegatives = truth.count - pairs.count
    }

    /// Lesion-wise F1, 2·TP / (2·TP + FP + FN); `nil` when neither side has a lesion.
    public var f1: Double? {
        BinaryConfusion.ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives)
    }
}
