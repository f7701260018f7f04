import Foundation
import XCTest
import StrataTestSupport

/// `strata demo --quick` end to end: every stage runs through the user's code paths and leaves its files.
final class DemoCommandTests: XCTestCase {
    /// What one `strata demo SCENARIO --quick --json` run left: its output folder, the printed summary, the summary's
    /// headline numbers and the wall-clock seconds the run took.
    struct QuickDemo {
        let out: String
        let summary: [String: Any]
        let headline: [String: Double]
        let elapsed: TimeInterval
    }

    /// Runs the quick demo of `scenario` (nil: the default) in a fresh folder; fails the test if it exits non-zero.
    func quickDemo(_ scenario: String?) throws -> QuickDemo {
        let out = try CLI.temporaryFolder(self).appendingPathComponent("demo").path
        let started = Date()
        let result = try CLI.run(["demo"] + (scenario.map { [$0] } ?? []) + ["--quick", "--out", out, "--json"])
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let headline = try XCTUnwrap(summary["headline"] as? [String: Double])
        return QuickDemo(out: out, summary: summary, headline: headline, elapsed: elapsed)
    }

    func testQuickChangeDemoWritesEveryStage() throws {
        let demo = try quickDemo(nil)
        let (out, summary, headline) = (demo.out, demo.summary, demo.headline)
        XCTAssertLessThan(demo.elapsed, 30, "the quick demo is the CLI test's budget")
        XCTAssertEqual(summary["scenario"] as? String, "change")
        let seconds = try XCTUnwrap(summary["seconds"] as? [String: Double])
        XCTAssertEqual(Set(seconds.keys), ["synth", "train", "predict", "evaluate"])
        for key in ["f1", "precision", "recall", "date_accuracy"] {
            let value = try XCTUnwrap(headline[key], "headline lacks \(key)")
            XCTAssertTrue((0...1).contains(value), "\(key) = \(value)")
        }
        for file in ["job.yaml", "run/metrics.jsonl", "prediction/change.tif", "evaluation.json",
                     "data/train/truth/change.tif", "data/heldout/truth/change_step.tif"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), "missing \(file)")
        }
        // The job file is a real one: strata train reads it (a second run writes into the same run folder).
        let job = try String(contentsOfFile: out + "/job.yaml", encoding: .utf8)
        XCTAssertTrue(job.contains("task: change"), job)
        let rerun = try CLI.run(["train", "--config", out + "/job.yaml", "--quiet"])
        XCTAssertEqual(rerun.exitCode, 0, rerun.stderr)
        // The prediction is the held-out scene's, on its grid, with the task's band names.
        let info = try ExternalTool.output("gdalinfo", ["-json", out + "/prediction/change.tif"])
        let bands = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any])?["bands"]
                                  as? [[String: Any]])
        XCTAssertEqual(bands.map { $0["description"] as? String }, ["change_probability", "change_date"])
        let truth = try ExternalTool.output("gdalinfo", ["-json", out + "/data/heldout/truth/change.tif"])
        let predictedGrid = (try JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any])?["geoTransform"]
        let trueGrid = (try JSONSerialization.jsonObject(with: Data(truth.utf8)) as? [String: Any])?["geoTransform"]
        XCTAssertEqual(predictedGrid as? [Double], trueGrid as? [Double])
    }

    func testQuickYieldDemoScoresFields() throws {
        let demo = try quickDemo("yield")
        let (out, headline) = (demo.out, demo.headline)
        XCTAssertNotNil(headline["rmse"], "\(headline)")
        XCTAssertNotNil(headline["field_r2"], "\(headline)")
        let evaluation = try String(contentsOfFile: out + "/evaluation.json", encoding: .utf8)
        XCTAssertTrue(evaluation.contains("\"fields\""), evaluation)
    }

    func testQuickNowcastDemoForecastsTheHeldOutFrames() throws {
        let demo = try quickDemo("nowcast")
        let (out, headline) = (demo.out, demo.headline)
        XCTAssertNotNil(headline["mse"], "\(headline)")
        XCTAssertNotNil(headline["mse_persistence"], "\(headline)")
        XCTAssertNotNil(headline["mse_lead1"], "\(headline)")
        XCTAssertNotNil(headline["mse_persistence_lead1"], "\(headline)")
        let info = try ExternalTool.output("gdalinfo", ["-json", out + "/prediction/nowcast.tif"])
        let bands = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any])?["bands"]
                                  as? [[String: Any]])
        XCTAssertEqual(bands.map { $0["description"] as? String }, ["forecast_t+1", "forecast_t+2", "forecast_t+3"])
    }

    func testQuickLesionsDemoPredictsAndScoresEveryTimepoint() throws {
        let demo = try quickDemo("lesions")
        let (out, summary, headline) = (demo.out, demo.summary, demo.headline)
        XCTAssertLessThan(demo.elapsed, 10, "the quick lesions demo is a 10 s test")
        XCTAssertEqual(summary["scenario"] as? String, "lesions")
        let seconds = try XCTUnwrap(summary["seconds"] as? [String: Double])
        XCTAssertEqual(Set(seconds.keys), ["synth", "train", "predict", "evaluate"])
        XCTAssertNotNil(headline["volume_error"], "\(headline)")
        for key in ["dice", "lesion_f1"] {
            if let value = headline[key] { XCTAssertTrue((0...1).contains(value), "\(key) = \(value)") }
        }
        for file in ["job.yaml", "run/metrics.jsonl", "prediction/lesions.h5", "evaluation.json",
                     "data/train/patient_002/scans.h5", "data/heldout/patient_001/lesions.h5"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), "missing \(file)")
        }
        let job = try String(contentsOfFile: out + "/job.yaml", encoding: .utf8)
        XCTAssertTrue(job.contains("task: lesions") && job.contains("patient_pattern"), job)
        // Every timepoint of the held-out patient is scored (3 in the quick run).
        let evaluation = try String(contentsOfFile: out + "/evaluation.json", encoding: .utf8)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(evaluation.utf8)) as? [String: Any])
        for key in ["dice", "lesion_f1", "volume_error", "lesion_counts", "voxel_counts", "timepoints"] {
            XCTAssertTrue(object.keys.contains(key), "evaluation.json lacks \(key)")
        }
        XCTAssertEqual((object["timepoints"] as? [Any])?.count, 3, evaluation)
    }

    func testUnknownScenarioIsAUsageError() throws {
        let result = try CLI.run(["demo", "weather", "--quick", "--out", "/tmp/never"])
        XCTAssertEqual(result.exitCode, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("weather"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/never"))
    }
}
