import ArgumentParser
import Foundation
import StrataCore
import StrataModel
import StrataPipeline

/// `strata import`: a ConvLSTM trained in Keras or PyTorch, as a Strata checkpoint.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert Keras or PyTorch ConvLSTM weights into a Strata checkpoint.",
        discussion: """
            Sizes (input and hidden channels, kernel sizes, head outputs) come from
            the tensor shapes. A weights file records no activations or padding:
            the summary lists what was assumed; check it against the model's code.

              strata import --from keras model.weights.h5 --out model.safetensors \\
                  --head-activation sigmoid
                Keras 3 ConvLSTM2D layers (padding="same") and a 1x1 Conv2D, Conv3D
                or Dense head, saved with model.save_weights("model.weights.h5").
              strata import --from pytorch state.safetensors --out model.safetensors \\
                  --new-head 1
                A state dict in safetensors named like ndrplz ConvLSTM_pytorch
                (cell_list.<i>.conv.weight, gate blocks i, f, o, g); the head is
                head.* or --head-layer PREFIX, or a new one with --new-head.

            --json prints one object: from, source, out, sha256, config, tensors,
            mapping, assumptions. Layouts: docs/formats-checkpoint.md.
            """
    )

    enum Source: String, ExpressibleByArgument, CaseIterable {
        case keras, pytorch
    }

    @Option(name: .long, help: "Source framework: keras (.weights.h5) or pytorch (state dict in .safetensors).")
    var from: Source

    @Argument(help: "The weights file to convert.")
    var source: String

    @Option(name: .long, help: "The checkpoint to write (.safetensors).")
    var out: String

    @Option(name: .long, help: "Activation of the head at prediction time: none, sigmoid or softmax (default none).")
    var headActivation: String = "none"

    @Option(name: .long, help: "The head when it is not found by itself: Keras layer name, or PyTorch tensor prefix.")
    var headLayer: String?

    @Option(name: .long, help: "Outputs of a new zero-initialised 1x1 head, for a source without one.")
    var newHead: Int?

    @Option(name: .long, help: "Keras ConvLSTM2D layer names bottom first, comma-separated (default: by number).")
    var layerOrder: String?

    @Option(name: .long, help: "What the head sees: last (the last step) or sequence (every step); default inferred.")
    var output: String?

    @Option(name: .long, help: "Input band names in channel order, comma-separated (stored for prediction).")
    var bands: String?

    @Option(name: .long, help: "Output (class or variable) names in order, comma-separated.")
    var targets: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        var options = ImportOptions()
        func names(_ list: String?) -> [String]? {
            list?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if bands != nil || targets != nil { options.task = TaskInfo(bandNames: names(bands), targetNames: names(targets)) }
        guard let activation = HeadConfig.Activation(rawValue: headActivation) else {
            throw StrataError.invalidArgument(name: "--head-activation",
                                              reason: "'\(headActivation)' is not none, sigmoid or softmax")
        }
        options.headActivation = activation
        options.headName = headLayer
        if let newHead {
            guard newHead >= 1 else { throw StrataError.invalidArgument(name: "--new-head", reason: "must be at least 1") }
            options.newHeadOutputs = newHead
        }
        options.layerOrder = names(layerOrder)
        if let output {
            guard let value = ModelConfig.Output(rawValue: output) else {
                throw StrataError.invalidArgument(name: "--output", reason: "'\(output)' is not last or sequence")
            }
            options.output = value
        }
        let result = from == .keras ? try KerasWeightsImporter.importFile(source, options: options)
            : try PyTorchConvLSTMInterop.importFile(source, options: options)
        let digest = try result.checkpoint.save(to: out)
        let summary = InteropSummary(from: from.rawValue, source: source, out: out, sha256: digest.hexString,
                                     checkpoint: result.checkpoint, mapping: result.mapping,
                                     assumptions: result.assumptions)
        print(json ? try summary.json() : summary.text)
    }
}

/// What `strata import` and `strata export` print: stable JSON keys, or the same facts as text.
struct InteropSummary: Encodable {
    var from: String
    var source: String
    var out: String
    var sha256: String
    var config: ModelConfig
    /// Tensor name -> shape, as written.
    var tensors: [String: [Int]]
    var mapping: [String]
    var assumptions: [String]

    init(from: String, source: String, out: String, sha256: String, checkpoint: ModelCheckpoint, mapping: [String],
         assumptions: [String], tensors: [String: [Int]]? = nil) {
        self.from = from
        self.source = source
        self.out = out
        self.sha256 = sha256
        self.config = checkpoint.config
        self.tensors = tensors ?? checkpoint.tensors.mapValues(\.shape)
        self.mapping = mapping
        self.assumptions = assumptions
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    var text: String {
        let c = config
        var lines = [
            "\(source) (\(from)) -> \(out)",
            "  model: \(c.cell.rawValue), \(c.inputChannels) input channels, hidden \(c.hidden), kernels \(c.kernel),"
                + " head \(c.head.kind.rawValue) with \(c.head.outputs) outputs (\(c.head.activation.rawValue)),"
                + " output \(c.output.rawValue)",
            "  sha256: \(sha256)",
        ]
        lines += mapping.map { "  \($0)" }
        if !assumptions.isEmpty { lines.append("  check against the model's code:") }
        lines += assumptions.map { "    \($0)" }
        return lines.joined(separator: "\n")
    }
}
