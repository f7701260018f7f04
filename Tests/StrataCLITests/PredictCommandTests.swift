import Foundation
import StrataCore
import StrataIO
import XCTest
import StrataTestSupport

/// `strata predict` run as a user would: a tiny change model trained with `strata train` on a `strata synth`
/// scene, predicted, checked with `gdalinfo -json` and scored with `strata evaluate`; every refused input with its
/// message and exit code 2 and no output left; all-nodata input; a netCDF nowcast end to end.
final class PredictCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try CLI.temporaryFolder(self)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Synthesizes a 32 × 32 change scene of 4 steps and trains one epoch on it; returns the checkpoint.
    func trainChangeModel() throws -> String {
        let synth = try CLI.run(["synth", "change", "--out", path("data"), "--size", "32x32", "--steps", "4",
                                 "--seed", "3"])
        XCTAssertEqual(synth.exitCode, 0, synth.stderr)
        return try train("job.yaml", """
            task: change
            inputs: {paths: 'data/scene_*.tif'}
            targets: {paths: data/truth/change.tif, change_step: data/truth/change_step.tif}
            model: {hidden: [4], kernel: 3}
            """)
    }

    /// Writes `name` with the task keys given and one tiny epoch's training keys, trains it with `strata train`,
    /// and returns the last checkpoint (`run/last.safetensors`).
    func train(_ name: String, _ taskKeys: String) throws -> String {
        let job = taskKeys + """

            epochs: 1
            batch: 4
            patch: 16
            samples_per_epoch: 8
            validation: {fraction: 0.25, block_size: 16}
            output: run

            """
        try job.write(toFile: path(name), atomically: true, encoding: .utf8)
        let train = try CLI.run(["train", "--config", path(name), "--quiet"])
        XCTAssertEqual(train.exitCode, 0, train.stderr)
        return path("run/last.safetensors")
    }

    func scenes(_ subfolder: String = "data") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path(subfolder)).filter { $0.hasPrefix("scene_") }
            .sorted().map { path("\(subfolder)/\($0)") }
    }

    func gdalinfo(_ file: String) throws -> [String: Any] {
        let text = try ExternalTool.output("gdalinfo", ["-json", "-mdd", "all", file])
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], file)
    }

    func testChangePredictionKeepsTheGridAndEvaluates() throws {
        let checkpoint = try trainChangeModel()
        let inputs = try scenes()
        let result = try CLI.run(["predict", "--checkpoint", checkpoint, "--input"] + inputs
                                 + ["--out", path("change.tif"), "--tile", "16", "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["task"] as? String, "change")
        XCTAssertEqual((summary["time_labels"] as? [String])?.count, 4)
        let run = try XCTUnwrap(summary["summary"] as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(run["megapixels_per_second"] as? Double), 0)
        XCTAssertEqual(run["output_names"] as? [String], ["change_probability", "change_date"])
        XCTAssertEqual(run["width"] as? Int, 32)

        let input = try gdalinfo(inputs[0]), output = try gdalinfo(path("change.tif"))
        XCTAssertEqual(output["geoTransform"] as? [Double], input["geoTransform"] as? [Double])
        let inputCRS = (input["coordinateSystem"] as? [String: Any])?["wkt"] as? String
        XCTAssertNotNil(inputCRS)
        XCTAssertEqual((output["coordinateSystem"] as? [String: Any])?["wkt"] as? String, inputCRS)
        let bands = try XCTUnwrap(output["bands"] as? [[String: Any]])
        XCTAssertEqual(bands.map { $0["description"] as? String }, ["change_probability", "change_date"])
        XCTAssertEqual(bands[0]["type"] as? String, "Float32")
        XCTAssertNotNil(bands[0]["noDataValue"], "nodata must be declared")
        let metadata = try XCTUnwrap((output["metadata"] as? [String: Any])?[""] as? [String: String])
        XCTAssertEqual(metadata["STRATA_TIME_LABELS"]?.split(separator: ",").count, 4)
        // change_date holds step indices; its band metadata says which dates they are.
        let dateBand = try XCTUnwrap((bands[1]["metadata"] as? [String: Any])?[""] as? [String: String])
        XCTAssertEqual(dateBand["STEP_DATES"], metadata["STRATA_TIME_LABELS"])
        XCTAssertEqual(dateBand["STRATA_KIND"], "index")
        XCTAssertEqual(metadata["STRATA_MODEL"], "last.safetensors")

        // Evaluate the probability band (extracted by GDAL itself, an independent reader).
        _ = try ExternalTool.output("gdal_translate", ["-q", "-b", "1", path("change.tif"), path("probability.tif")])
        let evaluation = try CLI.run(["evaluate", "--prediction", path("probability.tif"),
                                      "--truth", path("data/truth/change.tif"), "--task", "change", "--json"])
        XCTAssertEqual(evaluation.exitCode, 0, evaluation.stderr)
        let scores = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any])
        for key in ["f1", "precision", "recall", "iou", "kappa", "counts"] {
            XCTAssertNotNil(scores[key], "evaluate --json lacks \(key)")
        }
    }

    func testRefusedInputsExitTwoAndLeaveNoOutput() throws {
        let checkpoint = try trainChangeModel()
        let inputs = try scenes()
        // One band per step instead of four, and 2 × 2 pixels (smaller than the 3 × 3 kernel), same dated names.
        try FileManager.default.createDirectory(atPath: path("oneband"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: path("tiny"), withIntermediateDirectories: true)
        for input in inputs {
            let name = URL(fileURLWithPath: input).lastPathComponent
            _ = try ExternalTool.output("gdal_translate", ["-q", "-b", "1", input, path("oneband/\(name)")])
            _ = try ExternalTool.output("gdal_translate", ["-q", "-srcwin", "0", "0", "2", "2", input, path("tiny/\(name)")])
        }
        try "not a folder".write(toFile: path("file.txt"), atomically: true, encoding: .utf8)
        let out = path("out/p.tif")
        try FileManager.default.createDirectory(atPath: path("out"), withIntermediateDirectories: true)
        let cases: [(arguments: [String], output: String, message: String)] = [
            (try scenes("oneband"), out, "the model expects 4 input channel(s) per step, the input stack has 1"),
            (try scenes("tiny"), out, "the model's 3x3 kernel does not fit the input of 2x2 pixels"),
            ([inputs[0]], out, "\(inputs[0]): the input stack has 1 time step(s), model last.safetensors needs at least 2"),
            ([path("missing.tif")], out, "missing.tif: no such file or directory"),
            (inputs, path("nowhere/p.tif"), "nowhere/p.tif: cannot write output: the folder"),
            (inputs, path("file.txt/p.tif"), "does not exist"),
        ]
        for (arguments, output, message) in cases {
            let result = try CLI.run(["predict", "--checkpoint", checkpoint, "--input"] + arguments
                                     + ["--out", output])
            XCTAssertEqual(result.exitCode, 2, "\(message): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "expected '\(message)' in: \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), output)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("out")), [], "nothing half-written")
        // --out naming one of the inputs would replace it with the prediction.
        let before = try Data(contentsOf: URL(fileURLWithPath: inputs[1]))
        let overwrite = try CLI.run(["predict", "--checkpoint", checkpoint, "--input"] + inputs
                                    + ["--out", inputs[1]])
        XCTAssertEqual(overwrite.exitCode, 2, overwrite.stderr)
        XCTAssertTrue(overwrite.stderr.contains("is one of the inputs"), overwrite.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: inputs[1])), before, "the input is untouched")
        // A negative tile or overlap reaches the range checks (not ArgumentParser's "missing value").
        for (option, message) in [("--tile", "--tile: must be at least 1 pixel, got -5"), ("--overlap", "--overlap: must be in")] {
            let negative = try CLI.run(["predict", "--checkpoint", checkpoint, "--input"] + inputs
                                       + ["--out", out, option, "-5"])
            XCTAssertEqual(negative.exitCode, 2, negative.stderr)
            XCTAssertTrue(negative.stderr.contains(message), negative.stderr)
        }
        let missing = try CLI.run(["predict", "--checkpoint", path("none.safetensors"), "--input"] + inputs
                                  + ["--out", out])
        XCTAssertEqual(missing.exitCode, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("none.safetensors: no such file or directory"), missing.stderr)
        let empty = try CLI.run(["predict", "--checkpoint", checkpoint, "--input", "--out", out])
        XCTAssertEqual(empty.exitCode, 2, empty.stderr)
        XCTAssertTrue(empty.stderr.contains("--input"), empty.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// SIGTERM (a job scheduler's kill) or SIGINT in the middle of a prediction removes the hidden partial file and
    /// the process dies of the signal; a rerun removes partial files that a killed process (SIGKILL) left behind.
    func testInterruptedPredictionLeavesNoPartialFile() throws {
        let checkpoint = try trainChangeModel()
        let big = try CLI.run(["synth", "change", "--out", path("big"), "--size", "384x384", "--steps", "4",
                               "--seed", "5"])
        XCTAssertEqual(big.exitCode, 0, big.stderr)
        let inputs = try scenes("big")
        // A partial left by a process that no longer exists (the pid of a finished child).
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let stale = path(".p.tif.partial-\(finished.processIdentifier)")
        try Data("half".utf8).write(to: URL(fileURLWithPath: stale))

        for signal in [SIGTERM, SIGINT] {
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = ["predict", "--checkpoint", checkpoint, "--input"] + inputs
                + ["--out", path("p.tif"), "--tile", "64"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let partial = path(".p.tif.partial-\(process.processIdentifier)")
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: partial), process.isRunning, Date() < deadline {
                usleep(2_000)
            }
            guard process.isRunning else { throw XCTSkip("the prediction finished before it could be interrupted") }
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "signal \(signal)")
            XCTAssertEqual(process.terminationStatus, signal)
            XCTAssertFalse(FileManager.default.fileExists(atPath: partial), "signal \(signal) left \(partial)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("p.tif")))
            XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "the abandoned partial is removed")
        }
    }

    func testAllNodataInputPredictsNodataAndWarns() throws {
        let checkpoint = try trainChangeModel()
        let grid = Grid(width: 20, height: 20, geoTransform: [500_000, 10, 0, 5_200_000, 0, -10],
                        crs: CRS(wkt: "", epsg: 32633))
        let inputs = try (1...3).map { t -> String in
            let file = path("cloudy_2021-0\(t)-01.tif")
            let writer = try GeoTIFFWriter(path: file, grid: grid, bands: 4, nodata: -9999)
            try writer.write(window: grid.fullWindow,
                             values: Tensor(shape: [4, 20, 20], values: [Float](repeating: -9999, count: 1600)))
            try writer.finish()
            return file
        }
        let result = try CLI.run(["predict", "--checkpoint", checkpoint, "--input"] + inputs
                                 + ["--out", path("cloudy.tif"), "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("warning: the input has no valid pixel in any step"), result.stderr)
        let stats = try ExternalTool.output("gdalinfo", ["-json", "-stats", path("cloudy.tif")])
        let bands = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any])?["bands"]
                                  as? [[String: Any]])
        // GDAL computes no statistics when every pixel is nodata.
        XCTAssertNil(bands[0]["mean"], stats)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((summary["summary"] as? [String: Any])?["nodata_pixels"] as? Int, 400)
    }

    /// The netCDF of 12 monthly precipitation grids (1999), ocean 1e20 as nodata, as a nowcasting input.
    func testNetCDFNowcastEndToEnd() throws {
        let file = try SharedData.path("stars/bcsd_obs_1999.nc")
        let input = "NETCDF:\"\(file)\":pr"
        let checkpoint = try train("nowcast.yaml", """
            task: nowcast
            inputs: {paths: '\(input)'}
            model: {hidden: [4], kernel: 3, forecast_steps: 2}
            """)
        let result = try CLI.run(["predict", "--checkpoint", checkpoint, "--input", input,
                                  "--out", path("forecast.tif"), "--tile", "64", "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["task"] as? String, "nowcast")
        let labels = try XCTUnwrap(summary["time_labels"] as? [String])
        XCTAssertEqual(labels.count, 12)
        XCTAssertEqual(labels.first, "1999-01-31")
        XCTAssertEqual(labels.last, "1999-12-31")
        let run = try XCTUnwrap(summary["summary"] as? [String: Any])
        // Ocean and outside the US hold 1e20 in every month: masked, so nodata in the forecast; land is predicted.
        let nodata = try XCTUnwrap(run["nodata_pixels"] as? Int)
        XCTAssertGreaterThan(nodata, 0)
        XCTAssertLessThan(nodata, 81 * 33)

        let output = try gdalinfo(path("forecast.tif"))
        XCTAssertEqual(output["size"] as? [Int], [81, 33])
        XCTAssertEqual(output["geoTransform"] as? [Double], [-85, 0.125, 0, 37.125, 0, -0.125])
        let wkt = try XCTUnwrap((output["coordinateSystem"] as? [String: Any])?["wkt"] as? String)
        XCTAssertTrue(wkt.contains("WGS"), wkt)
        let bands = try XCTUnwrap(output["bands"] as? [[String: Any]])
        XCTAssertEqual(bands.map { $0["description"] as? String }, ["forecast_t+1", "forecast_t+2"])
        let metadata = try XCTUnwrap((output["metadata"] as? [String: Any])?[""] as? [String: String])
        XCTAssertEqual(metadata["STRATA_TIME_LABELS"], labels.joined(separator: ","))
        // Forecasts are physical precipitation: no 1e20 fill leaks into valid pixels.
        let stats = try ExternalTool.output("gdalinfo", ["-json", "-stats", path("forecast.tif")])
        let statBands = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any])?["bands"]
                                      as? [[String: Any]])
        let maximum = try XCTUnwrap(statBands[0]["maximum"] as? Double)
        XCTAssertLessThan(maximum, 1e6)

        // Evaluate reads the task from the forecast's own band names, without --task: the truth is the last
        // input month and the two months after it, cut out of the same netCDF by GDAL (an independent writer).
        _ = try ExternalTool.output("gdal_translate", ["-q", "-b", "10", "-b", "11", "-b", "12", input,
                                                       path("observed.tif")])
        let evaluation = try CLI.run(["evaluate", "--prediction", path("forecast.tif"), "--truth", path("observed.tif"),
                                      "--json"])
        XCTAssertEqual(evaluation.exitCode, 0, evaluation.stderr)
        let scores = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(scores["task"] as? String, "nowcast")
        XCTAssertEqual(scores["persistence"] as? String, "truth-first-step")
        XCTAssertEqual((scores["mse_by_lead"] as? [Any])?.count, 2)
    }
}
