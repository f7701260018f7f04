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

/// The rearrangements between frameworks' ConvLSTM weight layouts and Strata's `[4·Ch, Cin+Ch, K, K]`.
enum ConvLSTMLayout {
    /// Swaps gate blocks 2 and 3 along the first axis of a `[4·Ch, ...]` tensor: i, f, o, g <-> i, f, g, o (the
    /// swap is its own inverse, so import and export share it).
    static func swapLastTwoGates(_ values: [Float], hidden ch: Int) -> [Float] {
        let block = values.count / 4
        precondition(values.count == 4 * block && block % ch == 0, "not a [4·Ch, ...] tensor")
        var out = values
        out.replaceSubrange((2 * block)..<(3 * block), with: values[(3 * block)..<(4 * block)])
        out.replaceSubrange((3 * block)..<(4 * block), with: values[(2 * block)..<(3 * block)])
        return out
    }

    /// Keras' channels-last input kernel `[K, K, Cin, 4·Ch]` and recurrent kernel `[K, K, Ch, 4·Ch]` as one
    /// Strata gate convolution `[4·Ch, Cin+Ch, K, K]` (input channels x first, then h). Both use gate order
    /// i, f, c, o, Strata's i, f, g, o, so no block moves.
    static func strataWeight(kernel: [Float], recurrent: [Float], k: Int, cin: Int, ch: Int) -> [Float] {
        let gates = 4 * ch, cinTotal = cin + ch
        var out = [Float](repeating: 0, count: gates * cinTotal * k * k)
        for ky in 0..<k {
            for kx in 0..<k {
                for c in 0..<cinTotal {
                    let source = c < cin ? kernel : recurrent
                    let sourceChannels = c < cin ? cin : ch
                    let sourceChannel = c < cin ? c : c - cin
                    let row = ((ky * k + kx) * sourceChannels + sourceChannel) * gates
                    for o in 0..<gates { out[((o * cinTotal + c) * k + ky) * k + kx] = source[row + o] }
                }
            }
        }
        return out
    }

    /// A zero head (`conv1x1`, `[O, Ch, 1, 1]` and `[O]`) for a source without one.
    static func zeroHead(outputs: Int, channels: Int) -> (weight: Tensor, bias: Tensor) {
        (Tensor(zeros: [outputs, channels, 1, 1]), Tensor(zeros: [outputs]))
    }
}
