import Foundation
import StrataCore
import StrataTestSupport
import XCTest
@testable import StrataPipeline

/// Job-file parsing: defaults, relative paths, and every refused input with its exact message.
final class TrainingConfigTests: XCTestCase {
    let minimal = """
        task: change
        inputs:
          paths: [a.tif, b.tif]
        targets:
          paths: truth.tif
        """

    func parse(_ text: String) throws -> TrainingConfig {
        try TrainingConfig.parse(yaml: text, file: "job.yaml", baseFolder: "/data/jobs")
    }

    func testDefaults() throws {
        let job = try parse(minimal)
        XCTAssertEqual(job.task, .change)
        XCTAssertEqual(job.inputs.paths, ["/data/jobs/a.tif", "/data/jobs/b.tif"])
        XCTAssertEqual(job.targets.paths, ["/data/jobs/truth.tif"])
        XCTAssertEqual(job.output, "/data/jobs/runs/change")
        XCTAssertEqual(job.model, TrainingConfig.Model())
        XCTAssertEqual(job.model.hidden, [16])
        XCTAssertEqual(job.model.kernel, [3])
        XCTAssertEqual(job.precision, .fp32)
        XCTAssertEqual(job.optimizer.kind, .adam)
        XCTAssertEqual(job.optimizer.learningRate, 1e-3)
        XCTAssertEqual(job.schedule.decay, .constant)
        XCTAssertEqual(job.epochs, 10)
        XCTAssertEqual(job.batch, 8)
        XCTAssertEqual(job.patch, 32)
        XCTAssertEqual(job.samplesPerEpoch, 256)
        XCTAssertEqual(job.sampling.mode, .random)
        XCTAssertEqual(job.validation.fraction, 0.2)
        XCTAssertEqual(job.validation.blockSize, 64)
        XCTAssertNil(job.loss.kind)
        XCTAssertEqual(job.earlyStopping.patience, 0)
        XCTAssertNil(job.clipNorm)
        XCTAssertEqual(job.seed, 0)
        XCTAssertNil(job.threads)
        XCTAssertEqual(job.checkpointEvery, 0)
        XCTAssertEqual(job.monitor.metric, "val_f1")
        XCTAssertTrue(job.monitor.larger)
    }

    func testEveryKeyIsRead() throws {
        let job = try parse("""
            task: nowcast
            inputs: {paths: /abs/rain.nc, bands_per_step: 1, align: true, keep_order: true, dates: [2021-01-01]}
            model: {cell: convgru, hidden: [8, 4], kernel: 5, bidirectional: false, forecast_steps: 2, space_to_depth: 4}
            precision: bf16
            optimizer: {name: sgd, lr: 0.1, weight_decay: 0.0001, momentum: 0.8}
            schedule: {warmup_steps: 10, decay: cosine, min_lr: 0.001, step_every: 5, gamma: 0.1}
            epochs: 3
            batch: 4
            patch: 16
            samples_per_epoch: 100
            sampling: {mode: grid, positive_fraction: 0.3}
            validation: {fraction: 0.5, block_size: 32}
            loss: {name: huber, delta: 0.5}
            early_stopping: {patience: 2, metric: val_loss, mode: min}
            clip_norm: 1.5
            seed: 42
            threads: 2
            checkpoint_every: 7
            output: ../out
            """)
        XCTAssertEqual(job.inputs.paths, ["/abs/rain.nc"])
        XCTAssertEqual(job.inputs.dates, ["2021-01-01"])
        XCTAssertEqual(job.inputs.bandsPerStep, 1)
        XCTAssertTrue(job.inputs.align && job.inputs.keepOrder)
        XCTAssertEqual(job.model.cell, .convGRU)
        XCTAssertEqual(job.model.kernel, [5, 5], "one kernel size applies to every layer")
        XCTAssertEqual(job.model.forecastSteps, 2)
        XCTAssertEqual(job.model.spaceToDepth, 4)
        XCTAssertEqual(job.precision, .bf16)
        XCTAssertEqual(job.optimizer.kind, .sgd)
        XCTAssertEqual(job.optimizer.momentum, 0.8)
        XCTAssertEqual(job.schedule.decay, .cosine)
        XCTAssertEqual(job.learningRateSchedule(totalSteps: 100).learningRate(atStep: 100), 0.001, accuracy: 1e-12)
        XCTAssertEqual(job.sampling.mode, .grid)
        XCTAssertEqual(job.validation.blockSize, 32)
        XCTAssertEqual(job.loss.kind, .huber)
        XCTAssertEqual(job.loss.delta, 0.5)
        XCTAssertEqual(job.earlyStopping.patience, 2)
        XCTAssertEqual(job.clipNorm, 1.5)
        XCTAssertEqual(job.seed, 42)
        XCTAssertEqual(job.threads, 2)
        XCTAssertEqual(job.checkpointEvery, 7)
        XCTAssertEqual(job.output, "/data/out")
        XCTAssertEqual(job.monitor.metric, "val_loss")
        XCTAssertFalse(job.monitor.larger)
    }

    func testGlobsExpandSortedRelativeToTheJobFile() throws {
        let folder = try TestFolder(for: self, prefix: "strata-glob").url
        for name in ["s_3.tif", "s_1.tif", "s_2.tif", "other.tif"] {
            _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data())
        }
        let jobPath = folder.appendingPathComponent("job.yaml").path
        try "task: nowcast\ninputs: {paths: 's_*.tif'}\n".write(toFile: jobPath, atomically: true, encoding: .utf8)
        let job = try TrainingConfig.load(path: jobPath)
        XCTAssertEqual(job.inputs.paths.map { URL(fileURLWithPath: $0).lastPathComponent },
                       ["s_1.tif", "s_2.tif", "s_3.tif"])
    }

    /// One refused job per line: the text after `task: change / inputs / targets`, and the exact message.
    func testRefusedJobs() {
        let cases: [(String, String)] = [
            ("optimiser: {lr: 0.1}", "job.yaml: unknown key 'optimiser' (did you mean 'optimizer'?)"),
            ("epoch: 3", "job.yaml: unknown key 'epoch' (did you mean 'epochs'?)"),
            ("batch_size: 3", "job.yaml: unknown key 'batch_size' (did you mean 'batch'?)"),
            ("model: {hiden: [8]}", "job.yaml: unknown key 'model.hiden' (did you mean 'model.hidden'?)"),
            ("optimizer: {learning_rate: 0.1}", "job.yaml: unknown key 'optimizer.learning_rate' (did you mean 'optimizer.lr'?)"),
            ("learning_rate: 0.1", "job.yaml: unknown key 'learning_rate' (did you mean 'optimizer.lr'?)"),
            ("hidden: [8]", "job.yaml: unknown key 'hidden' (did you mean 'model.hidden'?)"),
            ("early_stopping: {patiense: 3}", "job.yaml: unknown key 'early_stopping.patiense' (did you mean 'early_stopping.patience'?)"),
            ("epochs: ten", "job.yaml: key 'epochs': expected an integer, found 'ten'"),
            ("epochs: 2.5", "job.yaml: key 'epochs': expected an integer, found '2.5'"),
            ("epochs: 0", "job.yaml: key 'epochs': 0 is below the minimum 1"),
            ("batch: [8]", "job.yaml: key 'batch': expected an integer, found a list"),
            ("optimizer: {lr: fast}", "job.yaml: key 'optimizer.lr': expected a number, found 'fast'"),
            ("model: {bidirectional: maybe}", "job.yaml: key 'model.bidirectional': expected true or false, found 'maybe'"),
            ("model: {hidden: [8, x]}", "job.yaml: key 'model.hidden': expected an integer or a list of integers, found a list"),
            ("model: {kernel: 4}", "job.yaml: key 'model.kernel': 4 is even; kernels must be odd"),
            ("model: {hidden: [8, 8, 8], kernel: [3, 3]}", "job.yaml: key 'model.kernel': 2 sizes for 3 layers"),
            ("model: 3", "job.yaml: key 'model': expected a mapping of keys, found '3'"),
            ("precision: fp64", "job.yaml: key 'precision': 'fp64' is not one of fp32, bf16, fp16"),
            ("optimizer: {name: rmsprop}", "job.yaml: key 'optimizer.name': 'rmsprop' is not one of adam, adamw, sgd"),
            ("sampling: {positive_fraction: 1.5}", "job.yaml: key 'sampling.positive_fraction': 1.5 is outside 0.0...1.0"),
            ("loss: {name: mse}", "job.yaml: key 'loss.name': 'mse' does not fit task 'change' (use one of bce, focal, dice_bce)"),
            ("epochs: 2\nepochs: 3", "job.yaml: key 'epochs' appears twice"),
            ("early_stopping: {metric: val_dice}", "job.yaml: key 'early_stopping.metric': 'val_dice' is not reported by task 'change' (one of val_loss, train_loss, val_f1, val_precision, val_recall, val_iou, val_kappa)"),
            ("model: {forecast_steps: 3}", "job.yaml: key 'model.forecast_steps' is for task 'nowcast' only"),
            ("sampling: {forecast_origins: 4}", "job.yaml: key 'sampling.forecast_origins' is for task 'nowcast' only"),
            ("early_stopping: {metric: val_date_accuracy}", "job.yaml: key 'early_stopping.metric': 'val_date_accuracy' is reported only with 'targets.change_step' (the true change dates)"),
        ]
        let base = "task: change\ninputs: {paths: a.tif}\ntargets: {paths: t.tif}\n"
        for (line, message) in cases {
            XCTAssertThrowsError(try parse(base + line), line) { error in
                XCTAssertEqual((error as? StrataError)?.description, message, line)
                XCTAssertEqual((error as? StrataError)?.exitCode, 2, line)
            }
        }
    }

    /// Whole-file problems: missing sections and task rules.
    func testRefusedFiles() {
        let cases: [(String, String)] = [
            ("", "job.yaml: the job file is empty"),
            ("- a\n- b", "job.yaml: expected a mapping of keys at the top level"),
            ("inputs: {paths: a.tif}", "job.yaml: missing key 'task' (one of change, lesions, yield, nowcast)"),
            ("task: segmentation", "job.yaml: key 'task': 'segmentation' is not one of change, lesions, yield, nowcast"),
            ("task: change", "job.yaml: missing key 'inputs' (with 'inputs.paths')"),
            ("task: change\ninputs: {dates: [2021-01-01]}", "job.yaml: missing key 'inputs.paths'"),
            ("task: change\ninputs: {paths: a.tif}", "job.yaml: task 'change' needs 'targets.paths' (a 0/1 change mask) or 'targets.change_step'"),
            ("task: yield\ninputs: {paths: a.tif}", "job.yaml: task 'yield' needs 'targets.paths'"),
            ("task: nowcast\ninputs: {paths: a.tif}\ntargets: {paths: t.tif}", "job.yaml: task 'nowcast' takes its targets from the input stack itself; remove 'targets'"),
            ("task: nowcast\ninputs: {paths: a.tif}\nsampling: {mode: balanced}", "job.yaml: key 'sampling.mode': 'balanced' needs labels to balance on; task 'nowcast' has none"),
            ("task: nowcast\ninputs: {paths: a.tif}\nmodel: {bidirectional: true}", "job.yaml: key 'model.bidirectional': not for task 'nowcast' (a forecast only looks back)"),
            ("task: change\ninputs: {paths: 'nothing_*.tif'}\ntargets: {paths: t.tif}", "job.yaml: inputs 'nothing_*.tif' matches no file"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try parse(text), text) { error in
                XCTAssertEqual((error as? StrataError)?.description, message, text)
            }
        }
    }

    func testEditDistance() {
        XCTAssertEqual(YAMLSection.editDistance("optimiser", "optimizer"), 1)
        XCTAssertEqual(YAMLSection.editDistance("", "abc"), 3)
        XCTAssertEqual(YAMLSection.editDistance("kitten", "sitting"), 3)
    }
}
