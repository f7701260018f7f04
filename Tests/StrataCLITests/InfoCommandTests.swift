import Foundation
import StrataTestSupport
import XCTest

/// `strata info` on the real files in ../shared/data, read as a user would, with `--json` checked key by key.
final class InfoCommandTests: XCTestCase {
    func json(_ arguments: [String]) throws -> [String: Any] {
        let r = try CLI.run(["info", "--json"] + arguments)
        XCTAssertEqual(r.exitCode, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return try XCTUnwrap(object, r.stdout)
    }

    func testNetCDFReportsTwelveDatedMonthlySteps() throws {
        let info = try json(["NETCDF:\"\(try SharedData.path("stars/bcsd_obs_1999.nc"))\":pr"])
        XCTAssertEqual(info["kind"] as? String, "datacube")
        XCTAssertEqual(info["steps"] as? Int, 12)
        let dates = try XCTUnwrap(info["dates"] as? [String])
        XCTAssertEqual(dates.count, 12)
        // days since 1950-01-01: 17927 is 1999-01-31, 18261 is 1999-12-31.
        XCTAssertEqual(dates.first, "1999-01-31")
        XCTAssertEqual(dates.last, "1999-12-31")
        XCTAssertEqual(info["width"] as? Int, 81)
        XCTAssertEqual(info["height"] as? Int, 33)
        // The fill value is stored as float32: 1e20 rounds to 1.00000002e20.
        XCTAssertEqual(try XCTUnwrap(info["nodata"] as? Double) / 1e20, 1, accuracy: 1e-7)
        XCTAssertEqual(try XCTUnwrap(info["geotransform"] as? [Double])[1], 0.125, accuracy: 1e-9)
    }

    func testLandsatReportsSixBandsAndEPSG31985() throws {
        let info = try json([try SharedData.path("stars/L7_ETMs.tif")])
        XCTAssertEqual(info["bands"] as? Int, 6)
        XCTAssertEqual(info["steps"] as? Int, 1)
        XCTAssertEqual(info["dtype"] as? String, "uint8")
        let crs = try XCTUnwrap(info["crs"] as? [String: Any])
        XCTAssertEqual(crs["epsg"] as? Int, 31985)
        XCTAssert((crs["wkt"] as? String)?.contains("UTM zone 25S") == true)
        XCTAssertEqual(try XCTUnwrap(info["geotransform"] as? [Double])[1], 28.5, accuracy: 1e-6)  // as gdalinfo reports
        XCTAssertEqual(info["width"] as? Int, 349)
        XCTAssertEqual(info["height"] as? Int, 352)
    }

    func testNIfTIReportsTwentyTimepointsAndSpacing() throws {
        let info = try json([try SharedData.path("nibabel/functional.nii")])
        XCTAssertEqual(info["kind"] as? String, "nifti")
        XCTAssertEqual(info["steps"] as? Int, 20)
        XCTAssertEqual(info["spacing"] as? [Double], [4, 4, 8])
        XCTAssertEqual(info["depth"] as? Int, 3)
        XCTAssertEqual((info["time_offsets_seconds"] as? [Double])?.last, 38)
        XCTAssertEqual((info["dates"] as? [Any])?.count, 20)
    }

    /// JSON has no NaN or infinity; a float raster whose nodata is NaN (common) gets the string `gdalinfo -json`
    /// writes, not a crash.
    func testNonFiniteNodataIsAStringInJSON() throws {
        let dir = try CLI.temporaryFolder(self)
        for (value, expected) in [("nan", "nan"), ("-inf", "-inf")] {
            let path = dir.appendingPathComponent("nodata_\(expected)_20200101.tif").path
            _ = try ExternalTool.outputData("gdal_translate", ["-q", "-ot", "Float32", "-b", "1", "-a_nodata", value,
                                                               try SharedData.path("stars/L7_ETMs.tif"), path])
            let info = try json([path])
            XCTAssertEqual(info["nodata"] as? String, expected)
            let text = try CLI.run(["info", path])
            XCTAssertEqual(text.exitCode, 0, text.stderr)
        }
    }

    /// --dates takes a date-time too and keeps its time (it used to be dropped silently).
    func testDatesOptionKeepsTimesOfDay() throws {
        let dir = try CLI.temporaryFolder(self)
        let files = try ["a.tif", "b.tif"].map { name -> String in
            let path = dir.appendingPathComponent(name).path
            _ = try ExternalTool.outputData("gdal_translate", ["-q", "-b", "1", try SharedData.path("stars/L7_ETMs.tif"),
                                                               path])
            return path
        }
        let info = try json(["--dates", "2021-06-05T10:30:00Z,2021-06-06"] + files)
        XCTAssertEqual(info["dates"] as? [String], ["2021-06-05T10:30:00Z", "2021-06-06"])
        // One multi-band raster read as steps takes one date per step; a wrong count is an error, not ignored.
        let stacked = dir.appendingPathComponent("stacked.tif").path
        _ = try ExternalTool.outputData("gdal_translate", ["-q", "-b", "1", "-b", "2", "-b", "3", "-b", "4",
                                                           try SharedData.path("stars/L7_ETMs.tif"), stacked])
        let perStep = try json(["--bands-per-step", "2", "--dates", "2021-01-10,2021-02-10", stacked])
        XCTAssertEqual(perStep["dates"] as? [String], ["2021-01-10", "2021-02-10"])
        let wrongCount = try CLI.run(["info", "--bands-per-step", "2", "--dates", "2021-01-10", stacked])
        XCTAssertEqual(wrongCount.exitCode, 2, wrongCount.stderr)
        XCTAssertTrue(wrongCount.stderr.contains("1 date(s) for the 2 steps"), wrongCount.stderr)
        let bad = try CLI.run(["info", "--dates", "2021-06-05 10:30,2021-06-06"] + files)
        XCTAssertEqual(bad.exitCode, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("'2021-06-05 10:30' is not a YYYY-MM-DD date"), bad.stderr)
    }

    func testJSONAlwaysHoldsTheDocumentedKeys() throws {
        let info = try json([try SharedData.path("stars/L7_ETMs.tif")])
        for key in ["kind", "steps", "dates", "bands", "width", "height", "depth", "dtype", "crs", "geotransform",
                    "spacing", "nodata"] {
            XCTAssert(info.keys.contains(key), "missing key \(key)")
        }
    }

    func testTextReportNamesTheCRS() throws {
        let r = try CLI.run(["info", try SharedData.path("stars/L7_ETMs.tif")])
        XCTAssertEqual(r.exitCode, 0, r.stderr)
        XCTAssert(r.stdout.contains("EPSG:31985"), r.stdout)
        XCTAssert(r.stdout.contains("288776.25, 9120760.75"), "coordinates keep their precision: \(r.stdout)")
    }
}
