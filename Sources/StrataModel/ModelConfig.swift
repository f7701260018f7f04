/// The architecture of a recurrent model: everything needed to rebuild it from a checkpoint.
///
/// Stored as JSON under the `config` key of a checkpoint's `__metadata__` (docs/formats.md), with exactly the
/// snake_case keys below, so that a checkpoint can be written by hand with Python's `safetensors`.
///
/// ```swift
/// let config = ModelConfig(cell: .convLSTM, inputChannels: 6, hidden: [32, 32], kernel: [3, 3],
///                          head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .sigmoid))
/// ```
public struct ModelConfig: Codable, Equatable, Sendable {
    public enum Cell: String, Codable, Sendable {
        case convLSTM = "convlstm", convGRU = "convgru", convRNN = "convrnn"
    }

    /// Peephole connections of a ConvLSTM (Shi et al. 2015): none, one weight per hidden channel (works on any
    /// window size), or one per channel and pixel (`[Ch, H, W]`, as in the paper; ties the model to one size).
    public enum Peephole: String, Codable, Sendable {
        case none, perChannel = "per_channel", perPixel = "per_pixel"
    }

    /// What the recurrent stack hands to the head: every step's hidden state, or the last one.
    public enum Output: String, Codable, Sendable {
        case sequence, last
    }

    /// A plain stack of recurrent layers, or the encoder–forecaster of Shi et al. for the next K frames.
    public enum Architecture: String, Codable, Sendable {
        case stack, encoderForecaster = "encoder_forecaster"
    }

    public var cell: Cell
    /// Input channels (bands) per time step.
    public var inputChannels: Int
    /// Hidden channels of each layer, bottom first.
    public var hidden: [Int]
    /// Odd kernel size of each layer (1 is the per-pixel recurrent network).
    public var kernel: [Int]
    public var peephole: Peephole
    /// `[H, W]` of per-pixel peephole weights; nil otherwise.
    public var peepholeSize: [Int]?
    public var bidirectional: Bool
    public var output: Output
    public var architecture: Architecture
    /// Frames predicted by the encoder–forecaster; nil for a stack.
    public var forecastSteps: Int?
    /// Side s of the pixel blocks folded into channels before the recurrent layers (Shi et al.'s patch reshaping,
    /// PyTorch `pixel_unshuffle`): each s × s block becomes one pixel of `Cin·s²` channels, and a 1×1 head's
    /// `O·s²` outputs are unfolded back (`pixel_shuffle`). The layers then run on s² fewer pixels and a k×k kernel
    /// spans s·k input pixels, so motion of several pixels per step stays in view. 1 = off.
    public var spaceToDepth: Int
    public var head: HeadConfig

    public init(cell: Cell, inputChannels: Int, hidden: [Int], kernel: [Int], peephole: Peephole = .none,
                peepholeSize: [Int]? = nil, bidirectional: Bool = false, output: Output = .last,
                architecture: Architecture = .stack, forecastSteps: Int? = nil, spaceToDepth: Int = 1,
                head: HeadConfig) {
        self.cell = cell
        self.inputChannels = inputChannels
        self.hidden = hidden
        self.kernel = kernel
        self.peephole = peephole
        self.peepholeSize = peepholeSize
        self.bidirectional = bidirectional
        self.output = output
        self.architecture = architecture
        self.forecastSteps = forecastSteps
        self.spaceToDepth = spaceToDepth
        self.head = head
    }

    /// Reads a configuration; `space_to_depth` is optional (absent = 1, checkpoints written before it existed).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cell = try c.decode(Cell.self, forKey: .cell)
        inputChannels = try c.decode(Int.self, forKey: .inputChannels)
        hidden = try c.decode([Int].self, forKey: .hidden)
        kernel = try c.decode([Int].self, forKey: .kernel)
        peephole = try c.decode(Peephole.self, forKey: .peephole)
        peepholeSize = try c.decodeIfPresent([Int].self, forKey: .peepholeSize)
        bidirectional = try c.decode(Bool.self, forKey: .bidirectional)
        output = try c.decode(Output.self, forKey: .output)
        architecture = try c.decode(Architecture.self, forKey: .architecture)
        forecastSteps = try c.decodeIfPresent(Int.self, forKey: .forecastSteps)
        spaceToDepth = try c.decodeIfPresent(Int.self, forKey: .spaceToDepth) ?? 1
        head = try c.decode(HeadConfig.self, forKey: .head)
    }

    enum CodingKeys: String, CodingKey {
        case cell, hidden, kernel, peephole, bidirectional, output, architecture, head
        case inputChannels = "input_channels"
        case peepholeSize = "peephole_size"
        case forecastSteps = "forecast_steps"
        case spaceToDepth = "space_to_depth"
    }
}

/// The layer that turns hidden states into predictions.
public struct HeadConfig: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// A 1×1 convolution per pixel (per step for `output: sequence`): classes, probabilities or values per pixel.
        case conv1x1
        /// Global average pooling over pixels, then a dense layer: one value per patch (yield per field).
        case poolDense = "pool_dense"
    }

    /// Applied at prediction time; training losses take the raw outputs (logits).
    public enum Activation: String, Codable, Sendable {
        case none, sigmoid, softmax
    }

    public var kind: Kind
    /// Output channels (classes or values).
    public var outputs: Int
    public var activation: Activation

    public init(kind: Kind, outputs: Int, activation: Activation) {
        self.kind = kind
        self.outputs = outputs
        self.activation = activation
    }
}
