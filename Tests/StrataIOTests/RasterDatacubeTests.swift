import CGDAL
import Foundation
import StrataCore
import XCTest

@testable import StrataIO
import StrataTestSupport

/// The shared real files: the `stars` netCDF (12 monthly steps) and the Landsat 7 GeoTIFF.
final class RasterDatacubeTests: XCTestCase {
    var fixture: RasterFixture!

    override func setUpWithError() throws { fixture = try RasterFixture() }
    override func tearDown() { fixture.remove() }

    func testNetCDFVariableGivesTwelveMonthlySteps() throws {
        let nc = try fixture.copyShared("stars/bcsd_obs_1999.nc")
        let stack = try RasterStack(datacube: "NETCDF:\"\(nc)\":pr")
        XCTAssertEqual(stack.info.kind, .datacube)
        XCTAssertEqual(stack.steps, 12)
        XCTAssertEqual(stack.bands, 1)
        XCTAssertEqual(stack.info.width, 81)
        XCTAssertEqual(stack.info.height, 33)
        XCTAssertEqual(stack.info.bandNames, ["pr"])
        XCTAssertEqual(stack.info.nodata, Double(Float(1e20)), "_FillValue 1e20 as the float32 the band stores")
        // NETCDF_DIM_time_VALUES {17927, 17955, …, 18261} days since 1950-01-01: month ends of 1999.
        let expected = [17927, 17955, 17986, 18016, 18047, 18077, 18108, 18139, 18169, 18200, 18230, 18261].map {
            CivilTime.iso8601(Int64(CivilTime.days(year: 1950, month: 1, day: 1) + $0) * 86_400)
        }
        XCTAssertEqual(expected.first, "1999-01-31")
        XCTAssertEqual(expected.last, "1999-12-31")
        XCTAssertEqual(stack.info.dates, expected)
        // No CRS in the file, geographic axes: reported as WGS 84 lon/lat.
        XCTAssertEqual(stack.grid.crs?.epsg, 4326)
        XCTAssertEqual(stack.grid.geoTransform, [-85, 0.125, 0, 37.125, 0, -0.125])
        let tile = try stack.read(window: stack.grid.fullWindow)
        XCTAssertEqual(tile.values.shape, [12, 1, 33, 81])
        let mask = tile.mask.withRawBytes { Array($0) }
        let valid = mask.filter { $0 == 1 }.count
        XCTAssertGreaterThan(valid, 0)
        XCTAssertLessThan(valid, mask.count, "ocean pixels hold _FillValue 1e20 and are masked")
        let precipitation = zip(tile.values.floats, mask).filter { $0.1 == 1 }.map(\.0)
        XCTAssertTrue(precipitation.allSatisfy { $0 >= 0 && $0 < 2000 }, "monthly precipitation in mm")
        // The plain file holds pr and tas: the error names both subdatasets.
        XCTAssertThrowsError(try RasterStack(datacube: nc)) { error in
            guard case let StrataError.invalidArgument(name, reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, nc)
            XCTAssertTrue(reason.contains("NETCDF:\"\(nc)\":pr") && reason.contains("NETCDF:\"\(nc)\":tas"), reason)
        }
        XCTAssertEqual(try RasterStack.open(["NETCDF:\"\(nc)\":tas"]).steps, 12)
    }

    func testLandsatGeoTIFFHasSixBandsInSirgasUTM25S() throws {
        let tif = try fixture.copyShared("stars/L7_ETMs.tif")
        let stack = try RasterStack(files: [tif])
        XCTAssertEqual(stack.info.kind, .raster)
        XCTAssertEqual(stack.bands, 6)
        XCTAssertEqual(stack.steps, 1)
        XCTAssertEqual(stack.info.dates, [nil])
        XCTAssertEqual(stack.grid.crs?.epsg, 31985)
        XCTAssertEqual(stack.info.width, 349)
        XCTAssertEqual(stack.info.height, 352)
        XCTAssertEqual(stack.info.dtype, "uint8")
        XCTAssertEqual(stack.grid.pixelSize.x, 28.5, accuracy: 1e-9)
        let range = try XCTUnwrap(stack.info.valueRange)
        XCTAssertGreaterThanOrEqual(range[0], 0)
        XCTAssertLessThanOrEqual(range[1], 255)
        XCTAssertLessThan(range[0], range[1])
        let tile = try stack.read(window: Window(x: 100, y: 100, width: 32, height: 32))
        XCTAssertEqual(tile.values.shape, [1, 6, 32, 32])
        // Independent reader: gdallocationinfo prints the 6 band values of pixel (100, 100).
        let printed = try ExternalTool.output("gdallocationinfo", ["-valonly", tif, "100", "100"])
        let expected = printed.split(separator: "\n").compactMap { Float($0) }
        XCTAssertEqual(expected.count, 6)
        XCTAssertEqual((0..<6).map { tile.values.floats[$0 * 32 * 32] }, expected)
    }
}
