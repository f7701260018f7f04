import StrataCore
import StrataModel

/// Nowcasting: from the first `T − K` steps of a stack, forecast the next K frames (`model.forecast_steps`) of the
/// same stack with the encoder–forecaster of Shi et al. (2015).
///
/// Model: `architecture: encoder_forecaster`, a 1×1 head with one output per input channel (no activation), so
/// logits are `[B, K, C, h, w]` in normalised units. Targets: the normalised values of the last K steps with their
/// mask repeated over channels (`[B, K, C, h, w]`). Loss: MSE (default), MAE or Huber.
///
/// Outputs `forecast_t+1` … `forecast_t+K`, each `[C, h, w]` in physical units (de-normalised). Metrics: `mse`
/// (normalised units), `persistence_mse` (the last input frame repeated) and `skill` = 1 − mse / persistence_mse.
public struct NowcastTask: TrainingTask {
    public let kind = TaskKind.nowcast
    public let job: TrainingConfig
    public var forecastSteps: Int { job.model.forecastSteps }
    /// At least one input step besides the forecast frames.
    public var minimumSteps: Int { forecastSteps + 1 }
    public var outputNames: [String] { (1...forecastSteps).map { "forecast_t+\($0)" } }
    public var loss: any Loss { TaskLosses.make(job.loss, default: .mse) }

    public init(job: TrainingConfig) { self.job = job }

    public func inputSteps(of steps: Int) -> Int { steps - forecastSteps }

    public func modelConfig(inputChannels: Int) -> ModelConfig {
        ModelConfig(cell: job.model.cell, inputChannels: inputChannels, hidden: job.model.hidden,
                    kernel: job.model.kernel, peephole: job.model.peephole, output: .sequence,
                    architecture: .encoderForecaster, forecastSteps: forecastSteps,
                    head: HeadConfig(kind: .conv1x1, outputs: inputChannels, activation: .none))
    }

    public func example(from batch: Batch) throws -> TrainingExample {
        let s = batch.values.shape
        let (b, t, c, h, w) = (s[0], s[1], s[2], s[3], s[4]), k = forecastSteps, tIn = t - k
        guard tIn >= 1 else {
            throw StrataError.invalidStack(reason: "nowcast needs more than \(k) steps, the stack has \(t)")
        }
        let area = h * w, frame = c * area
        var input = Tensor(zeros: [b, tIn, c, h, w]), inputMask = Tensor(zeros: [b, tIn, h, w], dtype: .uint8)
        var target = Tensor(zeros: [b, k, c, h, w]), targetMask = Tensor(zeros: [b, k, c, h, w], dtype: .uint8)
        batch.values.withFloats { v in
            batch.mask.withRawBytes { m in
                input.withMutableFloats { x in
                    target.withMutableFloats { y in
                        inputMask.withMutableRawBytes { xm in
                            targetMask.withMutableRawBytes { ym in
                                for sample in 0..<b {
                                    for step in 0..<t {
                                        let from = (sample * t + step) * frame
                                        let fromMask = (sample * t + step) * area
                                        if step < tIn {
                                            let to = (sample * tIn + step) * frame
                                            for i in 0..<frame { x[to + i] = v[from + i] }
                                            let toMask = (sample * tIn + step) * area
                                            for i in 0..<area { xm[toMask + i] = m[fromMask + i] }
                                        } else {
                                            let to = (sample * k + step - tIn) * frame
                                            for i in 0..<frame {
                                                y[to + i] = v[from + i]
                                                ym[to + i] = m[fromMask + i % area]
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
        return TrainingExample(input: input, mask: inputMask, target: target, targetMask: targetMask)
    }

    public func targetNames(bandNames: [String]?) -> [String]? { bandNames }

    public func makeMetrics() -> any TaskMetrics { NowcastMetrics() }

    public func outputs(model: RecurrentModel, values: Tensor, mask: Tensor, normalization: NormalizationStats?,
                        stepLabels: [String]?) throws -> [TaskOutput] {
        // A prediction window holds the input steps only: everything it has is history.
        let (t, c, h, w) = (values.shape[0], values.shape[1], values.shape[2], values.shape[3])
        var y = try model.predict(values.reshaped([1, t, c, h, w]), mask: mask.reshaped([1, t, h, w]))
        let area = h * w
        if let normalization {
            y.withMutableFloats { v in
                for step in 0..<forecastSteps {
                    for channel in 0..<c {
                        let mean = Float(normalization.mean[channel]), std = Float(normalization.std[channel])
                        let base = (step * c + channel) * area
                        for i in 0..<area { v[base + i] = v[base + i] * std + mean }
                    }
                }
            }
        }
        return (0..<forecastSteps).map { step in
            var frame = Tensor(zeros: [c, h, w])
            y.withFloats { v in frame.withMutableFloats { $0.baseAddress!.update(from: v.baseAddress! + step * c * area, count: c * area) } }
            return TaskOutput(name: "forecast_t+\(step + 1)", values: frame,
                              bandDescriptions: (0..<c).map { "band \($0 + 1), \(step + 1) step(s) ahead" })
        }
    }
}

/// Forecast MSE against persistence (the last input frame, where it is valid) over valid target elements.
final class NowcastMetrics: TaskMetrics {
    var model = RegressionAccumulator()
    var persistence = RegressionAccumulator()

    func add(logits: Tensor, example: TrainingExample) {
        let s = example.input.shape, (b, tIn, c, area) = (s[0], s[1], s[2], s[3] * s[4])
        let k = logits.shape[1], frame = c * area
        logits.withFloats { l in
            example.target.withFloats { y in
                example.targetMask.withRawBytes { m in
                    example.input.withFloats { x in
                        example.mask.withRawBytes { xm in
                            for sample in 0..<b {
                                let last = (sample * tIn + tIn - 1) * frame, lastMask = (sample * tIn + tIn - 1) * area
                                for step in 0..<k {
                                    let base = (sample * k + step) * frame
                                    for i in 0..<frame where m[base + i] != 0 {
                                        model.add(predicted: Double(l[base + i]), truth: Double(y[base + i]))
                                        if xm[lastMask + i % area] != 0 {
                                            persistence.add(predicted: Double(x[last + i]), truth: Double(y[base + i]))
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

    var values: [String: Double] {
        var result: [String: Double] = [:]
        result["mse"] = model.mse
        result["persistence_mse"] = persistence.mse
        if let a = model.mse, let p = persistence.mse, p > 0 { result["skill"] = 1 - a / p }
        return result
    }
}
