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

            `strata predict` runs a checkpoint through its task: give it with
            --task (change, lesions: a 1x1 head of 1 output on every step, sigmoid;
            yield: a 1x1 head of 1 output on the last step), and the input
            normalisation the model was trained with as --input-mean/--input-std
            (default: raw inputs). A file from `strata export` brings both along.

              strata import --from keras model.weights.h5 --out model.safetensors \\
                  --head-activation sigmoid
                Keras 3 ConvLSTM2D layers (padding="same") and a 1x1 Conv2D, Conv3D
                or Dense head, saved with model.save_weights("model.weights.h5").
              strata import --from pytorch state.safetensors --out model.safetensors \\
                  --task yield --input-mean 0.1,0.2,0.3,0.25 --input-std 0.05,0.1,0.1,0.08
                A state dict in safetensors named like ndrplz ConvLSTM_pytorch
                (cell_list.<i>.conv.weight, gate blocks i, f, o, g); the head is
                head.* or --head-layer PREFIX, or a new one with --new-head.

            --json prints one object: from, source, out, sha256, config, task,
            normalization, tensors, mapping, assumptions. Layouts:
            docs/formats-checkpoint.md.
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

    @Option(name: .long, help: "What the model is for, as strata predict reads it: change, lesions, yield (nowcast needs Strata's own encoder-forecaster).")
    var task: TaskKind?

    @Option(name: .long, help: "Per-channel input means the model was trained with, comma-separated (inputs become (x - mean) / std).")
    var inputMean: String?

    @Option(name: .long, help: "Per-channel input standard deviations, comma-separated, with --input-mean.")
    var inputStd: String?

    @Option(name: .long, help: "Activation of the head at prediction time: none, sigmoid or softmax (default: sigmoid for --task change or lesions, else none).")
    var headActivation: String?

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
        if let headActivation {
            guard let activation = HeadConfig.Activation(rawValue: headActivation) else {
                throw StrataError.invalidArgument(name: "--head-activation",
                                                  reason: "'\(headActivation)' is not none, sigmoid or softmax")
            }
            options.headActivation = activation
        }
        options.taskKind = task
        if inputMean != nil || inputStd != nil {
            func numbers(_ list: String?, _ option: String) throws -> [Double] {
                guard let list else {
                    throw StrataError.invalidArgument(name: option, reason: "is missing: --input-mean and --input-std"
                                                      + " go together, one value per input channel each")
                }
                return try list.split(separator: ",", omittingEmptySubsequences: false).map { part in
                    guard let value = Double(part.trimmingCharacters(in: .whitespaces)) else {
                        throw StrataError.invalidArgument(name: option, reason: "'\(part)' is not a number")
                    }
                    return value
                }
            }
            options.normalization = try ImportOptions.inputNormalization(
                mean: try numbers(inputMean, "--input-mean"), std: try numbers(inputStd, "--input-std"))
        }
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
    /// The checkpoint's task and input normalisation (left out when it has none), what `strata predict` reads.
    var task: TaskInfo?
    var normalization: NormalizationStats?
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
        self.task = checkpoint.task
        self.normalization = checkpoint.normalization
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
            "  task: \(task?.kind ?? "none")",
            "  sha256: \(sha256)",
        ]
        lines += mapping.map { "  \($0)" }
        if !assumptions.isEmpty { lines.append("  check against the model's code:") }
        lines += assumptions.map { "    \($0)" }
        return lines.joined(separator: "\n")
    }
}

// Lets ArgumentParser list and check the task names in --help and on bad input.
extension TaskKind: ExpressibleByArgument {}
