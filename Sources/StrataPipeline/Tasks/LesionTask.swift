import StrataCore
import StrataModel

/// Longitudinal lesion segmentation: each z-slice of a volume time series (``VolumePlanes``) is a 2-D sample, and
/// the model gives a lesion logit per timepoint and pixel.
///
/// Model: `output: sequence`, a 1×1 head of one output (sigmoid at prediction): logits `[B, T, 1, h, w]`.
/// Targets: a label stack with one label volume per timepoint (0 background; ids or 1 lesion, read as 0/1) (`[B, T, 1, h, w]`, mask `[B, T, h, w]`).
/// Loss: BCE (default), Dice + BCE, Dice or focal. Output `lesion_probability` `[T, h, w]`, one band per timepoint.
/// Metric: Dice (voxel overlap over every valid voxel and timepoint at probability 0.5), plus precision and recall.
public struct LesionTask: TrainingTask {
    public let kind = TaskKind.lesions
    public let job: TrainingConfig
    public var minimumSteps: Int { 2 }
    public var outputNames: [String] { ["lesion_probability"] }
    public var loss: any Loss { TaskLosses.make(job.loss, default: .bce) }

    public init(job: TrainingConfig) { self.job = job }

    public func modelConfig(inputChannels: Int) -> ModelConfig {
        ModelConfig(cell: job.model.cell, inputChannels: inputChannels, hidden: job.model.hidden,
                    kernel: job.model.kernel, peephole: job.model.peephole, bidirectional: job.model.bidirectional,
                    output: .sequence, spaceToDepth: job.model.spaceToDepth,
                    head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .sigmoid))
    }

    public func example(from batch: Batch) throws -> TrainingExample {
        guard let target = batch.target, let targetMask = batch.targetMask, target.shape.count == 5,
              target.shape[2] == 1 else {
            throw StrataError.invalidArgument(
                name: "targets", reason: "lesions need one single-channel label volume per timepoint")
        }
        // Label stacks hold lesion ids (1, 2, … per lesion, as `strata synth lesions` writes); the losses need
        // 0/1 targets, with the threshold the evaluation uses (LesionTimepointScores.truthThreshold).
        let threshold = LesionTimepointScores.truthThreshold
        let binary = Tensor(shape: target.shape, values: target.floats.map { $0 >= threshold ? 1 : 0 })
        return TrainingExample(input: batch.values, mask: batch.mask,
                               target: binary, targetMask: targetMask)
    }

    public func targetNames(bandNames: [String]?) -> [String]? { ["lesion"] }

    public func makeMetrics() -> any TaskMetrics { SegmentationMetrics() }

    public func outputs(model: RecurrentModel, values: Tensor, mask: Tensor, normalization: NormalizationStats?,
                        stepLabels: [String]?) throws -> [TaskOutput] {
        let (t, h, w) = (values.shape[0], values.shape[2], values.shape[3])
        var probability = try model.predict(values.reshaped([1] + values.shape), mask: mask.reshaped([1] + mask.shape))
        probability = probability.reshaped([t, h, w])
        return [TaskOutput(name: "lesion_probability", values: probability,
                           bandDescriptions: (0..<t).map { "lesion probability, timepoint \(stepLabels?[$0] ?? "\($0)")" })]
    }
}

/// Voxel confusion at logit 0 over every valid element: Dice (= F1), precision, recall.
final class SegmentationMetrics: TaskMetrics {
    var confusion = BinaryConfusion()

    func add(logits: Tensor, example: TrainingExample) {
        logits.withFloats { l in
            example.target.withFloats { y in
                example.targetMask.withRawBytes { m in
                    for i in 0..<l.count where m[i] != 0 { confusion.add(predicted: l[i] > 0, truth: y[i] > 0.5) }
                }
            }
        }
    }

    var values: [String: Double] {
        var result = ["dice": confusion.f1 ?? 0]
        result["precision"] = confusion.precision
        result["recall"] = confusion.recall
        return result
    }
}
