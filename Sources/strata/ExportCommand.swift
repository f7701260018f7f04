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

            A model trained on normalised inputs (as strata train makes them) needs
            them normalised in PyTorch too: the file also holds input_mean and
            input_std [C] (and for yield target_mean, target_std [1]):
              state = safetensors.torch.load_file("state.safetensors")
              mean, std = state.pop("input_mean"), state.pop("input_std")
              x = (x - mean.view(1, 1, -1, 1, 1)) / std.view(1, 1, -1, 1, 1)
            with x [B, T, C, H, W] (nodata set to 0 after normalising); a yield
            output y becomes target_mean + target_std * y. The summary says what
            applies to this model; `strata import` reads it all back.

            --json prints one object: from, source, out, sha256, config, task,
            normalization, tensors, mapping, assumptions. Layouts:
            docs/formats-checkpoint.md.
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
                                     assumptions: PyTorchConvLSTMInterop.exportInstructions(model),
                                     tensors: exported.tensors)
        print(json ? try summary.json() : summary.text)
    }
}
