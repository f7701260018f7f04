import Foundation
import StrataTestSupport
import XCTest

/// `strata bench predict` end to end on a 64 × 64 stack: one JSON line with the keys docs/benchmarks.md documents
/// (and compare_predict.sh reads), from a real `strata predict` child whose output `gdalinfo -json` checks. Timings
/// are never checked.
final class BenchPredictTests: XCTestCase {
    func testSmallStackPrintsOneLineAndAScaledGeoreferencedPrediction() throws {
        let work = try TestFolder(for: self, prefix: "bench-predict").url
        let result = try CLI.run(["bench", "predict", "--size", "64", "--model", "pixel", "--tile", "32",
                                  "--threads", "1", "--output-dtype", "int16", "--work", work.path, "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stdout)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        for key in ["framework", "model", "size", "dates", "bands", "tile", "overlap", "tiles", "threads", "dtype",
                    "seconds", "process_seconds", "megapixels_per_second", "peak_rss_mib", "job_buffer_mib",
                    "gdal_cache_mib", "load_average", "output"] {
            XCTAssertNotNil(object[key], "missing \(key) in \(lines[0])")
        }
        XCTAssertEqual(object["framework"] as? String, "strata")
        XCTAssertEqual(object["size"] as? Int, 64)
        XCTAssertEqual(object["dates"] as? Int, 12)
        XCTAssertEqual(object["bands"] as? Int, 4)
        // Kernel 1: radius 0, default overlap 0 (a per-pixel model), stride 32: starts 0, 32 per axis.
        XCTAssertEqual(object["overlap"] as? Int, 0)
        XCTAssertEqual(object["tiles"] as? Int, 4)
        XCTAssertGreaterThan(try XCTUnwrap(object["peak_rss_mib"] as? Double), 0)

        let info = try ExternalTool.json("gdalinfo", ["-json", try XCTUnwrap(object["output"] as? String)])
        XCTAssertEqual(info["size"] as? [Int], [64, 64])
        XCTAssertEqual(info["geoTransform"] as? [Double], [399_960, 10, 0, 5_000_040, 0, -10])
        let bands = try XCTUnwrap(info["bands"] as? [[String: Any]])
        XCTAssertEqual(bands.map { $0["description"] as? String }, ["change_probability", "change_date"])
        // int16: probability stored × 1e-4, the date band as is (scale 1, which gdalinfo leaves out).
        XCTAssertEqual(bands.map { $0["scale"] as? Double ?? 1 }, [0.0001, 1])
    }

    func testUnknownModelIsRejected() throws {
        let result = try CLI.run(["bench", "predict", "--model", "unet", "--json"])
        XCTAssertEqual(result.exitCode, 2)
        XCTAssertTrue(result.stderr.contains("unknown model 'unet'"), result.stderr)
    }
}
