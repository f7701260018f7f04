import Foundation
import StrataCore
import StrataIO
import StrataTestSupport
import XCTest

/// Imported weights used as Strata models: `strata import --task` then `strata predict` end to end against
/// PyTorch's own outputs, the refusals that say how to fix an import, and the normalisation carried through
/// `strata export` and back.
///
/// The model is the committed ndrplz fixture (scripts/reference/ndrplz_reference.py: 3 input channels, ConvLSTM
/// layers of 4 (K 3) and 6 (K 5) channels, 4 steps of 7 × 6 pixels) with its head cut to the first of its two
/// outputs, so that PyTorch's `head.output[:, 0]` (float64) is the known answer of a one-output yield model.
final class ImportedModelTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("StrataModelTests/Fixtures/ndrplz")
    let (steps, channels, height, width) = (4, 3, 7, 6)
    // Per-channel statistics the inputs are written with: powers of two, so that x' = x·std + mean and Strata's
    // (x' − mean) / std give back the fixture's input to float32 rounding.
    let mean = [0.5, -1.0, 2.0], std = [2.0, 0.5, 4.0]

    var folder: URL!

    override func setUpWithError() throws {
        folder = try CLI.temporaryFolder(self)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// The fixture's state dict with a one-output head (`head.weight[0:1]`, `head.bias[0:1]`).
    func oneOutputStateDict() throws -> String {
        let source = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("ndrplz_stack.safetensors").path)
        var writer = SafeTensorsWriter()
        for name in source.names where !name.hasPrefix("head.") { try writer.add(name, try source.tensor(name)) }
        let headWeight = try source.tensor("head.weight").floats, headBias = try source.tensor("head.bias").floats
        try writer.add("head.weight", Tensor(shape: [1, 6, 1, 1], values: Array(headWeight[0..<6])))
        try writer.add("head.bias", Tensor(shape: [1], values: [headBias[0]]))
        let file = path("state.safetensors")
        try writer.write(to: file)
        return file
    }

    /// Sample 0 of the fixture's input as one dated 3-band GeoTIFF per step, de-normalised with `mean`, `std`.
    func writeInputs() throws -> [String] {
        let io = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("ndrplz_stack_io.safetensors").path)
        let input = try io.tensor("input").floats       // [B, T, C, H, W]
        let grid = Grid(width: width, height: height, geoTransform: [500_000, 10, 0, 5_200_000, 0, -10],
                        crs: CRS(wkt: "", epsg: 32633))
        let plane = height * width
        return try (0..<steps).map { t in
            let file = path("scene_2021-06-0\(t + 1).tif")
            var values = [Float](repeating: 0, count: channels * plane)
            for c in 0..<channels {
                for p in 0..<plane {
                    values[c * plane + p] = Float(Double(input[(t * channels + c) * plane + p]) * std[c] + mean[c])
                }
            }
            let writer = try GeoTIFFWriter(path: file, grid: grid, bands: channels)
            try writer.write(window: grid.fullWindow, values: Tensor(shape: [channels, height, width], values: values))
            try writer.finish()
            return file
        }
    }

    func list(_ values: [Double]) -> String { values.map { "\($0)" }.joined(separator: ",") }

    /// Tolerance 1e-5: Strata predicts in float32 what PyTorch computed in float64 (~1e-7 per operation).
    func testImportedYieldModelPredictsPyTorchsOutputs() throws {
        let checkpoint = path("model.safetensors")
        let imported = try CLI.run(["import", "--from", "pytorch", try oneOutputStateDict(), "--out", checkpoint,
                                    "--task", "yield", "--input-mean", list(mean), "--input-std", list(std), "--json"])
        XCTAssertEqual(imported.exitCode, 0, imported.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(imported.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((summary["task"] as? [String: Any])?["kind"] as? String, "yield")
        XCTAssertEqual((summary["normalization"] as? [String: Any])?["std"] as? [Double], std)

        let inputs = try writeInputs()
        let predicted = try CLI.run(["predict", "--checkpoint", checkpoint, "--input"] + inputs
                                    + ["--out", path("yield.tif"), "--tile", "16", "--json"])
        XCTAssertEqual(predicted.exitCode, 0, predicted.stderr)
        let run = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(run["task"] as? String, "yield")

        let output = try RasterStack(files: [path("yield.tif")], keepOrder: true)
        XCTAssertEqual(output.info.bandNames, ["yield"])
        let values = try output.read(window: output.grid.fullWindow).values.floats
        let io = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("ndrplz_stack_io.safetensors").path)
        let expected = Array(try io.doubles("head.output")[0..<(height * width)])   // sample 0, output 0
        let worst = zip(values, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
        XCTAssertEqual(values.count, expected.count)
        XCTAssertLessThanOrEqual(worst, 1e-5, "worst difference to PyTorch \(worst)")
    }

    /// Imports that cannot predict, one per line, with the message that says how to fix them (exit 2).
    func testImportsThatCannotPredictSayWhy() throws {
        let state = try oneOutputStateDict(), inputs = try writeInputs()
        let untasked = path("untasked.safetensors")
        XCTAssertEqual(try CLI.run(["import", "--from", "pytorch", state, "--out", untasked]).exitCode, 0)
        let predicted = try CLI.run(["predict", "--checkpoint", untasked, "--input"] + inputs + ["--out", path("p.tif")])
        XCTAssertEqual(predicted.exitCode, 2, predicted.stderr)
        XCTAssert(predicted.stderr.contains("untasked.safetensors: the checkpoint's task is not set (no task.kind in"
                                            + " its metadata, as in a checkpoint imported without --task): import the"
                                            + " weights again with `strata import ... --task change|lesions|yield`"),
                  predicted.stderr)

        let out = path("refused.safetensors")
        let cases: [([String], String)] = [
            (["--task", "nowcast"], "--task: the imported model does not fit task 'nowcast': nowcast models are"
                + " Strata's encoder–forecaster (architecture encoder_forecaster) and an imported ConvLSTM stack is not"
                + " one"),
            (["--task", "change", "--output", "last", "--head-activation", "none"],
             "--task: the imported model does not fit task 'change': the head must see every step (--output"
                + " sequence), it sees the last step only; the head's activation must be sigmoid (the task reads"
                + " probabilities), it is none"),
            (["--task", "yield", "--head-activation", "softmax"],
             "the head's activation must be none or sigmoid (a softmax over 1 output is always 1)"),
            (["--input-mean", "0,1"], "--input-std: is missing: --input-mean and --input-std go together"),
            (["--input-mean", "0,1", "--input-std", "1,1"], "--input-mean: 2 value(s) for the model's 3 input channels"),
            (["--input-mean", "0,1,2", "--input-std", "1,0,1"], "--input-std: every std must be a finite number > 0"),
            (["--input-mean", "0,x,2", "--input-std", "1,1,1"], "--input-mean: 'x' is not a number"),
            // The source's trained head would be dropped silently.
            (["--new-head", "1"], "state.safetensors has a head ('head.weight'); --new-head makes one only for a source"
                + " without a head"),
        ]
        for (options, message) in cases {
            let result = try CLI.run(["import", "--from", "pytorch", state, "--out", out] + options)
            XCTAssertEqual(result.exitCode, 2, "\(options): \(result.stderr)")
            XCTAssert(result.stderr.contains(message), "\(options): expected '\(message)' in \(result.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // An HDF5 (Keras) file given as PyTorch safetensors says so.
        let keras = path("weights.h5")
        try Data([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64))
            .write(to: URL(fileURLWithPath: keras))
        let wrongFormat = try CLI.run(["import", "--from", "pytorch", keras, "--out", out])
        XCTAssertEqual(wrongFormat.exitCode, 2, wrongFormat.stderr)
        XCTAssert(wrongFormat.stderr.contains("not a safetensors file but HDF5 (Keras weights are imported with --from"
                                              + " keras)"), wrongFormat.stderr)

        // The default head and output follow the task: change reads a sigmoid at every step.
        let change = try CLI.run(["import", "--from", "pytorch", state, "--out", path("change.safetensors"),
                                  "--task", "change", "--json"])
        XCTAssertEqual(change.exitCode, 0, change.stderr)
        let config = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(change.stdout.utf8)) as? [String: Any])?[
            "config"] as? [String: Any])
        XCTAssertEqual(config["output"] as? String, "sequence")
        XCTAssertEqual((config["head"] as? [String: Any])?["activation"] as? String, "sigmoid")
    }

    /// `strata export` writes the normalisation as tensors a PyTorch user applies and as exact metadata, and
    /// `strata import` of the export gives back the same checkpoint: weights bit for bit, statistics and task.
    func testExportCarriesTheNormalisationAndImportReadsItBack() throws {
        let checkpoint = path("model.safetensors")
        // 0.1 and 0.3 have no exact float32: the metadata must keep the doubles.
        let imported = try CLI.run(["import", "--from", "pytorch", try oneOutputStateDict(), "--out", checkpoint,
                                    "--task", "yield", "--input-mean", "0.1,0.2,0.3", "--input-std", "0.05,1.5,0.3"])
        XCTAssertEqual(imported.exitCode, 0, imported.stderr)
        let state = path("exported.safetensors")
        let exported = try CLI.run(["export", "--to", "pytorch", checkpoint, "--out", state])
        XCTAssertEqual(exported.exitCode, 0, exported.stderr)
        XCTAssert(exported.stdout.contains("normalise the inputs first: x = (x - input_mean) / input_std"),
                  exported.stdout)

        let torch = try ImportCommandTests.Parsed(state)
        XCTAssertEqual(torch.shape("input_mean"), [3])
        XCTAssertEqual(torch.dtype("input_std"), "F32")
        XCTAssertEqual(torch.floats("input_mean"), [0.1, 0.2, 0.3] as [Float])
        XCTAssertEqual(torch.floats("input_std"), [0.05, 1.5, 0.3] as [Float])
        let metadata = try XCTUnwrap(torch.metadata["normalization"])
        let stats = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any])
        XCTAssertEqual(stats["mean"] as? [Double], [0.1, 0.2, 0.3])

        let again = path("again.safetensors")
        let reimported = try CLI.run(["import", "--from", "pytorch", state, "--out", again])
        XCTAssertEqual(reimported.exitCode, 0, reimported.stderr)
        let original = try ImportCommandTests.Parsed(checkpoint), copy = try ImportCommandTests.Parsed(again)
        XCTAssertEqual(copy.names, original.names)
        for name in original.names {
            XCTAssertEqual(copy.floats(name).map(\.bitPattern), original.floats(name).map(\.bitPattern), name)
        }
        for key in ["config", "normalization", "task"] {
            XCTAssertEqual(copy.metadata[key], original.metadata[key], key)
        }
        XCTAssertEqual(copy.metadata["sha256"], original.metadata["sha256"], "same tensors, same data digest")
    }
}
