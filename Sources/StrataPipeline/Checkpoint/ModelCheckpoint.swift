import Foundation
import StrataCore
import StrataIO
import StrataModel

/// A trained (or imported) model as one safetensors file: architecture, float32 weights, input normalisation,
/// task description and, for `--resume`, the training state.
///
/// File layout (docs/formats-checkpoint.md): one F32 tensor per entry of `config.parameterShapes()`, named exactly
/// so; optimizer tensors under `optimizer.*`; `__metadata__` holds `format` = `strata-checkpoint/1` and the JSON
/// strings `config`, `normalization`, `training`, `task` (each but `config` optional), plus the `sha256` of the
/// data that ``SafeTensorsWriter`` adds. Writes are atomic.
///
/// ```swift
/// let checkpoint = ModelCheckpoint(config: config, tensors: weights, normalization: stats,
///                                  training: TrainingState(seed: 42), task: TaskInfo(kind: "segmentation"))
/// try checkpoint.save(to: "run/best.safetensors")
/// let resumed = try ModelCheckpoint.load(from: "run/best.safetensors")        // everything
/// let forPrediction = try ModelCheckpoint.loadWeights(from: "run/best.safetensors")  // training == nil
/// ```
public struct ModelCheckpoint: Sendable {
    /// The value of `__metadata__["format"]` this version writes and reads.
    public static let format = "strata-checkpoint/1"

    /// Metadata keys (`sha256` is added by the writer).
    public enum MetadataKey {
        public static let format = "format", config = "config", normalization = "normalization"
        public static let training = "training", task = "task"
    }

    public var config: ModelConfig
    /// float32 weights named and shaped as `config.parameterShapes()`.
    public var tensors: [String: Tensor]
    /// Per-channel input statistics (`config.input_channels` channels); nil for a model that takes raw inputs.
    public var normalization: NormalizationStats?
    /// What `--resume` needs; nil for a finished or imported model.
    public var training: TrainingState?
    public var task: TaskInfo?

    public init(config: ModelConfig, tensors: [String: Tensor], normalization: NormalizationStats? = nil,
                training: TrainingState? = nil, task: TaskInfo? = nil) {
        self.config = config
        self.tensors = tensors
        self.normalization = normalization
        self.training = training
        self.task = task
    }

    // MARK: Save

    /// Checks the checkpoint (``validate()``) and writes it atomically to `path`.
    ///
    /// - Returns: the SHA-256 of the data buffer, also recorded in the file.
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` listing every inconsistency (the file is not
    ///   written), or the writer's file-system errors.
    @discardableResult
    public func save(to path: String) throws -> SHA256.Digest {
        try validate()
        var writer = SafeTensorsWriter()
        for name in tensors.keys.sorted() { try writer.add(name, tensors[name]!) }
        writer.metadata[MetadataKey.format] = Self.format
        try writer.setMetadata(MetadataKey.config, json: config)
        if let normalization { try writer.setMetadata(MetadataKey.normalization, json: normalization) }
        if let task { try writer.setMetadata(MetadataKey.task, json: task) }
        if let training {
            for name in training.optimizerState.tensors.keys.sorted() {
                try writer.add(name, training.optimizerState.tensors[name]!)
            }
            try writer.setMetadata(MetadataKey.training, json: training.metadata)
        }
        return try writer.write(to: path)
    }

    /// Every inconsistency between the parts, in one error: the configuration's own rules, each weight against
    /// `config.parameterShapes()` (missing, unexpected, not float32, wrong shape), optimizer tensor names, and the
    /// channel counts of the normalisation statistics and task names.
    public func validate() throws {
        do {
            try config.validate()
        } catch let error as StrataError {
            throw StrataError.invalidArgument(name: "checkpoint config", reason: error.description)
        }
        var found = tensors.mapValues { (SafeTensorsDType($0.dtype), $0.shape) }
        for (name, tensor) in training?.optimizerState.tensors ?? [:] {
            guard name.hasPrefix(TrainingState.optimizerPrefix) else {
                throw StrataError.invalidArgument(
                    name: "optimizer state", reason: "tensor '\(name)' does not start with 'optimizer.'")
            }
            found[name] = (SafeTensorsDType(tensor.dtype), tensor.shape)
        }
        var problems = Self.tensorProblems(config: config, found: found, optimizerAllowed: training != nil)
        problems += Self.metadataProblems(config: config, normalization: normalization, task: task)
        guard problems.isEmpty else {
            throw StrataError.invalidArgument(name: "checkpoint", reason: problems.joined(separator: "; "))
        }
    }

    // MARK: Load

    /// Loads and checks a whole checkpoint, training state included.
    ///
    /// Checks, in order, each failing with a ``StrataError/invalidHeader(path:reason:)`` that names the file and
    /// the key or tensor at fault: the safetensors layout and SHA-256 (``SafeTensorsFile``); `format`; the
    /// `config` JSON and `config.validate()`; every tensor against `config.parameterShapes()` (all problems in
    /// one message, e.g. `tensor 'layers.0.weight': expected shape [256, 65, 5, 5], found [256, 65, 3, 3]`);
    /// then `normalization`, `task` and `training`.
    public static func load(from path: String) throws -> ModelCheckpoint {
        try load(SafeTensorsFile(path: path), weightsOnly: false)
    }

    /// Loads what prediction needs (config, weights, normalisation, task) and ignores the training state and
    /// optimizer tensors, so a checkpoint whose training part a newer Strata changed still predicts.
    public static func loadWeights(from path: String) throws -> ModelCheckpoint {
        try load(SafeTensorsFile(path: path), weightsOnly: true)
    }

    /// Loads from a file already read (e.g. to also look at its raw metadata).
    public static func load(_ file: SafeTensorsFile, weightsOnly: Bool) throws -> ModelCheckpoint {
        func fail(_ reason: String) -> StrataError { .invalidHeader(path: file.path, reason: reason) }
        guard let format = file.metadata[MetadataKey.format] else {
            throw fail("no metadata entry 'format': not a Strata checkpoint (expected '\(Self.format)'; convert"
                + " Keras or PyTorch weights with `strata import`)")
        }
        guard format == Self.format else {
            throw fail("metadata entry 'format' is '\(format)', expected '\(Self.format)'")
        }
        let config = try decode(ModelConfig.self, key: MetadataKey.config, from: file, required: true)!
        do {
            try config.validate()
        } catch let error as StrataError {
            throw fail("metadata entry 'config': \(error.description)")
        }

        let found = file.entries.mapValues { ($0.dtype, $0.shape) }
        let problems = tensorProblems(config: config, found: found, optimizerAllowed: true)
        guard problems.isEmpty else { throw fail(problems.joined(separator: "; ")) }
        var tensors: [String: Tensor] = [:]
        for (name, _) in config.parameterShapes() { tensors[name] = try file.tensor(name) }

        let normalization = try decode(NormalizationStats.self, key: MetadataKey.normalization, from: file)
        let task = try decode(TaskInfo.self, key: MetadataKey.task, from: file)
        let described = metadataProblems(config: config, normalization: normalization, task: task)
        guard described.isEmpty else { throw fail(described.joined(separator: "; ")) }

        let optimizerNames = file.names.filter { $0.hasPrefix(TrainingState.optimizerPrefix) }
        var training: TrainingState?
        if !weightsOnly {
            if let metadata = try decode(TrainingState.Metadata.self, key: MetadataKey.training, from: file) {
                var optimizerTensors: [String: Tensor] = [:]
                for name in optimizerNames { optimizerTensors[name] = try file.tensor(name) }
                training = try TrainingState(metadata: metadata, optimizerTensors: optimizerTensors) {
                    fail("metadata entry 'training': \($0)")
                }
            } else if let name = optimizerNames.first {
                throw fail("tensor '\(name)' is optimizer state but there is no metadata entry 'training'")
            }
        }
        return ModelCheckpoint(config: config, tensors: tensors, normalization: normalization,
                               training: training, task: task)
    }

    // MARK: Checks shared by save and load

    /// Problems of a set of tensors (name -> dtype, shape) against the configuration, one phrase each, in the
    /// order of `parameterShapes()` and then sorted unexpected names.
    static func tensorProblems(config: ModelConfig, found: [String: (SafeTensorsDType, [Int])],
                               optimizerAllowed: Bool) -> [String] {
        var problems: [String] = []
        let expected = config.parameterShapes()
        for (name, shape) in expected {
            guard let (dtype, actual) = found[name] else {
                problems.append("no tensor '\(name)'")
                continue
            }
            if dtype != .float32 { problems.append("tensor '\(name)': expected dtype F32, found \(dtype.rawValue)") }
            if actual != shape {
                problems.append("tensor '\(name)': expected shape \(describe(shape)), found \(describe(actual))")
            }
        }
        let known = Set(expected.map(\.name))
        let shapes = Dictionary(expected.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
        for name in found.keys.sorted() where !known.contains(name) {
            guard optimizerAllowed, name.hasPrefix(TrainingState.optimizerPrefix) else {
                problems.append("unexpected tensor '\(name)'")
                continue
            }
            let (dtype, shape) = found[name]!
            if dtype != .float32 { problems.append("tensor '\(name)': expected dtype F32, found \(dtype.rawValue)") }
            // `optimizer.<parameter>.<buffer>`: a per-parameter buffer has its parameter's shape.
            let rest = name.dropFirst(TrainingState.optimizerPrefix.count)
            if let dot = rest.lastIndex(of: "."), let parameterShape = shapes[String(rest[..<dot])],
               shape != parameterShape {
                problems.append("tensor '\(name)': expected shape \(describe(parameterShape)) (as"
                    + " '\(rest[..<dot])'), found \(describe(shape))")
            }
        }
        return problems
    }

    static func metadataProblems(config: ModelConfig, normalization: NormalizationStats?, task: TaskInfo?) -> [String] {
        var problems: [String] = []
        if let n = normalization {
            if n.mean.count != config.inputChannels || n.std.count != config.inputChannels
                || n.count.count != config.inputChannels {
                problems.append("normalization: mean, std and count need \(config.inputChannels) values each"
                    + " (input_channels), found \(n.mean.count), \(n.std.count), \(n.count.count)")
            }
            if !n.std.allSatisfy({ $0 > 0 && $0.isFinite }) || !n.mean.allSatisfy(\.isFinite) {
                problems.append("normalization: every mean must be finite and every std finite and > 0")
            }
        }
        if let bands = task?.bandNames, bands.count != config.inputChannels {
            problems.append("task.band_names: \(bands.count) names for \(config.inputChannels) input channels")
        }
        if let targets = task?.targetNames, targets.count != config.head.outputs {
            problems.append("task.target_names: \(targets.count) names for \(config.head.outputs) head outputs")
        }
        if let size = task?.patchSize, size.count != 2 || !size.allSatisfy({ $0 >= 1 }) {
            problems.append("task.patch_size: \(size) is not [H, W] with H, W >= 1")
        }
        if let steps = task?.minimumInputSteps, steps < 1 {
            problems.append("task.min_input_steps: \(steps), must be at least 1")
        }
        return problems
    }

    /// Decodes the JSON string under `key`; nil if absent and not required. Errors name the key and say what in
    /// the JSON is wrong in one line (the JSON decoder's own messages are long and name Swift types).
    static func decode<Value: Decodable>(_ type: Value.Type, key: String, from file: SafeTensorsFile,
                                         required: Bool = false) throws -> Value? {
        guard let text = file.metadata[key] else {
            if required { throw StrataError.invalidHeader(path: file.path, reason: "no metadata entry '\(key)'") }
            return nil
        }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw StrataError.invalidHeader(path: file.path, reason: "metadata entry '\(key)': \(explain(error))")
        } catch {
            throw StrataError.invalidHeader(path: file.path, reason: "metadata entry '\(key)': \(error)")
        }
    }

    static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return String(joined.drop(while: { $0 == "." }))
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing key '\(parent.isEmpty ? "" : parent + ".")\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "key '\(path(context))' has the wrong type (\(context.debugDescription))"
        case .dataCorrupted(let context):
            let at = path(context)
            if at.isEmpty { return "not valid JSON" }
            return "key '\(at)': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    static func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
