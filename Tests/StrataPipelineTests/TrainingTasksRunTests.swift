import Foundation
import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline

/// One short epoch of each other task on real files: the loop, its targets and metrics work end to end for
/// lesions (HDF5 volumes), yield (one-step raster target) and nowcast (encoder–forecaster, no target file).
final class TrainingTasksRunTests: XCTestCase {
    func run(_ yaml: String, in folder: URL) throws -> EpochRecord {
        let path = folder.appendingPathComponent("job.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let summary = try Trainer(job: TrainingConfig.load(path: path)).run()
        let record = try XCTUnwrap(summary.last)
        XCTAssertTrue(record.trainLoss.isFinite)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/best.safetensors").path))
        return record
    }

    let common = """
        model: {hidden: [4], kernel: 3}
        epochs: 1
        batch: 4
        patch: 12
        samples_per_epoch: 8
        validation: {fraction: 0.25, block_size: 16}
        output: run

        """

    func testNowcastReportsSkillAgainstPersistence() throws {
        let fixture = try TrainingFixture(size: 32)
        defer { fixture.remove() }
        // Folding 2 × 2 blocks end to end: training, the checkpoint, and the task rebuilt from it.
        let folding = common.replacingOccurrences(of: "kernel: 3}", with: "kernel: 3, space_to_depth: 2}")
        let record = try run("task: nowcast\ninputs: {paths: scene_*.tif}\n" + folding, in: fixture.folder)
        XCTAssertEqual(Set(record.metrics.keys), ["val_mse", "val_persistence_mse", "val_skill"])
        let checkpoint = try ModelCheckpoint.load(from: fixture.path("run/last.safetensors"))
        XCTAssertEqual(checkpoint.config.spaceToDepth, 2)
        XCTAssertEqual(checkpoint.tensors["head.weight"]?.shape.first, 16, "4 bands × 2² block positions")
        XCTAssertEqual(checkpoint.config.architecture, .encoderForecaster)
        XCTAssertEqual(checkpoint.config.forecastSteps, 3)
        XCTAssertEqual(checkpoint.config.head.outputs, 4, "one forecast value per band")

        // Prediction rebuilds the task from the checkpoint alone and names the same outputs.
        let task = try TaskKind.task(for: try ModelCheckpoint.loadWeights(from: fixture.path("run/best.safetensors")))
        XCTAssertEqual(task.outputNames, ["forecast_t+1", "forecast_t+2", "forecast_t+3"])
        XCTAssertEqual(checkpoint.task?.forecastBase, "last_frame", "predict must add the last frame back")
        XCTAssertEqual((task as? NowcastTask)?.forecastBase, .lastFrame)
        XCTAssertEqual(task.modelConfig(inputChannels: 4), checkpoint.config)
    }

    func testYieldReportsRegressionMetrics() throws {
        let fixture = try TrainingFixture(size: 32)
        defer { fixture.remove() }
        let record = try run("task: yield\ninputs: {paths: scene_*.tif}\ntargets: {paths: truth/change_step.tif}\n"
            + common + "loss: {name: huber}\n", in: fixture.folder)
        XCTAssertEqual(Set(record.metrics.keys), ["val_rmse", "val_mae", "val_r2"])
        let checkpoint = try ModelCheckpoint.load(from: fixture.path("run/last.safetensors"))
        XCTAssertEqual(checkpoint.config.output, .last)
        let stats = try XCTUnwrap(checkpoint.task?.targetNormalization, "yield targets are standardised")
        XCTAssertEqual(stats.count.count, 1)
        XCTAssertEqual((try TaskKind.task(for: checkpoint) as? YieldTask)?.targetNormalization, stats)
    }

    /// Mixed precision runs through the same loop; fp16 keeps its loss scaler's state in the checkpoint for resume.
    func testHalfPrecisionKeepsTheLossScalerState() throws {
        let fixture = try TrainingFixture(size: 32)
        defer { fixture.remove() }
        let record = try run("task: change\ninputs: {paths: scene_*.tif}\ntargets: {paths: truth/change.tif}\n"
            + common + "precision: fp16\n", in: fixture.folder)
        XCTAssertTrue(record.trainLoss.isFinite)
        let state = try XCTUnwrap(ModelCheckpoint.load(from: fixture.path("run/last.safetensors")).training)
        XCTAssertEqual(state.lossScaler?.keys.sorted(), ["scaler.growth_tracker", "scaler.scale"])
    }

    /// Volumes `[T=3, C=1, D=4, 16, 16]` with a bright block that grows over time, labelled per timepoint.
    func testLesionsTrainOnVolumeSlices() throws {
        let fixture = try TrainingFixture(size: 32)
        defer { fixture.remove() }
        let shape = VolumeShape(steps: 3, channels: 1, depth: 4, height: 16, width: 16)
        func volume(_ name: String, _ value: (Int, Int, Int, Bool) -> Float) throws {
            let writer = try HDF5VolumeWriter(path: fixture.path("\(name).h5"))
            try writer.createDataset("/data", shape: shape, metadata: VolumeMetadata())
            var values: [Float] = []
            for t in 0..<3 { for z in 0..<4 { for y in 0..<16 { for x in 0..<16 {
                values.append(value(t, x, y + z, (4..<(8 + 2 * t)).contains(x) && (4..<10).contains(y)))
            } } } }
            try writer.write(Tensor(shape: [3, 1, 4, 16, 16], values: values), to: "/data")
            try writer.finish()
        }
        try volume("scan") { t, x, y, lesion in (lesion ? 3 : 1) + Float((x * 5 + y * 3 + t) % 7) * 0.1 }
        try volume("labels") { _, _, _, lesion in lesion ? 1 : 0 }
        let record = try run("""
            task: lesions
            inputs: {paths: scan.h5:/data}
            targets: {paths: labels.h5:/data}
            model: {hidden: [4], kernel: 3}
            loss: {name: dice_bce}
            epochs: 1
            batch: 4
            patch: 8
            samples_per_epoch: 8
            validation: {fraction: 0.25, block_size: 8}
            output: run
            """, in: fixture.folder)
        XCTAssertNotNil(record.metrics["val_dice"])
        XCTAssertEqual(try ModelCheckpoint.load(from: fixture.path("run/last.safetensors")).task?.kind, "lesions")
        // Predicted: one probability per timepoint, as the channels of one step, and scored against the labels.
        let output = fixture.path("prediction.h5") + ":/lesion_probability"
        let predicted = try PredictionJob(checkpoint: fixture.path("run/last.safetensors"),
                                          inputs: [fixture.path("scan.h5") + ":/data"], output: output).run()
        XCTAssertEqual(predicted.task, "lesions")
        let volume = try VolumeStack(path: output)
        XCTAssertEqual(volume.shape, VolumeShape(steps: 1, channels: 3, depth: 4, height: 16, width: 16))
        XCTAssertEqual(volume.metadata.bandNames, ["lesion_probability_t0", "lesion_probability_t1",
                                                   "lesion_probability_t2"])
        var request = EvaluationRequest(prediction: output, truth: fixture.path("labels.h5") + ":/data")
        request.task = .lesions
        let report = try request.run().json.text
        XCTAssertTrue(report.contains("\"timepoints\""), report)
    }
}
