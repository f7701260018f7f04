import Foundation
import XCTest

/// `strata bench train` end to end: one step of the smallest configuration prints JSON lines with the keys that
/// `scripts/peers/compare_train.sh` reads. A smoke test of the output format only; timings are never checked.
final class BenchTrainTests: XCTestCase {
    func testOneStepOfConfigCPrintsJSONLines() throws {
        let result = try CLI.run(["bench", "train", "--config", "c", "--precision", "fp32", "--threads", "1",
                                  "--steps", "1", "--warmup", "0", "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stdout)
        for line in lines {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["config", "precision", "threads", "seconds_per_step", "peak_rss_mib", "steps", "gflops",
                        "percent_of_peak"] {
                XCTAssertNotNil(object[key], "missing \(key) in \(line)")
            }
            XCTAssertEqual(object["config"] as? String, "c")
            XCTAssertEqual(object["precision"] as? String, "fp32")
            XCTAssertEqual(object["threads"] as? Int, 1)
            XCTAssertEqual(object["steps"] as? Int, 1)
            XCTAssertGreaterThan(try XCTUnwrap(object["seconds_per_step"] as? Double), 0)
            XCTAssertGreaterThan(try XCTUnwrap(object["peak_rss_mib"] as? Double), 0)
        }
    }

    func testUnknownConfigurationIsRejected() throws {
        let result = try CLI.run(["bench", "train", "--config", "d", "--json"])
        XCTAssertNotEqual(result.exitCode, 0)
        XCTAssertTrue(result.stderr.contains("unknown configuration 'd'"), result.stderr)
    }
}
