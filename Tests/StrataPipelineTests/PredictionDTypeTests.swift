import Foundation
import StrataCore
import StrataIO
import StrataTestSupport
import XCTest
@testable import StrataPipeline

/// Storage types other than float32: scaling, nodata, and the combinations each format refuses.
final class PredictionDTypeTests: XCTestCase {
    /// int16 GeoTIFF: probabilities ×10000, values rounded to whole units, −32768 nodata.
    func testInt16GeoTIFFScalesProbabilitiesAndRoundsValues() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.rasterStack(width: 40, height: 30)
        let predictor = BoxMeanPredictor(radius: 2)
        let output = fixture.path("int16.tif")
        _ = try TiledPrediction(tile: 16, overlap: 3, dtype: .int16).run(
            planes: RasterPlanes(stack), normalization: nil, predictor: predictor, output: output)
        let info = try PredictionFixture.gdalinfo(output)
        let bands = try XCTUnwrap(info["bands"] as? [[String: Any]])
        XCTAssertEqual(bands.map { $0["type"] as? String }, ["Int16", "Int16"])
        XCTAssertEqual(bands.map { $0["noDataValue"] as? Double }, [-32768, -32768])
        XCTAssertEqual(bands.map { (($0["metadata"] as? [String: Any])?[""] as? [String: String])?["STRATA_SCALE"] },
                       ["1.0", "0.0001"])
        let expected = try PredictionFixture.wholePlanePrediction(RasterPlanes(stack), plane: 0,
                                                                  predictor: predictor).floats
        let written = try RasterStack(file: output, bandsPerStep: 1).read(window: stack.grid.fullWindow)
        let values = written.values.floats, mask = written.mask.bytes
        let area = 40 * 30
        for p in 0..<area {
            let invalid = PredictionFixture.allStepsInvalid(p % 40, p / 40)
            XCTAssertEqual(mask[p] == 0, invalid)
            XCTAssertEqual(mask[area + p] == 0, invalid)
            guard !invalid else { continue }
            XCTAssertEqual(values[p], expected[p].rounded())
            // The band's GDAL scale (1e-4) makes the reader return physical probabilities.
            XCTAssertEqual(values[area + p], (expected[area + p] * 10000).rounded() / 10000, accuracy: 1e-4)
        }
    }

    /// float16 HDF5: ~3 significant digits (values below 1 are within 2⁻¹¹), nodata −9999 stored as −10000.
    func testFloat16HDF5KeepsThreeDigitsAndNodata() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let shape = VolumeShape(steps: 2, channels: 1, depth: 2, height: 20, width: 24)
        let stack = try fixture.volumeStack("scan.h5", shape: shape,
                                            metadata: VolumeMetadata(spacing: Spacing(x: 1, y: 1, z: 2), nodata: -9999))
        let predictor = BoxMeanPredictor(radius: 1)
        let output = fixture.path("half.h5:/results/probability")
        _ = try TiledPrediction(tile: 8, overlap: 2, dtype: .float16).run(
            input: .volume(stack), normalization: nil, predictor: predictor, output: output)
        let result = try VolumeStack(path: output)
        XCTAssertEqual(result.metadata.nodata, -10000)
        XCTAssertEqual(result.info.dtype, "float16")
        try PredictionFixture.assertMatchesWholeSlices(result, input: stack, predictor: predictor, accuracy: 4.9e-4)
    }

    /// uint8 HDF5 stores probabilities × 250 and records scale 1/250, so Strata's reader (and so `strata evaluate`)
    /// gets probabilities back, and h5dump shows the attribute; 255 stays nodata.
    func testUInt8HDF5RecordsItsScale() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let stack = try fixture.volumeStack("scan.h5",
                                            shape: VolumeShape(steps: 2, channels: 1, depth: 2, height: 20, width: 24))
        let predictor = ValidFractionPredictor()
        let output = fixture.path("bytes.h5:/probability")
        _ = try TiledPrediction(tile: 8, overlap: 2, dtype: .uint8).run(
            input: .volume(stack), normalization: nil, predictor: predictor, output: output)
        let result = try VolumeStack(path: output)
        XCTAssertEqual(result.info.dtype, "uint8")
        XCTAssertEqual(result.metadata.scale, 1.0 / 250)
        XCTAssertEqual(result.info.scale, 1.0 / 250)
        let dump = try ExternalTool.output("h5dump", ["-a", "/probability/scale", fixture.path("bytes.h5")])
        XCTAssertTrue(dump.contains("0.004"), dump)
        try PredictionFixture.assertMatchesWholeSlices(result, input: stack, predictor: predictor,
                                                       accuracy: 0.5 / 250 + 1e-6)
    }

    /// Format and dtype combinations that cannot be written, one per line, with the exact error; nothing is left.
    func testRefusedCombinations() throws {
        let fixture = try PredictionFixture()
        defer { fixture.remove() }
        let shape = VolumeShape(steps: 2, channels: 1, depth: 1, height: 10, width: 10)
        let input = fixture.path("slice.nii")
        try NIfTIWriter.write(PredictionFixture.volumeValues(shape, invalidValue: .nan), to: input,
                              header: try NIfTIHeader(width: 10, height: 10, depth: 1, steps: 2, datatype: .float32,
                                                      spacing: Spacing(x: 1, y: 1, z: 1)))
        let stack = InputStack.volume(try VolumeStack(path: input))
        let before = try fixture.contents()
        let cases: [(PredictionDType, String, StrataError)] = [
            (.int16, "out.h5", .invalidArgument(name: "--output-dtype", reason: "HDF5 predictions are float32, "
                                                + "float16 or uint8; int16 is for GeoTIFF and NIfTI")),
            (.float16, "out.nii", .invalidArgument(name: "--output-dtype", reason: "float16 is written to HDF5 only; "
                                                   + "NIfTI predictions are float32, uint8 or int16")),
            (.float32, "out.tif", .invalidArgument(name: "--format", reason: "geotiff is for rasters; volume "
                                                   + "predictions are HDF5 or NIfTI")),
        ]
        for (dtype, output, error) in cases {
            XCTAssertThrowsError(try TiledPrediction(tile: 8, overlap: 1, dtype: dtype).run(
                input: stack, normalization: nil, predictor: BoxMeanPredictor(radius: 1),
                output: fixture.path(output))) {
                XCTAssertEqual($0 as? StrataError, error)
            }
        }
        XCTAssertEqual(try fixture.contents(), before)
    }

    func testFormatFromPath() {
        XCTAssertEqual(PredictionFormat(path: "change.tif"), .geotiff)
        XCTAssertEqual(PredictionFormat(path: "CHANGE.TIFF"), .geotiff)
        XCTAssertEqual(PredictionFormat(path: "out.h5"), .hdf5)
        XCTAssertEqual(PredictionFormat(path: "out.h5:/subject1/lesion"), .hdf5)
        XCTAssertEqual(PredictionFormat(path: "lesion.nii.gz"), .nifti)
        XCTAssertEqual(PredictionFormat(path: "lesion.nii"), .nifti)
        XCTAssertNil(PredictionFormat(path: "change.png"))
        XCTAssertEqual(NIfTIPredictionSink.path("/d/lesion.nii.gz", suffix: "probability"),
                       "/d/lesion_probability.nii.gz")
        XCTAssertEqual(NIfTIPredictionSink.path("lesion.nii", suffix: "date"), "lesion_date.nii")
    }
}

/// The box-mean fixture's valid fraction alone: a predictor whose only output is a probability.
final class ValidFractionPredictor: Predictor {
    private let box = BoxMeanPredictor(radius: 1)
    var outputs: [PredictionOutput] { [PredictionOutput(name: "valid_fraction", kind: .probability)] }
    var receptiveRadius: Int { box.receptiveRadius }
    var minimumSteps: Int { box.minimumSteps }
    var name: String { "valid-fraction" }

    func predict(values: Tensor, mask: Tensor) throws -> Tensor {
        let both = try box.predict(values: values, mask: mask)   // [2, h, w]
        let (h, w) = (both.shape[1], both.shape[2])
        return Tensor(shape: [1, h, w], values: Array(both.floats[(h * w)...]))
    }
}
