import CGDAL
import Foundation
import StrataCore
import XCTest

@testable import StrataIO
import StrataTestSupport

/// GeoTIFF and COG outputs, checked with the independent reader `gdalinfo -json` and read back with RasterStack.
final class RasterWriterTests: XCTestCase {
    var fixture: RasterFixture!

    override func setUpWithError() throws { fixture = try RasterFixture() }
    override func tearDown() { fixture.remove() }

    /// Copies a two-band stack to `target` window by window (64 × 64 windows, so edge windows are partial).
    func copyStack(to target: String, format: RasterFormat) throws -> RasterStack {
        let source = try fixture.write("in_20210605.tif", bands: 2, nodata: -9999) { b, x, y in
            x == 3 && y == 4 ? -9999 : RasterFixture.stored(0, b, x, y) + 0.25
        }
        let stack = try RasterStack(files: [source])
        let writer = try GeoTIFFWriter(path: target, grid: stack.grid, bands: 2, sampleType: .float32,
                                       nodata: -9999, bandDescriptions: ["red reflectance", "nir reflectance"],
                                       metadata: ["TIME_LABELS": "2021-06-05"],
                                       bandMetadata: [["UNITS": "1"], ["UNITS": "1"]], format: format)
        for window in stack.windows(tileSize: 64) {
            guard let inside = window.clipped(toWidth: stack.grid.width, height: stack.grid.height) else { continue }
            let tile = try stack.read(window: inside)
            try writer.write(window: inside, values: tile.values.reshaped([2, inside.height, inside.width]))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "nothing at the target before finish()")
        try writer.finish()
        return stack
    }

    func testGeoTIFFHasTilesCompressionCRSNodataDescriptionsAndMetadata() throws {
        let target = fixture.path("out.tif")
        let stack = try copyStack(to: target, format: .geotiff)
        let info = try RasterFixture.gdalinfo(target)
        let wkt = try XCTUnwrap((info["coordinateSystem"] as? [String: Any])?["wkt"] as? String)
        XCTAssertTrue(wkt.contains("\"EPSG\",32633"), wkt)
        XCTAssertEqual(info["geoTransform"] as? [Double], RasterFixture.geoTransform)
        XCTAssertEqual(info["size"] as? [Int], [300, 200])
        let metadata = try XCTUnwrap(info["metadata"] as? [String: [String: String]])
        XCTAssertEqual(metadata["IMAGE_STRUCTURE"]?["COMPRESSION"], "DEFLATE")
        XCTAssertEqual(metadata[""]?["TIME_LABELS"], "2021-06-05")
        let bands = try XCTUnwrap(info["bands"] as? [[String: Any]])
        XCTAssertEqual(bands.count, 2)
        XCTAssertEqual(bands.map { $0["block"] as? [Int] }, [[256, 256], [256, 256]])
        XCTAssertEqual(bands.map { $0["noDataValue"] as? Double }, [-9999, -9999])
        XCTAssertEqual(bands.map { $0["description"] as? String }, ["red reflectance", "nir reflectance"])
        XCTAssertEqual(bands.map { $0["type"] as? String }, ["Float32", "Float32"])
        XCTAssertEqual((bands[1]["metadata"] as? [String: [String: String]])?[""]?["UNITS"], "1")
        let structure = try ExternalTool.output("gdalinfo", ["-mdd", "IMAGE_STRUCTURE", target])
        XCTAssertTrue(structure.contains("PREDICTOR=3"), "floating-point predictor for float32")

        // Read back: exactly the values and mask written.
        let back = try RasterStack(files: [target], keepOrder: true)
        let original = try stack.read(window: stack.grid.fullWindow)
        let copy = try back.read(window: back.grid.fullWindow)
        XCTAssertEqual(copy.values.floats, original.values.floats)
        XCTAssertEqual(copy.mask.withRawBytes { Array($0) }, original.mask.withRawBytes { Array($0) })
        XCTAssertEqual(back.info.bandNames, ["red reflectance", "nir reflectance"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.folder.path)
        XCTAssertEqual(Set(leftovers), ["in_20210605.tif", "out.tif"], "no temporary file left behind")
    }

    func testCOGHasCOGLayoutAndOverviews() throws {
        let target = fixture.path("out_cog.tif")
        _ = try copyStack(to: target, format: .cog)
        let info = try RasterFixture.gdalinfo(target)
        let metadata = try XCTUnwrap(info["metadata"] as? [String: [String: String]])
        XCTAssertEqual(metadata["IMAGE_STRUCTURE"]?["LAYOUT"], "COG")
        XCTAssertEqual(metadata["IMAGE_STRUCTURE"]?["COMPRESSION"], "DEFLATE")
        let bands = try XCTUnwrap(info["bands"] as? [[String: Any]])
        XCTAssertEqual(bands[0]["block"] as? [Int], [256, 256])
        XCTAssertFalse((bands[0]["overviews"] as? [Any] ?? []).isEmpty, "OVERVIEWS=AUTO built overviews")
        XCTAssertEqual(bands.map { $0["description"] as? String }, ["red reflectance", "nir reflectance"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.folder.path)
        XCTAssertEqual(Set(leftovers), ["in_20210605.tif", "out_cog.tif"])
    }

    func testIntegerOutputRoundsClampsAndStoresNaNAsNodata() throws {
        let target = fixture.path("classes.tif")
        let grid = Grid(width: 6, height: 1, geoTransform: [0, 1, 0, 6, 0, -1], crs: nil)
        let writer = try GeoTIFFWriter(path: target, grid: grid, bands: 1, sampleType: .int16, nodata: -9999)
        try writer.write(window: grid.fullWindow,
                         values: Tensor(shape: [1, 1, 6], values: [1.5, -1.5, 2.4, 40000, -40000, .nan]))
        try writer.finish()
        let printed = try ExternalTool.output("gdal_translate", ["-q", "-of", "XYZ", target, "/vsistdout/"])
        let stored = printed.split(separator: "\n").map { Double($0.split(separator: " ")[2])! }
        XCTAssertEqual(stored, [2, -2, 2, 32767, -32768, -9999])
        XCTAssertEqual(try RasterFixture.gdalinfo(target)["bands"].flatMap { ($0 as? [[String: Any]])?[0]["type"] }
            as? String, "Int16")
    }

    /// Float outputs too store NaN as the declared nodata: readers mask the declared value, and many take NaN for a
    /// number. Without a declared nodata NaN stays NaN.
    func testFloatOutputStoresNaNAsDeclaredNodata() throws {
        let grid = Grid(width: 4, height: 1, geoTransform: [0, 1, 0, 4, 0, -1], crs: nil)
        for (nodata, expected) in [(Double?(-9999), ["0.5", "-9999", "2", "-9999"]), (nil, ["0.5", "nan", "2", "nan"])] {
            for sampleType in [SampleType.float32, .float64] {
                let target = fixture.path("floats_\(sampleType.rawValue)_\(nodata == nil ? "plain" : "nodata").tif")
                let writer = try GeoTIFFWriter(path: target, grid: grid, bands: 1, sampleType: sampleType,
                                               nodata: nodata)
                try writer.write(window: grid.fullWindow, values: Tensor(shape: [1, 1, 4], values: [0.5, .nan, 2, .nan]))
                try writer.finish()
                let printed = try ExternalTool.output("gdal_translate", ["-q", "-of", "XYZ", target, "/vsistdout/"])
                let stored = printed.split(separator: "\n").map { String($0.split(separator: " ")[2]).lowercased() }
                XCTAssertEqual(stored, expected, target)
            }
        }
    }

    /// Scaled integers: GDAL readers see physical = stored × scale + offset, in a GeoTIFF and after the COG copy.
    func testScaleAndOffsetReachGDALReaders() throws {
        let grid = Grid(width: 3, height: 1, geoTransform: [0, 1, 0, 1, 0, -1], crs: nil)
        for (name, format) in [("scaled.tif", RasterFormat.geotiff), ("scaled_cog.tif", .cog)] {
            let target = fixture.path(name)
            let writer = try GeoTIFFWriter(path: target, grid: grid, bands: 2, sampleType: .uint8, nodata: 255,
                                           scales: [1.0 / 250, 0.5], offsets: [0, -10], format: format)
            try writer.write(window: grid.fullWindow,
                             values: Tensor(shape: [2, 1, 3], values: [0, 125, 250, 0, 20, 40]))
            try writer.finish()
            let bands = try XCTUnwrap(try RasterFixture.gdalinfo(target)["bands"] as? [[String: Any]], name)
            XCTAssertEqual(bands.map { $0["scale"] as? Double }, [0.004, 0.5], name)
            XCTAssertEqual(bands.map { $0["offset"] as? Double }, [0, -10], name)
            // gdal_translate -unscale applies them: the physical values, exact in float32 for these numbers.
            for (band, expected) in [(1, [0.0, 0.5, 1.0]), (2, [-10.0, 0.0, 10.0])] {
                let printed = try ExternalTool.output("gdal_translate", ["-q", "-unscale", "-ot", "Float32", "-b",
                                                                       "\(band)", "-of", "XYZ", target, "/vsistdout/"])
                let physical = printed.split(separator: "\n").map { Double($0.split(separator: " ")[2])! }
                XCTAssertEqual(physical, expected, "\(name) band \(band)")
            }
        }
        // One line each: a missing band's scale, a zero scale, a NaN offset.
        let refused: [(scales: [Double], offsets: [Double], option: String)] = [
            ([1], [], "scales"),
            ([1, 0], [], "scales"),
            ([1, 1], [0, .nan], "offsets"),
        ]
        for bad in refused {
            XCTAssertThrowsStrataError(.invalidArgument(name: bad.option)) {
                try GeoTIFFWriter(path: self.fixture.path("refused.tif"), grid: grid, bands: 2, scales: bad.scales,
                                  offsets: bad.offsets)
            }
        }
    }

    func testInterruptedWriteLeavesNothingAtTarget() throws {
        let target = fixture.path("never.tif")
        let grid = Grid(width: 300, height: 200, geoTransform: RasterFixture.geoTransform, crs: nil)
        struct Interrupted: Error {}
        // Throw mid-way: the writer is dropped without finish().
        func produce() throws {
            let writer = try GeoTIFFWriter(path: target, grid: grid, bands: 1, format: .cog)
            try writer.write(window: Window(x: 0, y: 0, width: 64, height: 64),
                             values: Tensor(zeros: [1, 64, 64]))
            throw Interrupted()
        }
        XCTAssertThrowsError(try produce())
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        // Explicit cancel.
        let writer = try GeoTIFFWriter(path: target, grid: grid, bands: 1)
        try writer.write(window: Window(x: 0, y: 0, width: 10, height: 10), values: Tensor(zeros: [1, 10, 10]))
        writer.cancel()
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: fixture.folder.path), [],
                       "temporary files are removed too")
        // A window outside the grid or a wrong shape is refused before GDAL sees it.
        let checked = try GeoTIFFWriter(path: target, grid: grid, bands: 1)
        XCTAssertThrowsStrataError(.invalidArgument(name: "window")) {
            try checked.write(window: Window(x: 290, y: 0, width: 20, height: 1), values: Tensor(zeros: [1, 1, 20]))
        }
        XCTAssertThrowsStrataError(.invalidArgument(name: "values")) {
            try checked.write(window: Window(x: 0, y: 0, width: 2, height: 1), values: Tensor(zeros: [2, 1, 2]))
        }
        XCTAssertThrowsStrataError(.invalidArgument(name: "nodata")) {
            try GeoTIFFWriter(path: target, grid: grid, bands: 1, sampleType: .uint8, nodata: -1)
        }
    }
}
