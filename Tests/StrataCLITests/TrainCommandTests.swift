import Foundation
import StrataCore
import StrataIO
import XCTest

/// `strata train` run as a user would, on tiny GeoTIFFs written in a temp folder: a short run with `--json` and
/// `--quiet`, and each refused job with its exact message and exit code 2.
final class TrainCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try CLI.temporaryFolder(self)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// `steps` dated one-band 24 × 24 rasters; the right half brightens from step 2 on (the "change"), and a label
    /// raster marking that half.
    func writeScene(steps: Int = 4) throws {
        let grid = Grid(width: 24, height: 24, geoTransform: [500_000, 10, 0, 5_200_000, 0, -10],
                        crs: CRS(wkt: "", epsg: 32633))
        for t in 0..<steps {
            let values = (0..<(24 * 24)).map { i -> Float in
                let x = i % 24, y = i / 24
                return Float((x * 7 + y * 3 + t) % 5) * 0.01 + (x >= 12 && t >= 2 ? 0.5 : 0.1)
            }
            let writer = try GeoTIFFWriter(path: path("s_2021-0\(t + 1)-01.tif"), grid: grid, bands: 1)
            try writer.write(window: grid.fullWindow, values: Tensor(shape: [1, 24, 24], values: values))
            try writer.finish()
        }
        let labels = (0..<(24 * 24)).map { Float($0 % 24 >= 12 ? 1 : 0) }
        let writer = try GeoTIFFWriter(path: path("change.tif"), grid: grid, bands: 1)
        try writer.write(window: grid.fullWindow, values: Tensor(shape: [1, 24, 24], values: labels))
        try writer.finish()
    }

    func writeJob(_ text: String = "", inputs: String = "s_*.tif", targets: String = "change.tif",
                  model: String = "{hidden: [4], kernel: 3}", output: String = "run") throws -> String {
        let job = """
            task: change
            inputs: {paths: '\(inputs)'}
            targets: {paths: \(targets)}
            model: \(model)
            epochs: 2
            batch: 4
            patch: 8
            samples_per_epoch: 8
            validation: {fraction: 0.25, block_size: 12}
            output: \(output)

            """ + text
        let target = path("job.yaml")
        try job.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    func testJSONEventsAndFiles() throws {
        try writeScene()
        let result = try CLI.run(["train", "--config", try writeJob(), "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let events = try result.stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let kinds = events.compactMap { $0["event"] as? String }
        XCTAssertEqual(kinds.first, "started")
        XCTAssertEqual(kinds.last, "finished")
        XCTAssertEqual(kinds.filter { $0 == "batch" }.count, 4, "2 epochs of 2 batches")
        XCTAssertEqual(kinds.filter { $0 == "epoch" }.count, 2)
        XCTAssertEqual(events.last?["epochs"] as? Int, 2)
        for name in ["run/metrics.jsonl", "run/last.safetensors", "run/best.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path(name)), name)
        }
        let resumed = try CLI.run(["train", "--config", path("job.yaml"), "--resume", "--quiet"])
        XCTAssertEqual(resumed.exitCode, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.hasPrefix("trained 2 epochs (4 steps)"), resumed.stdout)
        XCTAssertEqual(resumed.stdout.split(separator: "\n").count, 2, "--quiet prints only the summary")
    }

    func testPlainLogWhenNotATerminal() throws {
        try writeScene()
        let result = try CLI.run(["train", "--config", try writeJob()])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first, "training 2 epochs of 2 batches")
        XCTAssertTrue(lines.contains { $0.hasPrefix("epoch 2  train_loss ") }, result.stdout)
        XCTAssertFalse(result.stdout.contains("\r"), "no progress bar into a pipe")
    }

    /// Refused jobs: exit 2 and the message on stderr, nothing written.
    /// SIGTERM (a scheduler's or `docker stop`'s) stops training like Ctrl-C: after the batch, with last.safetensors
    /// saved, exit 1 and no error line; nothing half-written is left.
    func testSIGTERMStopsAfterTheBatchAndSaves() throws {
        try writeScene()
        let job = try writeJob(output: "run")
        var text = try String(contentsOfFile: job, encoding: .utf8)
        text = text.replacingOccurrences(of: "epochs: 2", with: "epochs: 500")
        try text.write(toFile: job, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["train", "--config", job, "--quiet"]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: path("run/metrics.jsonl")), process.isRunning, Date() < deadline {
            usleep(5_000)
        }
        guard process.isRunning else { throw XCTSkip("training finished before it could be stopped") }
        kill(process.processIdentifier, SIGTERM)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit, stderr)
        XCTAssertEqual(process.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains("stopping after this batch"), stderr)
        XCTAssertFalse(stderr.contains("strata: error:"), stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("run/last.safetensors")))
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: path("run")).contains { $0.contains("partial") })
    }

    func testRefusedJobs() throws {
        try writeScene()
        _ = FileManager.default.createFile(atPath: path("a_file"), contents: Data("x".utf8))
        // Targets that cannot be a change mask: two bands (an input given by mistake), values up to 3 (step numbers).
        let grid = Grid(width: 24, height: 24, geoTransform: [500_000, 10, 0, 5_200_000, 0, -10],
                        crs: CRS(wkt: "", epsg: 32633))
        for (name, bands, value) in [("two_bands.tif", 2, Float(1)), ("steps.tif", 1, Float(3))] {
            let writer = try GeoTIFFWriter(path: path(name), grid: grid, bands: bands)
            try writer.write(window: grid.fullWindow,
                             values: Tensor(shape: [bands, 24, 24], values: (0..<(bands * 576)).map { Float($0 % 2) * value }))
            try writer.finish()
        }
        let small = Grid(width: 12, height: 24, geoTransform: grid.geoTransform, crs: grid.crs)
        let writer = try GeoTIFFWriter(path: path("half.tif"), grid: small, bands: 1)
        try writer.write(window: small.fullWindow, values: Tensor(zeros: [1, 24, 12]))
        try writer.finish()
        // Each job is written just before its run: they share the name job.yaml.
        let cases: [(job: () throws -> String, message: String)] = [
            ({ try self.writeJob("epoch: 3") }, "job.yaml: unknown key 'epoch' (did you mean 'epochs'?)"),
            ({ try self.writeJob(inputs: "missing.tif") }, "missing.tif: no such file or directory"),
            ({ try self.writeJob(inputs: "s_2021-01-01.tif") },
             "s_2021-01-01.tif: the input stack has 1 step; task 'change' needs at least 2"),
            ({ try self.writeJob(output: "a_file/run") }, "a_file/run: cannot write output: cannot create the folder"),
            ({ try self.writeJob("optimizer: {lr: fast}") }, "job.yaml: key 'optimizer.lr': expected a number, found 'fast'"),
            ({ try self.writeJob(targets: "two_bands.tif") }, "two_bands.tif: a target has one band"),
            // Raised while building the model, reported against the job file and key like a parse error.
            ({ try self.writeJob(model: "{hidden: [4], cell: convgru, peephole: per_channel}") },
             "job.yaml: key 'model.peephole': only a ConvLSTM has peepholes"),
            ({ try self.writeJob(targets: "half.tif") },
             "half.tif: the target is 12×24×1 (width × height × planes), the input "),
            ({ try self.writeJob(targets: "steps.tif") },
             "steps.tif: 'targets.paths' of task 'change' is a 0/1 change mask, but its values reach 0.0 ... 3.0"),
        ]
        for (job, message) in cases {
            let result = try CLI.run(["train", "--config", try job()])
            XCTAssertEqual(result.exitCode, 2, message)
            XCTAssertTrue(result.stderr.hasPrefix("strata: error: "), result.stderr)
            XCTAssertTrue(result.stderr.contains(message), "expected '\(message)' in: \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("run")), "no output folder left behind")
        }
        let missing = try CLI.run(["train", "--config", path("nope.yaml")])
        XCTAssertEqual(missing.exitCode, 2)
        XCTAssertTrue(missing.stderr.contains("nope.yaml: no such file or directory"), missing.stderr)
        let noCheckpoint = try CLI.run(["train", "--config", try writeJob(), "--resume"])
        XCTAssertEqual(noCheckpoint.exitCode, 2)
        XCTAssertTrue(noCheckpoint.stderr.contains("--resume: no "), noCheckpoint.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("run")), "no output folder left behind")
        let onAFile = try CLI.run(["train", "--config", try writeJob(output: "a_file")])
        XCTAssertEqual(onAFile.exitCode, 2)
        XCTAssertTrue(onAFile.stderr.contains("a_file: cannot write output: is a file, not a folder"), onAFile.stderr)
    }
}
