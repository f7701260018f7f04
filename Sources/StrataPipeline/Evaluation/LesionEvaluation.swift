import StrataCore
import StrataIO

/// Scores predicted lesion volumes against true lesion masks, one timepoint at a time.
///
/// Per timepoint: Dice over valid voxels, lesion-wise matching of 26-connected components
/// (``LesionMatching``), and lesion volumes in mm³ from the voxel spacing (``LesionTimepointScores``).
/// Overall: Dice and lesion-wise F1 from the counts summed over timepoints, volume error of the lesion volumes
/// summed over timepoints.
///
/// The prediction may hold the timepoints as steps (`[T, 1, D, H, W]`, like the labels) or as the channels of one
/// step (`[1, T, D, H, W]`: `strata predict` writes a lesion model's `lesion_probability_t0` … that way); the second
/// is read channel by channel as timepoints (``TimepointChannels``).
///
/// Memory: one timepoint of both volumes (connected components need the whole 3-D volume), never the series.
///
/// ```swift
/// let report = try LesionEvaluation(threshold: 0.5).run(
///     prediction: try VolumeStack(path: "prediction.h5:/lesion_probability"),
///     truth: try VolumeStack(path: "truth.h5:/lesions"))
/// report.dice, report.lesionF1, report.volumeErrorMM3
/// ```
public struct LesionEvaluation: Sendable {
    /// Prediction values at or above it are lesion.
    public var threshold: Float
    /// Components of at most this volume (mm³) are left out of the lesion-wise counts, on both sides; 0 counts
    /// every component. Dice and volumes use every voxel whatever it is.
    public var minimumLesionVolumeMM3: Double

    public init(threshold: Float = 0.5, minimumLesionVolumeMM3: Double = 0) {
        self.threshold = threshold
        self.minimumLesionVolumeMM3 = minimumLesionVolumeMM3
    }

    /// - Throws: ``StrataError/gridMismatch(file:reference:property:expected:found:)`` when sizes or spacing
    ///   differ; ``StrataError/invalidArgument(name:reason:)`` for volumes with more than one channel.
    public func run(prediction: EvaluationVolume, truth: EvaluationVolume) throws -> LesionReport {
        let prediction = TimepointChannels.unfolded(prediction, like: truth)
        try EvaluationGrid.requireSameVolume(prediction: prediction, truth: truth)
        let shape = prediction.shape
        guard shape.channels == 1 else {
            throw StrataError.invalidArgument(
                name: prediction.sourceName, reason: "lesion volumes have one channel, this one has \(shape.channels)")
        }
        let spacing = prediction.voxelSpacing
        var timepoints: [LesionTimepointScores] = []
        for step in 0..<shape.steps {
            let p = try prediction.read(region: shape.fullRegion, steps: step..<step + 1)
            let t = try truth.read(region: shape.fullRegion, steps: step..<step + 1)
            var valid = [UInt8](repeating: 0, count: shape.fullRegion.voxelCount)
            p.mask.withRawBytes { pm in
                t.mask.withRawBytes { tm in
                    for index in valid.indices where pm[index] != 0 && tm[index] != 0 { valid[index] = 1 }
                }
            }
            timepoints.append(LesionTimepointScores(
                predicted: p.values.floats, truth: t.values.floats, valid: valid, depth: shape.depth,
                height: shape.height, width: shape.width, threshold: threshold,
                voxelVolumeMM3: spacing.voxelVolumeMM3, minimumLesionVolumeMM3: minimumLesionVolumeMM3))
        }
        return LesionReport(threshold: threshold, minimumLesionVolumeMM3: minimumLesionVolumeMM3, spacing: spacing,
                            timepoints: timepoints)
    }
}

/// What ``LesionEvaluation`` found: per-timepoint scores and their totals.
public struct LesionReport: Equatable, Sendable {
    public let threshold: Float
    /// Lesions of at most this volume were left out of the lesion-wise counts, mm³.
    public let minimumLesionVolumeMM3: Double
    /// Voxel size used for the volumes, mm.
    public let spacing: Spacing
    /// One entry per timepoint, in time order.
    public let timepoints: [LesionTimepointScores]

    /// Voxel counts summed over timepoints.
    public var voxels: BinaryConfusion {
        timepoints.reduce(into: BinaryConfusion()) { $0.merge($1.voxels) }
    }

    /// Overall Dice: 2·ΣTP / (2·ΣTP + ΣFP + ΣFN) over all timepoints' voxels.
    public var dice: Double? { voxels.f1 }

    /// Lesions matched, predicted but unmatched, true but unmatched, summed over timepoints.
    public var lesionCounts: (truePositives: Int, falsePositives: Int, falseNegatives: Int) {
        timepoints.reduce((0, 0, 0)) {
            ($0.0 + $1.lesions.truePositives, $0.1 + $1.lesions.falsePositives, $0.2 + $1.lesions.falseNegatives)
        }
    }

    /// Components at or below ``minimumLesionVolumeMM3``, summed over timepoints: predicted, true.
    public var ignoredLesions: (predicted: Int, truth: Int) {
        timepoints.reduce((0, 0)) { ($0.0 + $1.ignoredPredictedLesions, $0.1 + $1.ignoredTrueLesions) }
    }

    /// Overall lesion-wise F1 from the summed lesion counts.
    public var lesionF1: Double? {
        let c = lesionCounts
        return BinaryConfusion.ratio(2 * c.truePositives, 2 * c.truePositives + c.falsePositives + c.falseNegatives)
    }

    /// Predicted lesion volume summed over timepoints, mm³.
    public var predictedVolumeMM3: Double { timepoints.reduce(0) { $0 + $1.predictedVolumeMM3 } }
    /// True lesion volume summed over timepoints, mm³.
    public var truthVolumeMM3: Double { timepoints.reduce(0) { $0 + $1.truthVolumeMM3 } }
    /// |ΣV_pred − ΣV_true|, mm³.
    public var volumeErrorMM3: Double { abs(predictedVolumeMM3 - truthVolumeMM3) }
    /// |ΣV_pred − ΣV_true| / ΣV_true, or `nil` when the truth has no lesion volume.
    public var relativeVolumeError: Double? { truthVolumeMM3 > 0 ? volumeErrorMM3 / truthVolumeMM3 : nil }
}

/// A prediction of one step whose T channels are the timepoints (`[1, T, D, H, W]`, as ``HDF5PredictionSink``
/// writes a lesion model's per-timepoint probabilities), read as T single-channel steps `[T, 1, D, H, W]`.
struct TimepointChannels: EvaluationVolume {
    let base: EvaluationVolume

    /// `volume` unfolded when it is one step of several channels and `truth` has that many single-channel steps;
    /// otherwise `volume` itself.
    static func unfolded(_ volume: EvaluationVolume, like truth: EvaluationVolume) -> EvaluationVolume {
        let p = volume.shape, t = truth.shape
        guard p.steps == 1, p.channels > 1, p.channels == t.steps, t.channels == 1 else { return volume }
        return TimepointChannels(base: volume)
    }

    var sourceName: String { base.sourceName }
    var voxelSpacing: Spacing { base.voxelSpacing }
    var shape: VolumeShape {
        let s = base.shape
        return VolumeShape(steps: s.channels, channels: 1, depth: s.depth, height: s.height, width: s.width)
    }

    func read(region: VolumeRegion, steps: Range<Int>?) throws -> VolumeWindow {
        let range = steps ?? 0..<shape.steps
        let window = try base.read(region: region, steps: 0..<1)
        let voxels = region.voxelCount
        // [1, C, d, h, w]: channel c is one contiguous block of `voxels` values.
        let all = window.values.floats
        var values: [Float] = []
        values.reserveCapacity(range.count * voxels)
        for channel in range { values += all[channel * voxels..<(channel + 1) * voxels] }
        // The mask [1, d, h, w] holds for every channel.
        var mask = Tensor(zeros: [range.count, region.depth, region.height, region.width], dtype: .uint8)
        window.mask.withRawBytes { source in
            mask.withMutableRawBytes { target in
                for step in 0..<range.count {
                    target.baseAddress!.advanced(by: step * voxels).copyMemory(from: source.baseAddress!,
                                                                               byteCount: voxels)
                }
            }
        }
        return VolumeWindow(
            values: Tensor(shape: [range.count, 1, region.depth, region.height, region.width], values: values),
            mask: mask)
    }
}
