import CGDAL
import Foundation
import StrataCore
import XCTest

@testable import StrataIO

/// One bad input per test, each with the exact error expected.
final class RasterBadInputTests: XCTestCase {
    var fixture: RasterFixture!

    override func setUpWithError() throws { fixture = try RasterFixture() }
    override func tearDown() { fixture.remove() }

    func good(_ name: String) throws -> String {
        try fixture.write(name) { _, x, y in Double(x + y) }
    }

    func testMissingPath() {
        let path = fixture.path("missing_20210101.tif")
        XCTAssertThrowsStrataError(.exactly(.fileNotFound(path: path))) { try RasterStack(files: [path]) }
    }

    func testMissingFileBehindDatasetName() {
        let name = "NETCDF:\"\(fixture.path("missing.nc"))\":pr"
        XCTAssertThrowsStrataError(.exactly(.fileNotFound(path: name))) { try RasterStack(datacube: name) }
    }

    func testDirectory() {
        XCTAssertThrowsStrataError(.exactly(.isDirectory(path: fixture.folder.path))) {
            try RasterStack(files: [fixture.folder.path])
        }
    }

    func testZeroByteFile() {
        let path = fixture.path("empty_20210101.tif")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        XCTAssertThrowsStrataError(.exactly(.emptyFile(path: path))) { try RasterStack(files: [path]) }
    }

    func testTextFileNamedTif() {
        let path = fixture.path("notes_20210101.tif")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("not a raster\n".utf8)))
        XCTAssertThrowsStrataError(.unreadable(path: path)) { try RasterStack(files: [path]) }
    }

    func testTruncatedGeoTIFF() throws {
        let path = try good("cut_20210101.tif")
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).intValue
        XCTAssertEqual(truncate(path, off_t(size / 2)), 0)
        XCTAssertThrowsStrataError(.unreadable(path: path)) { try RasterStack(files: [path]) }
    }

    func testComplexValuedBand() throws {
        let path = try fixture.write("complex_20210101.tif", type: GDT_CFloat32) { _, x, _ in Double(x) }
        XCTAssertThrowsStrataError(.unsupported(path: path)) { try RasterStack(files: [path]) }
    }

    func testStacksDifferingInSize() throws {
        let a = try good("a_20210101.tif")
        let b = try fixture.write("b_20210201.tif", width: 299) { _, _, _ in 0 }
        XCTAssertThrowsStrataError(.exactly(.gridMismatch(file: b, reference: a, property: "size", expected: "300x200",
                                                          found: "299x200"))) { try RasterStack(files: [a, b]) }
    }

    func testStacksDifferingInCRS() throws {
        let a = try good("a_20210101.tif")
        let b = try fixture.write("b_20210201.tif", epsg: 32634) { _, _, _ in 0 }
        XCTAssertThrowsStrataError(.exactly(.gridMismatch(file: b, reference: a, property: "CRS", expected: "EPSG:32633",
                                                          found: "EPSG:32634"))) { try RasterStack(files: [a, b]) }
    }

    func testStacksDifferingInGeotransform() throws {
        let a = try good("a_20210101.tif")
        let b = try fixture.write("b_20210201.tif", geoTransform: [500_000, 20, 0, 4_600_000, 0, -20]) { _, _, _ in 0 }
        XCTAssertThrowsStrataError(.gridMismatch(file: b, reference: a, property: "geotransform")) {
            try RasterStack(files: [a, b])
        }
    }

    func testStacksDifferingInBandCount() throws {
        let a = try good("a_20210101.tif")
        let b = try fixture.write("b_20210201.tif", bands: 2) { _, _, _ in 0 }
        XCTAssertThrowsStrataError(.exactly(.gridMismatch(file: b, reference: a, property: "band count", expected: "1",
                                                          found: "2"))) { try RasterStack(files: [a, b], align: true) }
    }

    func testStacksDifferingInDataTypeCategory() throws {
        let a = try good("a_20210101.tif")
        let b = try fixture.write("b_20210201.tif", type: GDT_Byte) { _, _, _ in 0 }
        XCTAssertThrowsStrataError(.exactly(.gridMismatch(file: b, reference: a, property: "data type",
                                                          expected: "float32", found: "uint8"))) {
            try RasterStack(files: [a, b])
        }
    }

    func testDuplicateDates() throws {
        let a = try good("x_20210605.tif")
        let b = try good("y_2021-06-05.tif")
        XCTAssertThrowsStrataError(.exactly(.duplicateDate(file: b, other: a, date: "2021-06-05"))) {
            try RasterStack(files: [a, b])
        }
    }

    func testFilesWithoutDates() throws {
        let a = try good("first.tif"), b = try good("second.tif")
        XCTAssertThrowsStrataError(.invalidStack) { try RasterStack(files: [a, b]) }
    }

    func testEmptyFileList() {
        XCTAssertThrowsStrataError(.invalidStack) { try RasterStack(files: []) }
    }

    func testNetCDFVariableWithoutTimeDimension() throws {
        // GDAL's netCDF driver writes one 2-D variable `Band1`: no time dimension.
        let path = try fixture.write("flat.nc", driver: "netCDF", width: 20, height: 10, options: []) { _, x, _ in
            Double(x)
        }
        XCTAssertThrowsStrataError(.exactly(.missingTimeDimension(path: path, variable: "Band1"))) {
            try RasterStack(datacube: path)
        }
    }

    func testBandsPerStepNotDividingBandCount() throws {
        let path = try fixture.write("three.tif", bands: 3) { _, _, _ in 0 }
        XCTAssertThrowsStrataError(.invalidArgument(name: "bands-per-step")) {
            try RasterStack(file: path, bandsPerStep: 2)
        }
    }
}
