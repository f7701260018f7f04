import StrataCore
import StrataModel

/// How a model imported for a task must look for `strata predict` to read it the way Strata's own task model is
/// read (``TrainingTask/outputs(model:values:mask:normalization:stepLabels:)``).
///
/// | task | head | output | activation |
/// |---|---|---|---|
/// | change | 1×1, one output | sequence: a logit of "changed by step t" at every step | sigmoid |
/// | lesions | 1×1, one output | sequence: a lesion logit at every timepoint | sigmoid |
/// | yield | 1×1, one output | last: the yield from h_T | none (or sigmoid) |
/// | nowcast | Strata's encoder–forecaster | | none |
///
/// An imported ConvLSTM stack is never an encoder–forecaster, so `nowcast` is refused with a message that says so.
extension TaskKind {
    /// What the head sees when the importer is not told (`--output`) and the source file cannot say.
    public var importedOutput: ModelConfig.Output {
        switch self {
        case .change, .lesions: return .sequence
        case .yield, .nowcast: return .last
        }
    }

    /// The head activation when `--head-activation` is not given: the one the task's own models have.
    public var importedHeadActivation: HeadConfig.Activation {
        switch self {
        case .change, .lesions: return .sigmoid
        case .yield, .nowcast: return .none
        }
    }

    /// Why `config` cannot serve this task, one phrase per problem; empty when it can.
    public func importProblems(_ config: ModelConfig) -> [String] {
        if self == .nowcast {
            guard config.architecture == .encoderForecaster else {
                return ["nowcast models are Strata's encoder–forecaster (architecture encoder_forecaster) and an"
                    + " imported ConvLSTM stack is not one: train them with `strata train`, or import this model as"
                    + " change, lesions or yield"]
            }
            return []
        }
        var problems: [String] = []
        if config.head.kind != .conv1x1 {
            problems.append("the head must be a 1×1 convolution (per-pixel outputs), it is \(config.head.kind.rawValue)")
        }
        if config.head.outputs != 1 {
            problems.append("the head must have 1 output, it has \(config.head.outputs)")
        }
        if config.output != importedOutput {
            problems.append(importedOutput == .sequence
                ? "the head must see every step (--output sequence), it sees the last step only"
                : "the head must see the last step only (--output last), it sees every step")
        }
        switch self {
        case .change, .lesions:
            if config.head.activation != .sigmoid {
                problems.append("the head's activation must be sigmoid (the task reads probabilities), it is"
                    + " \(config.head.activation.rawValue)")
            }
        case .yield:
            if config.head.activation == .softmax {
                problems.append("the head's activation must be none or sigmoid (a softmax over 1 output is always 1)")
            }
        case .nowcast:
            break
        }
        return problems
    }
}

extension ImportOptions {
    /// The head's activation: ``headActivation``, else the task's (``TaskKind/importedHeadActivation``), else none.
    public var resolvedHeadActivation: HeadConfig.Activation {
        headActivation ?? taskKind?.importedHeadActivation ?? .none
    }

    /// Input statistics given by hand (`--input-mean`, `--input-std`), one value per input channel.
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` naming the option when the lists differ in length,
    ///   a mean is not finite or a std is not finite and > 0.
    public static func inputNormalization(mean: [Double], std: [Double]) throws -> NormalizationStats {
        guard mean.count == std.count, !mean.isEmpty else {
            throw StrataError.invalidArgument(name: "--input-std", reason: "needs one value per --input-mean value"
                + " (\(mean.count)), found \(std.count)")
        }
        guard mean.allSatisfy(\.isFinite) else {
            throw StrataError.invalidArgument(name: "--input-mean", reason: "every mean must be a finite number")
        }
        guard std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw StrataError.invalidArgument(name: "--input-std", reason: "every std must be a finite number > 0")
        }
        return NormalizationStats(mean: mean, std: std, count: [Int](repeating: 0, count: mean.count))
    }

    /// The imported model as a checkpoint `strata predict` can run: the options' task (kind, band and target
    /// names), and the input normalisation of the options, else the one the source file carried.
    ///
    /// - Parameters:
    ///   - stored: what the source file recorded besides weights (PyTorch files written by `strata export`).
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` naming `--task` when the model does not fit the
    ///   task (every problem in one message), or the checkpoint's own checks.
    func checkpoint(config: ModelConfig, tensors: [String: Tensor], stored: StoredExtras = StoredExtras())
        throws -> ModelCheckpoint
    {
        let kind = taskKind ?? stored.task?.kind.flatMap(TaskKind.init(rawValue:))
        if let kind {
            let problems = kind.importProblems(config)
            guard problems.isEmpty else {
                throw StrataError.invalidArgument(name: "--task", reason: "the imported model does not fit task"
                    + " '\(kind.rawValue)': " + problems.joined(separator: "; "))
            }
        }
        if let given = normalization, given.channels != config.inputChannels {
            throw StrataError.invalidArgument(name: "--input-mean", reason: "\(given.channels) value(s) for the"
                + " model's \(config.inputChannels) input channels")
        }
        var info = stored.task ?? TaskInfo()
        if let kind { info.kind = kind.rawValue }
        if let bands = task?.bandNames { info.bandNames = bands }
        if let targets = task?.targetNames { info.targetNames = targets }
        if info.targetNames == nil, let kind {
            info.targetNames = kind.make(TrainingConfig(task: kind, inputs: .init(paths: []), output: ""))
                .targetNames(bandNames: info.bandNames)
        }
        let checkpoint = ModelCheckpoint(config: config, tensors: tensors,
                                         normalization: normalization ?? stored.normalization,
                                         task: info == TaskInfo() ? nil : info)
        try checkpoint.validate()
        return checkpoint
    }

    /// What the summary says about the task and the input normalisation, to check against the model's code.
    func taskAssumptions(_ checkpoint: ModelCheckpoint) -> [String] {
        var lines: [String] = []
        let origin = taskKind == nil ? " (task from the file; --task to change)" : ""
        switch checkpoint.task?.kind.flatMap(TaskKind.init(rawValue:)) {
        case nil:
            lines.append("no task: `strata predict` refuses the checkpoint until it is imported with --task"
                + " change|lesions|yield")
        case .change?:
            lines.append("task change: the head's sigmoid at every step is the probability that the pixel has changed"
                + " by then (change_probability of the last step, change_date of the first above 0.5)" + origin)
        case .lesions?:
            lines.append("task lesions: the head's sigmoid at every step is that timepoint's lesion probability"
                + origin)
        case .yield?:
            let scale = checkpoint.task?.targetNormalization.map {
                " mapped back as \($0.mean[0]) + \($0.std[0]) · output (target normalisation from the file)"
            } ?? " as it is, in the units the model was trained on"
            lines.append("task yield: the head's output on the last step is the yield," + scale + origin)
        case .nowcast?:
            break
        }
        if let n = checkpoint.normalization {
            lines.append("inputs are normalised per channel as (x − mean) / std with mean \(n.mean), std \(n.std)"
                + (normalization == nil ? " (stored in the file; --input-mean, --input-std to change)" : ""))
        } else {
            lines.append("inputs reach the model as they are (no normalisation): pass --input-mean and --input-std"
                + " if it was trained on normalised inputs")
        }
        return lines
    }

    /// Strata's own records in a foreign file (`strata export` writes them), read back on import.
    struct StoredExtras {
        var normalization: NormalizationStats?
        var task: TaskInfo?
    }
}
