import ArgumentParser
import Foundation
import StrataCore
import StrataPipeline

/// `strata export`: a Strata checkpoint's weights in another framework's layout.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a Strata checkpoint's weights for another framework.",
        discussion: """
              strata export --to pytorch model.safetensors --out state.safetensors
                A PyTorch state dict in safetensors named like ndrplz ConvLSTM_pytorch:
                cell_list.<i>.conv.weight [4Ch, Cin+Ch, K, K] and .bias, gate blocks
                i, f, o, g, plus head.weight and head.bias (a bare ndrplz ConvLSTM
                loads it with load_state_dict(state, strict=False)). ConvLSTM stacks
                without peepholes or bidirectional layers only.

            --json prints one object: from, source, out, sha256, config, tensors,
            mapping, assumptions. Layouts: docs/formats-checkpoint.md.
            """
    )

    enum Target: String, ExpressibleByArgument, CaseIterable {
        case pytorch
    }

    @Option(name: .long, help: "Target layout: pytorch (ndrplz ConvLSTM naming, safetensors).")
    var to: Target

    @Argument(help: "The Strata checkpoint to export.")
    var checkpoint: String

    @Option(name: .long, help: "The file to write (.safetensors).")
    var out: String

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let model = try ModelCheckpoint.loadWeights(from: checkpoint)
        let exported = try PyTorchConvLSTMInterop.export(model, to: out)
        let summary = InteropSummary(from: "strata", source: checkpoint, out: out, sha256: exported.sha256.hexString,
                                     checkpoint: model, mapping: exported.mapping,
                                     assumptions: ["head activation \(model.config.head.activation.rawValue) is not"
                                                   + " stored in a state dict: apply it in the PyTorch code"],
                                     tensors: exported.tensors)
        print(json ? try summary.json() : summary.text)
    }
}
