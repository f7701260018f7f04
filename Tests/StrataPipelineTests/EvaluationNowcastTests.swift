import XCTest
import StrataCore
@testable import StrataPipeline

final class EvaluationNowcastTests: XCTestCase {
    func testCSIKnownAnswer() {
        // Threshold 2 mm/h (≥ is an event). (forecast, observed):
        // (3, 2.5) hit; (0, 4) miss; (2.5, 1) false alarm; (1, 0) and (0, 0) neither; (5, 2) hit (2 ≥ 2).
        // CSI = 2 / (2 + 1 + 1) = 0.5.
        var csi = CriticalSuccessIndex(threshold: 2)
        for (f, o) in [(3, 2.5), (0, 4), (2.5, 1), (1, 0), (0, 0), (5, 2)] as [(Float, Float)] {
            csi.add(forecast: f, observed: o)
        }
        XCTAssertEqual([csi.hits, csi.misses, csi.falseAlarms], [2, 1, 1])
        XCTAssertEqual(try XCTUnwrap(csi.score), 0.5, accuracy: 1e-12)
        XCTAssertNil(CriticalSuccessIndex(threshold: 2).score)
    }

    // 1 × 2 pixels, 2 leads. Last input L = [1, 3]; observed lead 1 = [2, 3], lead 2 = [4, 1];
    // forecast lead 1 = [2, 5], lead 2 = [3, 1].
    // Forecast errors: lead 1: 0, 2 → MSE 2; lead 2: −1, 0 → MSE 0.5; overall (0 + 4 + 1 + 0) / 4 = 1.25.
    // Persistence errors: lead 1: 1 − 2, 3 − 3 → MSE 0.5; lead 2: 1 − 4, 3 − 1 → (9 + 4) / 2 = 6.5; overall 3.5.
    let lastInput: [Float] = [1, 3]
    let observed: [Float] = [2, 3, 4, 1]
    let forecast: [Float] = [2, 5, 3, 1]

    func check(_ report: NowcastReport, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(report.leads.map { $0.forecast.mse }, [2, 0.5], file: file, line: line)
        XCTAssertEqual(report.leads.map { $0.persistence?.mse }, [0.5, 6.5], file: file, line: line)
        XCTAssertEqual(try XCTUnwrap(report.overall.forecast.mse), 1.25, accuracy: 1e-12, file: file, line: line)
        XCTAssertEqual(try XCTUnwrap(report.overall.persistence?.mse), 3.5, accuracy: 1e-12, file: file, line: line)
        // CSI at 2 mm/h: lead 1 (2, 2) hit, (5, 3) hit → 1; lead 2 (3, 4) hit, (1, 1) neither → 1.
        // At 3.5: lead 1 (5 vs 3) false alarm → 0; lead 2 (3 vs 4) miss → 0. Overall: 0 / 2.
        XCTAssertEqual(report.leads.map { $0.csi.map(\.score) }, [[1, 0], [1, 0]], file: file, line: line)
    }

    func testPersistenceFromLastInputFile() throws {
        let report = try NowcastEvaluation(thresholds: [2, 3.5]).run(
            prediction: InMemoryRaster("forecast.tif", width: 2, height: 1, steps: 2, values: forecast),
            truth: InMemoryRaster("observed.tif", width: 2, height: 1, steps: 2, values: observed),
            lastInput: InMemoryRaster("last.tif", width: 2, height: 1, values: lastInput))
        XCTAssertEqual(report.persistenceSource, .lastInput)
        try check(report)
    }

    func testPersistenceFromTheStepBeforeTheTruthWindow() throws {
        let report = try NowcastEvaluation(thresholds: [2, 3.5], tileSize: 1).run(
            prediction: InMemoryRaster("forecast.tif", width: 2, height: 1, steps: 2, values: forecast),
            truth: InMemoryRaster("observed.tif", width: 2, height: 1, steps: 3, values: lastInput + observed))
        XCTAssertEqual(report.persistenceSource, .truthFirstStep)
        try check(report)
    }

    func testPixelsWithoutPersistenceLeaveBothScores() throws {
        // The last input is nodata at pixel 1: only pixel 0 counts. Forecast lead 1: 0 → MSE 0; persistence
        // lead 1: (1 − 2)² = 1.
        let report = try NowcastEvaluation().run(
            prediction: InMemoryRaster("forecast.tif", width: 2, height: 1, steps: 2, values: forecast),
            truth: InMemoryRaster("observed.tif", width: 2, height: 1, steps: 2, values: observed),
            lastInput: InMemoryRaster("last.tif", width: 2, height: 1, values: lastInput, mask: [1, 0]))
        XCTAssertEqual(report.leads[0].forecast.count, 1)
        XCTAssertEqual(report.leads[0].forecast.mse, 0)
        XCTAssertEqual(report.leads[0].persistence?.mse, 1)
    }

    func testNoPersistenceWithoutALastInput() throws {
        let report = try NowcastEvaluation().run(
            prediction: InMemoryRaster("forecast.tif", width: 2, height: 1, steps: 2, values: forecast),
            truth: InMemoryRaster("observed.tif", width: 2, height: 1, steps: 2, values: observed))
        XCTAssertEqual(report.persistenceSource, .none)
        XCTAssertNil(report.overall.persistence)
        XCTAssertEqual(report.overall.forecast.mse, 1.25)
    }

    func testStepCountsMustFit() {
        XCTAssertThrowsError(try NowcastEvaluation().run(
            prediction: InMemoryRaster("forecast.tif", width: 2, height: 1, steps: 2, values: forecast),
            truth: InMemoryRaster("observed.tif", width: 2, height: 1, steps: 1, values: lastInput))) { error in
            guard case let StrataError.gridMismatch(file, reference, property, _, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual([file, reference, property], ["observed.tif", "forecast.tif", "steps"])
        }
    }

    func testTaskInference() throws {
        typealias Clues = EvaluationTask.Clues
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(predictionIsVolume: true)), .lesions)
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(hasFields: true)), .yield)
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(hasChangeSteps: true)), .change)
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(hasLastInput: true)), .nowcast)
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(bandNames: ["Change probability"])), .change)
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(bandNames: ["yield_t_ha"])), .yield)
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(bandNames: ["pr"])), .nowcast)
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(bandNames: ["rain rate"])), .nowcast)
        // What `strata predict` names a nowcast's bands, one channel and several.
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(bandNames: ["forecast_t+1", "forecast_t+2"])), .nowcast)
        XCTAssertEqual(try EvaluationTask.infer(from: Clues(bandNames: ["forecast_t+1_band1", "forecast_t+1_band2"])),
                       .nowcast)
        // Nothing to go on, or two tasks at once: the user must say.
        XCTAssertThrowsError(try EvaluationTask.infer(from: Clues(bandNames: [""])))
        XCTAssertThrowsError(try EvaluationTask.infer(from: Clues(bandNames: ["change", "yield"]))) { error in
            XCTAssert("\(error)".contains("--task"), "\(error)")
        }
    }

    func testJSONKeepsUndefinedScoresAsNull() {
        let value: EvaluationJSON = .object(["f1": .number(0.5), "kappa": .number(nil), "n": .integer(3)])
        XCTAssertEqual(value.text, #"{"f1":0.5,"kappa":null,"n":3}"#)
        XCTAssertEqual(EvaluationJSON.threshold(0.1), .number(0.1))
    }
}
