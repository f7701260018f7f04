import Foundation
import StrataCore
import StrataModel
import Yams

/// A training job as written in `job.yaml` (docs/config.md lists every key with its type and default).
///
/// Parsing is strict: an unknown key is refused with the nearest valid key suggested, a value of the wrong type
/// names its key and the type expected, and relative paths resolve against the job file's folder (so a job file
/// and its data can move together).
///
/// ```swift
/// let job = try TrainingConfig.load(path: "runs/job.yaml")
/// job.task          // .change
/// job.optimizer.learningRate   // 0.001 unless the file says otherwise
/// ```
public struct TrainingConfig: Sendable, Equatable {
    /// Where the time stack comes from (`inputs:`).
    public struct Inputs: Sendable, Equatable {
        /// Files or dataset addresses after glob expansion (sorted per pattern), absolute; empty with ``scans``.
        public var paths: [String]
        /// A collection of stacks instead of one (a scan per patient and visit series): each entry is one time stack's
        /// files; nil for a single stack.
        public var scans: [[String]]?
        /// One ISO 8601 date per file, overriding dates in names and metadata.
        public var dates: [String]?
        public var bandsPerStep: Int?
        public var align = false
        public var keepOrder = false

        public init(paths: [String]) { self.paths = paths }
    }

    /// Labels (`targets:`): the label stack, and for `change` an optional change-step raster.
    public struct Targets: Sendable, Equatable {
        /// The label stack: change mask (0/1), lesion labels per timepoint, or yield; absolute paths.
        public var paths: [String]?
        /// With `inputs.scans`: one label stack per scan, in the same order.
        public var scans: [[String]]?
        /// `change` only: a raster of the step at which each pixel changes.
        public var changeStep: String?
        /// The value of `changeStep` that means "the first step": 0 (values −1 = unchanged, `strata synth`) or 1
        /// (values 0 = unchanged, `strata evaluate`).
        public var changeStepOrigin = 0
    }

    public struct Model: Sendable, Equatable {
        public var cell: ModelConfig.Cell = .convLSTM
        public var hidden = [16]
        public var kernel = [3]
        public var peephole: ModelConfig.Peephole = .none
        public var bidirectional = false
        /// `nowcast` only: frames forecast, K.
        public var forecastSteps = 3
        /// `model.space_to_depth`: fold s × s pixel blocks into channels before the recurrent layers (1 = off).
        public var spaceToDepth = 1
        /// `nowcast` only: what the forecaster's outputs are added to.
        public var forecastBase: ForecastBase = .lastFrame
    }

    public struct Optimizer: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable { case adam, adamw, sgd }
        public var kind: Kind = .adam
        public var learningRate = 1e-3
        public var weightDecay = 0.0
        /// SGD only.
        public var momentum = 0.9
    }

    public struct Schedule: Sendable, Equatable {
        public enum Decay: String, Sendable, CaseIterable { case constant, cosine, step }
        public var warmupSteps = 0
        public var decay: Decay = .constant
        /// Cosine: the rate reached at the last step.
        public var minLearningRate = 0.0
        /// Step decay: multiply by `gamma` every `stepEvery` steps.
        public var stepEvery = 1000
        public var gamma = 0.5
    }

    public struct Sampling: Sendable, Equatable {
        public enum Mode: String, Sendable, CaseIterable { case random, grid, balanced }
        public var mode: Mode = .random
        public var positiveFraction = 0.5
        /// `nowcast` only: forecast origins per sampled patch (``NowcastTask``).
        public var forecastOrigins = 4
    }

    public struct Validation: Sendable, Equatable {
        /// How validation is held out: spatial blocks of each plane, or whole scans (grouped by patient).
        public enum Split: String, Sendable, CaseIterable { case blocks, scans }
        public var fraction = 0.2
        /// Side of the spatial split's blocks, pixels.
        public var blockSize = 64
        /// nil: `scans` when `inputs.scans` is given, else `blocks`.
        public var split: Split?
        /// `scans`: a regular expression whose first capture group (or whole match) in a scan's first path is its
        /// patient, so all of a patient's scans land on one side; nil: each scan is its own patient.
        public var patientPattern: String?
    }

    public struct LossSettings: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable { case bce, focal, diceBCE = "dice_bce", dice, mse, mae, huber }
        /// nil: the task's default (docs/config.md).
        public var kind: Kind?
        public var positiveWeight = 1.0
        /// Focal loss γ and α.
        public var gamma = 2.0
        public var alpha = 0.25
        /// Huber δ.
        public var delta = 1.0
    }

    public struct EarlyStopping: Sendable, Equatable {
        /// Epochs without improvement before stopping; 0 never stops early.
        public var patience = 0
        /// Monitored metric (`val_loss` or a key of the task's metrics with `val_`); nil: the task's default.
        public var metric: String?
        /// `min` or `max`; nil: `min` for losses and errors, `max` otherwise.
        public var mode: String?
    }

    public var task: TaskKind
    public var inputs: Inputs
    public var targets = Targets()
    public var model = Model()
    public var precision: ComputePrecision = .fp32
    public var optimizer = Optimizer()
    public var schedule = Schedule()
    public var epochs = 10
    public var batch = 8
    public var patch = 32
    public var samplesPerEpoch = 256
    public var sampling = Sampling()
    public var validation = Validation()
    public var loss = LossSettings()
    public var earlyStopping = EarlyStopping()
    public var clipNorm: Double?
    public var seed: UInt64 = 0
    /// Kernel threads (``ThreadPool``) for this run; nil keeps `STRATA_THREADS` or the cores available.
    public var threads: Int?
    /// Save `last.safetensors` every this many batches inside an epoch as well (0: at epoch ends only).
    public var checkpointEvery = 0
    /// Output folder, absolute.
    public var output: String

    public init(task: TaskKind, inputs: Inputs, output: String) {
        self.task = task
        self.inputs = inputs
        self.output = output
    }

    /// Reads and checks a job file.
    ///
    /// - Throws: ``StrataError/fileNotFound(path:)`` if it does not exist; ``StrataError/invalidArgument(name:reason:)``
    ///   named after the file for YAML syntax errors, unknown keys, wrong types and out-of-range values.
    public static func load(path: String) throws -> TrainingConfig {
        guard FileManager.default.fileExists(atPath: path) else { throw StrataError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { throw StrataError.unreadable(path: path, reason: "not UTF-8 text") }
        let folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        return try parse(yaml: text, file: path, baseFolder: folder)
    }

    /// Parses job text; relative paths are resolved against `baseFolder`.
    public static func parse(yaml text: String, file: String = "job.yaml",
                             baseFolder: String) throws -> TrainingConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw StrataError.invalidArgument(name: file, reason: "not valid YAML: \(error)")
        }
        guard let root else { throw StrataError.invalidArgument(name: file, reason: "the job file is empty") }
        return try TrainingConfigParser(file: file, baseFolder: baseFolder).parse(root)
    }

    /// The metric early stopping and `best.safetensors` follow, and whether larger is better.
    public var monitor: (metric: String, larger: Bool) {
        let metric = earlyStopping.metric ?? task.defaultMonitor
        let larger = earlyStopping.mode.map { $0 == "max" }
            ?? !["loss", "mse", "rmse", "mae"].contains { metric.hasSuffix($0) }
        return (metric, larger)
    }

    /// The learning-rate schedule over `totalSteps` optimizer steps.
    public func learningRateSchedule(totalSteps: Int) -> LearningRateSchedule {
        let rate = optimizer.learningRate, warmup = schedule.warmupSteps
        switch schedule.decay {
        case .constant:
            return LearningRateSchedule(baseRate: rate, warmupSteps: warmup)
        case .cosine:
            return LearningRateSchedule(baseRate: rate, warmupSteps: warmup,
                                        decay: .cosine(totalSteps: max(totalSteps, warmup + 1),
                                                       floor: min(schedule.minLearningRate, rate)))
        case .step:
            return LearningRateSchedule(baseRate: rate, warmupSteps: warmup,
                                        decay: .step(every: schedule.stepEvery, gamma: schedule.gamma))
        }
    }
}
