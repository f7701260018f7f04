import Foundation
import StrataCore
import StrataModel

/// A trained checkpoint as a ``Predictor``: its ConvLSTM model, read through the task it was trained for
/// (``TrainingTask/outputs(model:values:mask:normalization:stepLabels:)``), so a model is always read the way it was
/// trained.
///
/// Outputs are the task's named outputs, one band each (a nowcast of C channels gives C bands per forecast step,
/// named `forecast_t+k` when C is 1 and `forecast_t+k_bandC` otherwise; a lesion model gives one band per input
/// timepoint, `lesion_probability_t0` …); names ending in `_probability` are
/// ``PredictionOutput/Kind/probability``.
///
/// ## Receptive radius
/// A convolutional recurrent cell mixes its input and its previous hidden state with k × k kernels, so every
/// convolution widens what a pixel sees by `r = (k − 1) / 2` pixels; the cell state is combined elementwise and adds
/// nothing. The output at the last step T of the top layer L is reached from the first input frame by L "up"
/// convolutions (layer to layer) and T − 1 "across" convolutions (step to step), so its radius is
/// `r₁ + … + r_L + (T − 1) · max r` — at most `T · L · r`, the bound the ``Predictor`` protocol quotes. An
/// encoder–forecaster's forecaster adds its K steps and L layers on top. Tiles that overlap by at least this radius
/// give the same prediction as one window over the whole image (PredictionJobTilingTests checks it to 1e-5).
/// The forecaster runs without a mask, so its states outside the image are not zero; a nowcast's last
/// `radius` pixels along the image border may then differ slightly between tilings.
///
/// ```swift
/// let checkpoint = try ModelCheckpoint.loadWeights(from: "run/best.safetensors")
/// let predictor = try CheckpointPredictor(checkpoint: checkpoint, name: "best", steps: 12)
/// predictor.outputs.map(\.name)   // ["change_probability", "change_date"]
/// predictor.receptiveRadius       // 12 for one 3 × 3 layer over 12 steps
/// ```
public struct CheckpointPredictor: Predictor {
    public let name: String
    public let outputs: [PredictionOutput]
    public let receptiveRadius: Int
    public let minimumSteps: Int
    /// The task the checkpoint was trained for.
    public let task: any TrainingTask
    public let model: RecurrentModel
    /// Statistics the task uses to return physical values (nowcast); the input is normalised by the caller.
    public let normalization: NormalizationStats?
    /// ISO dates of the input steps, recorded by tasks that report steps (`change_date`).
    public let stepLabels: [String]?

    /// - Parameters:
    ///   - checkpoint: weights, model configuration, normalisation and task description (its `task.kind` must name
    ///     a ``TaskKind``).
    ///   - name: recorded in the output's metadata (e.g. the checkpoint's file name).
    ///   - steps: time steps of the stacks it will predict; the receptive radius grows with them.
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` for a checkpoint without a known task, or weights
    ///   that do not fit its configuration.
    public init(checkpoint: ModelCheckpoint, name: String, steps: Int, stepLabels: [String]? = nil) throws {
        do {
            task = try TaskKind.task(for: checkpoint)
        } catch let error as StrataError {
            // Name the checkpoint the user passed rather than the metadata key.
            if case .invalidArgument(_, let reason) = error {
                throw StrataError.invalidArgument(name: name, reason: "the checkpoint's task " + reason)
            }
            throw error
        }
        let kind = task.kind
        let config = checkpoint.config
        model = try RecurrentModel(config: config, seed: 0)
        for parameter in model.parameters {
            guard let value = checkpoint.tensors[parameter.name] else {
                throw StrataError.invalidArgument(name: name, reason: "no tensor '\(parameter.name)' in the "
                                                  + "checkpoint")
            }
            try parameter.load(value)
        }
        self.name = name
        self.normalization = checkpoint.normalization
        self.stepLabels = stepLabels
        minimumSteps = checkpoint.task?.minimumInputSteps ?? task.minimumSteps
        receptiveRadius = Self.receptiveRadius(config: config, steps: steps)
        // A lesion model gives one probability per input timepoint (`output: sequence`): one band each.
        if kind == .lesions {
            outputs = task.outputNames.flatMap { output in
                (0..<steps).map { PredictionOutput(name: "\(output)_t\($0)", kind: .probability) }
            }
            return
        }
        let bandsPerOutput = kind == .nowcast ? config.inputChannels : 1
        let trained = task
        // An index output counts input steps: its band says which dates those are.
        let stepDates = stepLabels.map { ["STEP_DATES": $0.joined(separator: ",")] }
        outputs = trained.outputNames.flatMap { output -> [PredictionOutput] in
            let outputKind = trained.outputKind(output)
            guard bandsPerOutput > 1 else {
                return [PredictionOutput(name: output, kind: outputKind, metadata: outputKind == .index ? stepDates : nil)]
            }
            return (1...bandsPerOutput).map { PredictionOutput(name: "\(output)_band\($0)", kind: outputKind) }
        }
    }

    /// The model's ``ModelConfig/spaceToDepth``: windows start on its block grid.
    public var alignment: Int { model.config.spaceToDepth }

    /// Pixels an output may depend on, for `steps` input steps (see the type's documentation for the rule); with
    /// ``ModelConfig/spaceToDepth`` s the rule counts folded pixels, each s wide, plus the rest of the own block.
    public static func receptiveRadius(config: ModelConfig, steps: Int) -> Int {
        let layers = config.hidden.count
        let radii = (0..<layers).map { layer in (config.kernel[min(layer, config.kernel.count - 1)] - 1) / 2 }
        let widest = radii.max() ?? 0
        var radius = radii.reduce(0, +) + max(0, steps - 1) * widest
        if config.architecture == .encoderForecaster {
            radius += radii.reduce(0, +) + (config.forecastSteps ?? 0) * widest
        }
        return radius * config.spaceToDepth + config.spaceToDepth - 1
    }

    public func predict(values: Tensor, mask: Tensor) throws -> Tensor {
        let (h, w) = (values.shape[2], values.shape[3])
        let named = try task.outputs(model: model, values: values, mask: mask, normalization: normalization,
                                     stepLabels: stepLabels)
        var result = Tensor(zeros: [outputs.count, h, w])
        var band = 0
        result.withMutableFloats { out in
            for output in named {
                output.values.withFloats { v in
                    let count = min(v.count, out.count - band * h * w)
                    (out.baseAddress! + band * h * w).update(from: v.baseAddress!, count: count)
                }
                band += output.values.shape[0]
            }
        }
        guard band == outputs.count else {
            throw StrataError.internalError("task \(task.kind.rawValue) returned \(band) bands, declared "
                                            + "\(outputs.count)")
        }
        return result
    }
}
