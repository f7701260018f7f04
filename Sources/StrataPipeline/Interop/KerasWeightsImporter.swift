import Foundation
import StrataCore
import StrataIO
import StrataModel

/// Imports a Keras 3 model of stacked `ConvLSTM2D` layers and a 1×1 head from its `.weights.h5` file
/// (`model.save_weights("model.weights.h5")`) into a Strata checkpoint.
///
/// Keras 3 stores each layer's variables as numbered datasets: a `ConvLSTM2D` named `conv_lstm2d` has
/// `layers/conv_lstm2d/cell/vars/0` kernel `[K, K, Cin, 4·Ch]` (channels last), `vars/1` recurrent kernel
/// `[K, K, Ch, 4·Ch]` and `vars/2` bias `[4·Ch]`, gate blocks i, f, c, o; a `Conv2D` head `layers/conv2d/vars/0`
/// kernel `[1, 1, Ch, O]` and `vars/1` bias `[O]` (`Conv3D`: `[1, 1, 1, Ch, O]`; `Dense` after global pooling:
/// `[Ch, O]`). Sizes come from these shapes. The file records no activations, padding or layer order: the
/// importer takes Keras' defaults (tanh, sigmoid, which match Strata's cell), assumes `padding="same"` with
/// stride and dilation 1, orders layers by Keras' numbered names (`conv_lstm2d`, `conv_lstm2d_1` ...) and
/// checks that each layer's input channels equal the previous layer's hidden channels.
///
/// ```swift
/// var options = ImportOptions()
/// options.headActivation = .sigmoid          // weights files store no activations
/// let result = try KerasWeightsImporter.importFile("model.weights.h5", options: options)
/// result.checkpoint.config.hidden     // [4, 5]
/// ```
public enum KerasWeightsImporter {
    /// One Keras layer's variables: `owner` is the group path holding `vars/0 ...`.
    struct Owner {
        var owner: String
        var vars: [HDF5Tree.Dataset]
        /// The Keras layer name: the group below `layers/` (`conv_lstm2d_1`), without `/cell`.
        var layerName: String {
            let components = owner.split(separator: "/").map(String.init)
            return components.last == "cell" && components.count >= 2 ? components[components.count - 2]
                : components.last ?? owner
        }
    }

    struct Recurrent {
        var name: String, kernel: HDF5Tree.Dataset, recurrent: HDF5Tree.Dataset, bias: HDF5Tree.Dataset?
        var k: Int, cin: Int, ch: Int
    }

    struct Head {
        enum Kind { case conv2d, conv3d, dense }
        var name: String, kind: Kind, kernel: HDF5Tree.Dataset, bias: HDF5Tree.Dataset?
        var channels: Int, outputs: Int, timeDistributed: Bool
    }

    /// Reads `path` and converts it.
    ///
    /// - Throws: ``StrataError`` naming the file and the layer or dataset at fault: `unreadable` for a file that
    ///   is not HDF5 or holds no Keras 3 variables, `unsupported` for layers Strata cannot map (Keras 2 files,
    ///   `ConvLSTM1D/3D`, normalisation layers, a head wider than 1×1), `invalidHeader` for a shape that does not
    ///   fit the layer, `invalidArgument` for an option that names nothing in the file.
    public static func importFile(_ path: String, options: ImportOptions = ImportOptions()) throws -> ImportResult {
        let tree = try HDF5Tree(path: path)
        let owners = try groupVariables(tree)
        var recurrent: [Recurrent] = []
        var heads: [Head] = []
        for owner in owners {
            if let layer = try recurrentLayer(owner, path: path) {
                recurrent.append(layer)
            } else if let head = try headLayer(owner, path: path) {
                heads.append(head)
            } else {
                let shapes = owner.vars.map { describe($0.shape) }.joined(separator: ", ")
                throw StrataError.unsupported(path: path, reason: "layer '\(owner.layerName)' has variables"
                    + " \(shapes) that are neither a ConvLSTM2D nor a 1×1 head; Strata imports stacked"
                    + " ConvLSTM2D layers and one Conv2D/Conv3D/Dense head")
            }
        }
        guard !recurrent.isEmpty else {
            throw StrataError.unsupported(path: path, reason: "no ConvLSTM2D layer (no '<layer>/cell/vars/0..2'"
                + " datasets); layers found: \(owners.map(\.layerName).joined(separator: ", "))")
        }
        let layers = try order(recurrent, options.layerOrder, path: path)
        let head = try chooseHead(heads, options: options, lastHidden: layers.last!.ch, path: path)

        var tensors: [String: Tensor] = [:]
        var mapping: [String] = []
        for (index, layer) in layers.enumerated() {
            let weight = ConvLSTMLayout.strataWeight(
                kernel: try tree.floats(layer.kernel.path), recurrent: try tree.floats(layer.recurrent.path),
                k: layer.k, cin: layer.cin, ch: layer.ch)
            tensors["layers.\(index).weight"] = Tensor(shape: [4 * layer.ch, layer.cin + layer.ch, layer.k, layer.k],
                                                       values: weight)
            tensors["layers.\(index).bias"] = Tensor(
                shape: [4 * layer.ch],
                values: try layer.bias.map { try tree.floats($0.path) } ?? [Float](repeating: 0, count: 4 * layer.ch))
            mapping.append("\(layer.name) -> layers.\(index)")
        }
        let inferredOutput: ModelConfig.Output
        let headKind: HeadConfig.Kind
        let outputs: Int
        if let head {
            // [1, 1, Ch, O] / [1, 1, 1, Ch, O] / [Ch, O]: the same numbers row-major as [Ch, O]; Strata wants [O, Ch].
            let values = try tree.floats(head.kernel.path)
            var weight = [Float](repeating: 0, count: values.count)
            for c in 0..<head.channels {
                for o in 0..<head.outputs { weight[o * head.channels + c] = values[c * head.outputs + o] }
            }
            headKind = head.kind == .dense ? .poolDense : .conv1x1
            tensors["head.weight"] = Tensor(shape: headKind == .conv1x1 ? [head.outputs, head.channels, 1, 1]
                                                : [head.outputs, head.channels], values: weight)
            tensors["head.bias"] = Tensor(shape: [head.outputs], values: try head.bias.map { try tree.floats($0.path) }
                                            ?? [Float](repeating: 0, count: head.outputs))
            inferredOutput = head.kind == .conv3d || head.timeDistributed ? .sequence : .last
            outputs = head.outputs
            mapping.append("\(head.name) -> head")
        } else {
            let count = options.newHeadOutputs!
            let zero = ConvLSTMLayout.zeroHead(outputs: count, channels: layers.last!.ch)
            (tensors["head.weight"], tensors["head.bias"]) = (zero.weight, zero.bias)
            headKind = .conv1x1
            inferredOutput = .last
            outputs = count
            mapping.append("(none) -> head, zero-initialised with \(count) outputs")
        }
        let output = options.output ?? inferredOutput
        let config = ModelConfig(cell: .convLSTM, inputChannels: layers[0].cin, hidden: layers.map(\.ch),
                                 kernel: layers.map(\.k), output: output,
                                 head: HeadConfig(kind: headKind, outputs: outputs,
                                                  activation: options.resolvedHeadActivation))
        let checkpoint = try options.checkpoint(config: config, tensors: tensors)
        let assumptions = [
            "every ConvLSTM2D has padding=\"same\", strides 1, dilation_rate 1, data_format=\"channels_last\"",
            "every ConvLSTM2D has activation=\"tanh\", recurrent_activation=\"sigmoid\" (Keras defaults)",
            "layer order \(layers.map(\.name).joined(separator: " -> "))"
                + (options.layerOrder == nil ? " (from the numbered names; --layer-order to change)" : ""),
            "head activation \(options.resolvedHeadActivation.rawValue)"
                + " (a weights file does not record it; --head-activation to change)",
            "the head sees the \(output == .last ? "last step only" : "hidden state of every step")"
                + (options.output == nil ? " (from the head layer; --output to change)" : ""),
        ] + options.taskAssumptions(checkpoint)
        return ImportResult(checkpoint: checkpoint, mapping: mapping, assumptions: assumptions)
    }

    /// Groups `<owner>/vars/<n>` datasets by owner, variables in index order.
    static func groupVariables(_ tree: HDF5Tree) throws -> [Owner] {
        var byOwner: [String: [(Int, HDF5Tree.Dataset)]] = [:]
        for dataset in tree.datasets {
            let components = dataset.path.split(separator: "/")
            guard components.count >= 3, components[components.count - 2] == "vars",
                  let index = Int(components[components.count - 1]) else { continue }
            byOwner[components.dropLast(2).joined(separator: "/"), default: []].append((index, dataset))
        }
        guard !byOwner.isEmpty else {
            if tree.datasets.contains(where: { $0.path.contains(":0") }) {
                throw StrataError.unsupported(path: tree.path, reason: "a Keras 2 weights file (datasets named"
                    + " like 'kernel:0'); load the model in Keras 3 and save it with"
                    + " model.save_weights(\"model.weights.h5\")")
            }
            let listed = tree.datasets.prefix(8).map(\.path).joined(separator: ", ")
            throw StrataError.unreadable(path: tree.path, reason: "not a Keras 3 weights file: no"
                + " '<layer>/vars/<n>' datasets (datasets: \(listed.isEmpty ? "none" : listed))")
        }
        return byOwner.keys.sorted().map { owner in
            Owner(owner: owner, vars: byOwner[owner]!.sorted { $0.0 < $1.0 }.map(\.1))
        }
    }

    /// A ConvLSTM2D cell (`<layer>/cell` with kernel, recurrent kernel and optional bias), or nil if `owner` is
    /// not a recurrent cell.
    static func recurrentLayer(_ owner: Owner, path: String) throws -> Recurrent? {
        guard owner.owner.hasSuffix("/cell") || owner.owner == "cell" else { return nil }
        let name = owner.layerName
        func bad(_ reason: String) -> StrataError { .invalidHeader(path: path, reason: "layer '\(name)': \(reason)") }
        guard (2...3).contains(owner.vars.count) else {
            throw bad("\(owner.vars.count) cell variables, expected kernel, recurrent kernel and bias")
        }
        let kernel = owner.vars[0], recurrent = owner.vars[1]
        guard kernel.shape.count == 4 else {
            throw StrataError.unsupported(path: path, reason: "layer '\(name)': kernel \(describe(kernel.shape))"
                + " is not a ConvLSTM2D kernel [K, K, Cin, 4·Ch] (ConvLSTM1D/3D and LSTM are not imported)")
        }
        let (kh, kw, cin, gates) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
        guard gates % 4 == 0, gates > 0 else { throw bad("kernel \(describe(kernel.shape)): last axis is not 4·Ch") }
        let ch = gates / 4
        guard kh == kw, kh % 2 == 1 else {
            throw StrataError.unsupported(path: path, reason: "layer '\(name)': kernel \(kh)×\(kw); Strata's"
                + " ConvLSTM needs a square, odd kernel")
        }
        guard recurrent.shape == [kh, kw, ch, gates] else {
            throw bad("recurrent kernel '\(recurrent.path)' has shape \(describe(recurrent.shape)), expected"
                + " \(describe([kh, kw, ch, gates]))")
        }
        var bias: HDF5Tree.Dataset?
        if owner.vars.count == 3 {
            bias = owner.vars[2]
            guard bias!.shape == [gates] else {
                throw bad("bias '\(bias!.path)' has shape \(describe(bias!.shape)), expected \(describe([gates]))")
            }
        }
        return Recurrent(name: name, kernel: kernel, recurrent: recurrent, bias: bias, k: kh, cin: cin, ch: ch)
    }

    /// A 1×1 head candidate (`Conv2D`, `Conv3D` or `Dense` variables), or nil if the shapes are none of those.
    static func headLayer(_ owner: Owner, path: String) throws -> Head? {
        guard (1...2).contains(owner.vars.count) else { return nil }
        let kernel = owner.vars[0], shape = kernel.shape
        let kind: Head.Kind
        switch shape.count {
        case 2: kind = .dense
        case 4: kind = .conv2d
        case 5: kind = .conv3d
        default: return nil
        }
        let outputs = shape[shape.count - 1], channels = shape[shape.count - 2]
        if shape.dropLast(2).contains(where: { $0 != 1 }) {
            throw StrataError.unsupported(path: path, reason: "layer '\(owner.layerName)': kernel"
                + " \(describe(shape)) is not 1×1; Strata heads are 1×1 convolutions")
        }
        let bias = owner.vars.count == 2 ? owner.vars[1] : nil
        if let bias, bias.shape != [outputs] {
            throw StrataError.invalidHeader(path: path, reason: "layer '\(owner.layerName)': bias '\(bias.path)'"
                + " has shape \(describe(bias.shape)), expected \(describe([outputs]))")
        }
        return Head(name: owner.layerName, kind: kind, kernel: kernel, bias: bias, channels: channels,
                    outputs: outputs, timeDistributed: owner.owner.contains("time_distributed"))
    }

    /// Bottom-first order: the user's, or Keras' numbered names (`conv_lstm2d` < `conv_lstm2d_1` <
    /// `conv_lstm2d_10`); then each layer's input channels must be the previous layer's hidden channels.
    static func order(_ layers: [Recurrent], _ names: [String]?, path: String) throws -> [Recurrent] {
        var ordered: [Recurrent]
        if let names {
            let byName = Dictionary(layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            guard Set(names) == Set(byName.keys), names.count == layers.count else {
                throw StrataError.invalidArgument(name: "--layer-order", reason: "\(names.joined(separator: ","))"
                    + " must name each ConvLSTM2D layer once: \(layers.map(\.name).sorted().joined(separator: ", "))")
            }
            ordered = names.map { byName[$0]! }
        } else {
            func key(_ name: String) -> (String, Int) {
                guard let underscore = name.lastIndex(of: "_"),
                      let number = Int(name[name.index(after: underscore)...]) else { return (name, 0) }
                return (String(name[..<underscore]), number + 1)
            }
            ordered = layers.sorted { key($0.name) < key($1.name) }
        }
        for i in ordered.indices.dropFirst() where ordered[i].cin != ordered[i - 1].ch {
            throw StrataError.invalidHeader(path: path, reason: "layer '\(ordered[i].name)' takes"
                + " \(ordered[i].cin) input channels but '\(ordered[i - 1].name)' before it has \(ordered[i - 1].ch)"
                + " hidden channels; pass --layer-order with the model's order")
        }
        return ordered
    }

    static func chooseHead(_ heads: [Head], options: ImportOptions, lastHidden: Int, path: String) throws -> Head? {
        let names = heads.map(\.name).joined(separator: ", ")
        var head: Head
        if !heads.isEmpty, options.newHeadOutputs != nil {
            throw StrataError.invalidArgument(
                name: "--new-head", reason: "\(path) has a head layer (\(names)); --new-head makes one only for a "
                    + "source without a head")
        }
        if let wanted = options.headName {
            guard let match = heads.first(where: { $0.name == wanted }) else {
                throw StrataError.invalidArgument(name: "--head-layer", reason: "no 1×1 layer '\(wanted)' in \(path)"
                    + " (candidates: \(names.isEmpty ? "none" : names))")
            }
            head = match
        } else {
            switch heads.count {
            case 0:
                guard let outputs = options.newHeadOutputs, outputs >= 1 else {
                    throw StrataError.unsupported(path: path, reason: "no head layer (Conv2D/Conv3D 1×1 or Dense);"
                        + " pass --new-head OUTPUTS for a zero-initialised head to train")
                }
                return nil
            case 1: head = heads[0]
            default:
                throw StrataError.invalidArgument(name: "--head-layer", reason: "\(path) has several head"
                    + " candidates (\(names)); name the one to use")
            }
        }
        guard head.channels == lastHidden else {
            throw StrataError.invalidHeader(path: path, reason: "head '\(head.name)' takes \(head.channels) channels"
                + " but the last ConvLSTM2D has \(lastHidden)")
        }
        return head
    }

    static func describe(_ shape: [Int]) -> String { ModelCheckpoint.describe(shape) }
}
