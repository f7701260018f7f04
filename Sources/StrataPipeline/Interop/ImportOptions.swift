import StrataCore
import StrataModel

/// What an importer cannot read from a foreign weights file and the user must say, plus overrides for what it
/// infers. Everything else (input channels, hidden channels, kernel sizes, head outputs) comes from tensor
/// shapes.
///
/// ```swift
/// var options = ImportOptions()
/// options.headActivation = .sigmoid          // weights files store no activations
/// let result = try KerasWeightsImporter.importFile("model.weights.h5", options: options)
/// try result.checkpoint.save(to: "model.safetensors")
/// ```
public struct ImportOptions: Sendable {
    /// Activation applied to the head's outputs at prediction time (a weights file does not record it).
    public var headActivation: HeadConfig.Activation = .none
    /// The head to use when the file holds more than one candidate: a Keras layer name (`conv2d_1`) or a
    /// PyTorch tensor prefix (`out_conv` for `out_conv.weight`). PyTorch default: `head`.
    public var headName: String?
    /// Outputs of a new, zero-initialised 1×1 head when the source has none (ndrplz ConvLSTM has no head);
    /// train it before predicting.
    public var newHeadOutputs: Int?
    /// Keras layer names bottom first, when the automatic order (by Keras' numbered names) is not the model's.
    public var layerOrder: [String]?
    /// Whether the head sees every step or the last one; inferred from the head when nil (Keras `Conv3D` or
    /// `TimeDistributed`: sequence; `Conv2D`, `Dense`, a PyTorch head: last).
    public var output: ModelConfig.Output?
    /// Task description to store in the checkpoint (bands, targets ...).
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
