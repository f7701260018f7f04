/// Dice, lesion matching and lesion volumes of one timepoint: a predicted and a true 3-D volume.
///
/// A voxel is lesion when its value is at or above the threshold: the prediction's `threshold` (probabilities or
/// a 0/1 mask) and 0.5 for the truth (a 0/1 mask). Voxels invalid on either side (nodata, NaN) are left out of
/// every count and are background for the connected components.
///
/// Lesion-wise matching counts only components of more than `minimumLesionVolumeMM3` (default 0: every
/// component), on both sides, as MSSEG-2016's scoring tool (animaSegPerfAnalyzer, 3 mm³) does; the smaller ones
/// are counted in ``ignoredPredictedLesions`` and ``ignoredTrueLesions`` instead. Dice and volumes always use every voxel.
///
/// Volumes are lesion voxels × voxel volume, in mm³. Volume error = |V_pred − V_true| (mm³); relative volume
/// error = |V_pred − V_true| / V_true (`nil` when the truth has no lesion).
///
/// ```swift
/// let scores = LesionTimepointScores(predicted: p, truth: t, valid: mask, depth: 3, height: 21, width: 17,
///                                    threshold: 0.5, voxelVolumeMM3: 4 * 4 * 8)
/// scores.voxels.f1          // Dice
/// scores.lesions.f1         // lesion-wise F1
/// ```
public struct LesionTimepointScores: Equatable, Sendable {
    /// Voxel counts over valid voxels (Dice = ``BinaryConfusion/f1``).
    public let voxels: BinaryConfusion
    /// Lesion-wise matching of the components (26-connectivity) larger than the minimum lesion volume.
    public let lesions: LesionMatching
    /// Predicted components at or below the minimum lesion volume, left out of ``lesions``.
    public let ignoredPredictedLesions: Int
    /// True components at or below the minimum lesion volume, left out of ``lesions``.
    public let ignoredTrueLesions: Int
    /// Predicted lesion volume, mm³.
    public let predictedVolumeMM3: Double
    /// True lesion volume, mm³.
    public let truthVolumeMM3: Double

    /// - Parameters:
    ///   - predicted, truth: values `[d, h, w]` row-major.
    ///   - valid: 1 where both sides are valid, `[d, h, w]`.
    ///   - threshold: prediction values at or above it are lesion.
    ///   - voxelVolumeMM3: x · y · z spacing in mm³.
    ///   - minimumLesionVolumeMM3: components of at most this volume are not lesions for the matching, mm³.
    public init(predicted: [Float], truth: [Float], valid: [UInt8], depth: Int, height: Int, width: Int,
                threshold: Float, voxelVolumeMM3: Double, minimumLesionVolumeMM3: Double = 0) {
        let count = depth * height * width
        precondition(predicted.count == count && truth.count == count && valid.count == count,
                     "volumes must all hold \(depth)x\(height)x\(width) voxels")
        var matrix = BinaryConfusion()
        var predictedLesion = [Bool](repeating: false, count: count)
        var trueLesion = [Bool](repeating: false, count: count)
        for index in 0..<count where valid[index] != 0 {
            let p = predicted[index] >= threshold, t = truth[index] >= LesionTimepointScores.truthThreshold
            predictedLesion[index] = p
            trueLesion[index] = t
            matrix.add(predicted: p, truth: t)
        }
        voxels = matrix
        let isLesion = { (voxels: Int) in Double(voxels) * voxelVolumeMM3 > minimumLesionVolumeMM3 }
        let allPredicted = ConnectedComponents(foreground: predictedLesion, depth: depth, height: height, width: width)
        let allTrue = ConnectedComponents(foreground: trueLesion, depth: depth, height: height, width: width)
        let predictedLesions = allPredicted.keeping(isLesion), trueLesions = allTrue.keeping(isLesion)
        lesions = LesionMatching(predicted: predictedLesions, truth: trueLesions)
        ignoredPredictedLesions = allPredicted.count - predictedLesions.count
        ignoredTrueLesions = allTrue.count - trueLesions.count
        predictedVolumeMM3 = Double(matrix.truePositives + matrix.falsePositives) * voxelVolumeMM3
        truthVolumeMM3 = Double(matrix.truePositives + matrix.falseNegatives) * voxelVolumeMM3
    }

    /// Truth values at or above this are lesion (truth is a 0/1 mask).
    public static let truthThreshold: Float = 0.5

    /// |V_pred − V_true| in mm³.
    public var volumeErrorMM3: Double { abs(predictedVolumeMM3 - truthVolumeMM3) }

    /// |V_pred − V_true| / V_true, or `nil` when the truth has no lesion volume.
    public var relativeVolumeError: Double? {
        truthVolumeMM3 > 0 ? volumeErrorMM3 / truthVolumeMM3 : nil
    }
}
