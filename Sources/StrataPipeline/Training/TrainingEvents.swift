import Foundation

/// One line of `OUT/metrics.jsonl`: what an epoch did. Keys are snake_case and stable (docs/training.md).
///
/// ```json
/// {"epoch":3,"improved":true,"lr":0.001,"metrics":{"val_f1":0.71,"val_iou":0.55},"samples_per_second":41.2,
///  "seconds":6.2,"step":96,"train_loss":0.31,"val_loss":0.35}
/// ```
public struct EpochRecord: Codable, Equatable, Sendable {
    /// Epochs completed, from 1.
    public var epoch: Int
    /// Optimizer steps since the start of training.
    public var step: Int
    /// Mean training loss of the epoch's batches (weighted by batch size).
    public var trainLoss: Double
    /// Mean validation loss over the validation patches; nil without a validation split.
    public var valLoss: Double?
    /// Validation metrics by name (`val_f1`, `val_rmse` ...).
    public var metrics: [String: Double]
    /// Learning rate of the epoch's last step.
    public var lr: Double
    /// Wall-clock seconds of the epoch (training and validation; for a resumed epoch, both runs' parts).
    public var seconds: Double
    /// Training samples per second of the epoch.
    public var samplesPerSecond: Double
    /// Whether the monitored metric improved (and `best.safetensors` was written).
    public var improved: Bool

    enum CodingKeys: String, CodingKey {
        case epoch, step, metrics, lr, seconds, improved
        case trainLoss = "train_loss"
        case valLoss = "val_loss"
        case samplesPerSecond = "samples_per_second"
    }

    /// The value of a monitored metric: `val_loss`, `train_loss` or a key of ``metrics``.
    public func value(of metric: String) -> Double? {
        switch metric {
        case "val_loss": return valLoss
        case "train_loss": return trainLoss
        default: return metrics[metric]
        }
    }
}

/// What a finished (or early-stopped) run reports.
public struct TrainingSummary: Codable, Equatable, Sendable {
    /// Epochs completed in total (including those before a resume).
    public var epochs: Int
    public var steps: Int
    public var stoppedEarly: Bool
    /// Stopped by ``Trainer/requestStop()`` inside an epoch; `last.safetensors` holds that batch.
    public var interrupted: Bool
    public var monitor: String
    public var bestValue: Double?
    public var bestEpoch: Int?
    /// The last epoch's record.
    public var last: EpochRecord?
    /// Output folder and the files in it.
    public var output: String
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case epochs, steps, monitor, last, output, seconds, interrupted
        case stoppedEarly = "stopped_early"
        case bestValue = "best_value"
        case bestEpoch = "best_epoch"
    }
}

/// Progress reports of a run, in the order they happen.
public enum TrainingEvent: Sendable {
    /// Training begins (or resumes at `epoch`, `batch`).
    case started(epochs: Int, batchesPerEpoch: Int, epoch: Int, batch: Int, resumed: Bool)
    /// One optimizer step done: `batch` of `batches` (from 1) in `epoch` (from 1).
    case batch(epoch: Int, batch: Int, batches: Int, loss: Double, samplesPerSecond: Double, etaSeconds: Double)
    /// An epoch validated and logged.
    case epoch(EpochRecord)
    /// A checkpoint written (`last.safetensors` or `best.safetensors`).
    case checkpoint(path: String)
    case finished(TrainingSummary)
}
