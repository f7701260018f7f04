import Foundation
import XCTest
import StrataTestSupport

/// `strata demo --quick` end to end: every stage runs through the user's code paths and leaves its files.
final class DemoCommandTests: XCTestCase {
    func testQuickChangeDemoWritesEveryStage() throws {
        let folder = try CLI.temporaryFolder(self)
        let out = folder.appendingPathComponent("demo").path
        let started = Date()
        let result = try CLI.run(["demo", "--quick", "--out", out, "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "the quick demo is the CLI test's budget")
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["scenario"] as? String, "change")
        let seconds = try XCTUnwrap(summary["seconds"] as? [String: Double])
        XCTAssertEqual(Set(seconds.keys), ["synth", "train", "predict", "evaluate"])
        let headline = try XCTUnwrap(summary["headline"] as? [String: Double])
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
        let folder = try CLI.temporaryFolder(self)
        let out = folder.appendingPathComponent("demo").path
        let result = try CLI.run(["demo", "yield", "--quick", "--out", out, "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let headline = try XCTUnwrap(summary["headline"] as? [String: Double])
        XCTAssertNotNil(headline["rmse"], "\(headline)")
        XCTAssertNotNil(headline["field_r2"], "\(headline)")
        let evaluation = try String(contentsOfFile: out + "/evaluation.json", encoding: .utf8)
        XCTAssertTrue(evaluation.contains("\"fields\""), evaluation)
    }

    func testQuickNowcastDemoForecastsTheHeldOutFrames() throws {
        let folder = try CLI.temporaryFolder(self)
        let out = folder.appendingPathComponent("demo").path
        let result = try CLI.run(["demo", "nowcast", "--quick", "--out", out, "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let headline = try XCTUnwrap(summary["headline"] as? [String: Double])
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
        let folder = try CLI.temporaryFolder(self)
        let out = folder.appendingPathComponent("demo").path
        let started = Date()
        let result = try CLI.run(["demo", "lesions", "--quick", "--out", out, "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the quick lesions demo is a 10 s test")
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["scenario"] as? String, "lesions")
        let seconds = try XCTUnwrap(summary["seconds"] as? [String: Double])
        XCTAssertEqual(Set(seconds.keys), ["synth", "train", "predict", "evaluate"])
        let headline = try XCTUnwrap(summary["headline"] as? [String: Double])
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
