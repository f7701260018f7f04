import Foundation
import StrataCore
import StrataIO
import StrataModel

/// Runs a training job: open the stacks, compute normalisation on the training blocks, train epoch by epoch,
/// validate, log `OUT/metrics.jsonl`, and keep `OUT/last.safetensors` and `OUT/best.safetensors` (docs/training.md).
///
/// Determinism and resume: initialisation, sampling and the split derive from `job.seed`; a batch's patches come
/// from `(seed, epoch)` alone. `last.safetensors` holds weights, optimizer and loss-scaler state, the schedule step,
/// the epoch and the batch within it, and the loop's counters, so ``run()`` with `resume: true` continues exactly
/// where the checkpoint left off: the final weights are bit-identical to an uninterrupted run.
///
/// ```swift
/// let job = try TrainingConfig.load(path: "job.yaml")
/// let summary = try Trainer(job: job, resume: false) { event in print(event) }.run()
/// summary.bestValue   // e.g. the best validation F1
/// ```
public final class Trainer {
    public let job: TrainingConfig
    /// The job's task; after ``run()`` starts, with the target statistics it standardises with (if any).
    public private(set) var task: any TrainingTask
    public let resume: Bool
    private let observe: (TrainingEvent) -> Void
    /// Set from any thread (a signal handler) to stop after the batch under way.
    public let stop: TrainingStop

    /// `OUT/last.safetensors`, `OUT/best.safetensors`, `OUT/metrics.jsonl`.
    public var lastPath: String { job.output + "/last.safetensors" }
    public var bestPath: String { job.output + "/best.safetensors" }
    public var metricsPath: String { job.output + "/metrics.jsonl" }

    public init(job: TrainingConfig, resume: Bool = false, stop: TrainingStop = TrainingStop(),
                observe: @escaping (TrainingEvent) -> Void = { _ in }) {
        self.job = job
        self.stop = stop
        self.task = job.task.make(job)
        self.resume = resume
        self.observe = observe
    }

    /// Asks the run to stop after the batch under way (``TrainingStop/request()``).
    public func requestStop() { stop.request() }

    private var shouldStop: Bool { stop.isRequested }

    /// The loop's position and counters; what `last.safetensors` stores beyond weights and optimizer.
    struct Position {
        var epoch = 0, batchInEpoch = 0, globalStep = 0, scheduleStep = 0
        var lossSum = 0.0, lossSamples = 0.0, seconds = 0.0
        var bestValue: Double?, bestEpoch = 0, sinceBest = 0, stopped = false
        var lr = 0.0

        var counters: [String: Double] {
            ["loss_sum": lossSum, "loss_samples": lossSamples, "epoch_seconds": seconds, "best_epoch": Double(bestEpoch),
             "epochs_since_best": Double(sinceBest), "stopped": stopped ? 1 : 0]
        }

        init() {}

        init(_ state: TrainingState) {
            epoch = state.epoch
            batchInEpoch = state.batchInEpoch
            globalStep = state.globalStep
            scheduleStep = state.scheduleStep
            bestValue = state.bestMetric
            lr = state.learningRate ?? 0
            let c = state.counters ?? [:]
            lossSum = c["loss_sum"] ?? 0
            lossSamples = c["loss_samples"] ?? 0
            seconds = c["epoch_seconds"] ?? 0
            bestEpoch = Int(c["best_epoch"] ?? 0)
            sinceBest = Int(c["epochs_since_best"] ?? 0)
            stopped = (c["stopped"] ?? 0) != 0
        }
    }

    /// Trains to the end (or early stop) and returns the summary.
    ///
    /// - Throws: ``StrataError/outputNotWritable(path:reason:)`` for an output folder that cannot be written;
    ///   the stacks' errors (missing input, empty or too short stack); ``StrataError/invalidArgument(name:reason:)``
    ///   when `--resume` finds no usable `last.safetensors` or one from a different model.
    @discardableResult
    public func run() throws -> TrainingSummary {
        let started = Date()
        // The kernels' thread count is process-wide: set it for this run and put the previous one back after.
        let previousThreads = ThreadPool.threads
        if let threads = job.threads { ThreadPool.setThreads(threads) }
        defer { ThreadPool.setThreads(previousThreads) }
        // Reading the next batch ahead on another thread pays when there are cores to spare; batches are the same.
        let prefetch = ThreadPool.threads > 1
        let data = try TrainingData.open(job, task: task)
        let created = try Self.prepareOutput(job.output)
        // A job refused before training (sources, sampler or model) leaves no empty output folder behind.
        let output = job.output
        func removeEmptyOutput() {
            if created, (try? FileManager.default.contentsOfDirectory(atPath: output))?.isEmpty == true {
                try? FileManager.default.removeItem(atPath: output)
            }
        }
        let previous: ModelCheckpoint?, sources: TrainingSources
        do {
            previous = resume ? try loadResumeCheckpoint() : nil
            sources = try TrainingSources.build(job, data: data, normalization: previous?.normalization,
                                                targetStatistics: task.standardizesTargets
                                                    && previous?.task?.targetNormalization == nil)
        } catch {
            removeEmptyOutput()
            throw error
        }
        let normalization = sources.normalization
        if let targets = previous?.task?.targetNormalization ?? sources.targetNormalization {
            task = task.standardizingTargets(with: targets)
        }
        let sampling: PatchSampling
        switch job.sampling.mode {
        case .random: sampling = .random(count: job.samplesPerEpoch)
        case .grid: sampling = .grid
        case .balanced: sampling = .balanced(count: job.samplesPerEpoch, positiveFraction: job.sampling.positiveFraction)
        }
        let sampler: PatchSampler, validationSampler: PatchSampler?, model: RecurrentModel
        let config = task.modelConfig(inputChannels: data.scans[0].input.channels)
        do {
            sampler = try PatchSampler(sources: sources.training, sampling: sampling, seed: job.seed)
            validationSampler = sources.validation.isEmpty ? nil
                : try PatchSampler(sources: sources.validation, sampling: .grid, seed: job.seed)
            model = try RecurrentModel(config: config, seed: job.seed)
        } catch {
            removeEmptyOutput()
            throw error
        }
        let samplesPerEpoch = job.sampling.mode == .grid
            ? sources.training.reduce(0) { $0 + $1.gridPositions().count } : job.samplesPerEpoch
        let batchesPerEpoch = (samplesPerEpoch + job.batch - 1) / job.batch

        model.precision = job.precision
        let optimizer = makeOptimizer(model.parameters)
        var position = Position()
        if let previous {
            guard previous.config == config else {
                throw StrataError.invalidArgument(
                    name: lastPath, reason: "was trained with a different model or inputs than this job; start a new "
                        + "output folder or run without --resume")
            }
            for parameter in model.parameters { try parameter.load(previous.tensors[parameter.name]!) }
            let state = previous.training!
            try optimizer.restore(state.optimizerState)
            if let scaler = state.lossScaler { try model.lossScaler.restore(scaler) }
            position = Position(state)
            try MetricsLog.truncate(metricsPath, keepingEpochsThrough: position.epoch)
        } else {
            try? FileManager.default.removeItem(atPath: metricsPath)
        }
        let schedule = job.learningRateSchedule(totalSteps: job.epochs * batchesPerEpoch)
        let info = task.taskInfo(bandNames: data.bandNames, patchSize: job.patch)
        // Without a validation split the training loss is all there is to follow.
        let monitor = validationSampler == nil ? (metric: "train_loss", larger: false) : job.monitor
        func checkpoint(_ path: String) throws {
            let state = TrainingState(
                epoch: position.epoch, globalStep: position.globalStep, batchInEpoch: position.batchInEpoch,
                seed: job.seed, bestMetric: position.bestValue, bestMetricName: monitor.metric,
                scheduleStep: position.scheduleStep, learningRate: position.lr, optimizer: job.optimizer.kind.rawValue,
                optimizerState: optimizer.state(), lossScaler: job.precision == .fp16 ? model.lossScaler.state() : nil,
                counters: position.counters)
            var tensors: [String: Tensor] = [:]
            for parameter in model.parameters { tensors[parameter.name] = parameter.value }
            try ModelCheckpoint(config: config, tensors: tensors, normalization: normalization, training: state,
                                task: info).save(to: path)
            observe(.checkpoint(path: path))
        }

        observe(.started(epochs: job.epochs, batchesPerEpoch: batchesPerEpoch, epoch: position.epoch,
                         batch: position.batchInEpoch, resumed: previous != nil))
        var last: EpochRecord? = try MetricsLog.lastRecord(metricsPath)
        while position.epoch < job.epochs, !position.stopped, !shouldStop {
            let epochStart = Date(), secondsBefore = position.seconds
            let loader = try sampler.batches(epoch: position.epoch, batchSize: job.batch,
                                             startingAt: position.batchInEpoch, prefetch: prefetch)
            while let batch = try loader.next() {
                let example = try task.example(from: batch)
                position.lr = schedule.learningRate(atStep: position.scheduleStep)
                optimizer.learningRate = position.lr
                let loss = try model.trainStep(input: example.input, mask: example.mask, target: example.target,
                                               targetMask: example.targetMask, loss: task.loss, optimizer: optimizer,
                                               clipNorm: job.clipNorm)
                position.lossSum += loss * Double(batch.count)
                position.lossSamples += Double(batch.count)
                position.batchInEpoch += 1
                position.globalStep += 1
                position.scheduleStep += 1
                position.seconds = secondsBefore + Date().timeIntervalSince(epochStart)
                let rate = position.lossSamples / max(position.seconds, 1e-9)
                let remaining = Double((job.epochs - position.epoch) * batchesPerEpoch - position.batchInEpoch)
                observe(.batch(epoch: position.epoch + 1, batch: position.batchInEpoch, batches: batchesPerEpoch,
                               loss: loss, samplesPerSecond: rate,
                               etaSeconds: remaining * Double(job.batch) / max(rate, 1e-9)))
                if position.batchInEpoch < batchesPerEpoch, shouldStop
                    || (job.checkpointEvery > 0 && position.batchInEpoch % job.checkpointEvery == 0) {
                    try checkpoint(lastPath)
                }
                if shouldStop, position.batchInEpoch < batchesPerEpoch { break }
            }
            if shouldStop, position.batchInEpoch < batchesPerEpoch { break }
            let (valLoss, metrics) = try validate(model: model, sampler: validationSampler, prefetch: prefetch)
            position.seconds = secondsBefore + Date().timeIntervalSince(epochStart)
            var record = EpochRecord(
                epoch: position.epoch + 1, step: position.globalStep,
                trainLoss: position.lossSum / max(position.lossSamples, 1), valLoss: valLoss, metrics: metrics,
                lr: position.lr, seconds: position.seconds,
                samplesPerSecond: position.lossSamples / max(position.seconds, 1e-9), improved: false)
            // A metric undefined this epoch (no predicted positive for precision ...) counts as no improvement.
            let value = record.value(of: monitor.metric)
            position.epoch += 1
            position.batchInEpoch = 0
            position.lossSum = 0
            position.lossSamples = 0
            position.seconds = 0
            if let value, position.bestValue.map({ monitor.larger ? value > $0 : value < $0 }) ?? true {
                record.improved = true
                position.bestValue = value
                position.bestEpoch = position.epoch
                position.sinceBest = 0
                try checkpoint(bestPath)
            } else {
                position.sinceBest += 1
                if job.earlyStopping.patience > 0, position.sinceBest >= job.earlyStopping.patience {
                    position.stopped = true
                }
            }
            try MetricsLog.append(record, to: metricsPath)
            try checkpoint(lastPath)
            observe(.epoch(record))
            last = record
        }
        let interrupted = shouldStop && position.epoch < job.epochs && !position.stopped
        let summary = TrainingSummary(
            epochs: position.epoch, steps: position.globalStep, stoppedEarly: position.stopped, interrupted: interrupted,
            monitor: monitor.metric, bestValue: position.bestValue,
            bestEpoch: position.bestEpoch > 0 ? position.bestEpoch : nil, last: last, output: job.output,
            seconds: Date().timeIntervalSince(started))
        observe(.finished(summary))
        return summary
    }

    /// Validation loss (mean over patches, weighted by batch size) and the task's metrics with a `val_` prefix.
    private func validate(model: RecurrentModel, sampler: PatchSampler?,
                          prefetch: Bool) throws -> (Double?, [String: Double]) {
        guard let sampler else { return (nil, [:]) }
        let metrics = task.makeMetrics()
        var lossSum = 0.0, count = 0.0
        let loader = try sampler.batches(epoch: 0, batchSize: job.batch, prefetch: prefetch)
        while let batch = try loader.next() {
            let example = try task.example(from: batch)
            let logits = try model.forward(example.input, mask: example.mask).logits
            lossSum += task.loss.evaluate(prediction: logits, target: example.target, mask: example.targetMask).loss
                * Double(batch.count)
            count += Double(batch.count)
            metrics.add(logits: logits, example: example)
        }
        var named: [String: Double] = [:]
        for (key, value) in metrics.values where value.isFinite { named["val_" + key] = value }
        return (count > 0 ? lossSum / count : nil, named)
    }

    private func makeOptimizer(_ parameters: [Parameter]) -> any Optimizer {
        let o = job.optimizer
        switch o.kind {
        case .adam: return Adam(parameters: parameters, learningRate: o.learningRate, weightDecay: o.weightDecay)
        case .adamw: return AdamW(parameters: parameters, learningRate: o.learningRate, weightDecay: o.weightDecay)
        case .sgd:
            return SGD(parameters: parameters, learningRate: o.learningRate, momentum: o.momentum,
                       weightDecay: o.weightDecay)
        }
    }

    /// `last.safetensors` with its training state, or an error saying why a resume cannot start.
    private func loadResumeCheckpoint() throws -> ModelCheckpoint {
        guard FileManager.default.fileExists(atPath: lastPath) else {
            throw StrataError.invalidArgument(
                name: "--resume", reason: "no \(lastPath) to resume from; run without --resume to start")
        }
        let checkpoint = try ModelCheckpoint.load(from: lastPath)
        guard let state = checkpoint.training, state.seed == job.seed,
              state.optimizer == job.optimizer.kind.rawValue else {
            throw StrataError.invalidArgument(
                name: "--resume", reason: "\(lastPath) has no training state for this job's seed and optimizer")
        }
        // The resumed steps must fit the same targets the saved ones did (checkpoints from before these keys
        // existed forecast from zero and learnt raw yield units).
        if job.task == .nowcast {
            let saved = checkpoint.task?.forecastBase ?? ForecastBase.zero.rawValue
            guard saved == job.model.forecastBase.rawValue else {
                throw StrataError.invalidArgument(name: "--resume", reason: "\(lastPath) was trained with "
                    + "forecast_base \(saved), this job sets \(job.model.forecastBase.rawValue)")
            }
        }
        if task.standardizesTargets, checkpoint.task?.targetNormalization == nil {
            throw StrataError.invalidArgument(name: "--resume", reason: "\(lastPath) was trained on raw targets "
                + "(no target_normalization); this version standardises them: start without --resume")
        }
        return checkpoint
    }

    /// Creates the output folder and checks that a file can be created in it, before any work is done.
    ///
    /// - Returns: whether the folder was created here.
    static func prepareOutput(_ folder: String) throws -> Bool {
        var isFolder: ObjCBool = false
        let existed = FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder)
        if existed, !isFolder.boolValue {
            throw StrataError.outputNotWritable(path: folder, reason: "is a file, not a folder")
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw StrataError.outputNotWritable(path: folder, reason: "cannot create the folder")
        }
        let probe = folder + "/.strata-write-test-\(getpid())"
        guard FileManager.default.createFile(atPath: probe, contents: Data()) else {
            throw StrataError.outputNotWritable(path: folder, reason: "the folder is not writable")
        }
        try? FileManager.default.removeItem(atPath: probe)
        return !existed
    }
}

/// A stop request shared between a running ``Trainer`` and whoever may interrupt it (a SIGINT handler on another
/// thread): the run saves `last.safetensors` at the batch under way and returns a summary with `interrupted` set, so
/// `--resume` continues from there exactly.
///
/// ```swift
/// let stop = TrainingStop()
/// let trainer = Trainer(job: job, stop: stop)
/// // elsewhere, e.g. on Ctrl-C: stop.request()
/// ```
public final class TrainingStop: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    public init() {}

    public func request() {
        lock.lock()
        requested = true
        lock.unlock()
    }

    public var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requested
    }
}
