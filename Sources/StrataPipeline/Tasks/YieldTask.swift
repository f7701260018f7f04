import StrataCore
import StrataModel

/// Per-pixel yield from a season's stack: the last hidden state through a 1×1 head of one output (no activation),
/// trained with MSE (default), Huber or MAE on the pixels whose target is valid.
///
/// Targets: a one-step label raster in the user's units (t/ha ...), `[B, 1, h, w]` with mask `[B, h, w]`,
/// standardised with the training side's mean and standard deviation (``targetNormalization``, stored in the
/// checkpoint); logits `[B, 1, h, w]` are standardised yields. Without standardisation a head on tanh-bounded
/// hidden states must grow weights of several units to reach 5–10 t/ha, which Adam's bounded steps take most of a
/// short run to do (the demo's validation R² was −1.5 after one epoch with raw t/ha, 0.63 standardised). Output
/// `yield` `[1, h, w]` in the target's units. Metrics: RMSE, MAE, R² in the target's units.
public struct YieldTask: TrainingTask {
    public let kind = TaskKind.yield
    public let job: TrainingConfig
    /// Mean and standard deviation (one channel) the targets are standardised with; nil before the trainer has
    /// computed them (targets are then used as they are).
    public private(set) var targetNormalization: NormalizationStats?
    public var minimumSteps: Int { 2 }
    public var outputNames: [String] { ["yield"] }
    public var loss: any Loss { TaskLosses.make(job.loss, default: .mse) }

    public init(job: TrainingConfig) { self.job = job }

    public var standardizesTargets: Bool { true }

    public func standardizingTargets(with statistics: NormalizationStats) -> any TrainingTask {
        var task = self
        task.targetNormalization = statistics
        return task
    }

    public func taskInfo(bandNames: [String]?, patchSize: Int) -> TaskInfo {
        TaskInfo(kind: kind.rawValue, bandNames: bandNames, targetNames: targetNames(bandNames: bandNames),
                 patchSize: [patchSize, patchSize], minimumInputSteps: minimumSteps,
                 targetNormalization: targetNormalization)
    }

    /// Standardised value ↔ target units: `y = mean + std · z`.
    var targetScale: (mean: Float, std: Float) {
        guard let targetNormalization else { return (0, 1) }
        return (Float(targetNormalization.mean[0]), Float(targetNormalization.std[0]))
    }

    public func modelConfig(inputChannels: Int) -> ModelConfig {
        ModelConfig(cell: job.model.cell, inputChannels: inputChannels, hidden: job.model.hidden,
                    kernel: job.model.kernel, peephole: job.model.peephole, bidirectional: job.model.bidirectional,
                    output: .last, spaceToDepth: job.model.spaceToDepth,
                    head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
    }

    public func example(from batch: Batch) throws -> TrainingExample {
        guard let target = batch.target, let targetMask = batch.targetMask, target.shape.count == 4,
              target.shape[1] == 1 else {
            throw StrataError.invalidArgument(name: "targets", reason: "yield needs a one-step, one-band raster")
        }
        var standardized = target
        let (mean, std) = targetScale
        standardized.withMutableFloats { y in
            targetMask.withRawBytes { m in for i in 0..<y.count { y[i] = m[i] != 0 ? (y[i] - mean) / std : 0 } }
        }
        return TrainingExample(input: batch.values, mask: batch.mask, target: standardized, targetMask: targetMask)
    }

    public func targetNames(bandNames: [String]?) -> [String]? { ["yield"] }

    public func makeMetrics() -> any TaskMetrics {
        let (mean, std) = targetScale
        return RegressionMetrics(mean: Double(mean), std: Double(std))
    }

    public func outputs(model: RecurrentModel, values: Tensor, mask: Tensor, normalization: NormalizationStats?,
                        stepLabels: [String]?) throws -> [TaskOutput] {
        let (h, w) = (values.shape[2], values.shape[3])
        var y = try model.predict(values.reshaped([1] + values.shape), mask: mask.reshaped([1] + mask.shape))
        let (mean, std) = targetScale
        y.withMutableFloats { v in for i in 0..<v.count { v[i] = mean + std * v[i] } }
        return [TaskOutput(name: "yield", values: y.reshaped([1, h, w]), bandDescriptions: ["predicted yield"])]
    }
}

/// RMSE, MAE and R² of logits against targets over valid elements, both mapped back to the target's units
/// (`mean + std · z`).
final class RegressionMetrics: TaskMetrics {
    let mean: Double, std: Double
    var accumulator = RegressionAccumulator()

    init(mean: Double = 0, std: Double = 1) {
        self.mean = mean
        self.std = std
    }

    func add(logits: Tensor, example: TrainingExample) {
        logits.withFloats { l in
            example.target.withFloats { y in
                example.targetMask.withRawBytes { m in
                    for i in 0..<l.count where m[i] != 0 { accumulator.add(predicted: mean + std * Double(l[i]), truth: mean + std * Double(y[i])) }
                }
            }
        }
    }

    var values: [String: Double] {
        var result: [String: Double] = [:]
        result["rmse"] = accumulator.rmse
        result["mae"] = accumulator.mae
        result["r2"] = accumulator.r2
        return result
    }
}
