import Foundation
import StrataCore
import StrataModel

/// Land-cover change: for every step t the model gives the logit of "this pixel has changed by step t".
///
/// Model: the configured recurrent stack with `output: sequence` and a 1×1 head of one output (logits, sigmoid at
/// prediction), so logits are `[B, T, 1, h, w]`.
///
/// Targets (the label stack has one step; channels in ``TargetLayout`` order):
/// - with a change-step raster (value s, `origin` meaning "the first step"): `y_t = 1` when the pixel changed
///   (`s − origin ≥ 0`) and `s − origin ≤ t`, else 0 — cumulative, so the sequence rises once from 0 to 1 at the
///   change and the first step above 0.5 is the change date;
/// - with only a 0/1 change mask: the date is unknown, so only the **last** step is a target (`y_{T−1}` = mask) and
///   every earlier step is masked out of the loss.
///
/// Outputs: `change_probability` (the last step's probability) and `change_date` (0-based index of the first step
/// whose probability is above 0.5, −1 where none; nodata −1 where no step was valid), with the steps' ISO dates as
/// metadata `STEP_DATES`. Metrics: F1, precision, recall, IoU, kappa of the last step at 0.5, and with a
/// change-step raster the date accuracy within ±1 step.
public struct ChangeTask: TrainingTask {
    /// Which channels the label stack holds: the mask, the step raster, or both (mask first).
    public enum TargetLayout: Equatable, Sendable {
        case mask
        case step(origin: Int)
        case maskAndStep(origin: Int)

        var stepChannel: Int? {
            switch self {
            case .mask: return nil
            case .step: return 0
            case .maskAndStep: return 1
            }
        }

        var origin: Int {
            switch self {
            case .mask: return 0
            case .step(let origin), .maskAndStep(let origin): return origin
            }
        }
    }

    public let kind = TaskKind.change
    public let layout: TargetLayout
    public let job: TrainingConfig
    public var minimumSteps: Int { 2 }
    public var outputNames: [String] { ["change_probability", "change_date"] }
    /// `change_date` is a step index: tiles that overlap blend it and the blend is rounded back to whole steps.
    public func outputKind(_ name: String) -> PredictionOutput.Kind {
        name == "change_date" ? .index : name.hasSuffix("_probability") ? .probability : .value
    }
    public var loss: any Loss { TaskLosses.make(job.loss, default: .bce) }

    public init(job: TrainingConfig) {
        self.job = job
        let origin = job.targets.changeStepOrigin
        switch (job.targets.paths != nil, job.targets.changeStep != nil) {
        case (true, true): layout = .maskAndStep(origin: origin)
        case (false, true): layout = .step(origin: origin)
        default: layout = .mask
        }
    }

    public func modelConfig(inputChannels: Int) -> ModelConfig {
        ModelConfig(cell: job.model.cell, inputChannels: inputChannels, hidden: job.model.hidden,
                    kernel: job.model.kernel, peephole: job.model.peephole, bidirectional: job.model.bidirectional,
                    output: .sequence, spaceToDepth: job.model.spaceToDepth,
                    head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .sigmoid))
    }

    public func example(from batch: Batch) throws -> TrainingExample {
        guard let target = batch.target, let targetMask = batch.targetMask else {
            throw StrataError.internalError("change batch without target")
        }
        let steps = batch.values.shape[1]
        let (y, m) = Self.cumulativeTargets(target: target, targetMask: targetMask, steps: steps, layout: layout)
        return TrainingExample(input: batch.values, mask: batch.mask, target: y, targetMask: m)
    }

    /// Per-step targets from the label stack's one step.
    ///
    /// - Parameters:
    ///   - target: `[B, K, h, w]` (K = 1 or 2 channels as `layout` says), 0 where invalid.
    ///   - targetMask: `[B, h, w]` uint8.
    /// - Returns: targets `[B, T, 1, h, w]` (0/1) and mask `[B, T, h, w]`.
    ///
    /// ```swift
    /// // step raster (origin 0) value 2 over T = 4 steps  ->  y = [0, 0, 1, 1], mask = [1, 1, 1, 1]
    /// // mask only, value 1                             ->  y = [0, 0, 0, 1], mask = [0, 0, 0, 1]
    /// ```
    public static func cumulativeTargets(target: Tensor, targetMask: Tensor, steps: Int,
                                         layout: TargetLayout) -> (target: Tensor, mask: Tensor) {
        let b = target.shape[0], k = target.shape[1], area = target.shape[2] * target.shape[3]
        var y = Tensor(zeros: [b, steps, 1, target.shape[2], target.shape[3]])
        var m = Tensor(zeros: [b, steps, target.shape[2], target.shape[3]], dtype: .uint8)
        target.withFloats { t in
            targetMask.withRawBytes { valid in
                y.withMutableFloats { out in
                    m.withMutableRawBytes { outMask in
                        for sample in 0..<b {
                            for pixel in 0..<area where valid[sample * area + pixel] != 0 {
                                if let channel = layout.stepChannel {
                                    let raw = t[(sample * k + channel) * area + pixel]
                                    let step = Int(raw.rounded()) - layout.origin
                                    for s in 0..<steps {
                                        let at = (sample * steps + s) * area + pixel
                                        outMask[at] = 1
                                        out[at] = step >= 0 && step <= s ? 1 : 0
                                    }
                                } else {
                                    let at = (sample * steps + steps - 1) * area + pixel
                                    outMask[at] = 1
                                    out[at] = t[sample * k * area + pixel] > 0.5 ? 1 : 0
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, m)
    }

    public func targetNames(bandNames: [String]?) -> [String]? { ["changed_by_step"] }

    public func makeMetrics() -> any TaskMetrics { ChangeMetrics(datesKnown: layout.stepChannel != nil) }

    public func outputs(model: RecurrentModel, values: Tensor, mask: Tensor, normalization: NormalizationStats?,
                        stepLabels: [String]?) throws -> [TaskOutput] {
        let (t, h, w) = (values.shape[0], values.shape[2], values.shape[3])
        let logits = try model.infer(values.reshaped([1] + values.shape), mask: mask.reshaped([1] + mask.shape))
            .logits
        let area = h * w
        var probability = Tensor(zeros: [1, h, w]), date = Tensor(zeros: [1, h, w])
        logits.withFloats { l in
            mask.withRawBytes { valid in
                probability.withMutableFloats { p in
                    date.withMutableFloats { d in
                        for pixel in 0..<area {
                            let observed = (0..<t).contains { valid[$0 * area + pixel] != 0 }
                            p[pixel] = sigmoid(l[(t - 1) * area + pixel])
                            d[pixel] = observed ? Float((0..<t).first { l[$0 * area + pixel] > 0 } ?? -1) : -1
                        }
                    }
                }
            }
        }
        var metadata: [String: String] = [:]
        if let stepLabels { metadata["STEP_DATES"] = stepLabels.joined(separator: ",") }
        return [
            TaskOutput(name: "change_probability", values: probability, bandDescriptions: ["change probability"],
                       metadata: metadata),
            TaskOutput(name: "change_date", values: date, nodata: -1,
                       bandDescriptions: ["first step index with change probability > 0.5"], metadata: metadata),
        ]
    }
}

/// Confusion of the last step at logit 0 (probability 0.5), and the date accuracy within ±1 step.
final class ChangeMetrics: TaskMetrics {
    var confusion = BinaryConfusion()
    var dates = ChangeDateAccuracy(tolerance: 1)
    let datesKnown: Bool

    init(datesKnown: Bool) { self.datesKnown = datesKnown }

    func add(logits: Tensor, example: TrainingExample) {
        // logits and targets [B, T, 1, h, w], mask [B, T, h, w].
        let (b, t) = (logits.shape[0], logits.shape[1]), area = logits.shape[3] * logits.shape[4]
        logits.withFloats { l in
            example.target.withFloats { y in
                example.targetMask.withRawBytes { m in
                    for sample in 0..<b {
                        for pixel in 0..<area {
                            let last = (sample * t + t - 1) * area + pixel
                            if m[last] != 0 { confusion.add(predicted: l[last] > 0, truth: y[last] > 0.5) }
                            guard datesKnown, m[last] != 0 else { continue }
                            // Steps counted from 0, -1 = never changed: ChangeDateAccuracy's convention, so pixels
                            // that never changed stay out of the score exactly as in `strata evaluate`.
                            let first = (sample * t) * area + pixel
                            let predicted = (0..<t).first { l[first + $0 * area] > 0 } ?? -1
                            let truth = (0..<t).first { y[first + $0 * area] > 0.5 } ?? -1
                            dates.add(predictedStep: Float(predicted), trueStep: Float(truth))
                        }
                    }
                }
            }
        }
    }

    var values: [String: Double] {
        var result: [String: Double] = [:]
        result["f1"] = confusion.f1 ?? 0
        result["precision"] = confusion.precision
        result["recall"] = confusion.recall
        result["iou"] = confusion.iou
        result["kappa"] = confusion.kappa
        if datesKnown { result["date_accuracy"] = dates.accuracy }
        return result
    }
}
