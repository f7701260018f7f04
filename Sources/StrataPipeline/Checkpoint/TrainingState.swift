import Foundation
import StrataCore
import StrataModel

/// Everything beyond the weights that a run killed at any point needs to continue exactly as if it had not been
/// stopped (`strata train --resume`): where it was, what it had seen, and the state of every stateful helper.
///
/// The scalars are stored as JSON under the `training` key of the checkpoint's `__metadata__`; the optimizer's
/// tensors (Adam moments, SGD momentum) are stored as tensors of the checkpoint under their
/// ``OptimizerState`` names (`optimizer.<parameter>.exp_avg` ...), so they keep full float32 precision.
///
/// ```swift
/// let training = TrainingState(epoch: 3, globalStep: 1200, batchInEpoch: 17, seed: 42,
///                              bestMetric: 0.81, bestMetricName: "val_iou", scheduleStep: 1200,
///                              learningRate: 8e-4, optimizer: "adamw", optimizerState: optimizer.state(),
///                              lossScaler: scaler.state(), rng: ["sampler": 0x9E37_79B9_7F4A_7C15])
/// ```
public struct TrainingState: Sendable {
    /// Completed epochs.
    public var epoch: Int
    /// Optimizer steps taken since the start of training (skipped fp16 overflow steps included).
    public var globalStep: Int
    /// Batches already consumed in the epoch under way (0 at an epoch boundary), so a resumed run skips them.
    public var batchInEpoch: Int
    /// The run's seed: sampling and initialisation derive their generators from it.
    public var seed: UInt64
    /// Best validation metric so far and its name (`val_loss`, `val_iou` ...); nil before the first validation.
    public var bestMetric: Double?
    public var bestMetricName: String?
    /// The step the learning-rate schedule is at (`LearningRateSchedule.learningRate(atStep:)`).
    public var scheduleStep: Int
    /// The learning rate of the last step, for the log and as a check on the schedule.
    public var learningRate: Double?
    /// Which optimizer the state belongs to (`adam`, `adamw`, `sgd`); nil with no optimizer state.
    public var optimizer: String?
    /// The optimizer's tensors (keys `optimizer.*`, float32) and scalars (`optimizer.step` ...).
    public var optimizerState: OptimizerState
    /// `DynamicLossScaler.state()` for float16 training (`scaler.scale`, `scaler.growth_tracker`); nil otherwise.
    public var lossScaler: [String: Double]?
    /// Named random-generator states to restore exactly (opaque 64-bit words).
    public var rng: [String: UInt64]?
    /// Named counters of the training loop that a resume needs to report and stop exactly as an uninterrupted run
    /// (the running loss sum of the epoch under way, epochs without improvement ...); nil when none.
    public var counters: [String: Double]?

    public init(epoch: Int = 0, globalStep: Int = 0, batchInEpoch: Int = 0, seed: UInt64, bestMetric: Double? = nil,
                bestMetricName: String? = nil, scheduleStep: Int = 0, learningRate: Double? = nil,
                optimizer: String? = nil, optimizerState: OptimizerState = OptimizerState(),
                lossScaler: [String: Double]? = nil, rng: [String: UInt64]? = nil,
                counters: [String: Double]? = nil) {
        self.epoch = epoch
        self.globalStep = globalStep
        self.batchInEpoch = batchInEpoch
        self.seed = seed
        self.bestMetric = bestMetric
        self.bestMetricName = bestMetricName
        self.scheduleStep = scheduleStep
        self.learningRate = learningRate
        self.optimizer = optimizer
        self.optimizerState = optimizerState
        self.lossScaler = lossScaler
        self.rng = rng
        self.counters = counters
    }

    /// Tensor names under which optimizer state lives in a checkpoint.
    public static let optimizerPrefix = "optimizer."

    /// The JSON form: every field but the optimizer tensors. 64-bit generator states and the seed are written as
    /// 16-digit hex strings because JSON numbers above 2^53 do not survive every reader (Python's `json` keeps
    /// them, JavaScript and many others do not).
    struct Metadata: Codable {
        var epoch: Int
        var globalStep: Int
        var batchInEpoch: Int
        var seed: String
        var bestMetric: Double?
        var bestMetricName: String?
        var scheduleStep: Int
        var learningRate: Double?
        var optimizer: String?
        var optimizerScalars: [String: Double]
        var lossScaler: [String: Double]?
        var rng: [String: String]?
        var counters: [String: Double]?

        enum CodingKeys: String, CodingKey {
            case epoch, seed, optimizer, rng, counters
            case globalStep = "global_step"
            case batchInEpoch = "batch_in_epoch"
            case bestMetric = "best_metric"
            case bestMetricName = "best_metric_name"
            case scheduleStep = "schedule_step"
            case learningRate = "learning_rate"
            case optimizerScalars = "optimizer_scalars"
            case lossScaler = "loss_scaler"
        }
    }

    var metadata: Metadata {
        Metadata(epoch: epoch, globalStep: globalStep, batchInEpoch: batchInEpoch, seed: Self.hex(seed),
                 bestMetric: bestMetric, bestMetricName: bestMetricName, scheduleStep: scheduleStep,
                 learningRate: learningRate, optimizer: optimizer, optimizerScalars: optimizerState.scalars,
                 lossScaler: lossScaler, rng: rng?.mapValues(Self.hex), counters: counters)
    }

    /// Rebuilds the state from its JSON form and the checkpoint's `optimizer.*` tensors; `fail` names the problem.
    init(metadata m: Metadata, optimizerTensors: [String: Tensor], fail: (String) -> StrataError) throws {
        func word(_ text: String, _ key: String) throws -> UInt64 {
            guard let value = UInt64(text, radix: 16) else { throw fail("'\(key)' is '\(text)', not a hex word") }
            return value
        }
        for (key, value) in [("epoch", m.epoch), ("global_step", m.globalStep), ("batch_in_epoch", m.batchInEpoch),
                             ("schedule_step", m.scheduleStep)] where value < 0 {
            throw fail("'\(key)' is \(value), must be at least 0")
        }
        var rng: [String: UInt64]?
        if let states = m.rng {
            rng = try states.reduce(into: [:]) { $0[$1.key] = try word($1.value, "rng.\($1.key)") }
        }
        self.init(epoch: m.epoch, globalStep: m.globalStep, batchInEpoch: m.batchInEpoch, seed: try word(m.seed, "seed"),
                  bestMetric: m.bestMetric, bestMetricName: m.bestMetricName, scheduleStep: m.scheduleStep,
                  learningRate: m.learningRate, optimizer: m.optimizer,
                  optimizerState: OptimizerState(tensors: optimizerTensors, scalars: m.optimizerScalars),
                  lossScaler: m.lossScaler, rng: rng, counters: m.counters)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
