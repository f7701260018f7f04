import Foundation
import StrataCore
import StrataIO
import StrataModel
import Yams

/// Turns the YAML tree of a job file into a ``TrainingConfig``: the list of valid keys per section lives here and
/// only here (docs/config.md mirrors it).
struct TrainingConfigParser {
    let file: String
    let baseFolder: String

    static let topKeys = ["task", "inputs", "targets", "model", "precision", "optimizer", "schedule", "epochs",
                          "batch", "patch", "samples_per_epoch", "sampling", "validation", "loss",
                          "early_stopping", "clip_norm", "seed", "threads", "checkpoint_every", "output"]

    func parse(_ root: Node) throws -> TrainingConfig {
        let top = try YAMLSection(root, file: file, path: "", allowed: Self.topKeys)
        guard let taskName = try top.choice("task", TaskKind.allCases.map(\.rawValue)) else {
            throw StrataError.invalidArgument(name: file, reason: "missing key 'task' (one of "
                + TaskKind.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        guard let inputSection = try top.section(
            "inputs", allowed: ["paths", "scans", "dates", "bands_per_step", "align", "keep_order"]) else {
            throw StrataError.invalidArgument(name: file, reason: "missing key 'inputs' (with 'inputs.paths')")
        }
        let scans = try inputSection.stringLists("scans")?.map { try $0.flatMap(expand) }
        let patterns = try inputSection.strings("paths")
        guard (patterns == nil) != (scans == nil), patterns?.isEmpty != true, scans?.isEmpty != true else {
            throw StrataError.invalidArgument(
                name: file, reason: scans == nil ? "missing key 'inputs.paths'"
                    : "give either 'inputs.paths' (one stack) or 'inputs.scans' (several), not both")
        }
        var inputs = TrainingConfig.Inputs(paths: try (patterns ?? []).flatMap(expand))
        inputs.scans = scans
        inputs.dates = try inputSection.strings("dates")
        inputs.bandsPerStep = try inputSection.int("bands_per_step", atLeast: 1)
        inputs.align = try inputSection.bool("align") ?? false
        inputs.keepOrder = try inputSection.bool("keep_order") ?? false

        var job = TrainingConfig(task: TaskKind(rawValue: taskName)!, inputs: inputs,
                                 output: resolve(try top.string("output") ?? "runs/\(taskName)"))
        if let s = try top.section("targets", allowed: ["paths", "scans", "change_step", "change_step_origin"]) {
            job.targets.paths = try s.strings("paths").map { try $0.flatMap(expand) }
            job.targets.scans = try s.stringLists("scans")?.map { try $0.flatMap(expand) }
            if let labels = job.targets.scans, labels.count != scans?.count {
                throw s.invalid("scans", "\(labels.count) label stacks for \(scans?.count ?? 0) entries of 'inputs.scans'")
            }
            if scans != nil, job.targets.paths != nil || s.has("change_step") {
                throw s.invalid("paths", "with 'inputs.scans' give the labels as 'targets.scans'")
            }
            job.targets.changeStep = try s.string("change_step").map(resolve)
            if let origin = try s.int("change_step_origin") {
                guard origin == 0 || origin == 1 else { throw s.invalid("change_step_origin", "must be 0 or 1") }
                job.targets.changeStepOrigin = origin
            }
        }
        if let s = try top.section("model", allowed: ["cell", "hidden", "kernel", "peephole", "bidirectional",
                                                      "forecast_steps", "forecast_base", "space_to_depth"]) {
            if let cell = try s.choice("cell", ["convlstm", "convgru", "convrnn"]) {
                job.model.cell = ModelConfig.Cell(rawValue: cell)!
            }
            job.model.hidden = try s.ints("hidden", atLeast: 1) ?? job.model.hidden
            job.model.kernel = try s.ints("kernel", atLeast: 1) ?? job.model.kernel
            if let peephole = try s.choice("peephole", ["none", "per_channel"]) {
                job.model.peephole = ModelConfig.Peephole(rawValue: peephole)!
            }
            job.model.bidirectional = try s.bool("bidirectional") ?? false
            // Keys with no effect on this task are refused, not silently ignored (config.md's key table).
            let nowcast = job.task == .nowcast
            if nowcast, job.model.bidirectional {
                throw StrataError.invalidArgument(
                    name: file, reason: "key 'model.bidirectional': not for task 'nowcast' (a forecast only looks back)")
            }
            for key in ["forecast_steps", "forecast_base"] where !nowcast && s.has(key) {
                throw StrataError.invalidArgument(name: file, reason: "key 'model.\(key)' is for task 'nowcast' only")
            }
            job.model.forecastSteps = try s.int("forecast_steps", atLeast: 1) ?? job.model.forecastSteps
            job.model.spaceToDepth = try s.int("space_to_depth", atLeast: 1) ?? job.model.spaceToDepth
            if let base = try s.choice("forecast_base", ForecastBase.allCases.map(\.rawValue)) {
                job.model.forecastBase = ForecastBase(rawValue: base)!
            }
            if job.model.kernel.count == 1, job.model.hidden.count > 1 {
                job.model.kernel = Array(repeating: job.model.kernel[0], count: job.model.hidden.count)
            }
            guard job.model.kernel.count == job.model.hidden.count else {
                throw s.invalid("kernel", "\(job.model.kernel.count) sizes for \(job.model.hidden.count) layers")
            }
            if let even = job.model.kernel.first(where: { $0 % 2 == 0 }) {
                throw s.invalid("kernel", "\(even) is even; kernels must be odd")
            }
        }
        if let precision = try top.choice("precision", ComputePrecision.allCases.map(\.rawValue)) {
            job.precision = ComputePrecision(rawValue: precision)!
        }
        if let s = try top.section("optimizer", allowed: ["name", "lr", "weight_decay", "momentum"]) {
            if let name = try s.choice("name", TrainingConfig.Optimizer.Kind.allCases.map(\.rawValue)) {
                job.optimizer.kind = .init(rawValue: name)!
            }
            job.optimizer.learningRate = try s.double("lr", in: 0...10) ?? job.optimizer.learningRate
            job.optimizer.weightDecay = try s.double("weight_decay", in: 0...10) ?? 0
            job.optimizer.momentum = try s.double("momentum", in: 0...0.999_999) ?? job.optimizer.momentum
        }
        if let s = try top.section("schedule", allowed: ["warmup_steps", "decay", "min_lr", "step_every", "gamma"]) {
            job.schedule.warmupSteps = try s.int("warmup_steps", atLeast: 0) ?? 0
            if let decay = try s.choice("decay", TrainingConfig.Schedule.Decay.allCases.map(\.rawValue)) {
                job.schedule.decay = .init(rawValue: decay)!
            }
            job.schedule.minLearningRate = try s.double("min_lr", in: 0...10) ?? 0
            job.schedule.stepEvery = try s.int("step_every", atLeast: 1) ?? job.schedule.stepEvery
            job.schedule.gamma = try s.double("gamma", in: 1e-12...1) ?? job.schedule.gamma
        }
        job.epochs = try top.int("epochs", atLeast: 1) ?? job.epochs
        job.batch = try top.int("batch", atLeast: 1) ?? job.batch
        job.patch = try top.int("patch", atLeast: 1) ?? job.patch
        job.samplesPerEpoch = try top.int("samples_per_epoch", atLeast: 1) ?? job.samplesPerEpoch
        if let s = try top.section("sampling", allowed: ["mode", "positive_fraction", "forecast_origins"]) {
            if let mode = try s.choice("mode", TrainingConfig.Sampling.Mode.allCases.map(\.rawValue)) {
                job.sampling.mode = .init(rawValue: mode)!
            }
            job.sampling.positiveFraction = try s.double("positive_fraction", in: 0...1) ?? 0.5
            if job.task != .nowcast, s.has("forecast_origins") {
                throw StrataError.invalidArgument(
                    name: file, reason: "key 'sampling.forecast_origins' is for task 'nowcast' only")
            }
            job.sampling.forecastOrigins = try s.int("forecast_origins", atLeast: 1) ?? job.sampling.forecastOrigins
        }
        if let s = try top.section("validation", allowed: ["fraction", "block_size", "split", "patient_pattern"]) {
            job.validation.fraction = try s.double("fraction", in: 0...0.9) ?? job.validation.fraction
            job.validation.blockSize = try s.int("block_size", atLeast: 1) ?? job.validation.blockSize
            job.validation.split = try s.choice("split", ["blocks", "scans"]).map { .init(rawValue: $0)! }
            if let pattern = try s.string("patient_pattern") {
                guard (try? NSRegularExpression(pattern: pattern)) != nil else {
                    throw s.invalid("patient_pattern", "'\(pattern)' is not a regular expression")
                }
                job.validation.patientPattern = pattern
            }
            if job.validation.split == .scans, scans == nil {
                throw s.invalid("split", "'scans' needs 'inputs.scans'")
            }
        }
        if let s = try top.section("loss", allowed: ["name", "positive_weight", "gamma", "alpha", "delta"]) {
            if let name = try s.choice("name", TrainingConfig.LossSettings.Kind.allCases.map(\.rawValue)) {
                job.loss.kind = .init(rawValue: name)!
            }
            job.loss.positiveWeight = try s.double("positive_weight", in: 1e-6...1e6) ?? 1
            job.loss.gamma = try s.double("gamma", in: 0...10) ?? 2
            job.loss.alpha = try s.double("alpha", in: 0...1) ?? 0.25
            job.loss.delta = try s.double("delta", in: 1e-9...1e9) ?? 1
        }
        if let s = try top.section("early_stopping", allowed: ["patience", "metric", "mode"]) {
            job.earlyStopping.patience = try s.int("patience", atLeast: 0) ?? 0
            job.earlyStopping.metric = try s.string("metric")
            job.earlyStopping.mode = try s.choice("mode", ["min", "max"])
        }
        job.clipNorm = try top.double("clip_norm", in: 1e-12...1e12)
        if let seed = try top.int("seed", atLeast: 0) { job.seed = UInt64(seed) }
        job.threads = try top.int("threads", atLeast: 1)
        job.checkpointEvery = try top.int("checkpoint_every", atLeast: 0) ?? 0
        try job.task.check(job, file: file)
        return job
    }

    /// An absolute path for `path` (relative ones against the job file's folder); dataset addresses
    /// (`file.h5:/group/data`) keep their suffix.
    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") || path.contains("://") || path.uppercased().hasPrefix("HDF5:")
            || path.uppercased().hasPrefix("NETCDF:") || path.uppercased().hasPrefix("ZARR:") {
            return path
        }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: baseFolder, isDirectory: true))
            .standardizedFileURL.path
    }

    /// A path, or the sorted files matching a glob (`*`, `?`, `[...]` in the file name part).
    func expand(_ pattern: String) throws -> [String] {
        let matches = InputPath.matches(resolve(pattern))
        guard !matches.isEmpty else {
            throw StrataError.invalidArgument(name: file, reason: "inputs '\(pattern)' matches no file")
        }
        return matches
    }
}
