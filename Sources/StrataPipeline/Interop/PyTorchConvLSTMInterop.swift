import Foundation
import StrataCore
import StrataIO
import StrataModel

/// Converts between Strata checkpoints and PyTorch state dicts (in safetensors) that use the naming of
/// ndrplz/ConvLSTM_pytorch, the ConvLSTM most PyTorch projects copy.
///
/// That implementation holds layer `i`'s gate convolution as `cell_list.{i}.conv.weight` `[4·Ch, Cin+Ch, K, K]`
/// (input channels x then h, as Strata) and `cell_list.{i}.conv.bias` `[4·Ch]`, but splits the output into gate
/// blocks in the order i, f, o, g; Strata (torch.nn.LSTM, Keras) uses i, f, g, o. Import and export swap the
/// last two blocks, nothing else. ndrplz has no head: the importer takes `head.weight` `[O, Ch, 1, 1]` (or
/// `[O, Ch]` for a pooled dense head) and `head.bias` when present, `--head-layer PREFIX` for another name, or
/// makes a zero head with `--new-head`; the exporter writes Strata's head under `head.*`, which
/// `load_state_dict(..., strict=False)` on a bare ndrplz model ignores.
///
/// A prefix before `cell_list.` (`model.encoder.cell_list.0.conv.weight`, from a wrapping module) is accepted
/// when every layer has the same one.
///
/// ```swift
/// let result = try PyTorchConvLSTMInterop.importFile("state_dict.safetensors", options: ImportOptions())
/// try result.checkpoint.save(to: "model.safetensors")
/// try PyTorchConvLSTMInterop.export(result.checkpoint, to: "back.safetensors")
/// ```
public enum PyTorchConvLSTMInterop {
    /// The metadata `export` writes: `gate_order` = `i,f,o,g`, `naming` = `ndrplz/ConvLSTM_pytorch`, the
    /// Strata configuration under `strata_config` (for the record; the importer does not need it), and the
    /// normalisation and task of ``StateDictRecords``, which the importer reads back.
    public static let gateOrder = "i,f,o,g"

    /// Reads a safetensors state dict and converts it.
    ///
    /// - Throws: ``StrataError`` naming the file and tensor: `invalidHeader` for a tensor with an unexpected
    ///   shape or a gap in the layer numbers, `unsupported` for tensors Strata cannot map, or integer tensors.
    public static func importFile(_ path: String, options: ImportOptions = ImportOptions()) throws -> ImportResult {
        let file = try SafeTensorsFile(path: path)
        func bad(_ reason: String) -> StrataError { .invalidHeader(path: path, reason: reason) }

        // Layer index -> prefix, from every `<prefix>cell_list.<i>.conv.weight`.
        var prefixes: [Int: String] = [:]
        for name in file.names where name.hasSuffix(".conv.weight") {
            guard let range = name.range(of: "cell_list.", options: .backwards) else { continue }
            let index = name[range.upperBound...].dropLast(".conv.weight".count)
            guard let i = Int(index) else { continue }
            prefixes[i] = String(name[..<range.lowerBound])
        }
        guard !prefixes.isEmpty else {
            let known = file.names.prefix(8).joined(separator: ", ")
            throw StrataError.unsupported(path: path, reason: "no tensor named 'cell_list.<i>.conv.weight'"
                + " (ndrplz ConvLSTM_pytorch naming); the file has: \(known.isEmpty ? "no tensors" : known)")
        }
        guard Set(prefixes.values).count == 1 else {
            throw bad("layers under different prefixes: \(Set(prefixes.values).sorted().map { "'\($0)'" }.joined(separator: ", "))")
        }
        let prefix = prefixes.values.first!
        let count = prefixes.count
        guard prefixes.keys.sorted() == Array(0..<count) else {
            throw bad("layer numbers \(prefixes.keys.sorted()) are not 0..<\(count)")
        }

        var used = Set<String>()
        var tensors: [String: Tensor] = [:]
        var hidden: [Int] = [], kernels: [Int] = []
        var inputChannels = 0
        var mapping: [String] = []
        for i in 0..<count {
            let weightName = "\(prefix)cell_list.\(i).conv.weight", biasName = "\(prefix)cell_list.\(i).conv.bias"
            let shape = file.entry(weightName)!.shape
            guard shape.count == 4, shape[0] % 4 == 0, shape[0] > 0, shape[2] == shape[3], shape[2] % 2 == 1 else {
                throw bad("tensor '\(weightName)': shape \(describe(shape)) is not [4·Ch, Cin+Ch, K, K] with odd K")
            }
            let ch = shape[0] / 4, k = shape[2], cin = shape[1] - ch
            let expectedInput = i == 0 ? cin : hidden[i - 1]
            guard cin >= 1, cin == expectedInput else {
                throw bad("tensor '\(weightName)': shape \(describe(shape)) needs Cin + Ch = \(expectedInput + ch)"
                    + " (Ch = \(ch)\(i == 0 ? "" : ", Cin = hidden channels of layer \(i - 1)")), found \(shape[1])")
            }
            if i == 0 { inputChannels = cin }
            let weight = ConvLSTMLayout.swapLastTwoGates(try floats(file, weightName), hidden: ch)
            var bias = [Float](repeating: 0, count: 4 * ch)
            if let entry = file.entry(biasName) {
                guard entry.shape == [4 * ch] else {
                    throw bad("tensor '\(biasName)': expected shape \(describe([4 * ch])), found \(describe(entry.shape))")
                }
                bias = ConvLSTMLayout.swapLastTwoGates(try floats(file, biasName), hidden: ch)
                used.insert(biasName)
            }
            used.insert(weightName)
            tensors["layers.\(i).weight"] = Tensor(shape: shape, values: weight)
            tensors["layers.\(i).bias"] = Tensor(shape: [4 * ch], values: bias)
            hidden.append(ch)
            kernels.append(k)
            mapping.append("\(prefix)cell_list.\(i).conv -> layers.\(i) (gate blocks i, f, o, g -> i, f, g, o)")
        }

        let headPrefix = options.headName ?? "head"
        let headKind: HeadConfig.Kind
        let outputs: Int
        if let entry = file.entry("\(headPrefix).weight") {
            // A trained head would be dropped without a word; --new-head is for sources without one.
            guard options.newHeadOutputs == nil else {
                throw StrataError.invalidArgument(
                    name: "--new-head", reason: "\(path) has a head ('\(headPrefix).weight'); --new-head makes one "
                        + "only for a source without a head")
            }
            let ch = hidden.last!
            guard entry.shape.count == 4 || entry.shape.count == 2, entry.shape[1] == ch,
                  entry.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
                throw bad("tensor '\(headPrefix).weight': expected shape [O, \(ch), 1, 1] or [O, \(ch)],"
                    + " found \(describe(entry.shape))")
            }
            outputs = entry.shape[0]
            headKind = entry.shape.count == 4 ? .conv1x1 : .poolDense
            tensors["head.weight"] = Tensor(shape: entry.shape, values: try floats(file, "\(headPrefix).weight"))
            var bias = [Float](repeating: 0, count: outputs)
            if let biasEntry = file.entry("\(headPrefix).bias") {
                guard biasEntry.shape == [outputs] else {
                    throw bad("tensor '\(headPrefix).bias': expected shape \(describe([outputs])),"
                        + " found \(describe(biasEntry.shape))")
                }
                bias = try floats(file, "\(headPrefix).bias")
                used.insert("\(headPrefix).bias")
            }
            tensors["head.bias"] = Tensor(shape: [outputs], values: bias)
            used.insert("\(headPrefix).weight")
            mapping.append("\(headPrefix) -> head")
        } else if options.headName == nil, let count = options.newHeadOutputs, count >= 1 {
            let zero = ConvLSTMLayout.zeroHead(outputs: count, channels: hidden.last!)
            (tensors["head.weight"], tensors["head.bias"]) = (zero.weight, zero.bias)
            outputs = count
            headKind = .conv1x1
            mapping.append("(none) -> head, zero-initialised with \(count) outputs")
        } else {
            throw StrataError.unsupported(path: path, reason: "no tensor '\(headPrefix).weight' for the head; pass"
                + " --head-layer PREFIX for a head stored under another name, or --new-head OUTPUTS for a"
                + " zero-initialised head to train")
        }

        let (stored, recordTensors) = try StateDictRecords.read(file)
        used.formUnion(recordTensors)
        let leftover = file.names.filter { !used.contains($0) }
        guard leftover.isEmpty else {
            throw StrataError.unsupported(path: path, reason: "tensors Strata cannot map: "
                + leftover.prefix(8).map { "'\($0)'" }.joined(separator: ", ") + (leftover.count > 8 ? ", …" : "")
                + " (Strata imports cell_list.<i>.conv.{weight,bias} and a 1×1 head)")
        }
        // A task recorded by `strata export` sets the same defaults as --task.
        let kind = options.taskKind ?? stored.task?.kind.flatMap(TaskKind.init(rawValue:))
        let output = options.output ?? kind?.importedOutput ?? .last
        let activation = options.headActivation ?? kind?.importedHeadActivation ?? .none
        let config = ModelConfig(cell: .convLSTM, inputChannels: inputChannels, hidden: hidden, kernel: kernels,
                                 output: output, head: HeadConfig(kind: headKind, outputs: outputs, activation: activation))
        let checkpoint = try options.checkpoint(config: config, tensors: tensors, stored: stored)
        let assumptions = [
            "every layer pads by K//2 (\"same\") with stride 1, as ndrplz ConvLSTM does",
            "gates split i, f, o, g with sigmoid on i, f, o and tanh on g and on the cell state",
            "head activation \(activation.rawValue) (a state dict does not record it;"
                + " --head-activation to change)",
            "the head sees the \(output == .last ? "last step only" : "hidden state of every step")"
                + (options.output == nil ? " (--output to change)" : ""),
        ] + options.taskAssumptions(checkpoint)
        return ImportResult(checkpoint: checkpoint, mapping: mapping, assumptions: assumptions)
    }

    /// What ``export(_:to:)`` wrote: the file's SHA-256, every tensor's shape, and which Strata tensor went where.
    public struct Exported: Sendable {
        public var sha256: SHA256.Digest
        public var tensors: [String: [Int]]
        public var mapping: [String]
    }

    /// Writes `checkpoint`'s weights as an ndrplz-style state dict: `cell_list.{i}.conv.weight/bias` with the
    /// gate blocks reordered to i, f, o, g, `head.weight`, `head.bias` unchanged, and the input (and yield target)
    /// normalisation as `input_mean`, `input_std` (`target_mean`, `target_std`) tensors and metadata
    /// (``StateDictRecords``): without them a PyTorch user feeding raw inputs gets wrong outputs.
    ///
    /// - Throws: ``StrataError/unsupported(path:reason:)`` for models ndrplz cannot express (ConvGRU/ConvRNN,
    ///   peepholes, bidirectional layers, the encoder–forecaster).
    @discardableResult
    public static func export(_ checkpoint: ModelCheckpoint, to path: String) throws -> Exported {
        let config = checkpoint.config
        var problems: [String] = []
        if config.cell != .convLSTM { problems.append("cell \(config.cell.rawValue) (ndrplz has ConvLSTM only)") }
        if config.peephole != .none { problems.append("peepholes") }
        if config.bidirectional { problems.append("bidirectional layers") }
        if config.architecture != .stack { problems.append("architecture \(config.architecture.rawValue)") }
        if config.spaceToDepth != 1 {
            problems.append("space_to_depth \(config.spaceToDepth) (fold with pixel_unshuffle outside the model)")
        }
        guard problems.isEmpty else {
            throw StrataError.unsupported(path: path, reason: "an ndrplz ConvLSTM state dict cannot hold "
                + problems.joined(separator: ", "))
        }
        try checkpoint.validate()
        var written: [String: Tensor] = [:]
        var mapping: [String] = []
        for (i, ch) in config.hidden.enumerated() {
            let weight = checkpoint.tensors["layers.\(i).weight"]!, bias = checkpoint.tensors["layers.\(i).bias"]!
            written["cell_list.\(i).conv.weight"] = Tensor(
                shape: weight.shape, values: ConvLSTMLayout.swapLastTwoGates(weight.floats, hidden: ch))
            written["cell_list.\(i).conv.bias"] = Tensor(
                shape: bias.shape, values: ConvLSTMLayout.swapLastTwoGates(bias.floats, hidden: ch))
            mapping.append("layers.\(i) -> cell_list.\(i).conv (gate blocks i, f, g, o -> i, f, o, g)")
        }
        written["head.weight"] = checkpoint.tensors["head.weight"]!
        written["head.bias"] = checkpoint.tensors["head.bias"]!
        mapping.append("head -> head")
        let records = StateDictRecords.tensors(for: checkpoint)
        written.merge(records) { _, record in record }
        if checkpoint.normalization != nil {
            mapping.append("normalization -> input_mean, input_std (inputs become (x - mean) / std per channel)")
        }
        if checkpoint.task?.targetNormalization != nil {
            mapping.append("task.target_normalization -> target_mean, target_std (outputs become mean + std * y)")
        }

        var writer = SafeTensorsWriter()
        for (name, tensor) in written { try writer.add(name, tensor) }
        writer.metadata["gate_order"] = gateOrder
        writer.metadata["naming"] = "ndrplz/ConvLSTM_pytorch"
        try writer.setMetadata("strata_config", json: config)
        try StateDictRecords.setMetadata(for: checkpoint, in: &writer)
        return Exported(sha256: try writer.write(to: path), tensors: written.mapValues(\.shape), mapping: mapping)
    }

    /// What PyTorch code must do around the exported weights for them to give Strata's outputs, one line each
    /// (the "check against the model's code" list of `strata export`).
    public static func exportInstructions(_ checkpoint: ModelCheckpoint) -> [String] {
        var lines: [String] = []
        if let n = checkpoint.normalization {
            lines.append("normalise the inputs first: x = (x - input_mean) / input_std per channel c of every step"
                + " (x [B, T, C, H, W]: mean.view(1, 1, -1, 1, 1)); mean \(n.mean), std \(n.std); set nodata to 0"
                + " after normalising")
        } else {
            lines.append("the model takes raw inputs (no normalisation recorded); set nodata to 0")
        }
        lines.append("head activation \(checkpoint.config.head.activation.rawValue) is not stored in a state dict:"
            + " apply it in the PyTorch code")
        if let t = checkpoint.task?.targetNormalization {
            lines.append("map the head's output back: y = target_mean + target_std * y (mean \(t.mean), std \(t.std))")
        }
        return lines
    }

    /// A floating-point tensor (F32, F64, F16, BF16) as float32 values.
    private static func floats(_ file: SafeTensorsFile, _ name: String) throws -> [Float] {
        let entry = file.entry(name)!
        guard [.float32, .float64, .float16, .bfloat16].contains(entry.dtype) else {
            throw StrataError.unsupported(path: file.path, reason: "tensor '\(name)' is \(entry.dtype.rawValue),"
                + " not a floating-point tensor")
        }
        return try file.tensor(name).floats
    }

    static func describe(_ shape: [Int]) -> String { ModelCheckpoint.describe(shape) }
}
