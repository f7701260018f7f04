import Foundation
import StrataCore
import StrataIO
import StrataTestSupport
import XCTest
@testable import StrataPipeline

/// Tiling, blending and memory: tiled predictions through real GeoTIFFs against the predictor on the whole image.
final class PredictionTilingTests: XCTestCase {
    /// Largest |tiled − whole| over pixels with valid input; also checks that nodata is exactly where no step is
    /// valid, so an unwritten pixel (read back as nodata) or a prediction at a nodata pixel fails.
    func maxDifference(stack: RasterStack, output: String, predictor: BoxMeanPredictor,
                       file: StaticString = #filePath, line: UInt = #line) throws -> Float {
        let planes = RasterPlanes(stack)
        let expected = try PredictionFixture.wholePlanePrediction(planes, plane: 0, predictor: predictor).floats
        let whole = try stack.read(window: stack.grid.fullWindow)
        let hasData = PredictionFixture.anyValid(whole.mask)
        let written = try RasterStack(file: output, bandsPerStep: 2).read(window: stack.grid.fullWindow)
        let values = written.values.floats, mask = written.mask.bytes
        let area = stack.grid.width * stack.grid.height
        var worst: Float = 0
        for p in 0..<area {
            XCTAssertEqual(mask[p] != 0, hasData[p], "pixel \(p % stack.grid.width), \(p / stack.grid.width)",
                           file: file, line: line)
            guard hasData[p], mask[p] != 0 else { continue }
            for k in 0..<2 { worst = max(worst, abs(values[k * area + p] - expected[k * area + p])) }
        }
        return worst
    }

    /// The requirement: with overlap ≥ r the tiled result equals the whole-image one within 1e-5 (values
    /// are in 0...1, so that is ~100 ulp; blending only rescales equal predictions by Σw/Σw). Image sizes are not
    /// multiples of the tile, and one is smaller than a tile in both directions, one in a single direction.
    func testTiledPredictionEqualsWholeImagePrediction() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let radius = 3
        for (width, height) in [(70, 50), (20, 12), (41, 13)] {
            let stack = try fixture.rasterStack(width: width, height: height, name: "s\(width)x\(height)")
            for (tile, overlap) in [(16, 3), (24, 5), (32, 3), (19, 7)] {
                for blend in BlendWindow.allCases {
                    let predictor = BoxMeanPredictor(radius: radius)
                    let output = fixture.path("p_\(width)_\(tile)_\(overlap)_\(blend).tif")
                    let job = TiledPrediction(tile: tile, overlap: overlap, blend: blend)
                    let summary = try job.run(planes: RasterPlanes(stack), normalization: nil, predictor: predictor,
                                              output: output)
                    XCTAssertEqual(summary.warnings, [])
                    let worst = try maxDifference(stack: stack, output: output, predictor: predictor)
                    XCTAssertLessThan(worst, 1e-5, "\(width)x\(height) tile \(tile) overlap \(overlap) \(blend)")
                }
            }
        }
    }

    /// A tile larger than the image shrinks to the smallest window covering it (same values: the rest would be
    /// padding), so `--tile 4096` on a small image allocates for the image, not for 4096²; a tile whose buffers could
    /// not fit in this machine's memory is refused before anything is allocated.
    func testTileLargerThanTheImageShrinksToIt() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 41, height: 13, name: "small")
        let predictor = BoxMeanPredictor(radius: 3)
        let summary = try TiledPrediction(tile: 4096, overlap: 100).run(
            planes: RasterPlanes(stack), normalization: nil, predictor: predictor, output: fixture.path("big.tif"))
        XCTAssertEqual([summary.tile, summary.overlap, summary.tiles], [41, 0, 1])
        XCTAssertLessThan(summary.peakBufferBytes, 1 << 20)
        XCTAssertLessThan(try maxDifference(stack: stack, output: fixture.path("big.tif"), predictor: predictor), 1e-5)

        let wide = try fixture.rasterStack(width: 200_000, height: 2, steps: 2, channels: 1, name: "wide",
                                           invalid: { _, _, _ in false })
        XCTAssertThrowsError(try TiledPrediction(tile: 200_000).run(
            planes: RasterPlanes(wide), normalization: nil, predictor: predictor, output: fixture.path("wide.tif"))) {
            XCTAssertTrue("\($0)".contains("use a smaller --tile"), "\($0)")
        }
        XCTAssertFalse(try fixture.contents().contains { $0.contains("wide.tif") })
    }

    /// With overlap < r the tiles miss context at their inner edges: the difference is visible (the test above
    /// can fail), and the run warns.
    func testOverlapBelowReceptiveRadiusShowsSeams() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 70, height: 50)
        let predictor = BoxMeanPredictor(radius: 4)
        let output = fixture.path("seams.tif")
        let summary = try TiledPrediction(tile: 16, overlap: 1).run(
            planes: RasterPlanes(stack), normalization: nil, predictor: predictor, output: output)
        XCTAssertEqual(summary.warnings.count, 1)
        XCTAssertTrue(summary.warnings[0].contains("less than the receptive radius 4"), summary.warnings[0])
        XCTAssertGreaterThan(try maxDifference(stack: stack, output: output, predictor: predictor), 1e-3)
    }

    /// Without an overlap the job takes the receptive radius plus tile/16, so the default is seamless too.
    func testDefaultOverlapCoversTheReceptiveRadius() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 70, height: 50)
        let predictor = BoxMeanPredictor(radius: 3)
        let output = fixture.path("default.tif")
        let summary = try TiledPrediction(tile: 32).run(planes: RasterPlanes(stack), normalization: nil,
                                                        predictor: predictor, output: output)
        XCTAssertEqual(summary.overlap, 3 + 2)
        XCTAssertLessThan(try maxDifference(stack: stack, output: output, predictor: predictor), 1e-5)
    }

    /// A per-pixel model (radius 0) gets no overlap by default: windows only abut, and the tiles still equal one
    /// window over the image.
    func testDefaultOverlapOfAPerPixelModelIsZero() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 70, height: 50)
        let predictor = BoxMeanPredictor(radius: 0)
        let output = fixture.path("pixel.tif")
        let summary = try TiledPrediction(tile: 32).run(planes: RasterPlanes(stack), normalization: nil,
                                                        predictor: predictor, output: output)
        XCTAssertEqual(summary.overlap, 0)
        XCTAssertEqual(summary.tiles, 3 * 2, "70 x 50 px in 32 px windows that only abut (the last ones shifted)")
        XCTAssertEqual(summary.warnings, [])
        XCTAssertLessThan(try maxDifference(stack: stack, output: output, predictor: predictor), 1e-6)
    }

    /// Predicts each pixel's column within its window, mod 3: overlapping windows disagree, so blends are fractions.
    struct WindowColumnPredictor: Predictor {
        let kind: PredictionOutput.Kind
        var outputs: [PredictionOutput] { [PredictionOutput(name: "column_mod_3", kind: kind)] }
        var receptiveRadius: Int { 0 }
        var minimumSteps: Int { 1 }
        var name: String { "column-mod-3" }

        func predict(values: Tensor, mask: Tensor) throws -> Tensor {
            let (h, w) = (values.shape[2], values.shape[3])
            return Tensor(shape: [1, h, w], values: (0..<h * w).map { Float($0 % w % 3) })
        }
    }

    /// An `index` output (change_date) is blended like a value and then rounded: whole numbers in the file, within
    /// the range of the tiles' values; the same blend as a `value` output holds fractions.
    func testIndexOutputsAreRoundedAfterBlending() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 61, height: 20) { _, _, _ in false }
        var stored: [PredictionOutput.Kind: [Float]] = [:]
        for kind in [PredictionOutput.Kind.value, .index] {
            let output = fixture.path("\(kind).tif")
            try TiledPrediction(tile: 16, overlap: 4).run(planes: RasterPlanes(stack), normalization: nil,
                                                          predictor: WindowColumnPredictor(kind: kind), output: output)
            stored[kind] = try RasterStack(file: output, bandsPerStep: 1).read(window: stack.grid.fullWindow).values
                .floats
            let info = try ExternalTool.json("gdalinfo", ["-json", output])
            let band = try XCTUnwrap((info["bands"] as? [[String: Any]])?.first)
            let metadata = (band["metadata"] as? [String: [String: String]])?[""]
            XCTAssertEqual(metadata?["STRATA_KIND"], kind.rawValue)
        }
        let values = try XCTUnwrap(stored[.value]), indices = try XCTUnwrap(stored[.index])
        XCTAssertTrue(values.contains { $0 != $0.rounded() }, "overlapping windows disagree, so some blends are fractions")
        XCTAssertEqual(indices, values.map { $0.rounded() })
        XCTAssertTrue(indices.allSatisfy { (0...2).contains($0) })
    }

    /// Every pixel, edges and corners included, is written: an all-valid input gives no nodata pixel.
    func testEveryEdgePixelIsWritten() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 67, height: 45) { _, _, _ in false }
        let output = fixture.path("edges.tif")
        let summary = try TiledPrediction(tile: 16, overlap: 2).run(
            planes: RasterPlanes(stack), normalization: nil, predictor: BoxMeanPredictor(radius: 2), output: output)
        XCTAssertEqual(summary.nodataPixels, 0)
        let written = try RasterStack(file: output, bandsPerStep: 2).read(window: stack.grid.fullWindow)
        XCTAssertEqual(written.mask.bytes.filter { $0 == 0 }.count, 0)
        XCTAssertEqual(summary.tiles, TilePlan.starts(length: 67, tile: 16, stride: 12, alignment: 1).count
                                        * TilePlan.starts(length: 45, tile: 16, stride: 12, alignment: 1).count)
    }

    func testTilePlanReachesEveryEdgeWithoutReadingOutside() throws {
        for (width, height, tile, overlap) in [(70, 50, 16, 3), (1000, 600, 256, 16), (33, 97, 32, 0), (16, 16, 16, 2),
                                               (17, 5, 16, 7)] {
            let plan = try TilePlan(width: width, height: height, tile: tile, overlap: overlap)
            for (length, starts) in [(width, plan.columnStarts), (height, plan.rowStarts)] {
                if length <= tile {
                    XCTAssertEqual(starts, [0])
                } else {
                    XCTAssertEqual(starts.first, 0)
                    XCTAssertEqual(starts.last, length - tile, "the last tile ends exactly at the edge")
                    for (a, b) in zip(starts, starts.dropFirst()) {
                        XCTAssertTrue(b > a && b - a <= plan.stride, "starts \(starts)")
                    }
                }
            }
            for tile in plan.tiles {
                let w = tile.window
                if width > plan.tile { XCTAssertTrue(w.x >= 0 && w.x + w.width <= width) }
                if height > plan.tile { XCTAssertTrue(w.y >= 0 && w.y + w.height <= height) }
            }
        }
        XCTAssertEqual(try TilePlan(width: 1000, height: 600, tile: 256, overlap: 16).columnStarts,
                       [0, 224, 448, 672, 744])
    }

    /// With an alignment (a model folding a × a blocks) starts are multiples of a, consecutive windows still
    /// overlap by at least 2 · overlap, and the last one reaches the edge reading fewer than a pixels past it.
    func testAlignedTilePlanStartsOnTheBlockGrid() throws {
        for (length, tile, overlap, alignment) in [(1000, 256, 18, 4), (37, 24, 7, 2), (101, 32, 5, 8), (40, 16, 0, 4)] {
            let plan = try TilePlan(width: length, height: 20, tile: tile, overlap: overlap, alignment: alignment)
            let starts = plan.columnStarts
            XCTAssertTrue(starts.allSatisfy { $0 % alignment == 0 }, "\(starts)")
            XCTAssertEqual(starts.first, 0)
            XCTAssertTrue(starts.last! + tile >= length && starts.last! + tile < length + alignment, "\(starts)")
            for (a, b) in zip(starts, starts.dropFirst()) { XCTAssertTrue(b > a && b - a <= tile - 2 * overlap) }
        }
        XCTAssertEqual(try TilePlan(width: 1000, height: 600, tile: 256, overlap: 18, alignment: 4).columnStarts,
                       [0, 220, 440, 660, 744])
        XCTAssertThrowsError(try TilePlan(width: 100, height: 100, tile: 30, overlap: 2, alignment: 4)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(
                name: "--tile", reason: "30 px is not a multiple of 4: the model folds 4 × 4 pixel blocks "
                    + "(space_to_depth) and every tile must hold whole blocks"))
        }
        XCTAssertThrowsError(try TilePlan(width: 100, height: 100, tile: 32, overlap: 15, alignment: 4)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(
                name: "--overlap", reason: "15 px leaves tiles of 32 px advancing by less than one 4 px block of the "
                    + "model (space_to_depth); at most 14"))
        }
    }

    /// Bad tiling options, one per line, with the exact error.
    func testTilePlanRefusesBadOptions() {
        XCTAssertThrowsError(try TilePlan(width: 10, height: 10, tile: 0, overlap: 0)) {
            XCTAssertEqual($0 as? StrataError,
                           .invalidArgument(name: "--tile", reason: "must be at least 1 pixel, got 0"))
        }
        XCTAssertThrowsError(try TilePlan(width: 10, height: 10, tile: 16, overlap: 8)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(
                name: "--overlap", reason: "must be in 0..<8 (less than half of --tile 16), got 8"))
        }
        XCTAssertThrowsError(try TilePlan(width: 10, height: 10, tile: 16, overlap: -1)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(
                name: "--overlap", reason: "must be in 0..<8 (less than half of --tile 16), got -1"))
        }
        XCTAssertThrowsError(try TilePlan(width: 0, height: 10, tile: 16, overlap: 0)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "image", reason: "0x10 pixels is empty"))
        }
    }

    /// Shards `0..<n` cover every tile exactly once, in contiguous runs whose sizes differ by at most one.
    func testShardsCoverEveryTileExactlyOnce() throws {
        for (width, height) in [(70, 50), (1000, 600), (5, 5)] {
            let plan = try TilePlan(width: width, height: height, tile: 16, overlap: 2)
            for n in 1...9 {
                let shards = (0..<n).map { plan.tiles(shard: $0, of: n) }
                XCTAssertEqual(shards.flatMap { $0 }.map(\.index), Array(0..<plan.count), "\(n) shards")
                let sizes = shards.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
            }
        }
    }

    /// Blending weights: a margin of zeros, a rise strictly inside (0, 1), full weight on image-edge sides.
    func testBlendRampsAndEdgeProfiles() {
        for blend in BlendWindow.allCases {
            let ramp = blend.ramp(margin: 3, transition: 6)
            XCTAssertEqual(Array(ramp.prefix(3)), [0, 0, 0])
            XCTAssertTrue(ramp.dropFirst(3).allSatisfy { $0 > 0 && $0 < 1 })
            XCTAssertEqual(ramp.dropFirst(3).sorted(), Array(ramp.dropFirst(3)), "rising")
            let inner = blend.profile(tile: 16, ramp: ramp, startIsEdge: false, endIsEdge: false)
            XCTAssertEqual(inner.first, 0)
            XCTAssertEqual(inner.last, 0)
            let edge = blend.profile(tile: 16, ramp: ramp, startIsEdge: true, endIsEdge: false)
            XCTAssertEqual(edge.first, 1, "an image-edge side keeps full weight")
            XCTAssertEqual(edge.last, 0)
        }
        let hann = BlendWindow.hann.ramp(margin: 0, transition: 2)
        XCTAssertEqual(hann[0], Float(0.5 - 0.5 * cos(Double.pi / 4)), accuracy: 1e-6)
    }

    /// Memory: the job's buffers equal the documented formula and do not grow with the image height.
    func testPeakBufferBytesFollowFormulaAndIgnoreHeight() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let (tile, steps, channels, outputs, width) = (32, 2, 1, 2, 64)
        var peaks: [Int] = []
        for height in [256, 2048] {
            let stack = try fixture.rasterStack(width: width, height: height, steps: steps, channels: channels,
                                                name: "h\(height)")
            let summary = try TiledPrediction(tile: tile, overlap: 4).run(
                planes: RasterPlanes(stack), normalization: nil, predictor: BoxMeanPredictor(radius: 2),
                output: fixture.path("h\(height).tif"))
            // Strip (R = tile rows): K sums + weight as float, validity byte; finished strip; one tile.
            let strip = tile * width * (4 * (outputs + 1) + 1)
            let finished = 4 * outputs * tile * width
            let window = tile * tile * (4 * steps * channels + steps + 4 * outputs)
            XCTAssertEqual(summary.peakBufferBytes, strip + finished + window)
            XCTAssertEqual(summary.peakBufferBytes, TiledPrediction.bufferBytes(
                width: width, height: height, tile: tile, steps: steps, channels: channels, outputs: outputs))
            peaks.append(summary.peakBufferBytes)
        }
        XCTAssertEqual(peaks[0], peaks[1], "64×256 and 64×2048 hold the same buffers")
    }
}
