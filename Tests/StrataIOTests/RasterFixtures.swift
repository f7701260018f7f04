import CGDAL
import Foundation
import StrataCore
import StrataTestSupport
import XCTest

/// Builds small real rasters with GDAL itself (never by hand) in a fresh temporary folder per test.
///
/// The standard grid is 300 × 200 pixels of 10 m in EPSG:32633 (UTM 33N), tiled 64 × 64, so windows cross
/// block edges and the last blocks are partial (300 = 4·64 + 44, 200 = 3·64 + 8).
struct RasterFixture {
    static let width = 300
    static let height = 200
    static let geoTransform: [Double] = [500_000, 10, 0, 4_600_000, 0, -10]

    let folder: URL

    init() throws {
        GDALAllRegister()
        folder = try TestFolder(prefix: "strata-raster").url
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// The value a fixture stores at step `t`, band `b`, column `x`, row `y` (before scale/offset).
    static func stored(_ t: Int, _ b: Int, _ x: Int, _ y: Int) -> Double {
        Double(t * 1000 + b * 100 + (x * 7 + y * 3) % 97)
    }

    /// Writes a GeoTIFF (or another GDAL driver's file) and returns its path.
    @discardableResult
    func write(_ name: String, driver: String = "GTiff", width: Int = RasterFixture.width,
               height: Int = RasterFixture.height, bands: Int = 1, type: GDALDataType = GDT_Float32,
               epsg: Int32? = 32633, geoTransform: [Double] = RasterFixture.geoTransform, nodata: Double? = nil,
               scale: Double? = nil, offset: Double? = nil, descriptions: [String] = [],
               metadata: [String: String] = [:], options: [String] = ["TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"],
               value: (Int, Int, Int) -> Double) throws -> String {
        let target = path(name)
        let drv = try XCTUnwrap(GDALGetDriverByName(driver), "driver \(driver)")
        let copies = options.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var list = copies + [nil]
        let handle = list.withUnsafeMutableBufferPointer {
            GDALCreate(drv, target, Int32(width), Int32(height), Int32(bands), type, $0.baseAddress)
        }
        let dataset = try XCTUnwrap(handle, "GDALCreate \(target)")
        var transform = geoTransform
        GDALSetGeoTransform(dataset, &transform)
        if let epsg {
            let srs = OSRNewSpatialReference(nil)
            OSRImportFromEPSG(srs, epsg)
            GDALSetSpatialRef(dataset, srs)
            OSRDestroySpatialReference(srs)
        }
        for (key, text) in metadata { GDALSetMetadataItem(dataset, key, text, nil) }
        for b in 0..<bands {
            let band = GDALGetRasterBand(dataset, Int32(b + 1))
            if let nodata { GDALSetRasterNoDataValue(band, nodata) }
            if let scale { GDALSetRasterScale(band, scale) }
            if let offset { GDALSetRasterOffset(band, offset) }
            if b < descriptions.count { GDALSetDescription(band, descriptions[b]) }
            var pixels = [Double](repeating: 0, count: width * height)
            for y in 0..<height { for x in 0..<width { pixels[y * width + x] = value(b, x, y) } }
            let status = GDALRasterIO(band, GF_Write, 0, 0, Int32(width), Int32(height), &pixels, Int32(width),
                                      Int32(height), GDT_Float64, 0, 0)
            XCTAssertEqual(status, CE_None)
        }
        GDALClose(dataset)
        return target
    }

    /// Runs `gdalinfo -json` (the independent reader) and returns its parsed output.
    static func gdalinfo(_ path: String, _ extra: [String] = []) throws -> [String: Any] {
        try ExternalTool.json("gdalinfo", ["-json"] + extra + [path])
    }

    /// Copies a shared real test file into the fixture folder (the originals are read-only).
    func copyShared(_ relative: String) throws -> String {
        let source = try SharedData.path(relative)
        let target = path(URL(fileURLWithPath: relative).lastPathComponent)
        try FileManager.default.copyItem(atPath: source, toPath: target)
        return target
    }
}

/// Asserts that `body` throws exactly `expected`.
func XCTAssertThrowsStrataError<T>(_ expected: StrataErrorMatch, file: StaticString = #filePath, line: UInt = #line,
                                   _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected \(expected), nothing was thrown", file: file, line: line)
    } catch {
        XCTAssertTrue(expected.matches(error), "expected \(expected), got \(error)", file: file, line: line)
    }
}

/// The error a bad-input test expects: an exact ``StrataError``, or a case and its file where the rest of the
/// message is GDAL's own wording.
enum StrataErrorMatch: CustomStringConvertible {
    case exactly(StrataError)
    case unreadable(path: String)
    case unsupported(path: String)
    case invalidArgument(name: String)
    case invalidStack
    case gridMismatch(file: String, reference: String, property: String)

    func matches(_ error: Error) -> Bool {
        guard let error = error as? StrataError else { return false }
        switch (self, error) {
        case let (.exactly(expected), found): return expected == found
        case let (.unreadable(path), .unreadable(found, _)): return path == found
        case let (.unsupported(path), .unsupported(found, _)): return path == found
        case let (.invalidArgument(name), .invalidArgument(found, _)): return name == found
        case (.invalidStack, .invalidStack): return true
        case let (.gridMismatch(file, reference, property), .gridMismatch(f, r, p, _, _)):
            return (file, reference, property) == (f, r, p)
        default: return false
        }
    }

    var description: String {
        switch self {
        case .exactly(let error): return "\(error)"
        case .unreadable(let path): return "unreadable(\(path))"
        case .unsupported(let path): return "unsupported(\(path))"
        case .invalidArgument(let name): return "invalidArgument(\(name))"
        case .invalidStack: return "invalidStack"
        case let .gridMismatch(file, reference, property): return "gridMismatch(\(file), \(reference), \(property))"
        }
    }
}
