import StrataCore
import StrataIO

/// What a Strata model needs besides its weights — input normalisation, target normalisation, task — carried in a
/// PyTorch state dict, where a PyTorch user can apply it and `strata import` reads it back.
///
/// - Tensors (F32, for PyTorch code): `input_mean`, `input_std` `[C]` (inputs become `(x − mean) / std` per
///   channel); `target_mean`, `target_std` `[1]` (yield: outputs become `mean + std · y`). A bare ndrplz model
///   loaded with `load_state_dict(state, strict=False)` ignores them.
/// - Metadata (JSON strings, exact doubles): `normalization` (`{"mean", "std", "count"}`, as in a checkpoint) and
///   `strata_task` (the checkpoint's `task`, target normalisation included).
///
/// On import the metadata wins over the tensors (it holds the doubles the float32 tensors were rounded from);
/// tensors alone (a state dict made in Python) are read too, with count 0.
enum StateDictRecords {
    static let inputMean = "input_mean", inputStd = "input_std"
    static let targetMean = "target_mean", targetStd = "target_std"
    static let normalizationKey = "normalization", taskKey = "strata_task"

    /// The tensors to add to an exported state dict, and the metadata entries (JSON) to set.
    static func tensors(for checkpoint: ModelCheckpoint) -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        func add(_ stats: NormalizationStats, mean: String, std: String) {
            tensors[mean] = Tensor(shape: [stats.channels], values: stats.mean.map { Float($0) })
            tensors[std] = Tensor(shape: [stats.channels], values: stats.std.map { Float($0) })
        }
        if let input = checkpoint.normalization { add(input, mean: inputMean, std: inputStd) }
        if let target = checkpoint.task?.targetNormalization { add(target, mean: targetMean, std: targetStd) }
        return tensors
    }

    static func setMetadata(for checkpoint: ModelCheckpoint, in writer: inout SafeTensorsWriter) throws {
        if let input = checkpoint.normalization { try writer.setMetadata(normalizationKey, json: input) }
        if let task = checkpoint.task { try writer.setMetadata(taskKey, json: task) }
    }

    /// Reads the records of `file`; returns them and the tensor names they used (not weights, not leftovers).
    ///
    /// - Throws: ``StrataError/invalidHeader(path:reason:)`` for a mean without its std (or the reverse), a record
    ///   tensor that is not one-dimensional, or metadata that is not the JSON described above.
    static func read(_ file: SafeTensorsFile) throws -> (records: ImportOptions.StoredExtras, tensors: Set<String>) {
        var used = Set<String>()
        func stats(mean: String, std: String) throws -> NormalizationStats? {
            let (meanEntry, stdEntry) = (file.entry(mean), file.entry(std))
            if meanEntry == nil, stdEntry == nil { return nil }
            guard let meanEntry, let stdEntry else {
                let (present, missing) = meanEntry == nil ? (std, mean) : (mean, std)
                throw StrataError.invalidHeader(path: file.path, reason: "tensor '\(present)' without '\(missing)'")
            }
            for (name, entry) in [(mean, meanEntry), (std, stdEntry)] where entry.shape.count != 1 {
                throw StrataError.invalidHeader(path: file.path, reason: "tensor '\(name)': expected one value per"
                    + " channel, found shape \(ModelCheckpoint.describe(entry.shape))")
            }
            used.formUnion([mean, std])
            let means = try file.tensor(mean).floats.map(Double.init), stds = try file.tensor(std).floats.map(Double.init)
            guard means.count == stds.count else {
                throw StrataError.invalidHeader(path: file.path, reason: "tensors '\(mean)' and '\(std)' differ in"
                    + " length (\(means.count), \(stds.count))")
            }
            guard stds.allSatisfy({ $0 > 0 && $0.isFinite }), means.allSatisfy(\.isFinite) else {
                throw StrataError.invalidHeader(path: file.path, reason: "tensors '\(mean)', '\(std)': every mean must"
                    + " be finite and every std finite and > 0")
            }
            return NormalizationStats(mean: means, std: stds, count: [Int](repeating: 0, count: means.count))
        }
        let inputTensors = try stats(mean: inputMean, std: inputStd)
        let targetTensors = try stats(mean: targetMean, std: targetStd)
        var records = ImportOptions.StoredExtras()
        records.normalization = try ModelCheckpoint.decode(NormalizationStats.self, key: normalizationKey, from: file)
            ?? inputTensors
        records.task = try ModelCheckpoint.decode(TaskInfo.self, key: taskKey, from: file)
        if let targetTensors, records.task?.targetNormalization == nil {
            records.task = records.task ?? TaskInfo()
            records.task?.targetNormalization = targetTensors
        }
        return (records, used)
    }
}
