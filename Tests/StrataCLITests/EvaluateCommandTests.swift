import Foundation
import StrataCore
import StrataIO
import XCTest

/// `strata evaluate` run as a user would, on small GeoTIFFs and HDF5 volumes written with Strata's writers in a temp
/// folder; the JSON numbers are checked against the hand-computed answers of the metric tests
/// (Tests/StrataPipelineTests/Evaluation*Tests.swift), to 1e-9 (JSON prints doubles in full).
final class EvaluateCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try CLI.temporaryFolder(self)
    }

    /// Writes a `width × height` GeoTIFF, one band per array (EPSG:4326, 0.1° pixels, top-left at 10°E 50°N).
    @discardableResult
    func raster(_ name: String, width: Int, height: Int, _ bands: [[Float]], nodata: Double? = nil,
                descriptions: [String] = [], sampleType: SampleType = .float32,
                origin: (Double, Double) = (10, 50)) throws -> String {
        let path = folder.appendingPathComponent(name).path
        let grid = Grid(width: width, height: height, geoTransform: [origin.0, 0.1, 0, origin.1, 0, -0.1],
                        crs: CRS(wkt: "", epsg: 4326))
        let writer = try GeoTIFFWriter(path: path, grid: grid, bands: bands.count, sampleType: sampleType,
                                       nodata: nodata, bandDescriptions: descriptions)
        try writer.write(window: grid.fullWindow, values: Tensor(shape: [bands.count, height, width],
                                                                   values: bands.flatMap { $0 }))
        try writer.finish()
        return path
    }

    func evaluate(_ arguments: [String]) throws -> [String: Any] {
        let result = try CLI.run(["evaluate", "--json"] + arguments)
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try XCTUnwrap(object, result.stdout)
    }

    func number(_ object: [String: Any], _ key: String) throws -> Double {
        try XCTUnwrap(object[key] as? Double, "\(key) in \(object)")
    }

    // MARK: change

    // 5 × 3 pixels. Rows 0 and 1 as in EvaluationChangeTests (TP 3, FP 1, FN 2, TN 4); row 2 is nodata in the
    // prediction, so its 5 pixels are excluded.
    func changeInputs() throws -> (prediction: String, truth: String) {
        let nodata: Float = -9999
        let prediction = try raster("change_probability.tif", width: 5, height: 3,
                                    [[0.9, 0.5, 0.7, 0.2, 0.1, 0.6, 0.3, 0.0, 0.49, 0.1] + Array(repeating: nodata, count: 5)],
                                    nodata: -9999, descriptions: ["change probability"])
        let truth = try raster("change_truth.tif", width: 5, height: 3,
                               [[1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]], sampleType: .uint8)
        return (prediction, truth)
    }

    func testChangeScoresWithTheTaskInferredFromTheBandName() throws {
        let (prediction, truth) = try changeInputs()
        let json = try evaluate(["--prediction", prediction, "--truth", truth, "--tile-size", "2"])
        XCTAssertEqual(json["task"] as? String, "change")
        XCTAssertEqual(try number(json, "f1"), 6.0 / 9.0, accuracy: 1e-9)
        XCTAssertEqual(try number(json, "precision"), 0.75, accuracy: 1e-9)
        XCTAssertEqual(try number(json, "recall"), 0.6, accuracy: 1e-9)
        XCTAssertEqual(try number(json, "iou"), 0.5, accuracy: 1e-9)
        XCTAssertEqual(try number(json, "kappa"), 0.4, accuracy: 1e-9)
        let counts = try XCTUnwrap(json["counts"] as? [String: Int])
        XCTAssertEqual(counts, ["tp": 3, "fp": 1, "fn": 2, "tn": 4, "excluded": 5])
        XCTAssertNil(json["date_accuracy"], "no step rasters, no date accuracy")
    }

    func testChangeDateAccuracyFromStepRasters() throws {
        let (prediction, truth) = try changeInputs()
        // Steps from 0, −1 unchanged. Row 0 (truth, predicted): (2, 1) hit, (2, 3) hit, (4, −1) predicted
        // unchanged, (1, 4) miss, (3, 3) hit; row 1 truly unchanged (not counted); row 2 nodata in the prediction.
        // 3 of 5 → 0.6.
        let trueSteps = try raster("truth_step.tif", width: 5, height: 3,
                                   [[2, 2, 4, 1, 3, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0]], sampleType: .int16)
        let predictedSteps = try raster("pred_step.tif", width: 5, height: 3,
                                        [[1, 3, -1, 4, 3, 0, -1, -1, -1, -1, -9, -9, -9, -9, -9]], nodata: -9,
                                        sampleType: .int16)
        let json = try evaluate(["--prediction", prediction, "--truth", truth, "--task", "change",
                                 "--prediction-step", predictedSteps, "--truth-step", trueSteps])
        XCTAssertEqual(try number(json, "date_accuracy"), 0.6, accuracy: 1e-9)
        XCTAssertEqual(json["date_tolerance"] as? Int, 1)
        XCTAssertEqual(json["date_counts"] as? [String: Int],
                       ["changed": 5, "within_tolerance": 3, "predicted_unchanged": 1])
        let strict = try evaluate(["--prediction", prediction, "--truth", truth, "--prediction-step", predictedSteps,
                                   "--truth-step", trueSteps, "--date-tolerance", "0"])
        XCTAssertEqual(try number(strict, "date_accuracy"), 0.2, accuracy: 1e-9)   // only (3, 3)
    }

    func testTableWithoutJSON() throws {
        let (prediction, truth) = try changeInputs()
        let result = try CLI.run(["evaluate", "--prediction", prediction, "--truth", truth])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssert(result.stdout.contains("kappa"), result.stdout)
        XCTAssert(result.stdout.contains("0.666667"), result.stdout)
    }

    // MARK: lesions

    func testLesionsFromHDF5Volumes() throws {
        // The volumes of EvaluationLesionTests.testDicePerTimepointAndOverall: 2 timepoints of 1 × 2 × 4 voxels,
        // spacing 1 × 1 × 2 mm; the last voxel of the prediction is nodata (−1).
        let path = folder.appendingPathComponent("lesions.h5").path
        let writer = try HDF5VolumeWriter(path: path)
        let shape = VolumeShape(steps: 2, channels: 1, depth: 1, height: 2, width: 4)
        let spacing = Spacing(x: 1, y: 1, z: 2)
        try writer.createDataset("/pred", shape: shape, metadata: VolumeMetadata(spacing: spacing, nodata: -1))
        try writer.createDataset("/truth", shape: shape, metadata: VolumeMetadata(spacing: spacing))
        try writer.write(Tensor(shape: [2, 1, 1, 2, 4], values: [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, -1]),
                         to: "/pred")
        try writer.write(Tensor(shape: [2, 1, 1, 2, 4], values: [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]),
                         to: "/truth")
        try writer.finish()
        let json = try evaluate(["--prediction", path + ":/pred", "--truth", path + ":/truth"])
        XCTAssertEqual(json["task"] as? String, "lesions")
        XCTAssertEqual(try number(json, "dice"), 0.6, accuracy: 1e-9)
        XCTAssertEqual(try number(json, "lesion_f1"), 0.8, accuracy: 1e-9)
        XCTAssertEqual(try number(json, "volume_error"), 4, accuracy: 1e-9)            // |8 − 12| mm³
        XCTAssertEqual(try number(json, "volume_error_relative"), 1.0 / 3.0, accuracy: 1e-9)
        XCTAssertEqual(json["connectivity"] as? Int, 26)
        let timepoints = try XCTUnwrap(json["timepoints"] as? [[String: Any]])
        XCTAssertEqual(try timepoints.map { try number($0, "dice") }, [4.0 / 6.0, 0.5])
        XCTAssertEqual(try timepoints.map { try number($0, "truth_volume_mm3") }, [6, 6])
    }

    func testLesionsFromNIfTIJoinDiagonalVoxelsAcrossSlices() throws {
        // One 3 × 3 × 3 timepoint, spacing 0.5 × 1 × 2 mm (1 mm³ per voxel). Truth: the main diagonal
        // (0,0,0), (1,1,1), (2,2,2), corner contact only: one lesion under 26-connectivity (three under 6).
        // Prediction: voxel (0,0,0). Dice = 2·1 / (2·1 + 0 + 2) = 0.5. Lesions: IoU 1/3 > 0.1 → TP 1, FN 0 →
        // lesion F1 = 1 (6-connectivity would give TP 1, FN 2 → 0.5). Volumes 1 vs 3 mm³ → error 2, relative 2/3.
        let header = try NIfTIHeader(width: 3, height: 3, depth: 3, steps: 1, datatype: .uint8,
                                     spacing: Spacing(x: 0.5, y: 1, z: 2))
        var truth = [Float](repeating: 0, count: 27), predicted = [Float](repeating: 0, count: 27)
        for i in 0..<3 { truth[(i * 3 + i) * 3 + i] = 1 }
        predicted[0] = 1
        let truthPath = folder.appendingPathComponent("truth.nii.gz").path
        let predictionPath = folder.appendingPathComponent("prediction.nii").path
        try NIfTIWriter.write(Tensor(shape: [1, 1, 3, 3, 3], values: truth), to: truthPath, header: header)
        try NIfTIWriter.write(Tensor(shape: [1, 1, 3, 3, 3], values: predicted), to: predictionPath, header: header)
        let json = try evaluate(["--prediction", predictionPath, "--truth", truthPath])
        XCTAssertEqual(try number(json, "dice"), 0.5, accuracy: 1e-9)
        XCTAssertEqual(try number(json, "lesion_f1"), 1, accuracy: 1e-9)
        XCTAssertEqual(json["lesion_counts"] as? [String: Int], ["tp": 1, "fp": 0, "fn": 0])
        XCTAssertEqual(try number(json, "volume_error"), 2, accuracy: 1e-9)
        XCTAssertEqual(try number(json, "volume_error_relative"), 2.0 / 3.0, accuracy: 1e-9)
        XCTAssertEqual(json["spacing_mm"] as? [Double], [0.5, 1, 2])

        // The same truth with another z spacing is a grid mismatch naming both files.
        let stretched = try NIfTIHeader(width: 3, height: 3, depth: 3, steps: 1, datatype: .uint8,
                                        spacing: Spacing(x: 0.5, y: 1, z: 3))
        let otherPath = folder.appendingPathComponent("truth_3mm.nii").path
        try NIfTIWriter.write(Tensor(shape: [1, 1, 3, 3, 3], values: truth), to: otherPath, header: stretched)
        let mismatch = try CLI.run(["evaluate", "--prediction", predictionPath, "--truth", otherPath])
        XCTAssertEqual(mismatch.exitCode, 2, mismatch.stderr)
        for word in ["truth_3mm.nii", "prediction.nii", "spacing"] {
            XCTAssert(mismatch.stderr.contains(word), mismatch.stderr)
        }
    }

    // MARK: yield

    // 3 × 2 pixels as in EvaluationYieldTests: fields 1 1 0 / 2 2 2.
    let predictedYield: [Float] = [4, 6, 9, 1, 2, 6]
    let observedYield: [Float] = [5, 5, 9, 2, 2, 2]

    /// Field 1 covers the first two pixels of row 0; field 2 all of row 1 (pixel centres well inside).
    func fieldPolygons() throws -> String {
        let path = folder.appendingPathComponent("fields.geojson")
        let text = """
            {"type": "FeatureCollection", "features": [
              {"type": "Feature", "properties": {"id": 1}, "geometry": {"type": "Polygon",
               "coordinates": [[[10.0, 50.0], [10.2, 50.0], [10.2, 49.9], [10.0, 49.9], [10.0, 50.0]]]}},
              {"type": "Feature", "properties": {"id": 2}, "geometry": {"type": "Polygon",
               "coordinates": [[[10.0, 49.9], [10.3, 49.9], [10.3, 49.8], [10.0, 49.8], [10.0, 49.9]]]}}
            ]}
            """
        try text.write(to: path, atomically: true, encoding: .utf8)
        return path.path
    }

    func testYieldPerPixelAndPerFieldWithGeoJSONFields() throws {
        let prediction = try raster("yield.tif", width: 3, height: 2, [predictedYield])
        let truth = try raster("yield_truth.tif", width: 3, height: 2, [observedYield])
        let json = try evaluate(["--prediction", prediction, "--truth", truth, "--fields", try fieldPolygons()])
        XCTAssertEqual(json["task"] as? String, "yield")
        XCTAssertEqual(try number(json, "rmse"), (19.0 / 6).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(try number(json, "mae"), 7.0 / 6, accuracy: 1e-9)
        XCTAssertEqual(json["pixels"] as? Int, 6)
        let fields = try XCTUnwrap(json["fields"] as? [String: Any])
        XCTAssertEqual(try number(fields, "rmse"), 0.5.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(try number(fields, "r2"), 1 - 1 / 4.5, accuracy: 1e-9)
        let table = try XCTUnwrap(fields["table"] as? [[String: Any]])
        XCTAssertEqual(table.map { $0["field_id"] as? Int }, [1, 2])
        XCTAssertEqual(try table.map { try number($0, "prediction") }, [5, 3])
        XCTAssertEqual(table.map { $0["pixels"] as? Int }, [2, 3])
    }

    func testYieldWithAFieldRasterAndACSVTruth() throws {
        let prediction = try raster("yield.tif", width: 3, height: 2, [predictedYield])
        let fields = try raster("fields.tif", width: 3, height: 2, [[1, 1, 0, 2, 2, 2]], sampleType: .int32)
        let csv = folder.appendingPathComponent("truth.csv")
        try "field_id,yield\n1,4\n2,3\n7,1\n".write(to: csv, atomically: true, encoding: .utf8)
        // Fields 1 and 2: map means 5 and 3 vs 4 and 3 → RMSE √(1/2); field 7 is listed with prediction null.
        let json = try evaluate(["--prediction", prediction, "--truth", csv.path, "--fields", fields])
        XCTAssertNil(json["rmse"], "a per-field truth gives no per-pixel scores")
        let scores = try XCTUnwrap(json["fields"] as? [String: Any])
        XCTAssertEqual(try number(scores, "rmse"), 0.5.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(scores["count"] as? Int, 2)
        let table = try XCTUnwrap(scores["table"] as? [[String: Any]])
        XCTAssert(table.last?["prediction"] is NSNull, "\(table)")
    }

    /// Strata's own files need no flags: `strata synth yield`'s truth raster, scored as a prediction against the
    /// synth's `field_yield.csv` (`field_id,crop,yield_t_ha,area_ha`) through its `fields.geojson` (property
    /// `field_id`). Known answers: each field's mean equals the CSV's yield to its 4 printed decimals, and covers
    /// the CSV's area at 0.01 ha per 10 m pixel.
    func testYieldOfASynthSceneAgainstItsOwnTruthFiles() throws {
        let data = folder.appendingPathComponent("data").path
        let synth = try CLI.run(["synth", "yield", "--out", data, "--size", "48x48", "--fields", "6", "--steps", "4"])
        XCTAssertEqual(synth.exitCode, 0, synth.stderr)
        let csv = try String(contentsOfFile: data + "/truth/field_yield.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(rows.count, 6)
        let truthRaster = data + "/truth/yield.tif"

        let json = try evaluate(["--prediction", truthRaster, "--truth", data + "/truth/field_yield.csv",
                                 "--fields", data + "/fields.geojson"])
        XCTAssertEqual(json["task"] as? String, "yield")
        let fields = try XCTUnwrap(json["fields"] as? [String: Any])
        XCTAssertEqual(fields["count"] as? Int, 6)
        XCTAssertLessThanOrEqual(try number(fields, "rmse"), 5e-5)
        let table = try XCTUnwrap(fields["table"] as? [[String: Any]])
        XCTAssertEqual(table.map { $0["field_id"] as? Int }, rows.map { Int($0[0]) })
        for (entry, row) in zip(table, rows) {
            XCTAssertEqual(try number(entry, "truth"), Double(row[2])!, accuracy: 1e-12, "\(row)")
            XCTAssertEqual(try number(entry, "prediction"), Double(row[2])!, accuracy: 5e-5, "\(row)")
            XCTAssertEqual(Double(try XCTUnwrap(entry["pixels"] as? Int)) * 0.01, Double(row[3])!, accuracy: 1e-9)
        }

        // The truth raster against itself, per pixel and per polygon: a perfect score.
        let perfect = try evaluate(["--prediction", truthRaster, "--truth", truthRaster,
                                    "--fields", data + "/fields.geojson"])
        XCTAssertEqual(try number(perfect, "rmse"), 0)
        XCTAssertEqual(try number(perfect, "r2"), 1)
        XCTAssertEqual(perfect["pixels"] as? Int, table.compactMap { $0["pixels"] as? Int }.reduce(0, +))
        XCTAssertEqual(try number(XCTUnwrap(perfect["fields"] as? [String: Any]), "rmse"), 0)

        let wrongProperty = try CLI.run(["evaluate", "--prediction", truthRaster, "--truth", truthRaster,
                                         "--fields", data + "/fields.geojson", "--field-id", "parcel"])
        XCTAssertEqual(wrongProperty.exitCode, 2, wrongProperty.stderr)
        XCTAssert(wrongProperty.stderr.contains("fields.geojson: cannot be read: no property 'parcel'; the polygons"
                                                + " have 'crop', 'field_id'"), wrongProperty.stderr)
        // A text property would burn as 0 ("no field") everywhere and score nothing: refused, naming the ids.
        let textProperty = try CLI.run(["evaluate", "--prediction", truthRaster, "--truth", truthRaster,
                                        "--fields", data + "/fields.geojson", "--field-id", "crop"])
        XCTAssertEqual(textProperty.exitCode, 2, textProperty.stderr)
        XCTAssert(textProperty.stderr.contains("property 'crop' is not an integer field id; numeric properties: "
                                               + "'field_id'"), textProperty.stderr)
    }

    // MARK: nowcast

    // As in EvaluationNowcastTests: last input [1, 3]; observed [2, 3], [4, 1]; forecast [2, 5], [3, 1].
    func testNowcastWithTheLastInputAsTheFirstTruthStep() throws {
        let prediction = try raster("forecast.tif", width: 2, height: 1, [[2, 5], [3, 1]])
        let truth = try raster("observed.tif", width: 2, height: 1, [[1, 3], [2, 3], [4, 1]])
        let json = try evaluate(["--prediction", prediction, "--truth", truth, "--task", "nowcast",
                                 "--thresholds", "2,3.5"])
        XCTAssertEqual(json["persistence"] as? String, "truth-first-step")
        XCTAssertEqual(try number(json, "mse"), 1.25, accuracy: 1e-9)
        XCTAssertEqual(try number(json, "mse_persistence"), 3.5, accuracy: 1e-9)
        XCTAssertEqual(json["mse_by_lead"] as? [Double], [2, 0.5])
        XCTAssertEqual(json["mse_persistence_by_lead"] as? [Double], [0.5, 6.5])
        XCTAssertEqual(json["csi"] as? [Double], [1, 0])
        XCTAssertEqual(json["thresholds"] as? [Double], [2, 3.5])
    }

    func testNowcastWithALastInputFileAndDefaultThresholds() throws {
        let prediction = try raster("forecast.tif", width: 2, height: 1, [[2, 5], [3, 1]])
        let truth = try raster("observed.tif", width: 2, height: 1, [[2, 3], [4, 1]])
        let last = try raster("last.tif", width: 2, height: 1, [[1, 3]])
        let json = try evaluate(["--prediction", prediction, "--truth", truth, "--last-input", last])
        XCTAssertEqual(json["task"] as? String, "nowcast")
        XCTAssertEqual(json["persistence"] as? String, "last-input")
        XCTAssertEqual(try number(json, "mse_persistence"), 3.5, accuracy: 1e-9)
        XCTAssertEqual(json["thresholds"] as? [Double], [0.5, 2, 5])
        // 5 mm/h: forecast 5 at lead 1 pixel 1 vs observed 3 → false alarm only → CSI 0.
        XCTAssertEqual((json["csi"] as? [Double])?.last, 0)
    }

    // MARK: bad input, one per line: arguments → exit code 2 and the words the message must hold

    func testBadInputs() throws {
        let (prediction, truth) = try changeInputs()
        let shifted = try raster("shifted_truth.tif", width: 5, height: 3, [[Float](repeating: 0, count: 15)],
                                 origin: (11, 50))
        let smaller = try raster("small_truth.tif", width: 4, height: 3, [[Float](repeating: 0, count: 12)])
        let unnamed = try raster("unnamed.tif", width: 5, height: 3, [[Float](repeating: 0, count: 15)])
        let missing = folder.appendingPathComponent("missing.tif").path
        let cases: [([String], [String])] = [
            (["--prediction", missing, "--truth", truth], [missing, "no such file"]),
            (["--prediction", prediction, "--truth", missing], [missing, "no such file"]),
            (["--prediction", prediction, "--truth", shifted], ["shifted_truth.tif", "change_probability.tif", "geotransform"]),
            (["--prediction", prediction, "--truth", smaller], ["small_truth.tif", "change_probability.tif", "size"]),
            (["--prediction", unnamed, "--truth", truth], ["--task"]),
            (["--prediction", prediction, "--truth", truth, "--task", "nonsense"], ["nonsense"]),
            (["--prediction", prediction, "--truth", truth, "--prediction-step", truth], ["--truth-step"]),
            (["--prediction", prediction, "--truth", truth, "--min-lesion-volume", "3"],
             ["--min-lesion-volume", "lesion evaluation only", "change"]),
        ]
        for (arguments, words) in cases {
            let result = try CLI.run(["evaluate"] + arguments)
            XCTAssertEqual(result.exitCode, 2, "\(arguments): \(result.stderr)")
            for word in words { XCTAssert(result.stderr.contains(word), "\(arguments): \(result.stderr)") }
        }
    }
}
