import Foundation
import StrataCore
import StrataModel

/// The tasks `strata train` knows, in the words of a job file's `task:` key.
public enum TaskKind: String, Sendable, CaseIterable, Codable {
    /// Land-cover change: when did each pixel change (sequence output, cumulative "changed by step t").
    case change
    /// Longitudinal lesion segmentation of volumes, slice by slice, per timepoint.
    case lesions
    /// Per-pixel regression of a crop yield from the season's stack.
    case yield
    /// The next K frames of the same stack (encoder–forecaster).
    case nowcast

    /// The validation metric that selects `best.safetensors` unless `early_stopping.metric` says otherwise.
    public var defaultMonitor: String {
        switch self {
        case .change: return "val_f1"
        case .lesions: return "val_dice"
        case .yield: return "val_rmse"
        case .nowcast: return "val_mse"
        }
    }

    /// The validation metrics the task reports (as `val_<name>` in `metrics.jsonl`; undefined ones are left out).
    public var metricNames: [String] {
        switch self {
        case .change: return ["f1", "precision", "recall", "iou", "kappa", "date_accuracy"]
        case .lesions: return ["dice", "precision", "recall"]
        case .yield: return ["rmse", "mae", "r2"]
        case .nowcast: return ["mse", "persistence_mse", "skill"]
        }
    }

    /// The losses a job may name for this task; the first is the default.
    public var losses: [TrainingConfig.LossSettings.Kind] {
        switch self {
        case .change: return [.bce, .focal, .diceBCE]
        case .lesions: return [.bce, .diceBCE, .dice, .focal]
        case .yield: return [.mse, .huber, .mae]
        case .nowcast: return [.mse, .mae, .huber]
        }
    }

    /// The task object for a checked job.
    public func make(_ job: TrainingConfig) -> any TrainingTask {
        switch self {
        case .change: return ChangeTask(job: job)
        case .lesions: return LesionTask(job: job)
        case .yield: return YieldTask(job: job)
        case .nowcast: return NowcastTask(job: job)
        }
    }

    /// The task a checkpoint was trained for, rebuilt for prediction (`strata predict`): the kind from its
    /// `task.kind`, the model settings from its `config`.
    ///
    /// ```swift
    /// let checkpoint = try ModelCheckpoint.loadWeights(from: "runs/change/best.safetensors")
    /// let task = try TaskKind.task(for: checkpoint)
    /// task.outputNames   // ["change_probability", "change_date"]
    /// ```
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` when the checkpoint names no task Strata trains; the
    ///   message says how to give it one (`strata import --task`, or `task.kind` in the metadata).
    public static func task(for checkpoint: ModelCheckpoint) throws -> any TrainingTask {
        let names = allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = checkpoint.task?.kind else {
            throw StrataError.invalidArgument(
                name: "checkpoint task", reason: "is not set (no task.kind in its metadata, as in a checkpoint"
                    + " imported without --task): import the weights again with `strata import ... --task"
                    + " change|lesions|yield`, or set task.kind to one of \(names)")
        }
        guard let kind = TaskKind(rawValue: name) else {
            throw StrataError.invalidArgument(
                name: "checkpoint task", reason: "'\(name)' is not one of \(names) (`strata import ... --task` sets"
                    + " it for imported weights)")
        }
        let config = checkpoint.config
        var job = TrainingConfig(task: kind, inputs: .init(paths: []), output: "")
        job.model.cell = config.cell
        job.model.hidden = config.hidden
        job.model.kernel = config.kernel
        job.model.peephole = config.peephole
        job.model.bidirectional = config.bidirectional
        job.model.forecastSteps = config.forecastSteps ?? job.model.forecastSteps
        job.model.spaceToDepth = config.spaceToDepth
        if kind == .nowcast {
            let base = checkpoint.task?.forecastBase ?? ForecastBase.zero.rawValue
            guard let forecastBase = ForecastBase(rawValue: base) else {
                throw StrataError.invalidArgument(
                    name: "checkpoint task", reason: "forecast_base '\(base)' is not one of "
                        + ForecastBase.allCases.map(\.rawValue).joined(separator: ", "))
            }
            job.model.forecastBase = forecastBase
        }
        let task = kind.make(job)
        return checkpoint.task?.targetNormalization.map { task.standardizingTargets(with: $0) } ?? task
    }

    /// Task-specific rules of a job file (targets present, loss allowed).
    func check(_ job: TrainingConfig, file: String) throws {
        func fail(_ reason: String) -> StrataError { .invalidArgument(name: file, reason: reason) }
        if let loss = job.loss.kind, !losses.contains(loss) {
            throw fail("key 'loss.name': '\(loss.rawValue)' does not fit task '\(rawValue)' (use one of "
                + losses.map(\.rawValue).joined(separator: ", ") + ")")
        }
        switch self {
        case .change:
            if job.targets.paths == nil, job.targets.changeStep == nil, job.targets.scans == nil {
                throw fail("task 'change' needs 'targets.paths' (a 0/1 change mask) or 'targets.change_step'")
            }
        case .lesions, .yield:
            if job.targets.paths == nil, job.targets.scans == nil {
                throw fail("task '\(rawValue)' needs 'targets.paths'")
            }
        case .nowcast:
            if job.targets.paths != nil || job.targets.changeStep != nil || job.targets.scans != nil {
                throw fail("task 'nowcast' takes its targets from the input stack itself; remove 'targets'")
            }
            if job.sampling.mode == .balanced {
                throw fail("key 'sampling.mode': 'balanced' needs labels to balance on; task 'nowcast' has none")
            }
        }
        if let metric = job.earlyStopping.metric {
            // date_accuracy needs the change step: without 'targets.change_step' it is never reported, and a run
            // monitoring it would stop after `patience` epochs without ever writing best.safetensors.
            let reported = self == .change && job.targets.changeStep == nil
                ? metricNames.filter { $0 != "date_accuracy" } : metricNames
            let known = ["val_loss", "train_loss"] + reported.map { "val_" + $0 }
            if metric == "val_date_accuracy", !known.contains(metric), self == .change {
                throw fail("key 'early_stopping.metric': 'val_date_accuracy' is reported only with "
                    + "'targets.change_step' (the true change dates)")
            }
            guard known.contains(metric) else {
                throw fail("key 'early_stopping.metric': '\(metric)' is not reported by task '\(rawValue)' (one of "
                    + known.joined(separator: ", ") + ")")
            }
        }
        if self != .change, job.targets.changeStep != nil {
            throw fail("key 'targets.change_step' is for task 'change' only")
        }
    }
}

/// What one batch becomes for the model: inputs, and targets laid out as the model's logits.
///
/// Shapes: `input` `[B, T, C, h, w]`, `mask` `[B, T, h, w]`; `target` and `targetMask` as the task documents
/// (one mask entry per logit element, as every ``Loss`` expects).
public struct TrainingExample {
    public var input: Tensor
    public var mask: Tensor
    public var target: Tensor
    public var targetMask: Tensor

    public init(input: Tensor, mask: Tensor, target: Tensor, targetMask: Tensor) {
        self.input = input
        self.mask = mask
        self.target = target
        self.targetMask = targetMask
    }
}

/// One named output of a prediction: `values` `[K, h, w]` float32 (K bands), with its nodata value and metadata
/// (e.g. the ISO dates of `change_date`'s step indices).
public struct TaskOutput {
    /// File stem `strata predict` writes (`change_probability`, `forecast_t+1` ...).
    public var name: String
    public var values: Tensor
    public var nodata: Float?
    /// One description per band.
    public var bandDescriptions: [String]
    /// Dataset metadata items.
    public var metadata: [String: String]

    public init(name: String, values: Tensor, nodata: Float? = nil, bandDescriptions: [String] = [],
                metadata: [String: String] = [:]) {
        self.name = name
        self.values = values
        self.nodata = nodata
        self.bandDescriptions = bandDescriptions
        self.metadata = metadata
    }
}

/// Validation metrics of a task, accumulated batch by batch over the validation region.
public protocol TaskMetrics: AnyObject {
    /// Adds one batch: the model's raw `logits` for `example`.
    func add(logits: Tensor, example: TrainingExample)
    /// Metric values by name without the `val_` prefix (`f1`, `rmse` ...); undefined ones are left out.
    var values: [String: Double] { get }
}

/// How a user's job maps to a model, targets, a loss, validation metrics and named outputs. Training
/// (``Trainer``) and prediction (`strata predict`) share these definitions so that a model is always read the way
/// it was trained.
///
/// ```swift
/// let task = TaskKind.change.make(job)
/// let model = try RecurrentModel(config: task.modelConfig(inputChannels: 4), seed: job.seed)
/// let outputs = try task.outputs(model: model, values: window, mask: valid, normalization: stats,
///                                stepLabels: ["2021-01-10", "2021-02-09"])
/// outputs.map(\.name)   // ["change_probability", "change_date"]
/// ```
public protocol TrainingTask {
    var kind: TaskKind { get }
    /// The model for a stack of `inputChannels` bands per step.
    func modelConfig(inputChannels: Int) -> ModelConfig
    /// The fewest time steps of the input stack the task can train or predict on.
    var minimumSteps: Int { get }
    /// Input steps the model sees of a stack of `steps` (all but the forecast frames for `nowcast`).
    func inputSteps(of steps: Int) -> Int
    /// The training loss on logits.
    var loss: any Loss { get }
    /// Names of the outputs ``outputs(model:values:mask:normalization:stepLabels:)`` returns, in order.
    var outputNames: [String] { get }
    /// What output `name` holds, which decides how it is blended and stored: by default `*_probability` is a
    /// probability and anything else a value.
    func outputKind(_ name: String) -> PredictionOutput.Kind
    /// Names of the head's outputs (stored as the checkpoint's `task.target_names`), given the input's band names.
    func targetNames(bandNames: [String]?) -> [String]?
    /// Model inputs and targets of a sampled batch (values normalised, invalid positions 0).
    func example(from batch: Batch) throws -> TrainingExample
    /// A fresh validation accumulator.
    func makeMetrics() -> any TaskMetrics
    /// Named outputs of one window: `values` normalised `[T, C, h, w]`, `mask` `[T, h, w]` (the whole stack's
    /// steps; the task takes the ones its model reads).
    func outputs(model: RecurrentModel, values: Tensor, mask: Tensor, normalization: NormalizationStats?,
                 stepLabels: [String]?) throws -> [TaskOutput]
    /// The task description stored in checkpoints.
    func taskInfo(bandNames: [String]?, patchSize: Int) -> TaskInfo
    /// True when the task trains on standardised targets (regression): the trainer then computes their statistics
    /// on the training side and passes them to ``standardizingTargets(with:)``.
    var standardizesTargets: Bool { get }
    /// The task with the target statistics it standardises with (from the trainer, or from a checkpoint).
    func standardizingTargets(with statistics: NormalizationStats) -> any TrainingTask
}

extension TrainingTask {
    public func inputSteps(of steps: Int) -> Int { steps }

    public func outputKind(_ name: String) -> PredictionOutput.Kind {
        name.hasSuffix("_probability") ? .probability : .value
    }

    public var standardizesTargets: Bool { false }

    public func standardizingTargets(with statistics: NormalizationStats) -> any TrainingTask { self }

    /// The task description stored in checkpoints.
    public func taskInfo(bandNames: [String]?, patchSize: Int) -> TaskInfo {
        TaskInfo(kind: kind.rawValue, bandNames: bandNames, targetNames: targetNames(bandNames: bandNames),
                 patchSize: [patchSize, patchSize],
                 minimumInputSteps: minimumSteps)
    }
}

/// Losses shared by the tasks.
enum TaskLosses {
    static func make(_ settings: TrainingConfig.LossSettings, default fallback: TrainingConfig.LossSettings.Kind)
        -> any Loss
    {
        switch settings.kind ?? fallback {
        case .bce: return BinaryCrossEntropyLoss(positiveWeight: settings.positiveWeight)
        case .focal: return FocalLoss(gamma: settings.gamma, alpha: settings.alpha)
        case .dice: return DiceLoss()
        case .diceBCE:
            return SumLoss(terms: [DiceLoss(), BinaryCrossEntropyLoss(positiveWeight: settings.positiveWeight)])
        case .mse: return MeanSquaredErrorLoss()
        case .mae: return MeanAbsoluteErrorLoss()
        case .huber: return HuberLoss(delta: settings.delta)
        }
    }
}

/// The sum of several losses on the same logits (Dice + BCE): values and gradients add.
struct SumLoss: Loss {
    var terms: [any Loss]

    func evaluate(prediction: Tensor, target: Tensor, mask: Tensor?) -> (loss: Double, gradient: Tensor) {
        var total = 0.0
        var gradient = Tensor(zeros: prediction.shape)
        for term in terms {
            let (value, g) = term.evaluate(prediction: prediction, target: target, mask: mask)
            total += value
            gradient.withMutableFloats { out in g.withFloats { for i in 0..<out.count { out[i] += $0[i] } } }
        }
        return (total, gradient)
    }
}

/// Sigmoid for probabilities at output time.
@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
