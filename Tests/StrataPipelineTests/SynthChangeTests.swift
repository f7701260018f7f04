import Foundation
import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline
import StrataTestSupport

/// `strata synth change`: files, truth and readers.
final class SynthChangeTests: XCTestCase {
    func write(seed: UInt64 = 3) throws -> SynthSummary {
        var options = SynthOptions(outputDirectory: try SynthTest.folder(self), seed: seed)
        options.width = 64
        options.height = 48
        options.steps = 6
        return try Synth.generate(.change, options: options)
    }

    func testSameSeedSameBytesOtherSeedOtherBytes() throws {
        let a = try write(), b = try write(), c = try write(seed: 4)
        for file in ["scene_20210311.tif", "truth/change_step.tif"] {
            XCTAssertEqual(try SynthTest.bytes(a.outputDirectory + "/" + file),
                           try SynthTest.bytes(b.outputDirectory + "/" + file), file)
        }
        XCTAssertNotEqual(try SynthTest.bytes(a.outputDirectory + "/scene_20210311.tif"),
                          try SynthTest.bytes(c.outputDirectory + "/scene_20210311.tif"))
        XCTAssertEqual(a.files.count, 6 + 4)
    }

    func testTruthRastersAgreeWithEachOther() throws {
        let summary = try write()
        func truth(_ name: String) throws -> [Float] {
            try SynthTest.read([summary.outputDirectory + "/truth/" + name]).values
        }
        let changed = try truth("change.tif"), step = try truth("change_step.tif")
        let before = try truth("land_cover_before.tif"), after = try truth("land_cover_after.tif")
        XCTAssertEqual(changed.count, 64 * 48)
        XCTAssertEqual(Double(changed.filter { $0 == 1 }.count), summary.counts["changed_pixels"])
        XCTAssertGreaterThan(changed.filter { $0 == 1 }.count, 0)
        for i in changed.indices {
            XCTAssert((1...5).contains(before[i]) && (1...5).contains(after[i]), "cover codes at \(i)")
            if changed[i] == 1 {
                XCTAssertNotEqual(before[i], after[i], "a changed pixel changes cover (\(i))")
                XCTAssert((1...4).contains(step[i]), "first changed step after the first and before the last")
            } else {
                XCTAssertEqual(before[i], after[i])
                XCTAssertEqual(step[i], -1)
            }
        }
    }

    /// The imagery follows the truth: water is the only class with NIR below 0.05 (its curve is ≈ 0.012; every other
    /// class stays above 0.1 all year), so a pixel is dark in NIR exactly when the truth says it is water then.
    func testImageryShowsTheCoverTheTruthGivesAtEachStep() throws {
        var config = ChangeSceneConfig()
        config.width = 96
        config.height = 96
        config.steps = 6
        config.changeEvents = 12
        config.seed = 3
        let summary = try ChangeScene(config: config).writeDataset(to: try SynthTest.folder(self))
        let root = summary.outputDirectory
        let (_, values, mask) = try SynthTest.read(summary.files.filter { $0.hasPrefix("scene_") }.map { root + "/" + $0 })
        let step = try SynthTest.read([root + "/truth/change_step.tif"]).values
        let before = try SynthTest.read([root + "/truth/land_cover_before.tif"]).values
        let after = try SynthTest.read([root + "/truth/land_cover_after.tif"]).values
        let plane = 96 * 96, water = Float(LandCover.water.rawValue)
        var waterSeen = 0, floodedSeen = 0
        for t in 0..<6 {
            for i in 0..<plane where mask[t * plane + i] == 1 {
                let cover = step[i] >= 0 && Float(t) >= step[i] ? after[i] : before[i]
                let dark = values[(t * 4 + 3) * plane + i] < 500
                XCTAssertEqual(dark, cover == water, "pixel \(i) step \(t)")
                if cover == water { waterSeen += 1 }
                if cover == water, before[i] != water { floodedSeen += 1 }
            }
        }
        XCTAssertGreaterThan(waterSeen, 0, "seed 3 has water")
        XCTAssertGreaterThan(floodedSeen, 0, "seed 3 has a flooding event")
    }

    func testRasterStackReadsDatesBandsAndNodata() throws {
        let summary = try write()
        let scenes = summary.files.filter { $0.hasPrefix("scene_") }.map { summary.outputDirectory + "/" + $0 }
        let (stack, values, mask) = try SynthTest.read(scenes.reversed())
        XCTAssertEqual(stack.info.dates, ["2021-01-10", "2021-02-09", "2021-03-11", "2021-04-10", "2021-05-10",
                                          "2021-06-09"])
        XCTAssertEqual(stack.bands, 4)
        XCTAssertEqual(stack.info.bandNames.first, "blue surface reflectance x 10000")
        XCTAssertEqual(stack.info.nodata, 0)
        XCTAssertEqual(stack.grid.crs?.epsg, 32633)
        XCTAssertEqual(stack.grid.geoTransform, [500_000, 10, 0, 5_200_000, 0, -10])
        let cloudy = Double(mask.filter { $0 == 0 }.count) / Double(mask.count)
        // 8 % cloud plus shadows: between 6 and 17 % of pixels are nodata (as ChangeSceneTests states).
        XCTAssert((0.06...0.17).contains(cloudy), "cloudy fraction \(cloudy)")
        // Valid reflectance × 10000 lies in 1...10000.
        let plane = 64 * 48
        for t in 0..<6 {
            for i in 0..<plane where mask[t * plane + i] == 1 {
                XCTAssert((1...10_000).contains(values[(t * 4 + 3) * plane + i]))
            }
        }
    }

    func testGDALInfoSeesCRSGeotransformNodataDescriptionsAndDate() throws {
        let summary = try write()
        let text = try ExternalTool.output("gdalinfo", ["-json", summary.outputDirectory + "/scene_20210410.tif"])
        let info = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let wkt = try XCTUnwrap((info["coordinateSystem"] as? [String: Any])?["wkt"] as? String)
        XCTAssert(wkt.contains("ID[\"EPSG\",32633]"), wkt)
        XCTAssertEqual(info["geoTransform"] as? [Double], [500_000, 10, 0, 5_200_000, 0, -10])
        let bands = try XCTUnwrap(info["bands"] as? [[String: Any]])
        XCTAssertEqual(bands.count, 4)
        XCTAssertEqual(bands.map { $0["noDataValue"] as? Double }, [0, 0, 0, 0])
        XCTAssertEqual(bands.map { $0["description"] as? String },
                       ["blue", "green", "red", "nir"].map { "\($0) surface reflectance x 10000" })
        XCTAssertEqual(bands.first?["type"] as? String, "UInt16")
        let metadata = try XCTUnwrap((info["metadata"] as? [String: Any])?[""] as? [String: String])
        XCTAssertEqual(metadata["TIFFTAG_DATETIME"], "2021:04:10 00:00:00")
    }

    func testAWindowEqualsTheSameRegionOfTheWholeAcquisition() {
        var config = ChangeSceneConfig()
        config.width = 70
        config.height = 50
        config.steps = 5
        let scene = ChangeScene(config: config)
        let whole = scene.acquisition(step: 2)
        let window = Window(x: 13, y: 21, width: 40, height: 17)
        let part = scene.acquisition(step: 2, window: window)
        for row in 0..<window.height {
            for col in 0..<window.width {
                let i = (window.y + row) * 70 + window.x + col, o = row * window.width + col
                XCTAssertEqual(part.valid[o], whole.valid[i])
                for b in 0..<4 { XCTAssertEqual(part.reflectance[b * window.pixelCount + o], whole.reflectance[b * 3500 + i]) }
            }
        }
    }

    func testSeedIndexFindsTheBruteForceNearestPoint() {
        var rng = SeededGenerator(seed: 11)
        let points = (0..<300).map { _ in (x: rng.uniform(0, 200), y: rng.uniform(0, 120)) }
        let index = SeedIndex(points: points, width: 200, height: 120)
        for _ in 0..<2000 {
            // Queries reach 10 px outside the plane, as noise-warped pixel positions do.
            let x = rng.uniform(-10, 210), y = rng.uniform(-10, 130)
            let brute = points.indices.min { a, b in
                let da = (points[a].x - x) * (points[a].x - x) + (points[a].y - y) * (points[a].y - y)
                let db = (points[b].x - x) * (points[b].x - x) + (points[b].y - y) * (points[b].y - y)
                return da < db || (da == db && a < b)
            }
            XCTAssertEqual(index.nearest(x, y), brute)
        }
    }

    func testBadSizesAreRefused() {
        var options = SynthOptions(outputDirectory: "/nonexistent-unused")
        options.width = 8
        XCTAssertThrowsError(try Synth.generate(.change, options: options)) { error in
            XCTAssert("\(error)".contains("width 8 is outside 16...65536"), "\(error)")
        }
        options.width = 64
        options.depth = 10
        XCTAssertThrowsError(try Synth.generate(.change, options: options)) { error in
            XCTAssert("\(error)".contains("WxHxD is for lesions"), "\(error)")
        }
    }
}
