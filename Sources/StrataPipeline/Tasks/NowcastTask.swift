import StrataCore
import StrataModel

/// What a nowcast model's outputs are added to (job key `model.forecast_base`, stored in the checkpoint's
/// `task.forecast_base` so that `strata predict` adds the same frame back).
public enum ForecastBase: String, Sendable, CaseIterable, Codable {
    /// The forecaster predicts the change from the last observed frame (per pixel its latest valid input step),
    /// which is added back: a model that outputs zeros is persistence, and training spends itself on motion,
    /// growth and decay instead of reproducing the last frame's detail through the recurrent state.
    case lastFrame = "last_frame"
    /// The forecaster predicts the frames themselves (Shi et al. 2015).
    case zero
}

/// Nowcasting: from the first `T − K` steps of a stack, forecast the next K frames (`model.forecast_steps`) of the
/// same stack with the encoder–forecaster of Shi et al. (2015).
///
/// Model: `architecture: encoder_forecaster`, a 1×1 head with one output per input channel (no activation), so
/// logits are `[B, K, C, h, w]` in normalised units. With ``ForecastBase/lastFrame`` (the default) the logits are
/// the change from the base frame `[B, C, h, w]` (each pixel's latest valid input step, 0 = the mean where none is
/// valid), and targets are the later steps minus that frame; with ``ForecastBase/zero`` they are the frames. Targets
/// `[B, K, C, h, w]` carry the mask of their step repeated over channels. Loss: MSE (default), MAE or Huber.
///
/// Outputs `forecast_t+1` … `forecast_t+K`, each `[C, h, w]` in physical units (base added back, de-normalised).
/// Metrics: `mse` (normalised units), `persistence_mse` (the last input frame repeated) and
/// `skill` = 1 − mse / persistence_mse.
public struct NowcastTask: TrainingTask {
    public let kind = TaskKind.nowcast
    public let job: TrainingConfig
    public var forecastSteps: Int { job.model.forecastSteps }
    public var forecastBase: ForecastBase { job.model.forecastBase }
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
                    spaceToDepth: job.model.spaceToDepth,
                    head: HeadConfig(kind: .conv1x1, outputs: inputChannels, activation: .none))
    }

    public func taskInfo(bandNames: [String]?, patchSize: Int) -> TaskInfo {
        TaskInfo(kind: kind.rawValue, bandNames: bandNames, targetNames: targetNames(bandNames: bandNames),
                 patchSize: [patchSize, patchSize], minimumInputSteps: minimumSteps,
                 forecastBase: forecastBase.rawValue)
    }

    /// Forecast origins a stack of `steps` gives each patch: `sampling.forecast_origins`, as far as every origin
    /// keeps at least one input step.
    public func forecastOrigins(steps: Int) -> Int {
        max(1, min(job.sampling.forecastOrigins, (steps - 1) / forecastSteps))
    }

    /// Splits each patch of T steps into N = ``forecastOrigins(steps:)`` sequences: sequence o (sample
    /// `b · N + o`) forecasts the K frames ending `o · K` steps before the stack's end from the frames before them,
    /// its history shifted right by `o · K` steps behind invalid (masked) steps, which the recurrent state skips,
    /// so every sequence has the `T − K` input steps of the stack and the last origin is the stack's own split.
    /// Shapes: input `[B·N, T − K, C, h, w]`, mask `[B·N, T − K, h, w]`, target and its mask `[B·N, K, C, h, w]`.
    public func example(from batch: Batch) throws -> TrainingExample {
        let s = batch.values.shape
        let (b, t, c, h, w) = (s[0], s[1], s[2], s[3], s[4]), k = forecastSteps, tIn = t - k
        guard tIn >= 1 else {
            throw StrataError.invalidStack(reason: "nowcast needs more than \(k) steps, the stack has \(t)")
        }
        let origins = forecastOrigins(steps: t), n = b * origins
        let area = h * w, frame = c * area
        var input = Tensor(zeros: [n, tIn, c, h, w]), inputMask = Tensor(zeros: [n, tIn, h, w], dtype: .uint8)
        var target = Tensor(zeros: [n, k, c, h, w]), targetMask = Tensor(zeros: [n, k, c, h, w], dtype: .uint8)
        batch.values.withFloats { v in
            batch.mask.withRawBytes { m in
                input.withMutableFloats { x in
                    target.withMutableFloats { y in
                        inputMask.withMutableRawBytes { xm in
                            targetMask.withMutableRawBytes { ym in
                                for sample in 0..<b {
                                    for origin in 0..<origins {
                                        let out = sample * origins + origin, shift = origin * k
                                        for step in shift..<tIn {
                                            let from = (sample * t + step - shift) * frame
                                            let fromMask = (sample * t + step - shift) * area
                                            let to = (out * tIn + step) * frame, toMask = (out * tIn + step) * area
                                            for i in 0..<frame { x[to + i] = v[from + i] }
                                            for i in 0..<area { xm[toMask + i] = m[fromMask + i] }
                                        }
                                        for step in 0..<k {
                                            let source = sample * t + tIn - shift + step
                                            let to = (out * k + step) * frame
                                            for i in 0..<frame {
                                                y[to + i] = v[source * frame + i]
                                                ym[to + i] = m[source * area + i % area]
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
        if forecastBase == .lastFrame {
            Self.add(Self.baseFrame(input: input, mask: inputMask), to: &target, sign: -1)
        }
        return TrainingExample(input: input, mask: inputMask, target: target, targetMask: targetMask)
    }

    /// Each pixel's latest valid input frame, `[B, C, h, w]` from `input` `[B, T, C, h, w]` and `mask`
    /// `[B, T, h, w]`; 0 (the normalised mean) where no step is valid.
    static func baseFrame(input: Tensor, mask: Tensor) -> Tensor {
        let s = input.shape, (b, t, c, area) = (s[0], s[1], s[2], s[3] * s[4])
        var base = Tensor(zeros: [b, c, area])
        input.withFloats { x in
            mask.withRawBytes { m in
                base.withMutableFloats { out in
                    for sample in 0..<b {
                        for pixel in 0..<area {
                            guard let step = (0..<t).last(where: { m[(sample * t + $0) * area + pixel] != 0 }) else {
                                continue
                            }
                            for channel in 0..<c {
                                out[(sample * c + channel) * area + pixel] = x[((sample * t + step) * c + channel) * area + pixel]
                            }
                        }
                    }
                }
            }
        }
        return base.reshaped([b, c, s[3], s[4]])
    }

    /// `frames[b, k] += sign · base[b]` for every step k: frames `[B, K, C, h, w]`, base `[B, C, h, w]`.
    static func add(_ base: Tensor, to frames: inout Tensor, sign: Float) {
        let b = frames.shape[0], k = frames.shape[1], frame = base.count / b
        base.withFloats { z in
            frames.withMutableFloats { y in
                for sample in 0..<b {
                    for step in 0..<k {
                        let to = (sample * k + step) * frame, from = sample * frame
                        for i in 0..<frame { y[to + i] += sign * z[from + i] }
                    }
                }
            }
        }
    }

    public func targetNames(bandNames: [String]?) -> [String]? { bandNames }

    public func makeMetrics() -> any TaskMetrics { NowcastMetrics(forecastBase: forecastBase) }

    public func outputs(model: RecurrentModel, values: Tensor, mask: Tensor, normalization: NormalizationStats?,
                        stepLabels: [String]?) throws -> [TaskOutput] {
        // A prediction window holds the input steps only: everything it has is history.
        let (t, c, h, w) = (values.shape[0], values.shape[1], values.shape[2], values.shape[3])
        let input = values.reshaped([1, t, c, h, w]), inputMask = mask.reshaped([1, t, h, w])
        var y = try model.predict(input, mask: inputMask)
        if forecastBase == .lastFrame { Self.add(Self.baseFrame(input: input, mask: inputMask), to: &y, sign: 1) }
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

/// Forecast MSE against persistence (the last input frame, where it is valid) over valid target elements, on
/// frames (the base frame added back to logits and targets when they are changes from it).
final class NowcastMetrics: TaskMetrics {
    let forecastBase: ForecastBase
    var model = RegressionAccumulator()
    var persistence = RegressionAccumulator()

    init(forecastBase: ForecastBase) { self.forecastBase = forecastBase }

    func add(logits: Tensor, example: TrainingExample) {
        let s = example.input.shape, (b, tIn, c, area) = (s[0], s[1], s[2], s[3] * s[4])
        let k = logits.shape[1], frame = c * area
        var forecast = logits, observed = example.target
        if forecastBase == .lastFrame {
            let base = NowcastTask.baseFrame(input: example.input, mask: example.mask)
            NowcastTask.add(base, to: &forecast, sign: 1)
            NowcastTask.add(base, to: &observed, sign: 1)
        }
        forecast.withFloats { l in
            observed.withFloats { y in
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
