import Foundation
import StrataCore
import XCTest

@testable import StrataIO

/// File-name date rules and CF time decoding, input by input.
final class RasterTimeLabelTests: XCTestCase {
    func label(_ name: String) -> String? { FileNameDate.seconds(in: name).map(CivilTime.iso8601) }

    func testFileNameDates() {
        XCTAssertEqual(label("/d/S2A_MSIL2A_20210605T101559_N0300_R065_T32TQM_20210605T120000.tif"),
                       "2021-06-05T10:15:59Z")
        XCTAssertEqual(label("LC08_L2SP_044034_20210605_20210614_02_T1_SR_B4.TIF"), "2021-06-05")
        XCTAssertEqual(label("LC08_044034_2021156_sr.tif"), "2021-06-05")
        XCTAssertEqual(label("LC80440342021156LGN00_B4.TIF"), "2021-06-05")
        XCTAssertEqual(label("MOD13Q1.A2021156.h18v04.061.2021173.hdf"), "2021-06-05")
        XCTAssertEqual(label("ndvi_2021-06-05.tif"), "2021-06-05")
        XCTAssertEqual(label("ndvi_2021_06_05_v2.tif"), "2021-06-05")
        XCTAssertNil(label("ndvi_2021-06_05.tif"), "mixed separators")
        XCTAssertEqual(label("scan_20210605120000.tif"), "2021-06-05T12:00:00Z")
        XCTAssertEqual(label("leap_2020366.tif"), "2020-12-31")
        XCTAssertNil(label("leap_2021366.tif"), "2021 has 365 days")
        XCTAssertNil(label("tile_044034_b4.tif"), "path/row is not a date")
        XCTAssertNil(label("scene_20211305.tif"), "month 13")
        XCTAssertNil(label("plain.tif"))
    }

    func testMetadataTimestamps() {
        XCTAssertEqual(CivilTime.parseTimestamp("2021:06:05 10:15:59").map(CivilTime.iso8601), "2021-06-05T10:15:59Z")
        XCTAssertEqual(CivilTime.parseTimestamp("2021-06-05T00:00:00.000Z").map(CivilTime.iso8601), "2021-06-05")
        XCTAssertEqual(CivilTime.parseTimestamp("20210605").map(CivilTime.iso8601), "2021-06-05")
        XCTAssertNil(CivilTime.parseTimestamp("yesterday"))
    }

    func testCFUnitsAndCalendars() throws {
        func iso(_ values: [Double], _ units: String, _ calendar: String? = nil) throws -> [String] {
            try CFTime.decode(values, units: units, calendar: calendar, path: "f.nc").map(CivilTime.iso8601)
        }
        XCTAssertEqual(try iso([17927, 18261], "days since 1950-01-01 00:00:00", "standard"),
                       ["1999-01-31", "1999-12-31"])
        XCTAssertEqual(try iso([36], "hours since 2000-01-01", "gregorian"), ["2000-01-02T12:00:00Z"])
        XCTAssertEqual(try iso([90], "minutes since 2000-01-01 00:00:00 UTC", "proleptic_gregorian"),
                       ["2000-01-01T01:30:00Z"])
        XCTAssertEqual(try iso([86_400], "seconds since 1970-01-01T00:00:00Z"), ["1970-01-02"])
        XCTAssertEqual(try iso([0.5], "days since 2000-01-01"), ["2000-01-01T12:00:00Z"])
        // noleap: 59 days after 2000-01-01 is March 1st (no February 29 in that calendar).
        XCTAssertEqual(try iso([59, 365], "days since 2000-01-01", "noleap"), ["2000-03-01", "2001-01-01"])
        XCTAssertEqual(try iso([59], "days since 2000-01-01", "365_day"), ["2000-03-01"])
        XCTAssertThrowsStrataError(.unsupported(path: "f.nc")) { try iso([0], "days since 2000-01-01", "360_day") }
        XCTAssertThrowsStrataError(.unsupported(path: "f.nc")) { try iso([0], "months since 2000-01-01") }
        XCTAssertThrowsStrataError(.unsupported(path: "f.nc")) { try iso([0], "days since 1500-01-01", "standard") }
        XCTAssertThrowsStrataError(.unsupported(path: "f.nc")) { try iso([0], "days since 2000-01-01 00:00 +05:00") }
    }
}
