import Foundation
import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline
import StrataTestSupport

/// Outputs of tiled prediction: nodata, georeference (checked with gdalinfo), volume geometry, dtypes, atomicity.
final class PredictionOutputTests: XCTestCase {
    /// Invalid in every step → nodata in every band; invalid in some steps → predicted; the count is reported.
    func testNodataPropagation() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let (width, height) = (40, 30)
        let stack = try fixture.rasterStack(width: width, height: height)
        let output = fixture.path("nodata.tif")
        let summary = try TiledPrediction(tile: 16, overlap: 3).run(
            planes: RasterPlanes(stack), normalization: nil, predictor: BoxMeanPredictor(radius: 1), output: output)
        XCTAssertEqual(summary.nodataPixels, 16, "the 4×4 rectangle invalid in every step")
        XCTAssertEqual(summary.warnings, [])
        // Read each band on its own: nodata must be in both bands, not just one.
        let written = try RasterStack(file: output, bandsPerStep: 1).read(window: stack.grid.fullWindow)
        let mask = written.mask.bytes, values = written.values.floats
        var partlyInvalid = 0
        for y in 0..<height {
            for x in 0..<width {
                let p = y * width + x
                let allInvalid = PredictionFixture.allStepsInvalid(x, y)
                for band in 0..<2 {
                    XCTAssertEqual(mask[band * width * height + p] == 0, allInvalid, "(\(x), \(y)) band \(band)")
                }
                let invalidSteps = (0..<3).filter { PredictionFixture.invalid($0, x, y) }.count
                if !allInvalid, invalidSteps > 0 {
                    partlyInvalid += 1
                    // valid_fraction sees this pixel's missing steps: it is a prediction, not nodata or 0/fill.
                    XCTAssertTrue(values[width * height + p].isFinite && values[width * height + p] > 0)
                }
            }
        }
        XCTAssertGreaterThan(partlyInvalid, 50)
    }

    func testAllNodataInputGivesNodataOutputAndAWarning() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 30, height: 20) { _, _, _ in true }
        let output = fixture.path("empty.tif")
        let predictor = BoxMeanPredictor(radius: 1)
        let summary = try TiledPrediction(tile: 16, overlap: 2).run(
            planes: RasterPlanes(stack), normalization: nil, predictor: predictor, output: output)
        XCTAssertEqual(summary.nodataPixels, 600)
        XCTAssertEqual(summary.warnings, ["the input has no valid pixel in any step: every output pixel is nodata"])
        XCTAssertEqual(summary.tilesWithoutData, summary.tiles)
        XCTAssertEqual(predictor.calls, 0, "a tile without data is never predicted")
        let written = try RasterStack(file: output, bandsPerStep: 2).read(window: stack.grid.fullWindow)
        XCTAssertTrue(written.mask.bytes.allSatisfy { $0 == 0 })
    }

    /// GeoTIFF and COG keep the input's CRS and geotransform (read by gdalinfo, an independent reader), name the
    /// bands and record the time labels, model and dtype.
    func testGeoTIFFAndCOGCarryTheInputGrid() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 70, height: 50)
        for format in [PredictionFormat.geotiff, .cog] {
            let output = fixture.path("grid-\(format).tif")
            _ = try TiledPrediction(tile: 32, overlap: 4, format: format).run(
                planes: RasterPlanes(stack), normalization: nil, predictor: BoxMeanPredictor(radius: 2),
                output: output)
            let info = try PredictionFixture.gdalinfo(output)
            let transform = try XCTUnwrap(info["geoTransform"] as? [Double])
            XCTAssertEqual(transform, PredictionFixture.grid(70, 50).geoTransform)
            let wkt = try XCTUnwrap((info["coordinateSystem"] as? [String: Any])?["wkt"] as? String)
            XCTAssertTrue(wkt.contains("ID[\"EPSG\",32633]"), wkt)
            XCTAssertEqual(info["size"] as? [Int], [70, 50])
            let bands = try XCTUnwrap(info["bands"] as? [[String: Any]])
            XCTAssertEqual(bands.map { $0["description"] as? String }, ["box_mean", "valid_fraction"])
            XCTAssertEqual(bands.map { $0["noDataValue"] as? Double }, [-9999, -9999])
            let metadata = try XCTUnwrap((info["metadata"] as? [String: Any])?[""] as? [String: String])
            XCTAssertEqual(metadata["STRATA_TIME_LABELS"], "2021-01-15,2021-02-15,2021-03-15")
            XCTAssertEqual(metadata["STRATA_MODEL"], "box-mean-r2")
            XCTAssertEqual(metadata["STRATA_OUTPUT_DTYPE"], "float32")
            let layout = ((info["metadata"] as? [String: Any])?["IMAGE_STRUCTURE"] as? [String: String])?["LAYOUT"]
            XCTAssertEqual(layout, format == .cog ? "COG" : nil)
        }
    }

    /// uint8: probabilities ×250 (0…250), 255 nodata; a value output is refused with the exact error.
    func testUInt8StoresProbabilitiesTimes250() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 40, height: 30)
        let predictor = ProbabilityOnly(BoxMeanPredictor(radius: 2))
        let output = fixture.path("probability.tif")
        _ = try TiledPrediction(tile: 16, overlap: 3, dtype: .uint8).run(
            planes: RasterPlanes(stack), normalization: nil, predictor: predictor, output: output)
        let expected = try PredictionFixture.wholePlanePrediction(RasterPlanes(stack), plane: 0,
                                                                  predictor: predictor).floats
        let info = try PredictionFixture.gdalinfo(output)
        let band = try XCTUnwrap((info["bands"] as? [[String: Any]])?.first)
        XCTAssertEqual(band["type"] as? String, "Byte")
        XCTAssertEqual(band["noDataValue"] as? Double, 255)
        XCTAssertEqual(((band["metadata"] as? [String: Any])?[""] as? [String: String])?["STRATA_SCALE"], "0.004")
        let written = try RasterStack(file: output, bandsPerStep: 1).read(window: stack.grid.fullWindow)
        let values = written.values.floats, mask = written.mask.bytes
        for y in 0..<30 {
            for x in 0..<40 {
                let p = y * 40 + x
                XCTAssertEqual(mask[p] == 0, PredictionFixture.allStepsInvalid(x, y))
                // The band's GDAL scale (1/250) makes the reader return physical probabilities.
                if mask[p] != 0 { XCTAssertEqual(values[p], (expected[p] * 250).rounded() / 250, accuracy: 1.0 / 250) }
            }
        }
        XCTAssertThrowsError(try TiledPrediction(tile: 16, overlap: 3, dtype: .uint8).run(
            planes: RasterPlanes(stack), normalization: nil, predictor: BoxMeanPredictor(radius: 2),
            output: fixture.path("refused.tif"))) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(
                name: "--output-dtype", reason: "uint8 holds probabilities only; output 'box_mean' is a value (use "
                    + "float32 or int16 for GeoTIFF and NIfTI, float32 or float16 for HDF5)"))
        }
        XCTAssertThrowsError(try TiledPrediction(tile: 16, overlap: 3, dtype: .float16).run(
            planes: RasterPlanes(stack), normalization: nil, predictor: BoxMeanPredictor(radius: 2),
            output: fixture.path("refused.tif"))) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(
                name: "--output-dtype", reason: "float16 is written to HDF5 only; GeoTIFF predictions are float32, "
                    + "uint8 or int16"))
        }
        XCTAssertFalse(try fixture.contents().contains { $0.contains("refused") })
    }

    /// HDF5: `[1, K, D, H, W]` with the input's spacing, origin and last time label; every slice equals the
    /// whole-slice prediction.
    func testHDF5OutputKeepsVolumeGeometry() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let shape = VolumeShape(steps: 3, channels: 1, depth: 4, height: 37, width: 29)
        let metadata = VolumeMetadata(spacing: Spacing(x: 0.8, y: 0.75, z: 2.5), origin: [-100, -120, 30],
                                      timeLabels: ["2024-01-01", "2024-02-01", "2024-03-01"], nodata: -9999)
        let stack = try fixture.volumeStack("scan.h5", shape: shape, metadata: metadata)
        let predictor = BoxMeanPredictor(radius: 2)
        let output = fixture.path("prediction.h5")
        let summary = try TiledPrediction(tile: 16, overlap: 3).run(
            input: .volume(stack), normalization: nil, predictor: predictor, output: output)
        XCTAssertEqual(summary.outputs, [output])
        XCTAssertEqual(summary.planes, 4)
        XCTAssertEqual(summary.nodataPixels, 4 * 16)

        let result = try VolumeStack(path: "\(output):/prediction")
        XCTAssertEqual(result.shape, VolumeShape(steps: 1, channels: 2, depth: 4, height: 37, width: 29))
        XCTAssertEqual(result.metadata.spacing, metadata.spacing)
        XCTAssertEqual(result.metadata.origin, metadata.origin)
        XCTAssertEqual(result.metadata.timeLabels, ["2024-03-01"])
        XCTAssertEqual(result.metadata.bandNames, ["box_mean", "valid_fraction"])
        let attributes = try ExternalTool.output("h5dump", ["-A", "-a", "/prediction/spacing", output])
        XCTAssertTrue(attributes.contains("0.8, 0.75, 2.5"), attributes)
        try PredictionFixture.assertMatchesWholeSlices(result, input: stack, predictor: predictor, accuracy: 1e-5)
    }

    /// An HDF5 prediction into a file that exists adds its dataset beside the others (several subjects in one file,
    /// or the prediction next to its scan) and replaces only a dataset of its own name.
    func testHDF5OutputKeepsTheFilesOtherDatasets() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let shape = VolumeShape(steps: 2, channels: 1, depth: 2, height: 17, width: 19)
        let input = fixture.path("scans.h5")
        let stack = try fixture.volumeStack("scans.h5", shape: shape)
        let scan = try stack.read(region: shape.fullRegion).values.floats

        func predict(_ output: String, radius: Int) throws {
            _ = try TiledPrediction(tile: 16, overlap: 3).run(input: .volume(stack), normalization: nil,
                                                              predictor: BoxMeanPredictor(radius: radius),
                                                              output: output)
        }
        try predict("\(input):/subject1/prediction", radius: 1)
        try predict("\(input):/subject2/prediction", radius: 1)
        let first = try VolumeStack(path: "\(input):/subject1/prediction").read(region: shape.fullRegion).values.floats
        try predict("\(input):/subject1/prediction", radius: 2)   // a rerun with another model replaces its own

        let listing = try ExternalTool.output("h5ls", ["-r", input])
        for dataset in ["/scan ", "/subject1/prediction ", "/subject2/prediction "] {
            XCTAssertTrue(listing.contains(dataset), "\(dataset) missing from:\n\(listing)")
        }
        XCTAssertEqual(try VolumeStack(path: "\(input):/scan").read(region: shape.fullRegion).values.floats, scan)
        let replaced = try VolumeStack(path: "\(input):/subject1/prediction").read(region: shape.fullRegion)
        XCTAssertNotEqual(replaced.values.floats, first, "the rerun's prediction replaced the first one")
        XCTAssertEqual(try VolumeStack(path: "\(input):/subject2/prediction").read(region: shape.fullRegion)
                           .values.floats, first)

        // An existing file that is not HDF5 is not replaced by one.
        let text = fixture.path("notes.h5")
        try "not HDF5".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try predict("\(text):/prediction", radius: 1)) { error in
            XCTAssertTrue("\(error)".contains("not HDF5"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: text, encoding: .utf8), "not HDF5")
    }

    /// A prediction may not be written over one of its inputs: the same raster file, or the same HDF5 dataset.
    func testOutputThatIsAnInputIsRefused() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let scene = fixture.path("scene_20210101.tif"), scans = fixture.path("scans.h5")
        for (output, sources) in [(scene, [fixture.path("scene_20201201.tif"), scene]),
                                  (fixture.path("./sub/../scene_20210101.tif"), [scene]),
                                  ("\(scans):/scan", ["\(scans):/scan"]),
                                  (scans, ["\(scans):/prediction"]),
                                  (fixture.path("cube.tif"), ["NETCDF:\"\(fixture.path("cube.tif"))\":pr"])] {
            XCTAssertThrowsError(try PredictionJob.checkOutputIsNotAnInput(output, sources: sources), output) {
                XCTAssertTrue("\($0)".contains("is one of the inputs"), "\($0)")
            }
        }
        for (output, sources) in [(fixture.path("p.tif"), [scene]), ("\(scans):/p", ["\(scans):/scan"]),
                                  (scans, ["\(scans):/scan"])] {
            XCTAssertNoThrow(try PredictionJob.checkOutputIsNotAnInput(output, sources: sources), output)
        }
    }

    /// NIfTI: one file per output with the input's qform, sform and pixdim; slices equal the whole-slice prediction;
    /// uint8 stores scl_slope 1/250 so readers see probabilities.
    func testNIfTIOutputKeepsHeaderGeometry() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let shape = VolumeShape(steps: 3, channels: 1, depth: 3, height: 21, width: 17)
        var header = try NIfTIHeader(width: 17, height: 21, depth: 3, steps: 3, datatype: .float32,
                                     spacing: Spacing(x: 1.5, y: 1.25, z: 3), stepSeconds: 2)
        header.qformCode = 1
        header.quaternB = 0.1
        header.quaternC = -0.2
        header.quaternD = 0.05
        header.qoffsetX = -90
        header.qoffsetY = 126
        header.qoffsetZ = -72
        header.pixdim[0] = -1
        header.sformCode = 2
        header.srowX = [1.5, 0.01, 0, -90]
        header.srowY = [0, 1.25, 0.02, 126]
        header.srowZ = [0.03, 0, 3, -72]
        let input = fixture.path("bold.nii.gz")
        try NIfTIWriter.write(PredictionFixture.volumeValues(shape, invalidValue: .nan), to: input, header: header)
        let stack = try VolumeStack(path: input)
        let predictor = BoxMeanPredictor(radius: 1)

        let output = fixture.path("prediction.nii.gz")
        let summary = try TiledPrediction(tile: 8, overlap: 2).run(
            input: .volume(stack), normalization: nil, predictor: predictor, output: output)
        XCTAssertEqual(summary.outputs, [fixture.path("prediction_box_mean.nii.gz"),
                                         fixture.path("prediction_valid_fraction.nii.gz")])
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        let planes = try VolumePlanes(stack)
        let expected = try (0..<3).map {
            try PredictionFixture.wholePlanePrediction(planes, plane: $0, predictor: predictor).floats
        }
        let area = 21 * 17
        for (k, path) in summary.outputs.enumerated() {
            let result = try VolumeStack(path: path)
            let written = try XCTUnwrap(result.niftiHeader)
            let source = try XCTUnwrap(stack.niftiHeader)
            XCTAssertEqual(written.qformCode, source.qformCode)
            XCTAssertEqual([written.quaternB, written.quaternC, written.quaternD, written.qoffsetX, written.qoffsetY,
                            written.qoffsetZ], [0.1, -0.2, 0.05, -90, 126, -72])
            XCTAssertEqual(written.sformCode, 2)
            XCTAssertEqual([written.srowX, written.srowY, written.srowZ], [header.srowX, header.srowY, header.srowZ])
            XCTAssertEqual(Array(written.pixdim[0...3]), Array(source.pixdim[0...3]))
            XCTAssertEqual(result.affine, stack.affine)
            XCTAssertEqual(result.shape, VolumeShape(steps: 1, channels: 1, depth: 3, height: 21, width: 17))
            let values = try result.read(region: shape.fullRegion).values.floats
            for z in 0..<3 {
                for p in 0..<area {
                    let value = values[z * area + p]
                    if PredictionFixture.allStepsInvalid(p % 17, p / 17) {
                        XCTAssertTrue(value.isNaN, "nodata is NaN in float32 NIfTI")
                    } else {
                        XCTAssertEqual(value, expected[z][k * area + p], accuracy: 1e-5)
                    }
                }
            }
        }

        let probability = fixture.path("probability.nii")
        _ = try TiledPrediction(tile: 8, overlap: 2, dtype: .uint8).run(
            input: .volume(stack), normalization: nil, predictor: ProbabilityOnly(predictor), output: probability)
        let result = try VolumeStack(path: probability)
        XCTAssertEqual(result.niftiHeader?.sclSlope, Float(0.004))
        XCTAssertEqual(result.niftiHeader?.datatype, NIfTIHeader.Datatype.uint8.rawValue)
        let values = try result.read(region: shape.fullRegion).values.floats
        for z in 0..<3 {
            for p in 0..<area where !PredictionFixture.allStepsInvalid(p % 17, p / 17) {
                XCTAssertEqual(values[z * area + p], expected[z][area + p], accuracy: 0.0021)
            }
        }
        XCTAssertEqual(values[3 * 17 + 5], 255 * 0.004, accuracy: 1e-5, "nodata 255 (at (5, 3))")
    }

    /// A predictor that fails part-way leaves no file under the target name and no temporary beside it.
    func testFailingPredictorLeavesNoOutput() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 70, height: 50)
        let before = try fixture.contents()
        for format in [PredictionFormat.geotiff, .cog] {
            let output = fixture.path("failed-\(format).tif")
            XCTAssertThrowsError(try TiledPrediction(tile: 16, overlap: 2, format: format).run(
                planes: RasterPlanes(stack), normalization: nil, predictor: BoxMeanPredictor(radius: 1, failOnCall: 9),
                output: output)) { XCTAssertTrue($0 is BoxMeanPredictor.Failure) }
            XCTAssertEqual(try fixture.contents(), before, "\(format)")
        }
        let shape = VolumeShape(steps: 2, channels: 1, depth: 3, height: 20, width: 20)
        let volume = fixture.path("volume.nii")
        let header = try NIfTIHeader(width: 20, height: 20, depth: 3, steps: 2, datatype: .float32,
                                     spacing: Spacing(x: 1, y: 1, z: 1))
        try NIfTIWriter.write(PredictionFixture.volumeValues(shape, invalidValue: .nan), to: volume, header: header)
        let stack3D = try VolumeStack(path: volume)
        let withVolume = try fixture.contents()
        for output in ["failed.h5", "failed.nii.gz"].map(fixture.path) {
            XCTAssertThrowsError(try TiledPrediction(tile: 8, overlap: 2).run(
                input: .volume(stack3D), normalization: nil, predictor: BoxMeanPredictor(radius: 1, failOnCall: 20),
                output: output)) { XCTAssertTrue($0 is BoxMeanPredictor.Failure) }
            XCTAssertEqual(try fixture.contents(), withVolume, output)
        }
    }

    /// Inputs the job refuses, one per line, with the exact error.
    func testRefusedInputs() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 20, height: 20, steps: 1, name: "single")
        let planes = RasterPlanes(stack)
        let predictor = BoxMeanPredictor(radius: 1)
        let cases: [(TiledPrediction, NormalizationStats?, String, StrataError)] = [
            (TiledPrediction(tile: 16), nil, "a.tif",
             .invalidStack(reason: "1 time steps, model box-mean-r1 needs at least 2")),
        ]
        for (job, stats, output, error) in cases {
            XCTAssertThrowsError(try job.run(planes: planes, normalization: stats, predictor: predictor,
                                             output: fixture.path(output))) {
                XCTAssertEqual($0 as? StrataError, error)
            }
        }
        let two = RasterPlanes(try fixture.rasterStack(width: 20, height: 20, steps: 2, name: "pair"))
        let stats = NormalizationStats(mean: [0], std: [1], count: [1])
        let more: [(TiledPrediction, NormalizationStats?, String, StrataError)] = [
            (TiledPrediction(tile: 16), stats, "a.tif",
             .invalidArgument(name: "normalization", reason: "statistics for 1 channels, the input has 2")),
            (TiledPrediction(tile: 16), nil, "a.h5",
             .invalidArgument(name: "--format", reason: "hdf5 is for volumes; raster predictions are GeoTIFF or COG")),
            (TiledPrediction(tile: 16), nil, "a.png",
             .invalidArgument(name: fixture.path("a.png"), reason: "cannot tell the output format from the name; "
                                + "use .tif, .h5, .nii or .nii.gz, or pass --format")),
        ]
        for (job, stats, output, error) in more {
            XCTAssertThrowsError(try job.run(planes: two, normalization: stats, predictor: predictor,
                                             output: fixture.path(output))) {
                XCTAssertEqual($0 as? StrataError, error)
            }
        }
    }
}

/// Keeps only the probability output of a predictor (for uint8 outputs).
struct ProbabilityOnly: Predictor {
    let base: BoxMeanPredictor
    init(_ base: BoxMeanPredictor) { self.base = base }
    var outputs: [PredictionOutput] { [base.outputs[1]] }
    var receptiveRadius: Int { base.receptiveRadius }
    var minimumSteps: Int { base.minimumSteps }
    var name: String { base.name }
    func predict(values: Tensor, mask: Tensor) throws -> Tensor {
        let both = try base.predict(values: values, mask: mask)
        let area = both.shape[1] * both.shape[2]
        return Tensor(shape: [1, both.shape[1], both.shape[2]], values: Array(both.floats[area...]))
    }
}
