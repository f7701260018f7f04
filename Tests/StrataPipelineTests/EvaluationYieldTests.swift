import XCTest
import StrataCore
@testable import StrataPipeline

final class EvaluationYieldTests: XCTestCase {
    func testRegressionKnownAnswer() throws {
        // Errors p − t: −0.5, 0.5, 0, 1 → SSE = 0.25 + 0.25 + 0 + 1 = 1.5; MSE = 0.375; MAE = 2 / 4 = 0.5.
        // Truth mean = (3 − 0.5 + 2 + 7) / 4 = 2.875; SS_tot = 0.125² + 3.375² + 0.875² + 4.125² = 29.1875;
        // R² = 1 − 1.5 / 29.1875.
        var scores = RegressionAccumulator()
        for (p, t) in [(2.5, 3.0), (0, -0.5), (2, 2), (8, 7)] { scores.add(predicted: p, truth: t) }
        XCTAssertEqual(try XCTUnwrap(scores.rmse), 0.375.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(scores.mae), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(scores.r2), 1 - 1.5 / 29.1875, accuracy: 1e-12)
    }

    func testConstantTruthLeavesR2Undefined() {
        // SS_tot = 0: R² is nil (JSON null) even for a perfect prediction; RMSE and MAE stay defined.
        var perfect = RegressionAccumulator(), off = RegressionAccumulator()
        for _ in 0..<3 {
            perfect.add(predicted: 5, truth: 5)
            off.add(predicted: 6, truth: 5)
        }
        XCTAssertNil(perfect.r2)
        XCTAssertNil(off.r2)
        XCTAssertEqual(off.rmse, 1)
        XCTAssertNil(RegressionAccumulator().rmse)
    }

    func testMergedWindowsEqualOnePass() throws {
        let p = noise(count: 1000, seed: 7).map(Double.init), t = noise(count: 1000, seed: 8).map { Double($0) * 10 }
        var once = RegressionAccumulator()
        for i in p.indices { once.add(predicted: p[i], truth: t[i]) }
        var merged = RegressionAccumulator()
        for chunk in stride(from: 0, to: 1000, by: 137) {
            var part = RegressionAccumulator()
            for i in chunk..<min(chunk + 137, 1000) { part.add(predicted: p[i], truth: t[i]) }
            merged.merge(part)
        }
        // Same sums in another order: equal to ~1e-12 relative (double rounding).
        XCTAssertEqual(merged.count, once.count)
        XCTAssertEqual(try XCTUnwrap(merged.rmse), try XCTUnwrap(once.rmse), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(merged.r2), try XCTUnwrap(once.r2), accuracy: 1e-12)
    }

    // 2 × 3 pixels: fields 1 1 0 / 2 2 2 (0 = no field).
    let fieldIDs: [Float] = [1, 1, 0, 2, 2, 2]
    let predicted: [Float] = [4, 6, 9, 1, 2, 6]
    let observed: [Float] = [5, 5, 9, 2, 2, 2]

    func testPerPixelAndPerFieldKnownAnswer() throws {
        // Per pixel, errors −1, 1, 0, −1, 0, 4 → SSE = 19, MSE = 19/6, MAE = 7/6.
        // Field 1: mean prediction (4 + 6)/2 = 5, truth 5. Field 2: prediction (1 + 2 + 6)/3 = 3, truth 2.
        // Per field: errors 0, 1 → RMSE = √(1/2), MAE = 1/2; truth 5, 2 (mean 3.5, SS_tot 4.5) → R² = 1 − 1/4.5.
        for tile in [1, 2, 4] {
            let report = try YieldEvaluation(tileSize: tile).run(
                prediction: InMemoryRaster("yield.tif", width: 3, height: 2, values: predicted),
                truth: .raster(InMemoryRaster("truth.tif", width: 3, height: 2, values: observed)),
                fields: InMemoryRaster("fields.tif", width: 3, height: 2, values: fieldIDs))
            let pixels = try XCTUnwrap(report.pixels), fields = try XCTUnwrap(report.fieldScores)
            XCTAssertEqual(try XCTUnwrap(pixels.rmse), (19.0 / 6).squareRoot(), accuracy: 1e-12)
            XCTAssertEqual(try XCTUnwrap(pixels.mae), 7.0 / 6, accuracy: 1e-12)
            XCTAssertEqual(report.fields, [FieldRow(fieldID: 1, predicted: 5, truth: 5, pixels: 2),
                                           FieldRow(fieldID: 2, predicted: 3, truth: 2, pixels: 3)])
            XCTAssertEqual(try XCTUnwrap(fields.rmse), 0.5.squareRoot(), accuracy: 1e-12)
            XCTAssertEqual(try XCTUnwrap(fields.mae), 0.5, accuracy: 1e-12)
            XCTAssertEqual(try XCTUnwrap(fields.r2), 1 - 1 / 4.5, accuracy: 1e-12)
        }
    }

    func testFieldMeansUseOnlyPixelsValidOnBothSides() throws {
        // The truth is nodata at the pixel predicted 6 in field 2: field 2 becomes prediction (1 + 2)/2 = 1.5 vs
        // truth 2, from 2 pixels; that pixel leaves the per-pixel scores too (5 pixels).
        var truthMask = [UInt8](repeating: 1, count: 6)
        truthMask[5] = 0
        let report = try YieldEvaluation().run(
            prediction: InMemoryRaster("yield.tif", width: 3, height: 2, values: predicted),
            truth: .raster(InMemoryRaster("truth.tif", width: 3, height: 2, values: observed, mask: truthMask)),
            fields: InMemoryRaster("fields.tif", width: 3, height: 2, values: fieldIDs))
        XCTAssertEqual(report.pixels?.count, 5)
        XCTAssertEqual(report.fields?.last, FieldRow(fieldID: 2, predicted: 1.5, truth: 2, pixels: 2))
    }

    func testPerFieldTruthTable() throws {
        // CSV truth: field 1 → 4, field 2 → 3, field 7 → 1 (not in the map). Map means: field 1 → 5, field 2 → 3.
        // Scored fields 1 and 2: errors 1, 0 → RMSE √(1/2), MAE 1/2; field 7 is listed without a prediction.
        let table = try FieldTruthTable.parse("field_id,yield\n1,4\n2, 3.0\n\n# comment\n7,1\n", path: "truth.csv")
        XCTAssertEqual(table, [1: 4, 2: 3, 7: 1])
        let report = try YieldEvaluation().run(
            prediction: InMemoryRaster("yield.tif", width: 3, height: 2, values: predicted),
            truth: .fieldTable(table), fields: InMemoryRaster("fields.tif", width: 3, height: 2, values: fieldIDs))
        XCTAssertNil(report.pixels)
        XCTAssertEqual(report.fieldScores?.count, 2)
        XCTAssertEqual(try XCTUnwrap(report.fieldScores?.rmse), 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(report.fields?.last, FieldRow(fieldID: 7, predicted: nil, truth: 1, pixels: 0))
    }

    /// `strata synth yield`'s `truth/field_yield.csv`: columns found by name, the others ignored, `nan` skipped.
    func testTruthTableColumnsAreFoundByHeaderName() throws {
        let synth = "field_id,crop,yield_t_ha,area_ha\n1,soybean,0.3393,2.1900\n2,maize,2.7829,1.5\n3,maize,nan,0.0000\n"
        XCTAssertEqual(try FieldTruthTable.parse(synth, path: "field_yield.csv"), [1: 0.3393, 2: 2.7829])
        XCTAssertEqual(try FieldTruthTable.parse("Yield, ID ,note\n4.5,7,x\n", path: "t.csv"), [7: 4.5])
        XCTAssertEqual(try FieldTruthTable.parse("# made by hand\n3,1.5\n", path: "t.csv"), [3: 1.5])
    }

    /// Headers and rows that cannot be read, one per line, with the exact message.
    func testUnreadableTruthTablesNameTheFileAndTheProblem() {
        let cases: [(String, String)] = [
            ("field_id,crop,area_ha\n1,maize,2\n",
             "t.csv: cannot be read: line 1: no yield column in the header 'field_id,crop,area_ha' (expected 'yield' or"
                + " one name starting with 'yield', e.g. 'yield_t_ha')"),
            ("field_id,yield_t_ha,yield_bu_ac\n1,2,3\n",
             "t.csv: cannot be read: line 1: several yield columns in the header 'field_id,yield_t_ha,yield_bu_ac';"
                + " name the true one 'yield' (expected 'yield' or one name starting with 'yield', e.g. 'yield_t_ha')"),
            ("crop,yield\nmaize,2\n",
             "t.csv: cannot be read: line 1: no field id column in the header 'crop,yield' (expected one of field_id,"
                + " id, fid, field)"),
            ("field_id,crop,yield_t_ha\n1,maize\n",
             "t.csv: cannot be read: line 2: expected 'field_id,yield_t_ha' with a positive integer id and a number,"
                + " found '1,maize'"),
            ("field_id,crop,yield_t_ha\n1,maize,high\n",
             "t.csv: cannot be read: line 2: expected 'field_id,yield_t_ha' with a positive integer id and a number,"
                + " found '1,maize,high'"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try FieldTruthTable.parse(text, path: "t.csv"), text) { error in
                XCTAssertEqual((error as? StrataError)?.description, message)
                XCTAssertEqual((error as? StrataError)?.exitCode, 2)
            }
        }
    }

    func testMalformedTruthTableNamesTheLine() {
        XCTAssertThrowsError(try FieldTruthTable.parse("field_id,yield\n1,4\nx,2\n", path: "t.csv")) { error in
            XCTAssert("\(error)".contains("line 3"), "\(error)")
        }
        XCTAssertThrowsError(try FieldTruthTable.parse("1,4\n1,5\n", path: "t.csv")) { error in
            XCTAssert("\(error)".contains("field 1 appears twice"), "\(error)")
        }
    }
}
