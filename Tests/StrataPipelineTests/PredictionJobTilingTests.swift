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
    func checkpoint(hidden: [Int] = [4, 4], kernel: [Int] = [3, 3], spaceToDepth: Int = 1) throws -> ModelCheckpoint {
        var job = TrainingConfig(task: .change, inputs: TrainingConfig.Inputs(paths: []), output: "")
        job.model.hidden = hidden
        job.model.kernel = kernel
        job.model.spaceToDepth = spaceToDepth
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
        let predictor = try CheckpointPredictor(checkpoint: try checkpoint(), name: "random", steps: 3)
        XCTAssertEqual(predictor.outputs.map(\.name), ["change_probability", "change_date"])
        XCTAssertEqual(predictor.receptiveRadius, 4)
        let atRadius = try largestTiledDifference(predictor, tile: 12, overlap: 4)
        XCTAssertLessThanOrEqual(atRadius, 1e-5)
        // One pixel short of the radius the first frame's farthest context is cut: the result changes (by ~2e-6
        // with these random weights, the last pixel's influence having passed through four convolutions), so the
        // radius is not overstated.
        XCTAssertGreaterThan(try largestTiledDifference(predictor, tile: 12, overlap: 3), atRadius)
    }

    /// A model folding 2 × 2 blocks (`space_to_depth: 2`): tiles start on even pixels, the last one past the odd
    /// edge, and the radius counts folded pixels (1 + 2 = 3 of them: 3 · 2 + 1 = 7 px).
    func testFoldingModelTilesEqualOneWindow() throws {
        let predictor = try CheckpointPredictor(checkpoint: try checkpoint(hidden: [4], kernel: [3], spaceToDepth: 2),
                                                name: "folding", steps: 3)
        XCTAssertEqual(predictor.alignment, 2)
        XCTAssertEqual(predictor.receptiveRadius, 7)
        XCTAssertLessThanOrEqual(try largestTiledDifference(predictor, tile: 24, overlap: 7), 1e-5)
        XCTAssertThrowsError(try largestTiledDifference(predictor, tile: 25, overlap: 7)) {
            XCTAssertTrue("\($0)".contains("multiple of 2"), "\($0)")
        }
    }

    /// Without --tile the default 256 is rounded up to whole blocks of a folding model (space_to_depth 3: 258), so
    /// such a model predicts without the user having to pick a multiple of 3.
    func testDefaultTileRoundsToTheModelsBlocks() throws {
        let predictor = try CheckpointPredictor(checkpoint: try checkpoint(hidden: [4], kernel: [3], spaceToDepth: 3),
                                                name: "folding3", steps: 3)
        let stack = try fixture.rasterStack(width: 301, height: 7, steps: 3, channels: 2, name: "wide")
        let summary = try TiledPrediction().run(planes: RasterPlanes(stack), normalization: nil, predictor: predictor,
                                                output: fixture.path("wide.tif"))
        XCTAssertEqual(summary.tile, 258)
        XCTAssertThrowsError(try TiledPrediction(tile: 256).run(planes: RasterPlanes(stack), normalization: nil,
                                                                predictor: predictor, output: fixture.path("w2.tif"))) {
            XCTAssertTrue("\($0)".contains("multiple of 3"), "\($0)")
        }
    }

    /// Predicts the 37 × 29 fixture stack in tiles and as one window and returns the largest difference of the
    /// probability band; nodata must be exactly where no step is valid and the date band must agree exactly.
    func largestTiledDifference(_ predictor: CheckpointPredictor, tile: Int, overlap: Int,
                                file: StaticString = #filePath, line: UInt = #line) throws -> Float {
        let stack = try fixture.rasterStack(width: 37, height: 29, steps: 3, channels: 2)
        let planes = RasterPlanes(stack)
        let whole = try PredictionFixture.wholePlanePrediction(planes, plane: 0, predictor: predictor).floats
        let valid = PredictionFixture.anyValid(
            try planes.read(window: Window(x: 0, y: 0, width: 37, height: 29), plane: 0).mask)
        let output = fixture.path("tiled-\(tile)-\(overlap).tif")
        _ = try TiledPrediction(tile: tile, overlap: overlap).run(planes: planes, normalization: nil,
                                                                  predictor: predictor, output: output)
        let read = try RasterStack(file: output, bandsPerStep: 2).read(window: Window(x: 0, y: 0, width: 37, height: 29))
        let written = read.values.floats, nodata = read.mask.bytes.map { $0 == 0 }
        var worst: Float = 0
        let area = 37 * 29
        for pixel in 0..<area {
            XCTAssertEqual(nodata[pixel], !valid[pixel], "nodata exactly where no input step is valid, \(pixel)",
                           file: file, line: line)
            guard valid[pixel] else { continue }
            worst = max(worst, abs(written[pixel] - whole[pixel]))
            XCTAssertEqual(written[area + pixel], whole[area + pixel], "change_date at \(pixel)", file: file, line: line)
        }
        return worst
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
