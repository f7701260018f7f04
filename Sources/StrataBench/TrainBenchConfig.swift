import StrataModel

/// The three reference training configurations of `strata bench train` (the model issue's targets section).
///
/// Every configuration is a stack of ConvLSTM layers (no peepholes, gates i, f, g, o from one convolution over
/// [x_t, h_{t-1}], 'same' padding) with a 1×1 convolution head on every step's top hidden state whose outputs have
/// the input's channels, trained with MSE against a random target shaped like the input (next-frame prediction):
/// the PyTorch peer (`scripts/peers/pytorch_convlstm_bench.py`) builds exactly this model.
public enum TrainBenchConfig: String, CaseIterable, Sendable, Codable {
    /// B = 4, T = 10, 64×64, Cin = 1, hidden 64, kernel 5 (Moving-MNIST-like).
    case a
    /// B = 8, T = 12, 32×32, Cin = 6, hidden 32, 32, kernel 3.
    case b
    /// B = 16, T = 24, 16×16, Cin = 4, hidden 16, kernel 3.
    case c

    public var batch: Int { [4, 8, 16][index] }
    public var steps: Int { [10, 12, 24][index] }
    /// Image side in pixels (the images are square).
    public var size: Int { [64, 32, 16][index] }
    public var inputChannels: Int { [1, 6, 4][index] }
    public var hidden: [Int] { [[64], [32, 32], [16]][index] }
    public var kernel: Int { [5, 3, 3][index] }

    private var index: Int { Self.allCases.firstIndex(of: self)! }

    /// The model: sequence output, 1×1 head with `inputChannels` outputs and no activation (MSE on the logits).
    public var model: ModelConfig {
        ModelConfig(cell: .convLSTM, inputChannels: inputChannels, hidden: hidden,
                    kernel: Array(repeating: kernel, count: hidden.count), output: .sequence,
                    head: HeadConfig(kind: .conv1x1, outputs: inputChannels, activation: .none))
    }

    /// Input and target shape `[B, T, Cin, H, W]`.
    public var inputShape: [Int] { [batch, steps, inputChannels, size, size] }

    /// Useful floating-point operations of one training step: every convolution (the gate convolutions of all
    /// layers and steps, and the 1×1 head) counted as 2·Cout·Cin·K²·HW per image forward and twice that backward
    /// (data and weight gradients). Gate math, the loss and Adam are left out: they are a few percent at most.
    public var flopsPerStep: Double {
        let images = Double(batch * steps), pixels = Double(size * size)
        var forward = 0.0, below = inputChannels
        for ch in hidden {
            forward += 2 * Double(4 * ch) * Double((below + ch) * kernel * kernel) * pixels * images
            below = ch
        }
        forward += 2 * Double(inputChannels) * Double(below) * pixels * images
        return 3 * forward
    }
}
