import CGDAL
import Foundation
import StrataCore
import XCTest

@testable import StrataIO

/// Round trips through real GeoTIFFs written by GDAL: values, masks, dates, CRS, geotransform, windows.
final class RasterStackTests: XCTestCase {
    var fixture: RasterFixture!

    override func setUpWithError() throws { fixture = try RasterFixture() }
    override func tearDown() { fixture.remove() }

    /// Three dated files written out of order, nodata -9999 at one pixel per step.
    func writeSeries(bands: Int = 2) throws -> [String] {
        let names = ["s2_20210710_b.tif", "s2_20210605_a.tif", "s2_2021-06-20_c.tif"]
        let steps = [2, 0, 1]  // time index of each file
        return try zip(names, steps).map { name, t in
            try fixture.write(name, bands: bands, nodata: -9999) { b, x, y in
                x == 10 + t && y == 20 ? -9999 : RasterFixture.stored(t, b, x, y)
            }
        }
    }

    func testSeriesRoundTripSortsByFileNameDate() throws {
        let files = try writeSeries()
        let stack = try RasterStack(files: files)
        XCTAssertEqual(stack.info.dates, ["2021-06-05", "2021-06-20", "2021-07-10"])
        XCTAssertEqual(stack.info.sources, [files[1], files[2], files[0]])
        XCTAssertEqual(stack.info.kind, .rasterSeries)
        XCTAssertEqual(stack.steps, 3)
        XCTAssertEqual(stack.bands, 2)
        XCTAssertEqual(stack.grid.crs?.epsg, 32633)
        XCTAssertEqual(stack.grid.geoTransform, RasterFixture.geoTransform)
        XCTAssertEqual(stack.info.blockSize, [64, 64])
        XCTAssertEqual(stack.info.dtype, "float32")
        XCTAssertEqual(stack.info.nodata, -9999)
        XCTAssertTrue(stack.info.crs?.wkt.contains("UTM zone 33N") ?? false)

        let whole = try stack.read(window: stack.grid.fullWindow)
        XCTAssertEqual(whole.values.shape, [3, 2, 200, 300])
        XCTAssertEqual(whole.mask.shape, [3, 200, 300])
        let values = whole.values.floats
        let mask = whole.mask.withRawBytes { Array($0) }
        for t in 0..<3 {
            for b in 0..<2 {
                for (x, y) in [(0, 0), (299, 199), (64, 63), (150, 100)] {
                    let at = ((t * 2 + b) * 200 + y) * 300 + x
                    XCTAssertEqual(values[at], Float(RasterFixture.stored(t, b, x, y)), "t=\(t) b=\(b) x=\(x) y=\(y)")
                }
            }
            XCTAssertEqual(mask[(t * 200 + 20) * 300 + 10 + t], 0, "nodata pixel of step \(t)")
            XCTAssertEqual(values[((t * 2 + 1) * 200 + 20) * 300 + 10 + t], -9999, "invalid pixels hold nodata")
            XCTAssertEqual(mask[(t * 200 + 21) * 300 + 10 + t], 1)
        }
        XCTAssertEqual(mask.filter { $0 == 0 }.count, 3)
    }

    /// A quoted glob (`'folder/s2_*.tif'`, as in `strata predict --input`) opens the files it matches; a file whose
    /// name holds glob characters opens as itself; a glob that matches nothing names itself in the error.
    func testGlobPatternsOpenTheFilesTheyMatch() throws {
        let files = try writeSeries(bands: 1)
        try fixture.write("other_20210801.tif") { _, _, _ in 1 }
        let stack = try InputStack.open([fixture.path("s2_*.tif")])
        XCTAssertEqual(stack.info.sources, [files[1], files[2], files[0]])
        XCTAssertEqual(stack.info.dates, ["2021-06-05", "2021-06-20", "2021-07-10"])
        XCTAssertEqual(InputPath.matches(fixture.path("s2_2021061?_[ab].tif")), [], "? matches one character only")
        XCTAssertEqual(InputPath.matches(fixture.path("s2_20210[67]*_[ab].tif")), [files[1], files[0]])

        let literal = try fixture.write("odd[1]_20210901.tif") { _, _, _ in 2 }
        XCTAssertEqual(InputPath.matches(literal), [literal])
        XCTAssertEqual(InputPath.matches("NETCDF:\"x*.nc\":pr"), ["NETCDF:\"x*.nc\":pr"], "dataset names stay whole")

        let missing = fixture.path("s1_*.tif")
        XCTAssertThrowsError(try InputStack.open([missing])) { error in
            XCTAssertEqual("\(error)", "\(missing): matches no file")
        }
    }

    func testWindowsAtEdgesAndOutsideAreBoundless() throws {
        let stack = try RasterStack(files: writeSeries(bands: 1))
        // Window hanging over the bottom-right corner: 4 × 3 pixels inside out of 10 × 10.
        let corner = try stack.read(window: Window(x: 296, y: 197, width: 10, height: 10))
        let values = corner.values.floats, mask = corner.mask.withRawBytes { Array($0) }
        for t in 0..<3 {
            for row in 0..<10 {
                for column in 0..<10 {
                    let inside = column < 4 && row < 3
                    XCTAssertEqual(mask[(t * 10 + row) * 10 + column], inside ? 1 : 0)
                    let expected = inside ? Float(RasterFixture.stored(t, 0, 296 + column, 197 + row)) : -9999
                    XCTAssertEqual(values[(t * 10 + row) * 10 + column], expected)
                }
            }
        }
        // Top-left overhang.
        let topLeft = try stack.read(window: Window(x: -5, y: -2, width: 8, height: 4))
        XCTAssertEqual(topLeft.values.floats[2 * 8 + 5], Float(RasterFixture.stored(0, 0, 0, 0)))
        XCTAssertEqual(topLeft.mask.withRawBytes { Array($0) }[1 * 8 + 4], 0)
        // Wholly outside: all fill, all invalid.
        let outside = try stack.read(window: Window(x: 400, y: -50, width: 16, height: 16))
        XCTAssertTrue(outside.values.floats.allSatisfy { $0 == -9999 })
        XCTAssertTrue(outside.mask.withRawBytes { $0.allSatisfy { $0 == 0 } })
    }

    func testScaleOffsetAndNaNAreHonoured() throws {
        let path = try fixture.write("temp_20200101.tif", type: GDT_Int16, nodata: -1, scale: 0.01, offset: 273.15) {
            _, x, y in x == 0 && y == 0 ? -1 : Double(x + y)
        }
        let stack = try RasterStack(files: [path])
        XCTAssertEqual(stack.info.kind, .raster)
        XCTAssertEqual(stack.info.scale, 0.01)
        XCTAssertEqual(stack.info.offset, 273.15)
        XCTAssertEqual(stack.info.dtype, "int16")
        let tile = try stack.read(window: Window(x: 0, y: 0, width: 3, height: 2))
        // float32 holds 273.15 + 0.03 to ~3e-5; the tolerance is float32 rounding of a ~273 value.
        XCTAssertEqual(tile.values.floats[1], 273.16, accuracy: 1e-4)
        XCTAssertEqual(tile.values.floats[3 + 2], 273.18, accuracy: 1e-4)
        XCTAssertEqual(tile.values.floats[0], -1, "invalid pixel holds the declared nodata, unscaled")
        XCTAssertEqual(tile.mask.withRawBytes { Array($0) }, [0, 1, 1, 1, 1, 1])
        let range = try XCTUnwrap(stack.info.valueRange)
        XCTAssertEqual(range[0], 273.16, accuracy: 1e-4)

        let nan = try fixture.write("nan_20200102.tif") { _, x, _ in x == 1 ? .nan : 5 }
        let nanTile = try RasterStack(files: [nan]).read(window: Window(x: 0, y: 0, width: 3, height: 1))
        XCTAssertEqual(nanTile.mask.withRawBytes { Array($0) }, [1, 0, 1])
        XCTAssertTrue(nanTile.values.floats[1].isNaN, "no nodata declared: invalid pixels are NaN")
    }

    func testPerDatasetMaskAndAlphaMarkPixelsInvalid() throws {
        // Internal per-dataset mask band (GDAL's .msk inside the TIFF): column 7 masked out.
        let path = try fixture.write("masked_20200101.tif", bands: 2) { b, x, y in RasterFixture.stored(0, b, x, y) }
        let dataset = try XCTUnwrap(GDALOpen(path, GA_Update))
        XCTAssertEqual(GDALCreateDatasetMaskBand(dataset, GMF_PER_DATASET), CE_None)
        let maskBand = GDALGetMaskBand(GDALGetRasterBand(dataset, 1))
        var bytes = [UInt8](repeating: 255, count: RasterFixture.width * RasterFixture.height)
        for y in 0..<RasterFixture.height { bytes[y * RasterFixture.width + 7] = 0 }
        XCTAssertEqual(GDALRasterIO(maskBand, GF_Write, 0, 0, 300, 200, &bytes, 300, 200, GDT_Byte, 0, 0), CE_None)
        GDALClose(dataset)
        let tile = try RasterStack(files: [path]).read(window: Window(x: 5, y: 0, width: 4, height: 1))
        XCTAssertEqual(tile.mask.withRawBytes { Array($0) }, [1, 1, 0, 1])

        // RGBA: the alpha band is the mask, not a data band.
        let rgba = try fixture.write("rgba_20200101.tif", bands: 4, type: GDT_Byte,
                                     options: ["TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64", "ALPHA=YES"]) {
            b, x, _ in b == 3 ? (x == 2 ? 0 : 255) : Double(b * 10 + 1)
        }
        let rgbaStack = try RasterStack(files: [rgba])
        XCTAssertEqual(rgbaStack.bands, 3)
        let rgbaTile = try rgbaStack.read(window: Window(x: 0, y: 0, width: 4, height: 1))
        XCTAssertEqual(rgbaTile.mask.withRawBytes { Array($0) }, [1, 1, 0, 1])
        let green = rgbaTile.values.floats[4..<8]
        XCTAssertEqual([green[4], green[5], green[7]], [11, 11, 11])
        XCTAssertTrue(rgbaTile.values.floats[6].isNaN)
    }

    func testBandsPerStepSplitsOneMultibandRaster() throws {
        // 6 bands = 3 steps × 2 bands, band order t1b1 t1b2 t2b1 …
        let path = try fixture.write("series.tif", bands: 6, descriptions: ["red", "nir", "red", "nir", "red", "nir"]) {
            b, x, y in RasterFixture.stored(b / 2, b % 2, x, y)
        }
        let stack = try RasterStack(file: path, bandsPerStep: 2)
        XCTAssertEqual(stack.info.kind, .multibandRaster)
        XCTAssertEqual(stack.steps, 3)
        XCTAssertEqual(stack.bands, 2)
        XCTAssertEqual(stack.info.bandNames, ["red", "nir"])
        XCTAssertEqual(stack.info.dates, [nil, nil, nil])
        let tile = try stack.read(window: Window(x: 30, y: 40, width: 2, height: 2))
        for t in 0..<3 { for b in 0..<2 {
            XCTAssertEqual(tile.values.floats[(t * 2 + b) * 4 + 3], Float(RasterFixture.stored(t, b, 31, 41)))
        } }
        XCTAssertThrowsStrataError(.invalidArgument(name: "bands-per-step")) {
            try RasterStack(file: path, bandsPerStep: 4)
        }
        XCTAssertEqual(try RasterStack.open([path], bandsPerStep: 3).steps, 2)
    }

    func testDatesFromMetadataExplicitListAndKeepOrder() throws {
        let a = try fixture.write("a.tif", metadata: ["TIFFTAG_DATETIME": "2020:03:01 10:30:00"]) { _, _, _ in 1 }
        let b = try fixture.write("b.tif", metadata: ["TIFFTAG_DATETIME": "2020:02:01 00:00:00"]) { _, _, _ in 2 }
        let byMetadata = try RasterStack(files: [a, b])
        XCTAssertEqual(byMetadata.info.dates, ["2020-02-01", "2020-03-01T10:30:00Z"])

        let c = try fixture.write("c.tif") { _, _, _ in 3 }
        let d = try fixture.write("d.tif") { _, _, _ in 4 }
        XCTAssertThrowsStrataError(.invalidStack) { try RasterStack(files: [c, d]) }
        let kept = try RasterStack(files: [d, c], keepOrder: true)
        XCTAssertEqual(kept.info.dates, [nil, nil])
        XCTAssertEqual(kept.info.sources, [d, c])
        XCTAssertEqual(try kept.read(window: Window(x: 0, y: 0, width: 1, height: 1)).values.floats, [4, 3])

        let day: TimeInterval = 86_400
        let explicit = try RasterStack(files: [c, d], dates: [Date(timeIntervalSince1970: 2 * day),
                                                              Date(timeIntervalSince1970: day)])
        XCTAssertEqual(explicit.info.dates, ["1970-01-02", "1970-01-03"])
        XCTAssertEqual(explicit.info.sources, [d, c])
    }

    func testWindowsTileTheWholeGridAndBlockWindowsFollowBlocks() throws {
        let stack = try RasterStack(files: [fixture.write("x_20200101.tif") { _, _, _ in 0 }])
        let windows = stack.windows(tileSize: 128, overlap: 8)
        XCTAssertEqual(windows.count, 3 * 2)
        XCTAssertEqual(windows.first, Window(x: -8, y: -8, width: 144, height: 144))
        XCTAssertEqual(windows.last, Window(x: 248, y: 120, width: 144, height: 144))
        var covered = Set<Int>()
        for w in windows { for y in (w.y + 8)..<(w.y + 136) where y >= 0 && y < 200 {
            for x in (w.x + 8)..<(w.x + 136) where x >= 0 && x < 300 { covered.insert(y * 300 + x) }
        } }
        XCTAssertEqual(covered.count, 300 * 200, "tile cores reach every edge")
        let blocks = stack.blockWindows()
        XCTAssertEqual(blocks.count, 5 * 4)
        XCTAssertEqual(blocks.last, Window(x: 256, y: 192, width: 44, height: 8))
        XCTAssertEqual(blocks.map(\.pixelCount).reduce(0, +), 300 * 200)
    }

    func testValueRangeComesFromABoundedSampleAndInfoEncodesToJSON() throws {
        // 600 × 400 without overviews: sampled as 8 × 8 windows of 32 × 32 whose corners reach the grid corners,
        // so the extremes of x + y (0 at the top-left, 998 at the bottom-right) are in the sample.
        let path = try fixture.write("big_20200101.tif", width: 600, height: 400) { _, x, y in Double(x + y) }
        let stack = try RasterStack(files: [path])
        XCTAssertEqual(stack.info.valueRange, [0, 998])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(stack.info)) as? [String: Any]
        XCTAssertEqual(json?["dates"] as? [String], ["2020-01-01"])
        XCTAssertEqual(json?["block_size"] as? [Int], [64, 64])
        XCTAssertEqual(json?["value_range"] as? [Double], [0, 998])
        XCTAssertEqual((json?["crs"] as? [String: Any])?["epsg"] as? Int, 32633)
        XCTAssertTrue(json?["nodata"] is NSNull)
    }

    func testSharedStackReadsFromSeveralThreadsMatchSerialReads() throws {
        let stack = try RasterStack(files: writeSeries())
        let windows = stack.windows(tileSize: 64, overlap: 4)
        let serial = try windows.map { try stack.read(window: $0).values.floats }
        let results = ResultBox(count: windows.count)
        DispatchQueue.concurrentPerform(iterations: windows.count) { index in
            results.set(index, (try? stack.read(window: windows[index]))?.values.floats)
        }
        for index in windows.indices {
            let parallel = try XCTUnwrap(results.get(index))
            XCTAssertTrue(zip(parallel, serial[index]).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        }
    }

    func testGDALMessagesAreCapturedNotPrinted() throws {
        let path = fixture.path("noise_20200101.tif")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("plain text".utf8)))
        let capture = fixture.path("stderr.txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: capture, contents: nil))
        fflush(nil)
        let saved = dup(2), file = open(capture, O_WRONLY)
        dup2(file, 2)
        XCTAssertThrowsStrataError(.unreadable(path: path)) { try RasterStack(files: [path]) }
        fflush(nil)
        dup2(saved, 2)
        close(file)
        close(saved)
        XCTAssertEqual(try String(contentsOfFile: capture, encoding: .utf8), "", "GDAL printed to stderr")
    }
}

/// Per-index results written from concurrent iterations.
final class ResultBox: @unchecked Sendable {
    private var items: [[Float]?]
    private let lock = NSLock()
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: [Float]?) { lock.withLock { items[index] = value } }
    func get(_ index: Int) -> [Float]? { lock.withLock { items[index] } }
}
