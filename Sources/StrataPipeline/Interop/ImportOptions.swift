import StrataCore
import StrataModel

/// What an importer cannot read from a foreign weights file and the user must say, plus overrides for what it
/// infers. Everything else (input channels, hidden channels, kernel sizes, head outputs) comes from tensor
/// shapes.
///
/// ```swift
/// var options = ImportOptions()
/// options.taskKind = .yield                  // what `strata predict` will read the model as
/// options.normalization = NormalizationStats(mean: [0.1, 0.3], std: [0.05, 0.1], count: [0, 0])
/// let result = try KerasWeightsImporter.importFile("model.weights.h5", options: options)
/// try result.checkpoint.save(to: "model.safetensors")
/// ```
public struct ImportOptions: Sendable {
    /// Activation applied to the head's outputs at prediction time (a weights file does not record it); nil for
    /// the task's (sigmoid for change and lesions), else none (``resolvedHeadActivation``).
    public var headActivation: HeadConfig.Activation?
    /// What the model is for: `strata predict` reads a checkpoint through its task, and refuses one without. The
    /// model must fit it (``TaskKind/importProblems(_:)``); it also sets the defaults of ``headActivation`` and
    /// ``output``. Nil keeps a task recorded in the source file (`strata export` writes one), else none.
    public var taskKind: TaskKind?
    /// Per-channel input statistics the model was trained with (inputs become `(x − mean) / std`); nil keeps
    /// the ones recorded in the source file, else the model reads raw inputs.
    public var normalization: NormalizationStats?
    /// The head to use when the file holds more than one candidate: a Keras layer name (`conv2d_1`) or a
    /// PyTorch tensor prefix (`out_conv` for `out_conv.weight`). PyTorch default: `head`.
    public var headName: String?
    /// Outputs of a new, zero-initialised 1×1 head when the source has none (ndrplz ConvLSTM has no head);
    /// train it before predicting.
    public var newHeadOutputs: Int?
    /// Keras layer names bottom first, when the automatic order (by Keras' numbered names) is not the model's.
    public var layerOrder: [String]?
    /// Whether the head sees every step or the last one; inferred from the head when nil (Keras `Conv3D` or
    /// `TimeDistributed`: sequence; `Conv2D`, `Dense`: last; a PyTorch head: the task's, else last).
    public var output: ModelConfig.Output?
    /// Task description to store in the checkpoint (band and target names; the kind comes from ``taskKind``).
    public var task: TaskInfo?

    public init() {}
}

/// An imported model and what the importer had to assume, for the user to check.
public struct ImportResult: Sendable {
    public var checkpoint: ModelCheckpoint
    /// Which source layer or tensor became which Strata layer: `conv_lstm2d_1 -> layers.1`.
    public var mapping: [String]
    /// Facts the file cannot prove (padding, activations), phrased so the user can check them against the source.
    public var assumptions: [String]
}
