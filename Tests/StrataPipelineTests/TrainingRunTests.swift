import Foundation
import StrataCore
import StrataIO
import XCTest
import StrataModel
@testable import StrataPipeline

/// Real training runs on a small synthetic change scene (64 × 64 px, 6 steps, 4 bands) written to GeoTIFFs.
final class TrainingRunTests: XCTestCase {
    /// Five epochs of 128 patches: validation F1 (last step, threshold 0.5) rises above 0.6 with seed 5 (it reaches
    /// about 0.78; the first epoch is below it), the log has one line per epoch with the documented keys, and both
    /// checkpoints load with their training state.
    func testChangeTrainingLearnsLogsAndCheckpoints() throws {
        let fixture = try TrainingFixture()
        defer { fixture.remove() }
        let job = try TrainingConfig.load(path: try fixture.writeJob(epochs: 5))
        var events: [String] = []
        let summary = try Trainer(job: job) { event in
            switch event {
            case .started: events.append("started")
            case .epoch: events.append("epoch")
            case .finished: events.append("finished")
            case .batch, .checkpoint: break
            }
        }.run()
        XCTAssertEqual(events, ["started"] + Array(repeating: "epoch", count: 5) + ["finished"])
        XCTAssertEqual(summary.epochs, 5)
        XCTAssertEqual(summary.steps, 5 * 16)
        XCTAssertEqual(summary.monitor, "val_f1")
        let best = try XCTUnwrap(summary.bestValue)
        XCTAssertGreaterThan(best, 0.6, "validation F1")

        // metrics.jsonl: every line parses, with the documented keys.
        let text = try String(contentsOfFile: fixture.path("run/metrics.jsonl"), encoding: .utf8)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        for (index, line) in lines.enumerated() {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(Set(object.keys), ["epoch", "step", "train_loss", "val_loss", "metrics", "lr", "seconds",
                                              "samples_per_second", "improved"])
            XCTAssertEqual(object["epoch"] as? Int, index + 1)
            let metrics = try XCTUnwrap(object["metrics"] as? [String: Double])
            XCTAssertEqual(Set(metrics.keys), ["val_f1", "val_precision", "val_recall", "val_iou", "val_kappa",
                                               "val_date_accuracy"])
        }
        let records = try MetricsLog.read(fixture.path("run/metrics.jsonl"))
        let perEpoch = records.map(\.seconds).reduce(0, +) / Double(records.count)
        print("change scene: best validation F1 \(best), \(perEpoch) s per epoch")
        XCTAssertLessThan(records.last!.trainLoss, records.first!.trainLoss, "the training loss falls")
        XCTAssertEqual(records.map(\.metrics["val_f1"]!).max(), best)

        let last = try ModelCheckpoint.load(from: fixture.path("run/last.safetensors"))
        XCTAssertEqual(last.training?.epoch, 5)
        XCTAssertEqual(last.training?.batchInEpoch, 0)
        XCTAssertEqual(last.training?.globalStep, 80)
        XCTAssertEqual(last.task?.kind, "change")
        XCTAssertEqual(last.task?.patchSize, [12, 12])
        XCTAssertEqual(last.task?.targetNames, ["changed_by_step"])
        XCTAssertEqual(last.task?.minimumInputSteps, 2)
        XCTAssertEqual(last.normalization?.channels, 4)
        XCTAssertEqual(last.config.output, .sequence)
        // The prediction path: the task from the checkpoint, the trained weights, one normalised window.
        let task = try TaskKind.task(for: last)
        XCTAssertEqual(task.modelConfig(inputChannels: 4), last.config)
        let model = try RecurrentModel(config: last.config, seed: 0)
        for parameter in model.parameters { try parameter.load(last.tensors[parameter.name]!) }
        let stack = try InputStack.open(job.inputs.paths)
        let source = try SampleSource(input: try stack.planes(), patchSize: 16, normalization: last.normalization)
        let window = try source.read(window: Window(x: 0, y: 0, width: 16, height: 16), plane: 0)
        let outputs = try task.outputs(model: model, values: window.values, mask: window.mask,
                                       normalization: last.normalization, stepLabels: fixture.scene.dates)
        XCTAssertEqual(outputs.map(\.name), ["change_probability", "change_date"])
        XCTAssertTrue(outputs[0].values.floats.allSatisfy { (0...1).contains($0) })
        XCTAssertTrue(outputs[1].values.floats.allSatisfy { (-1...5).contains($0) && $0 == $0.rounded() })
        let bestCheckpoint = try ModelCheckpoint.load(from: fixture.path("run/best.safetensors"))
        XCTAssertEqual(bestCheckpoint.training?.bestMetric, best)
        XCTAssertEqual(bestCheckpoint.training?.bestMetricName, "val_f1")
    }

    /// Two epochs straight, against one epoch and then `--resume` for the second: bit-identical weights and
    /// optimizer state, identical metrics (except timings).
    func testResumeAtAnEpochBoundaryEqualsAnUninterruptedRun() throws {
        let fixture = try TrainingFixture()
        defer { fixture.remove() }
        try Trainer(job: TrainingConfig.load(path: fixture.writeJob("a.yaml", output: "straight", epochs: 2,
                                                                   samples: 48))).run()
        try Trainer(job: TrainingConfig.load(path: fixture.writeJob("b1.yaml", output: "resumed", epochs: 1,
                                                                    samples: 48))).run()
        var resumedAt: (Int, Int)?
        try Trainer(job: TrainingConfig.load(path: fixture.writeJob("b2.yaml", output: "resumed", epochs: 2,
                                                                    samples: 48)), resume: true) { event in
            if case .started(_, _, let epoch, let batch, true) = event { resumedAt = (epoch, batch) }
        }.run()
        XCTAssertEqual(resumedAt?.0, 1)
        XCTAssertEqual(resumedAt?.1, 0)
        try assertSameRun(fixture.path("straight"), fixture.path("resumed"))
    }

    /// `--resume` continues only runs that fit the same targets: a nowcast run saved with `forecast_base: zero`
    /// is refused by a job that forecasts from the last frame, naming the file and both settings.
    func testResumeRefusesAnotherForecastBase() throws {
        let fixture = try TrainingFixture()
        defer { fixture.remove() }
        func job(_ name: String, base: String, epochs: Int) throws -> String {
            let path = fixture.path(name)
            try """
                task: nowcast
                inputs: {paths: scene_*.tif}
                model: {hidden: [4], kernel: 3, forecast_steps: 1, forecast_base: \(base)}
                epochs: \(epochs)
                batch: 4
                patch: 12
                samples_per_epoch: 8
                validation: {fraction: 0.25, block_size: 16}
                loss: {name: mse}
                seed: 5
                output: nowcast
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        try Trainer(job: TrainingConfig.load(path: job("zero.yaml", base: "zero", epochs: 1))).run()
        let lastFrameJob = try TrainingConfig.load(path: job("last.yaml", base: "last_frame", epochs: 2))
        XCTAssertThrowsError(try Trainer(job: lastFrameJob, resume: true).run()) { error in
            guard case .invalidArgument(name: "--resume", let reason)? = error as? StrataError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(reason.contains("last.safetensors"), reason)
            XCTAssertTrue(reason.contains("forecast_base zero, this job sets last_frame"), reason)
        }
    }

    /// A kill mid-epoch: the files as they were right after the mid-epoch checkpoint (batch 3 of epoch 2) are put in
    /// a fresh folder and resumed; the end result equals the uninterrupted run bit for bit.
    func testResumeMidEpochAfterAKillEqualsAnUninterruptedRun() throws {
        let fixture = try TrainingFixture()
        defer { fixture.remove() }
        let extra = "checkpoint_every: 3"
        let snapshot = fixture.path("snapshot")
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        var position = (0, 0)
        let straight = try TrainingConfig.load(path: fixture.writeJob("a.yaml", output: "straight", epochs: 2,
                                                                     samples: 48, extra: extra))
        try Trainer(job: straight) { event in
            if case .batch(let epoch, let batch, _, _, _, _) = event { position = (epoch, batch) }
            if case .checkpoint(let path) = event, path.hasSuffix("last.safetensors"), position == (2, 3) {
                for name in ["last.safetensors", "metrics.jsonl", "best.safetensors"] {
                    try? FileManager.default.copyItem(atPath: straight.output + "/" + name, toPath: snapshot + "/" + name)
                }
            }
        }.run()
        let interrupted = try ModelCheckpoint.load(from: snapshot + "/last.safetensors")
        XCTAssertEqual(interrupted.training?.epoch, 1)
        XCTAssertEqual(interrupted.training?.batchInEpoch, 3)
        let resumed = try TrainingConfig.load(path: fixture.writeJob("b.yaml", output: "snapshot", epochs: 2,
                                                                    samples: 48, extra: extra))
        try Trainer(job: resumed, resume: true).run()
        try assertSameRun(straight.output, resumed.output)
    }

    /// `requestStop()` (Ctrl-C in the CLI) in the middle of epoch 1 saves that batch; `--resume` ends bit-identical to
    /// the uninterrupted run.
    func testRequestStopThenResumeEqualsAnUninterruptedRun() throws {
        let fixture = try TrainingFixture()
        defer { fixture.remove() }
        try Trainer(job: TrainingConfig.load(path: fixture.writeJob("a.yaml", output: "straight", epochs: 2,
                                                                   samples: 48))).run()
        let job = try TrainingConfig.load(path: fixture.writeJob("b.yaml", output: "stopped", epochs: 2, samples: 48))
        var trainer: Trainer!
        trainer = Trainer(job: job) { event in
            if case .batch(1, 4, _, _, _, _) = event { trainer.requestStop() }
        }
        let stopped = try trainer.run()
        XCTAssertTrue(stopped.interrupted)
        XCTAssertEqual(stopped.steps, 4)
        XCTAssertEqual(try ModelCheckpoint.load(from: job.output + "/last.safetensors").training?.batchInEpoch, 4)
        XCTAssertFalse(FileManager.default.fileExists(atPath: job.output + "/metrics.jsonl"), "no epoch finished")
        let finished = try Trainer(job: job, resume: true).run()
        XCTAssertFalse(finished.interrupted)
        try assertSameRun(fixture.path("straight"), job.output)
    }

    /// Same seed and threads, same run: identical weights and metrics (with a batch read ahead on another thread).
    func testSameSeedSameMetrics() throws {
        let fixture = try TrainingFixture()
        defer { fixture.remove() }
        for name in ["a", "b"] {
            try Trainer(job: TrainingConfig.load(path: fixture.writeJob("\(name).yaml", output: name, epochs: 1,
                                                                       samples: 32, extra: "threads: 2"))).run()
        }
        try assertSameRun(fixture.path("a"), fixture.path("b"))
    }

    /// With a learning rate of 0 nothing improves after the first epoch: patience 1 stops after epoch 2, and a
    /// resume of the stopped run trains no further.
    func testEarlyStoppingAndItsResume() throws {
        let fixture = try TrainingFixture(size: 32)
        defer { fixture.remove() }
        let path = try fixture.writeJob(epochs: 5, samples: 16, extra: "early_stopping: {patience: 1}")
        var job = try TrainingConfig.load(path: path)
        job.optimizer.learningRate = 0
        let summary = try Trainer(job: job).run()
        XCTAssertTrue(summary.stoppedEarly)
        XCTAssertEqual(summary.epochs, 2)
        XCTAssertEqual(summary.bestEpoch, 1)
        XCTAssertEqual(try MetricsLog.read(job.output + "/metrics.jsonl").map(\.improved), [true, false])
        let again = try Trainer(job: job, resume: true).run()
        XCTAssertEqual(again.epochs, 2)
        XCTAssertTrue(again.stoppedEarly)
        XCTAssertEqual(again.last?.epoch, 2, "the summary reports the last logged epoch")
    }

    func testResumeWithoutACheckpointIsRefused() throws {
        let fixture = try TrainingFixture(size: 32)
        defer { fixture.remove() }
        let job = try TrainingConfig.load(path: fixture.writeJob(epochs: 1))
        XCTAssertThrowsError(try Trainer(job: job, resume: true).run()) { error in
            XCTAssertEqual((error as? StrataError)?.description,
                           "--resume: no \(job.output)/last.safetensors to resume from; run without --resume to start")
        }
    }

    /// Same weights and optimizer tensors bit for bit, same training state, same metrics lines but for timings.
    func assertSameRun(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try ModelCheckpoint.load(from: a + "/last.safetensors")
        let y = try ModelCheckpoint.load(from: b + "/last.safetensors")
        XCTAssertEqual(x.tensors.keys.sorted(), y.tensors.keys.sorted(), file: file, line: line)
        for (name, tensor) in x.tensors {
            XCTAssertEqual(tensor.floats.map(\.bitPattern), y.tensors[name]!.floats.map(\.bitPattern),
                           "weight \(name)", file: file, line: line)
        }
        let (sx, sy) = (try XCTUnwrap(x.training), try XCTUnwrap(y.training))
        XCTAssertEqual(sx.optimizerState.tensors.keys.sorted(), sy.optimizerState.tensors.keys.sorted())
        for (name, tensor) in sx.optimizerState.tensors {
            XCTAssertEqual(tensor.floats.map(\.bitPattern), sy.optimizerState.tensors[name]!.floats.map(\.bitPattern),
                           "optimizer \(name)", file: file, line: line)
        }
        XCTAssertEqual(sx.optimizerState.scalars, sy.optimizerState.scalars, file: file, line: line)
        XCTAssertEqual([sx.epoch, sx.globalStep, sx.scheduleStep], [sy.epoch, sy.globalStep, sy.scheduleStep],
                       file: file, line: line)
        func untimed(_ path: String) throws -> [EpochRecord] {
            try MetricsLog.read(path + "/metrics.jsonl").map {
                var r = $0
                r.seconds = 0
                r.samplesPerSecond = 0
                return r
            }
        }
        XCTAssertEqual(try untimed(a), try untimed(b), file: file, line: line)
    }
}
