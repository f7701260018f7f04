import Foundation
import StrataCore
import StrataModel
import StrataPipeline

/// The models `strata bench predict` times: change-detection checkpoints with fixed random weights (seed 1), so the
/// work per pixel is that of a trained model of the same shape and every run predicts the same numbers.
///
/// Both read 4 bands per step and give one logit per step (`output: sequence`, a 1 × 1 convolution head), which the
/// change task turns into two bands, `change_probability` and `change_date`.
///
/// | name | layers | receptive radius over 12 steps | convolution flops per pixel (12 steps) |
/// |---|---|---:|---:|
/// | `convlstm` | ConvLSTM hidden 16, kernel 3 | 12 px | 276 480 + head |
/// | `pixel` | ConvLSTM hidden 16, kernel 1 (per-pixel LSTM) | 0 px | 30 720 + head |
public enum PredictBenchModel: String, CaseIterable, Sendable {
    case convlstm
    case pixel

    /// Input bands per step, as in the benchmark stack.
    public static let bands = 4

    /// The model's architecture.
    public var config: ModelConfig {
        ModelConfig(cell: .convLSTM, inputChannels: Self.bands, hidden: [16], kernel: [self == .convlstm ? 3 : 1],
                    output: .sequence, head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
    }

    /// The checkpoint: seeded weights, the change task, and normalisation statistics that centre the benchmark
    /// stack's values (``PredictBenchStack/value(step:band:x:y:)`` lies in [0.05, 0.6]).
    public func checkpoint() throws -> ModelCheckpoint {
        let model = try RecurrentModel(config: config, seed: 1)
        var tensors: [String: Tensor] = [:]
        for parameter in model.parameters { tensors[parameter.name] = parameter.value }
        let bands = Self.bands
        return ModelCheckpoint(
            config: config, tensors: tensors,
            normalization: NormalizationStats(mean: Array(repeating: 0.3, count: bands),
                                              std: Array(repeating: 0.15, count: bands),
                                              count: Array(repeating: 1, count: bands)),
            task: TaskInfo(kind: TaskKind.change.rawValue, bandNames: (1...bands).map { "band\($0)" },
                           targetNames: ["change"]))
    }

    /// Writes ``checkpoint()`` to `path` (a few KB; rewritten every run, the bytes are always the same).
    public func writeCheckpoint(to path: String) throws {
        try checkpoint().save(to: path)
    }
}
