import Foundation
import StrataCore
import StrataIO
import StrataModel
import XCTest
@testable import StrataPipeline

/// The checkpoint adapter with the real ConvLSTM: tiled predictions equal one window over the whole image when
/// tiles overlap by the receptive radius, and the radius rule is the tight one (a smaller overlap shows seams).
final class PredictionJobTilingTests: XCTestCase {
    var fixture: PredictionFixture!

    override func setUpWithError() throws { fixture = try PredictionFixture() }
    override func tearDown() { fixture.remove() }

    /// Two 3 × 3 ConvLSTM layers of 4 channels, randomly initialised, read as a change model; 2 input channels.
    func checkpoint(hidden: [Int] = [4, 4], kernel: [Int] = [3, 3]) throws -> ModelCheckpoint {
        var job = TrainingConfig(task: .change, inputs: TrainingConfig.Inputs(paths: []), output: "")
        job.model.hidden = hidden
        job.model.kernel = kernel
        let config = ChangeTask(job: job).modelConfig(inputChannels: 2)
        let model = try RecurrentModel(config: config, seed: 11)
        var tensors: [String: Tensor] = [:]
        for parameter in model.parameters { tensors[parameter.name] = parameter.value }
        return ModelCheckpoint(config: config, tensors: tensors,
                               task: TaskInfo(kind: "change", minimumInputSteps: 2))
    }

    func testReceptiveRadiusCountsLayersOnceAndStepsOnce() throws {
        var job = TrainingConfig(task: .change, inputs: TrainingConfig.Inputs(paths: []), output: "")
        job.model.hidden = [4, 4]
        job.model.kernel = [3, 3]
        let two = ChangeTask(job: job).modelConfig(inputChannels: 2)
        // r = 1 per convolution: 2 layers up, T − 1 steps across.
        XCTAssertEqual(CheckpointPredictor.receptiveRadius(config: two, steps: 3), 4)
        XCTAssertEqual(CheckpointPredictor.receptiveRadius(config: two, steps: 12), 13)
        job.model.hidden = [4]
        job.model.kernel = [5]
        XCTAssertEqual(CheckpointPredictor.receptiveRadius(config: ChangeTask(job: job).modelConfig(inputChannels: 2),
                                                           steps: 3), 6)
    }

    /// Tolerance 1e-5: tiles and the whole image run the same float32 convolutions on the same pixels, but GEMM
    /// blocking may sum in another order for another width.
    func testTilesEqualOneWindowWithTheRealConvLSTM() throws {
        let stack = try fixture.rasterStack(width: 37, height: 29, steps: 3, channels: 2)
        let planes = RasterPlanes(stack)
        let predictor = try CheckpointPredictor(checkpoint: try checkpoint(), name: "random", steps: 3)
        XCTAssertEqual(predictor.outputs.map(\.name), ["change_probability", "change_date"])
        XCTAssertEqual(predictor.receptiveRadius, 4)
        let whole = try PredictionFixture.wholePlanePrediction(planes, plane: 0, predictor: predictor).floats
        let valid = PredictionFixture.anyValid(
            try planes.read(window: Window(x: 0, y: 0, width: 37, height: 29), plane: 0).mask)

        func tiled(overlap: Int) throws -> Float {
            let output = fixture.path("tiled-\(overlap).tif")
            _ = try TiledPrediction(tile: 12, overlap: overlap).run(planes: planes, normalization: nil,
                                                                    predictor: predictor, output: output)
            let read = try RasterStack(file: output, bandsPerStep: 2)
                .read(window: Window(x: 0, y: 0, width: 37, height: 29))
            let written = read.values.floats, nodata = read.mask.bytes.map { $0 == 0 }
            var worst: Float = 0
            let area = 37 * 29
            for pixel in 0..<area {
                XCTAssertEqual(nodata[pixel], !valid[pixel], "nodata exactly where no input step is valid, \(pixel)")
                guard valid[pixel] else { continue }
                worst = max(worst, abs(written[pixel] - whole[pixel]))
                XCTAssertEqual(written[area + pixel], whole[area + pixel], "change_date at \(pixel)")
            }
            return worst
        }
        let atRadius = try tiled(overlap: 4)
        XCTAssertLessThanOrEqual(atRadius, 1e-5)
        // One pixel short of the radius the first frame's farthest context is cut: the result changes (by ~2e-6
        // with these random weights, the last pixel's influence having passed through four convolutions), so the
        // radius is not overstated.
        XCTAssertGreaterThan(try tiled(overlap: 3), atRadius)
    }

    func testCheckpointWithoutKnownTaskIsRefused() throws {
        var model = try checkpoint()
        model.task = TaskInfo(kind: "segmentation")
        XCTAssertThrowsError(try CheckpointPredictor(checkpoint: model, name: "imported", steps: 3)) { error in
            XCTAssertTrue("\(error)".contains("imported: the checkpoint's task 'segmentation' is not one of change"),
                          "\(error)")
        }
    }
}
