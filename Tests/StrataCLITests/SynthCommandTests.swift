import Foundation
import XCTest
import StrataTestSupport

/// `strata synth` end to end: the real CLI writes real files, checked with gdalinfo and the summary.
final class SynthCommandTests: XCTestCase {
    func testChangeWritesDatedScenesAndTruth() throws {
        let folder = try CLI.temporaryFolder(self)
        let r = try CLI.run(["synth", "change", "--out", folder.path, "--size", "64x48", "--steps", "6", "--json"])
        XCTAssertEqual(r.exitCode, 0, r.stderr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["scenario"] as? String, "change")
        let files = try XCTUnwrap(summary["files"] as? [String])
        XCTAssertEqual(files.filter { $0.hasPrefix("scene_") },
                       ["scene_20210110.tif", "scene_20210209.tif", "scene_20210311.tif", "scene_20210410.tif",
                        "scene_20210510.tif", "scene_20210609.tif"])
        for truth in ["change", "change_step", "land_cover_before", "land_cover_after"] {
            XCTAssert(files.contains("truth/\(truth).tif"), truth)
            XCTAssert(FileManager.default.fileExists(atPath: folder.path + "/truth/\(truth).tif"), truth)
        }
        let changed = try XCTUnwrap((summary["counts"] as? [String: Double])?["changed_pixels"])
        XCTAssertGreaterThan(changed, 0)

        let info = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(try ExternalTool.output("gdalinfo", ["-json", "-stats", folder.path + "/truth/change.tif"]).utf8))
            as? [String: Any])
        XCTAssertEqual(info["size"] as? [Int], [64, 48])
        let band = try XCTUnwrap((info["bands"] as? [[String: Any]])?.first)
        XCTAssertEqual(band["type"] as? String, "Byte")
        // The mean of a 0/1 raster is the changed fraction: gdalinfo (which prints 3 decimals) and the summary agree.
        XCTAssertEqual(try XCTUnwrap(band["mean"] as? Double), changed / (64 * 48), accuracy: 1e-3)
        let scene = try ExternalTool.output("gdalinfo", [folder.path + "/scene_20210311.tif"])
        XCTAssert(scene.contains("TIFFTAG_DATETIME=2021:03:11 00:00:00"), scene)
        XCTAssert(scene.contains("ID[\"EPSG\",32633]"), scene)

        let text = try CLI.run(["info", "--json"] + files.filter { $0.hasPrefix("scene_") }.map { folder.path + "/" + $0 })
        XCTAssertEqual(text.exitCode, 0, text.stderr)
        XCTAssert(text.stdout.contains("\"2021-06-09\""), text.stdout)
    }

    func testBadScenarioAndSizeExitWithTwo() throws {
        let folder = try CLI.temporaryFolder(self)
        let cases: [([String], String)] = [
            (["synth", "floods", "--out", folder.path], "'floods' is not one of change, lesions, yield, nowcast"),
            (["synth", "change", "--out", folder.path, "--size", "64by48"], "'64by48' is not WxH or WxHxD"),
            (["synth", "yield", "--out", folder.path, "--patients", "2"], "1...999, lesions only"),
        ]
        for (arguments, message) in cases {
            let r = try CLI.run(arguments)
            XCTAssertEqual(r.exitCode, 2, "\(arguments)")
            XCTAssert(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }
}
