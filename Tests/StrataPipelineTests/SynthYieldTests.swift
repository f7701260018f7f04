import Foundation
import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline
import StrataTestSupport

/// `strata synth yield`: the yield truth is the documented function of the written season, fields are valid
/// polygons, files are readable.
final class SynthYieldTests: XCTestCase {
    func config(seed: UInt64 = 9, clouds: Double = 0.1) -> YieldSeasonConfig {
        var config = YieldSeasonConfig()
        config.width = 60
        config.height = 44
        config.steps = 8
        config.intervalDays = 20
        config.fields = 6
        config.cloudFraction = clouds
        config.seed = seed
        return config
    }

    func write(_ config: YieldSeasonConfig) throws -> SynthSummary {
        try YieldSeason(config: config).write(to: try SynthTest.folder(self))
    }

    /// Recomputes a_c · I(p) · W(p) from the season files (NDVI and GDD bands) and checks that the truth differs
    /// from it by exactly the field's noise term. Without clouds every pixel of every date is in the files.
    func testYieldIsTheDocumentedFunctionOfTheWrittenSeason() throws {
        let summary = try write(config(clouds: 0))
        let root = summary.outputDirectory
        let seasons = summary.files.filter { $0.hasPrefix("season_") }.map { root + "/" + $0 }
        XCTAssertEqual(seasons.count, 8)
        let (stack, season, mask) = try SynthTest.read(seasons)
        XCTAssert(mask.allSatisfy { $0 == 1 }, "no clouds asked for")
        let days = stack.dates.map { $0!.timeIntervalSince(stack.dates[0]!) / 86_400 }
        XCTAssertEqual(days, (0..<8).map { Double($0 * 20) })
        let ids = try SynthTest.read([root + "/truth/fields.tif"]).values
        let yields = try SynthTest.read([root + "/truth/yield.tif"]).values
        let model = try SynthTest.json(root + "/truth/yield_model.json")
        let fields = try XCTUnwrap(model["fields"] as? [[String: Any]])
        let csv = try String(contentsOfFile: root + "/truth/field_yield.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(csv.count, 6)

        let plane = 60 * 44
        var noises: [Double] = []
        for row in csv {
            let id = try XCTUnwrap(Int(row[0])), crop = try XCTUnwrap(YieldCrop(rawValue: row[1]))
            let noise = try XCTUnwrap(fields[id - 1]["noise_t_ha"] as? Double)
            var sum = 0.0, count = 0
            for p in 0..<plane where ids[p] == Float(id) {
                let ndvi = (0..<8).map { Double(season[($0 * 6 + 0) * plane + p]) }
                let gdd = Double(season[(7 * 6 + 5) * plane + p])
                let expected = crop.yieldTonnesPerHectare(integratedNDVI: YieldCrop.integrate(ndvi: ndvi, days: days),
                                                          finalGDD: gdd)
                // float32 storage of ~10 t/ha: 1e-5 relative; 1e-3 t/ha leaves room and still catches any model error.
                XCTAssertEqual(Double(yields[p]) - expected, noise, accuracy: 1e-3, "field \(id) pixel \(p)")
                sum += expected
                count += 1
            }
            XCTAssertGreaterThan(count, 0)
            XCTAssertEqual(Double(row[2])! - sum / Double(count), noise, accuracy: 2e-3, "field \(id)")
            XCTAssertEqual(Double(row[3])!, Double(count) * 0.01, accuracy: 1e-6, "area of \(count) 10 m pixels")
            XCTAssertLessThanOrEqual(abs(noise), 4 * crop.fieldNoiseTonnesPerHectare)
            noises.append(noise)
        }
        XCTAssert(noises.contains { $0 != 0 }, "the noise term is drawn")
        for p in 0..<plane where ids[p] == 0 { XCTAssert(yields[p].isNaN || yields[p] == -9999, "nodata outside fields") }
        XCTAssertEqual(summary.counts["fields"], 6)
    }

    func testCloudsAreNodataAndBandsAreDescribed() throws {
        let summary = try write(config())
        let seasons = summary.files.filter { $0.hasPrefix("season_") }.map { summary.outputDirectory + "/" + $0 }
        let (stack, values, mask) = try SynthTest.read(seasons)
        XCTAssertEqual(stack.bands, 6)
        XCTAssertEqual(stack.info.bandNames.prefix(2), ["NDVI", "EVI"])
        XCTAssertEqual(stack.info.nodata, -9999)
        let cloudy = Double(mask.filter { $0 == 0 }.count) / Double(mask.count)
        XCTAssert((0.07...0.21).contains(cloudy), "cloud + shadow fraction \(cloudy)")
        let plane = 60 * 44
        for t in 0..<8 {
            for p in 0..<plane where mask[t * plane + p] == 1 {
                XCTAssert((-1...1).contains(values[(t * 6) * plane + p]), "NDVI in [-1, 1]")
            }
        }
        // GDD only accumulates.
        for p in 0..<plane {
            let gdd = (0..<8).map { values[($0 * 6 + 5) * plane + p] }.filter { $0 != -9999 }
            XCTAssertEqual(gdd, gdd.sorted())
        }
    }

    func testFieldsAreClosedPolygonsInsideTheGridInEPSG32633() throws {
        let summary = try write(config())
        let path = summary.outputDirectory + "/fields.geojson"
        let collection = try SynthTest.json(path)
        let crs = (collection["crs"] as? [String: Any])?["properties"] as? [String: String]
        XCTAssertEqual(crs?["name"], "urn:ogc:def:crs:EPSG::32633")
        let features = try XCTUnwrap(collection["features"] as? [[String: Any]])
        XCTAssertEqual(features.count, 6)
        for feature in features {
            let ring = try XCTUnwrap(((feature["geometry"] as? [String: Any])?["coordinates"] as? [[[Double]]])?.first)
            XCTAssertEqual(ring.first, ring.last, "closed ring")
            XCTAssertEqual(ring.count, 5)
            for point in ring {
                XCTAssert((500_000...500_600).contains(point[0]) && (5_199_560...5_200_000).contains(point[1]), "\(point)")
            }
            // Shoelace area > 0: counter-clockwise exterior ring (RFC 7946).
            let area = zip(ring, ring.dropFirst()).reduce(0) { $0 + $1.0[0] * $1.1[1] - $1.1[0] * $1.0[1] } / 2
            XCTAssertGreaterThan(area, 0)
            let properties = try XCTUnwrap(feature["properties"] as? [String: Any])
            XCTAssertNotNil(YieldCrop(rawValue: properties["crop"] as? String ?? ""))
            XCTAssertNotNil(properties["field_id"] as? Int)
        }
        let ogr = try ExternalTool.output("ogrinfo", ["-so", "-al", path])
        XCTAssert(ogr.contains("Feature Count: 6"), ogr)
        XCTAssert(ogr.contains("UTM zone 33N"), ogr)
        XCTAssert(ogr.contains("Geometry: Polygon"), ogr)
    }

    func testSameSeedSameBytes() throws {
        let a = try write(config()), b = try write(config()), c = try write(config(seed: 10))
        for file in ["season_20240421.tif", "truth/yield.tif", "truth/field_yield.csv", "fields.geojson"] {
            XCTAssertEqual(try SynthTest.bytes(a.outputDirectory + "/" + file),
                           try SynthTest.bytes(b.outputDirectory + "/" + file), file)
        }
        XCTAssertNotEqual(try SynthTest.bytes(a.outputDirectory + "/truth/yield.tif"),
                          try SynthTest.bytes(c.outputDirectory + "/truth/yield.tif"))
    }
}
