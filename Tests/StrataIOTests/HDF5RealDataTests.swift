import Foundation
import StrataCore
@testable import StrataIO
import XCTest
import StrataTestSupport

/// Real data through HDF5 written by another library: the monthly precipitation of `stars/bcsd_obs_1999.nc`
/// (12 × 33 × 81 float32, nodata 1e20) converted to netCDF-4 (an HDF5 file) by GDAL's `gdalmdimtranslate`,
/// which also attaches the convention's attributes from a multidimensional VRT. netCDF-C stores single text
/// attributes as fixed-length strings, so this exercises the fixed-length path h5py-style files never do.
final class HDF5RealDataTests: XCTestCase {
    private let monthEnds = ["1999-01-31", "1999-02-28", "1999-03-31", "1999-04-30", "1999-05-31", "1999-06-30",
                             "1999-07-31", "1999-08-31", "1999-09-30", "1999-10-31", "1999-11-30", "1999-12-31"]

    /// Writes the precipitation array as netCDF-4 with the given attributes (name: (GDAL type, values)).
    private func precipitationNetCDF4(_ attributes: [(String, String, [String])]) throws -> String {
        let source = try SharedData.path("stars/bcsd_obs_1999.nc")
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let attributeXML = attributes.map { name, type, values in
            "<Attribute name=\"\(name)\"><DataType>\(type)</DataType>"
                + values.map { "<Value>\($0)</Value>" }.joined() + "</Attribute>"
        }.joined(separator: "\n")
        let vrt = """
            <VRTDataset><Group name="/">
              <Dimension name="time" size="12"/><Dimension name="latitude" size="33"/>
              <Dimension name="longitude" size="81"/>
              <Array name="pr"><DataType>Float32</DataType>
                <DimensionRef ref="time"/><DimensionRef ref="latitude"/><DimensionRef ref="longitude"/>
                <Source><SourceFilename>\(source)</SourceFilename><SourceArray>/pr</SourceArray></Source>
                \(attributeXML)
              </Array>
            </Group></VRTDataset>
            """
        try vrt.write(toFile: folder + "/pr.vrt", atomically: true, encoding: .utf8)
        try ExternalTool.output("gdalmdimtranslate", ["-q", "-of", "netCDF", "-co", "FORMAT=NC4", folder + "/pr.vrt",
                                          folder + "/pr.nc"])
        return folder + "/pr.nc"
    }

    func testNetCDF4PrecipitationReadsWithItsAttributes() throws {
        let file = try precipitationNetCDF4([
            ("axes", "String", ["T,H,W"]), ("band_names", "String", ["pr"]), ("time_labels", "String", monthEnds),
            ("nodata", "Float64", ["1e20"]), ("spacing", "Float64", ["13900", "13900"]),
        ])
        let header = try ExternalTool.output("h5dump", ["-H", "-A", "-d", "/pr", file])
        XCTAssertTrue(header.contains("STRSIZE 5;"), header)          // "T,H,W" as a fixed-length string
        let stack = try VolumeStack(path: file + ":/pr")
        XCTAssertEqual(stack.shape, VolumeShape(steps: 12, channels: 1, depth: 1, height: 33, width: 81))
        XCTAssertEqual(stack.info.dtype, "float32")
        XCTAssertEqual(stack.info.bandNames, ["pr"])
        XCTAssertEqual(stack.info.dates, monthEnds.map { $0 })
        XCTAssertEqual(stack.info.timeOffsetsSeconds?[1], 28 * 86400)
        XCTAssertEqual(stack.info.nodata, 1e20)
        XCTAssertEqual(stack.info.spacing, [13900, 13900, 1])        // [x, y] given, z defaults to 1

        // Every value against h5dump's reading of the same dataset (GDAL stored the missing cells as NaN);
        // the mask is 0 exactly where h5dump shows NaN or the 1e20 nodata.
        let expected = try VolumeTestKit.h5dumpValues(file, dataset: "/pr").map(Float.init)
        XCTAssertEqual(expected.count, 12 * 33 * 81)
        let window = try stack.read(region: stack.shape.fullRegion)
        XCTAssertEqual(window.values.floats.map(\.bitPattern), expected.map(\.bitPattern))
        let missing = expected.map { $0.isNaN || $0 == Float(1e20) }
        let mask = window.mask.withRawBytes { Array($0) }
        XCTAssertEqual(mask, missing.map { $0 ? 0 : 1 })
        XCTAssertTrue(mask.contains(0) && mask.contains(1))
        let valid = expected.prefix(33 * 81).filter { !$0.isNaN && $0 != Float(1e20) }
        XCTAssertEqual(stack.info.valueRange, [Double(valid.min()!), Double(valid.max()!)])
    }

    func testTimeLabelsOfTheWrongLengthAreAnInvalidHeader() throws {
        let file = try precipitationNetCDF4([("time_labels", "String", ["1999-01-31", "1999-02-28"])])
        VolumeTestKit.assertThrows(
            .invalidHeader(path: file + ":/pr",
                           reason: "attribute 'time_labels' has 2 values, expected 12 (one per time step)"),
            try VolumeStack(path: file + ":/pr"))
    }

    func testAxesThatDisagreeWithTheRankAreAnInvalidHeader() throws {
        let file = try precipitationNetCDF4([("axes", "String", ["T,D,H,W"])])
        VolumeTestKit.assertThrows(
            .invalidHeader(path: file + ":/pr",
                           reason: "attribute 'axes' is 'T,D,H,W' (4 axes) but the dataset has rank 3"),
            try VolumeStack(path: file + ":/pr"))
    }
}
