import XCTest
import StrataCore
import StrataIO
@testable import StrataPipeline

final class EvaluationChangeTests: XCTestCase {
    // 2 × 5 pixels. Truth: top row changed, bottom row unchanged. Prediction at threshold 0.5 (≥ is change):
    //   top    0.9 0.5 0.7 | 0.2 0.1   → TP TP TP | FN FN      (0.5 itself counts as change)
    //   bottom 0.6 | 0.3 0.0 0.49 0.1  → FP | TN TN TN TN
    // TP = 3, FP = 1, FN = 2, TN = 4, N = 10.
    let probabilities: [Float] = [0.9, 0.5, 0.7, 0.2, 0.1, 0.6, 0.3, 0.0, 0.49, 0.1]
    let truthMask: [Float] = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]

    func testConfusionScoresKnownAnswer() throws {
        let report = try ChangeEvaluation(threshold: 0.5).run(
            prediction: InMemoryRaster("p.tif", width: 5, height: 2, values: probabilities),
            truth: InMemoryRaster("t.tif", width: 5, height: 2, values: truthMask))
        let c = report.confusion
        XCTAssertEqual([c.truePositives, c.falsePositives, c.falseNegatives, c.trueNegatives], [3, 1, 2, 4])
        XCTAssertEqual(report.excludedPixels, 0)
        // Exact ratios of small integers: tolerance is double rounding only.
        XCTAssertEqual(try XCTUnwrap(c.precision), 3.0 / 4.0, accuracy: 1e-12)   // TP / (TP + FP)
        XCTAssertEqual(try XCTUnwrap(c.recall), 3.0 / 5.0, accuracy: 1e-12)      // TP / (TP + FN)
        XCTAssertEqual(try XCTUnwrap(c.f1), 6.0 / 9.0, accuracy: 1e-12)          // 2TP / (2TP + FP + FN)
        XCTAssertEqual(try XCTUnwrap(c.iou), 3.0 / 6.0, accuracy: 1e-12)         // TP / (TP + FP + FN)
        // p_o = (3 + 4) / 10 = 0.7; p_e = [(3+1)(3+2) + (2+4)(1+4)] / 100 = (20 + 30) / 100 = 0.5;
        // kappa = (0.7 − 0.5) / (1 − 0.5) = 0.4.
        XCTAssertEqual(try XCTUnwrap(c.kappa), 0.4, accuracy: 1e-12)
    }

    func testNodataOnEitherSideIsExcluded() throws {
        // A third row that would add 5 false positives, but is nodata in the truth; one more pixel of the first
        // row (a TP) is nodata in the prediction. Expected: TP = 2, FP = 1, FN = 2, TN = 4, excluded = 6.
        var predictionMask = [UInt8](repeating: 1, count: 15)
        predictionMask[0] = 0
        let truthValid = [UInt8](repeating: 1, count: 10) + [UInt8](repeating: 0, count: 5)
        let report = try ChangeEvaluation().run(
            prediction: InMemoryRaster("p.tif", width: 5, height: 3, values: probabilities + [1, 1, 1, 1, 1],
                                       mask: predictionMask),
            truth: InMemoryRaster("t.tif", width: 5, height: 3, values: truthMask + [0, 0, 0, 0, 0], mask: truthValid))
        let c = report.confusion
        XCTAssertEqual([c.truePositives, c.falsePositives, c.falseNegatives, c.trueNegatives], [2, 1, 2, 4])
        XCTAssertEqual(report.excludedPixels, 6)
    }

    func testKappaMatchesItsDefinition() throws {
        // Complete disagreement: p_o = 0, p_e = (5·5 + 5·5) / 100 = 0.5 → kappa = (0 − 0.5) / 0.5 = −1.
        XCTAssertEqual(BinaryConfusion(falsePositives: 5, falseNegatives: 5).kappa, -1)
        // The product form used by `kappa` against (p_o − p_e) / (1 − p_e) on pseudo-random counts.
        let counts = noise(count: 400, seed: 11).map { Int($0 * 1000) }
        for i in stride(from: 0, to: counts.count, by: 4) {
            let c = BinaryConfusion(truePositives: counts[i], falsePositives: counts[i + 1],
                                    falseNegatives: counts[i + 2], trueNegatives: counts[i + 3])
            let n = Double(c.total)
            let (tp, fp, fn, tn) = (Double(c.truePositives), Double(c.falsePositives), Double(c.falseNegatives),
                                    Double(c.trueNegatives))
            let observed = (tp + tn) / n, chance = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
            XCTAssertEqual(try XCTUnwrap(c.kappa), (observed - chance) / (1 - chance), accuracy: 1e-12)
        }
    }

    func testUndefinedScoresAreNil() {
        // Nothing predicted, nothing true: precision, recall, F1, IoU have zero denominators; p_e = 1 for kappa.
        let empty = BinaryConfusion(trueNegatives: 5)
        XCTAssertNil(empty.precision)
        XCTAssertNil(empty.f1)
        XCTAssertNil(empty.iou)
        XCTAssertNil(empty.kappa)
        XCTAssertNil(BinaryConfusion().kappa)
    }

    func testStreamingEqualsOneShotForWindowsThatDoNotDivideTheImage() throws {
        let (width, height) = (37, 23)
        let p = noise(count: width * height, seed: 1)
        let t = noise(count: width * height, seed: 2).map { $0 > 0.6 ? Float(1) : 0 }
        let validity = noise(count: width * height, seed: 3).map { $0 > 0.1 ? UInt8(1) : 0 }
        // One shot: a plain loop over all pixels, independent of the windowed code path.
        var expected = BinaryConfusion()
        var excluded = 0
        for i in p.indices {
            if validity[i] == 0 { excluded += 1; continue }
            expected.add(predicted: p[i] >= 0.3, truth: t[i] >= 0.5)
        }
        XCTAssertGreaterThan(expected.truePositives, 0)
        for tile in [5, 8, 16, 64] {
            let report = try ChangeEvaluation(threshold: 0.3, tileSize: tile).run(
                prediction: InMemoryRaster("p", width: width, height: height, values: p, mask: validity),
                truth: InMemoryRaster("t", width: width, height: height, values: t))
            XCTAssertEqual(report.confusion, expected, "tile \(tile)")
            XCTAssertEqual(report.excludedPixels, excluded, "tile \(tile)")
        }
    }

    func testTilesCoverEveryPixelOnce() {
        // 7 × 5 pixels in tiles of 3: columns 0…2, 3…5, 6 and rows 0…2, 3…4 → 6 windows, 35 pixels.
        let windows = EvaluationTiles.windows(width: 7, height: 5, tileSize: 3)
        XCTAssertEqual(windows.count, 6)
        XCTAssertEqual(windows.last, Window(x: 6, y: 3, width: 1, height: 2))
        var covered = [Int](repeating: 0, count: 35)
        for w in windows { for y in w.y..<w.y + w.height { for x in w.x..<w.x + w.width { covered[y * 7 + x] += 1 } } }
        XCTAssertEqual(covered, [Int](repeating: 1, count: 35))
    }

    func testDateAccuracyKnownAnswer() throws {
        // Steps from 0; −1 = unchanged. Pixel by pixel (truth, prediction), tolerance 1:
        //   (2, 1) hit; (2, 3) hit; (4, −1) miss, predicted unchanged; (−1, 0) not truly changed, not counted;
        //   (1, 4) miss, off by 3; (0, 0) hit.  changed = 5, within = 3 → 3/5. Tolerance 0: only (0, 0) → 1/5.
        let truth = InMemoryRaster("truth_step.tif", width: 6, height: 1, values: [2, 2, 4, -1, 1, 0])
        let predicted = InMemoryRaster("pred_step.tif", width: 6, height: 1, values: [1, 3, -1, 0, 4, 0])
        let loose = try ChangeEvaluation(dateTolerance: 1, tileSize: 4)
            .dateAccuracy(predictedSteps: predicted, trueSteps: truth, on: predicted)
        XCTAssertEqual([loose.changed, loose.withinTolerance, loose.predictedUnchanged], [5, 3, 1])
        XCTAssertEqual(try XCTUnwrap(loose.accuracy), 0.6, accuracy: 1e-12)
        let exact = try ChangeEvaluation(dateTolerance: 0).dateAccuracy(predictedSteps: predicted, trueSteps: truth,
                                                                        on: predicted)
        XCTAssertEqual(try XCTUnwrap(exact.accuracy), 0.2, accuracy: 1e-12)
    }

    func testGridMismatchNamesBothFilesAndTheProperty() {
        let prediction = InMemoryRaster("pred.tif", width: 5, height: 2, values: probabilities)
        let shifted = InMemoryRaster("truth.tif", width: 5, height: 2, values: truthMask,
                                     geoTransform: [10, 1, 0, 0, 0, -1])
        XCTAssertThrowsError(try ChangeEvaluation().run(prediction: prediction, truth: shifted)) { error in
            guard case let StrataError.gridMismatch(file, reference, property, _, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual([file, reference, property], ["truth.tif", "pred.tif", "geotransform"])
            XCTAssertEqual((error as? StrataError)?.exitCode, 2)
        }
        let smaller = InMemoryRaster("truth.tif", width: 4, height: 2, values: Array(truthMask.prefix(8)))
        XCTAssertThrowsError(try ChangeEvaluation().run(prediction: prediction, truth: smaller)) { error in
            XCTAssertEqual(error as? StrataError, .gridMismatch(file: "truth.tif", reference: "pred.tif",
                                                                property: "size", expected: "5x2", found: "4x2"))
        }
        let otherCRS = InMemoryRaster("truth.tif", width: 5, height: 2, values: truthMask,
                                      crs: CRS(wkt: "", epsg: 32633))
        XCTAssertThrowsError(try ChangeEvaluation().run(prediction: prediction, truth: otherCRS)) { error in
            guard case let StrataError.gridMismatch(_, _, property, _, found) = error else { return XCTFail("\(error)") }
            XCTAssertEqual([property, found], ["CRS", "EPSG:32633"])
        }
    }
}
