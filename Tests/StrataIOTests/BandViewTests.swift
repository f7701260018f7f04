import Foundation
import StrataCore
import XCTest

@testable import StrataIO

/// VRT views of single bands: the grid, values, nodata and band name reach GDAL and the readers unchanged.
final class BandViewTests: XCTestCase {
    var fixture: RasterFixture!

    override func setUpWithError() throws { fixture = try RasterFixture() }
    override func tearDown() { fixture.remove() }

    func testOneBandViewKeepsGridValuesNodataAndName() throws {
        let source = try fixture.write("change.tif", bands: 2, nodata: -9999,
                                       descriptions: ["change_probability", "change_date"]) { b, x, y in
            x == 3 && y == 4 ? -9999 : RasterFixture.stored(0, b, x, y)
        }
        let view = try BandView(source: source, band: 2).write(to: fixture.path("change_date.vrt"))

        let stack = try RasterStack(files: [view], keepOrder: true)
        XCTAssertEqual(stack.info.bands, 1)
        XCTAssertEqual(stack.info.bandNames, ["change_date"], "the name lets evaluate tell the task")
        XCTAssertEqual(stack.grid.geoTransform, RasterFixture.geoTransform)
        XCTAssertEqual(stack.grid.crs?.epsg, 32633)
        XCTAssertEqual(stack.info.nodata, -9999)
        let read = try stack.read(window: stack.grid.fullWindow)
        let values = read.values.floats, mask = read.mask.withRawBytes { Array($0) }
        let width = RasterFixture.width
        XCTAssertEqual(values[10 * width + 20], Float(RasterFixture.stored(0, 1, 20, 10)))
        XCTAssertEqual(mask[4 * width + 3], 0)

        let info = try RasterFixture.gdalinfo(view)
        let bands = try XCTUnwrap(info["bands"] as? [[String: Any]])
        XCTAssertEqual(bands.first?["description"] as? String, "change_date")
    }

    func testViewsRefuseAMissingBandAndAnotherGrid() throws {
        let source = try fixture.write("a.tif") { _, _, _ in 1 }
        XCTAssertThrowsError(try BandView(source: source, band: 2).write(to: fixture.path("bad.vrt"))) { error in
            XCTAssertEqual("\(error)", "\(source): has 1 band(s), no band 2")
        }
        let other = try fixture.write("b.tif", width: 10, height: 10) { _, _, _ in 1 }
        let sources = [BandView.Source(path: source, band: 1), BandView.Source(path: other, band: 1)]
        XCTAssertThrowsError(try BandView(sources: sources).write(to: fixture.path("bad.vrt")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: fixture.path("bad.vrt")))
    }
}
