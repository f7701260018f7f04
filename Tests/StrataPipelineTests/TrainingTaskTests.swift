import Foundation
import StrataCore
import StrataIO
import StrataModel
import XCTest
@testable import StrataPipeline

/// Known answers for how each task turns a batch into targets, and what its outputs are.
final class TrainingTaskTests: XCTestCase {
    func job(_ task: TaskKind, _ extra: String = "") throws -> TrainingConfig {
        let targets = task == .nowcast ? "" : "targets: {paths: t.tif}\n"
        return try TrainingConfig.parse(yaml: "task: \(task.rawValue)\ninputs: {paths: a.tif}\n" + targets + extra,
                                        baseFolder: "/tmp")
    }

    /// One sample, 4 pixels (2 × 2), T = 4 steps. Step raster (origin 0): 2, −1 (never), 0, and an invalid pixel.
    func testChangeCumulativeTargetsFromAStepRaster() {
        let steps = Tensor(shape: [1, 1, 2, 2], values: [2, -1, 0, 7])
        let valid = Tensor(shape: [1, 2, 2], values: [1, 1, 1, 0]).converted(to: .uint8)
        let (y, m) = ChangeTask.cumulativeTargets(target: steps, targetMask: valid, steps: 4, layout: .step(origin: 0))
        XCTAssertEqual(y.shape, [1, 4, 1, 2, 2])
        XCTAssertEqual(m.shape, [1, 4, 2, 2])
        // y[t][pixel]: pixel 0 changes at step 2, pixel 1 never, pixel 2 at step 0, pixel 3 is invalid.
        XCTAssertEqual(y.floats, [0, 0, 1, 0,
                                  0, 0, 1, 0,
                                  1, 0, 1, 0,
                                  1, 0, 1, 0])
        XCTAssertEqual(m.converted(to: .float32).floats, [1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0])
    }

    func testChangeStepOriginOneReadsZeroAsUnchanged() {
        let steps = Tensor(shape: [1, 1, 1, 3], values: [0, 1, 3])
        let valid = Tensor(shape: [1, 1, 3], values: [1, 1, 1]).converted(to: .uint8)
        let (y, _) = ChangeTask.cumulativeTargets(target: steps, targetMask: valid, steps: 3, layout: .step(origin: 1))
        XCTAssertEqual(y.floats, [0, 1, 0,
                                  0, 1, 0,
                                  0, 1, 1])
    }

    /// With only a 0/1 mask the date is unknown: the last step is the target, earlier steps are masked out.
    func testChangeMaskOnlyTargetsTheLastStep() {
        let mask = Tensor(shape: [1, 1, 1, 3], values: [1, 0, 1])
        let valid = Tensor(shape: [1, 1, 3], values: [1, 1, 0]).converted(to: .uint8)
        let (y, m) = ChangeTask.cumulativeTargets(target: mask, targetMask: valid, steps: 3, layout: .mask)
        XCTAssertEqual(y.floats, [0, 0, 0, 0, 0, 0, 1, 0, 0])
        XCTAssertEqual(m.converted(to: .float32).floats, [0, 0, 0, 0, 0, 0, 1, 1, 0])
    }

    /// Mask and step raster together: channel 1 (the steps) decides.
    func testChangeMaskAndStepUsesTheSteps() throws {
        let job = try TrainingConfig.parse(
            yaml: "task: change\ninputs: {paths: a.tif}\ntargets: {paths: t.tif, change_step: s.tif}", baseFolder: "/tmp")
        let task = ChangeTask(job: job)
        XCTAssertEqual(task.layout, .maskAndStep(origin: 0))
        let labels = Tensor(shape: [1, 2, 1, 2], values: [1, 0, 1, -1])   // mask [1, 0], steps [1, -1]
        let valid = Tensor(shape: [1, 1, 2], values: [1, 1]).converted(to: .uint8)
        let (y, _) = ChangeTask.cumulativeTargets(target: labels, targetMask: valid, steps: 2, layout: task.layout)
        XCTAssertEqual(y.floats, [0, 0, 1, 0])
    }

    func testChangeOutputsProbabilityAndDate() throws {
        let task = ChangeTask(job: try job(.change, "model: {hidden: [2], kernel: 1}"))
        let model = try RecurrentModel(config: task.modelConfig(inputChannels: 1), seed: 1)
        let values = Tensor(shape: [3, 1, 1, 2], values: [0, 1, 0, 1, 0, 1])
        let mask = Tensor(shape: [3, 1, 2], values: [1, 0, 1, 0, 1, 0]).converted(to: .uint8)
        let outputs = try task.outputs(model: model, values: values, mask: mask, normalization: nil,
                                       stepLabels: ["2021-01-01", "2021-02-01", "2021-03-01"])
        XCTAssertEqual(outputs.map(\.name), task.outputNames)
        let logits = try model.forward(values.reshaped([1, 3, 1, 1, 2]), mask: mask.reshaped([1, 3, 1, 2])).logits
        let last = logits.floats[4]
        XCTAssertEqual(outputs[0].values.floats[0], 1 / (1 + exp(-last)), accuracy: 1e-6)
        let firstAbove = (0..<3).first { logits.floats[$0 * 2] > 0 } ?? -1
        XCTAssertEqual(outputs[1].values.floats[0], Float(firstAbove))
        XCTAssertEqual(outputs[1].values.floats[1], -1, "a pixel never valid has no date")
        XCTAssertEqual(outputs[1].metadata["STEP_DATES"], "2021-01-01,2021-02-01,2021-03-01")
    }

    /// Nowcast: the first T − K steps are the input, the last K the target (mask repeated over channels).
    func testNowcastSplitsTheStack() throws {
        let task = NowcastTask(job: try job(.nowcast, "model: {forecast_steps: 2, forecast_base: zero}"))
        XCTAssertEqual(task.minimumSteps, 3)
        XCTAssertEqual(task.outputNames, ["forecast_t+1", "forecast_t+2"])
        // B = 1, T = 3, C = 2, 1 × 1 pixel: value = 10·t + c.
        let values = Tensor(shape: [1, 3, 2, 1, 1], values: [0, 1, 10, 11, 20, 21])
        let mask = Tensor(shape: [1, 3, 1, 1], values: [1, 1, 0]).converted(to: .uint8)
        let batch = Batch(values: values, mask: mask, target: nil, targetMask: nil, positions: [SamplePosition(x: 0, y: 0)])
        let example = try task.example(from: batch)
        XCTAssertEqual(example.input.floats, [0, 1])
        XCTAssertEqual(example.target.shape, [1, 2, 2, 1, 1])
        XCTAssertEqual(example.target.floats, [10, 11, 20, 21])
        XCTAssertEqual(example.targetMask.converted(to: .float32).floats, [1, 1, 0, 0])
    }

    /// `last_frame`: targets are changes from each pixel's latest valid input, and two forecast origins shift the
    /// earlier sequence's history behind a masked step. B = 1, T = 4, K = 1, C = 1, 2 pixels; value = 10·t + pixel,
    /// pixel 1 invalid at step 2.
    func testNowcastLastFrameTargetsAndOrigins() throws {
        let task = NowcastTask(job: try job(.nowcast, "model: {forecast_steps: 1}\nsampling: {forecast_origins: 2}"))
        XCTAssertEqual(task.forecastBase, .lastFrame)
        let values = Tensor(shape: [1, 4, 1, 1, 2], values: [0, 1, 10, 11, 20, 21, 30, 31])
        let mask = Tensor(shape: [1, 4, 1, 2], values: [1, 1, 1, 1, 1, 0, 1, 1]).converted(to: .uint8)
        let batch = Batch(values: values, mask: mask, target: nil, targetMask: nil, positions: [SamplePosition(x: 0, y: 0)])
        let example = try task.example(from: batch)
        XCTAssertEqual(example.input.shape, [2, 3, 1, 1, 2])
        // Origin 0: steps 0, 1, 2 -> step 3. Origin 1: a masked step, then steps 0, 1 -> step 2.
        XCTAssertEqual(example.input.floats, [0, 1, 10, 11, 20, 21, 0, 0, 0, 1, 10, 11])
        XCTAssertEqual(example.mask.converted(to: .float32).floats, [1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1])
        // Bases: origin 0 (20, 11: pixel 1's step 2 is invalid), origin 1 (10, 11).
        XCTAssertEqual(example.target.floats, [10, 20, 10, 10] as [Float])
        XCTAssertEqual(example.targetMask.converted(to: .float32).floats, [1, 1, 1, 0])
        // The metrics score frames: logits of zero change are persistence of the base frame.
        let metrics = task.makeMetrics()
        metrics.add(logits: Tensor(zeros: [2, 1, 1, 1, 2]), example: example)
        let expected: Double = 600.0 / 3   // frames 30, 31, 20 against bases 20, 11, 10
        XCTAssertEqual(metrics.values["mse"]!, expected, accuracy: 1e-9)
        XCTAssertEqual(metrics.values["persistence_mse"]!, 100, accuracy: 1e-9, "pixel 1 of origin 0 has no valid last frame")
    }

    /// Yield targets are standardised with the training statistics, and outputs and metrics mapped back to t/ha.
    func testYieldStandardizesTargets() throws {
        let plain = YieldTask(job: try job(.yield))
        let task = try XCTUnwrap(plain.standardizingTargets(with: NormalizationStats(mean: [5], std: [2], count: [9]))
                                 as? YieldTask)
        XCTAssertEqual(task.taskInfo(bandNames: nil, patchSize: 8).targetNormalization?.mean, [5])
        let target = Tensor(shape: [1, 1, 1, 2], values: [9, 1])
        let valid = Tensor(shape: [1, 1, 2], values: [1, 1]).converted(to: .uint8)
        let batch = Batch(values: Tensor(zeros: [1, 2, 1, 1, 2]), mask: Tensor(zeros: [1, 2, 1, 2], dtype: .uint8),
                          target: target, targetMask: valid, positions: [SamplePosition(x: 0, y: 0)])
        let example = try task.example(from: batch)
        XCTAssertEqual(example.target.floats, [2, -2])
        let metrics = task.makeMetrics()
        metrics.add(logits: Tensor(shape: [1, 1, 1, 2], values: [2.5, -2]), example: example)
        XCTAssertEqual(metrics.values["rmse"]!, (1.0 / 2).squareRoot(), accuracy: 1e-9, "1 t/ha off on one pixel")
    }

    /// Metrics against hand-counted answers.
    func testChangeMetricsCountTheLastStep() {
        let metrics = ChangeMetrics(datesKnown: true)
        // B = 1, T = 2, 5 pixels. Truth: pixel 0 changes at step 1, pixel 1 at 0, pixels 2 and 3 never, pixel 4 at 1.
        let target = Tensor(shape: [1, 2, 1, 1, 5], values: [0, 1, 0, 0, 0, 1, 1, 0, 0, 1])
        var ones = Tensor(zeros: [1, 2, 1, 5])
        ones.withMutableFloats { for i in 0..<$0.count { $0[i] = 1 } }
        // Predicted first change: pixel 0 at 1, pixel 1 at 1, pixel 2 at 0, pixels 3 and 4 never.
        let logits = Tensor(shape: [1, 2, 1, 1, 5], values: [-1, -1, 2, -1, -1, 3, 1, 4, -2, -3])
        let example = TrainingExample(input: Tensor(zeros: [1]), mask: Tensor(zeros: [1], dtype: .uint8),
                                      target: target, targetMask: ones.converted(to: .uint8))
        metrics.add(logits: logits, example: example)
        // Last step: predicted [1, 1, 1, 0, 0], truth [1, 1, 0, 0, 1] -> TP 2, FP 1, FN 1, TN 1.
        XCTAssertEqual(metrics.values["precision"]!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(metrics.values["recall"]!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(metrics.values["f1"]!, 2.0 / 3, accuracy: 1e-12)
        // Dates, as `strata evaluate` scores them: only truly changed pixels (0, 1, 4) count. Pixel 0 exact, pixel 1
        // one step early (within ±1), pixel 4 predicted unchanged (a miss); pixels 2 and 3 never changed and do not
        // enter the score, however they are predicted.
        XCTAssertEqual(metrics.values["date_accuracy"]!, 2.0 / 3, accuracy: 1e-12)
    }

    func testStackedPlanesJoinChannelsAndMasks() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let a = try fixture.writeLabels(width: 4, height: 3, name: "a") { _, x, y in Float(x + 10 * y) }
        let b = try fixture.writeLabels(width: 4, height: 3, name: "b") { _, x, _ in x == 2 ? .nan : 5 }
        let stacked = try StackedPlanes([try InputStack.open(a).planes(), try InputStack.open(b).planes()])
        XCTAssertEqual(stacked.channels, 2)
        let tile = try stacked.read(window: Window(x: 0, y: 0, width: 4, height: 3), plane: 0)
        XCTAssertEqual(Array(tile.values.floats[0..<4]), [0, 1, 2, 3])
        XCTAssertEqual(tile.values.floats[12], 5)
        XCTAssertEqual(Array(tile.mask.converted(to: .float32).floats[0..<4]), [1, 1, 0, 1])
    }
}
