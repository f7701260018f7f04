import StrataCore
import StrataModel

/// Per-pixel yield from a season's stack: the last hidden state through a 1×1 head of one output (no activation),
/// trained with MSE (default), Huber or MAE on the pixels whose target is valid.
///
/// Targets: a one-step label raster in the user's units (t/ha ...), `[B, 1, h, w]` with mask `[B, h, w]`; logits
/// `[B, 1, h, w]` in the same units. Output `yield` `[1, h, w]`. Metrics: RMSE, MAE, R².
public struct YieldTask: TrainingTask {
    public let kind = TaskKind.yield
    public let job: TrainingConfig
    public var minimumSteps: Int { 2 }
    public var outputNames: [String] { ["yield"] }
    public var loss: any Loss { TaskLosses.make(job.loss, default: .mse) }

    public init(job: TrainingConfig) { self.job = job }

    public func modelConfig(inputChannels: Int) -> ModelConfig {
        ModelConfig(cell: job.model.cell, inputChannels: inputChannels, hidden: job.model.hidden,
                    kernel: job.model.kernel, peephole: job.model.peephole, bidirectional: job.model.bidirectional,
                    output: .last, head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
    }

    public func example(from batch: Batch) throws -> TrainingExample {
        guard let target = batch.target, let targetMask = batch.targetMask, target.shape.count == 4,
              target.shape[1] == 1 else {
            throw StrataError.invalidArgument(name: "targets", reason: "yield needs a one-step, one-band raster")
        }
        return TrainingExample(input: batch.values, mask: batch.mask, target: target, targetMask: targetMask)
    }

    public func targetNames(bandNames: [String]?) -> [String]? { ["yield"] }

    public func makeMetrics() -> any TaskMetrics { RegressionMetrics() }

    public func outputs(model: RecurrentModel, values: Tensor, mask: Tensor, normalization: NormalizationStats?,
                        stepLabels: [String]?) throws -> [TaskOutput] {
        let (h, w) = (values.shape[2], values.shape[3])
        let y = try model.predict(values.reshaped([1] + values.shape), mask: mask.reshaped([1] + mask.shape))
        return [TaskOutput(name: "yield", values: y.reshaped([1, h, w]), bandDescriptions: ["predicted yield"])]
    }
}

/// RMSE, MAE and R² of logits against targets over valid elements.
final class RegressionMetrics: TaskMetrics {
    var accumulator = RegressionAccumulator()

    func add(logits: Tensor, example: TrainingExample) {
        logits.withFloats { l in
            example.target.withFloats { y in
                example.targetMask.withRawBytes { m in
                    for i in 0..<l.count where m[i] != 0 { accumulator.add(predicted: Double(l[i]), truth: Double(y[i])) }
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
