import Foundation
import XCTest

/// `strata bench kernels --json` end to end on one ISA, precision and thread count (quick mode): the lines the issue
/// asks for, one per measurement, and numbers that agree with each other. Timings themselves are never checked.
final class BenchKernelsTests: XCTestCase {
    func testQuickAVX2RunPrintsPeakGEMMAndConvolutionLines() throws {
        try checkQuickAVX2Run(threads: 1)
    }

    /// On several threads every conv line comes twice: one image, and a batch of 2 images per thread.
    func testQuickAVX2RunOnTwoThreadsAddsBatchLines() throws {
        try checkQuickAVX2Run(threads: 2)
    }

    private func checkQuickAVX2Run(threads: Int) throws {
        let result = try CLI.run(["bench", "kernels", "--isa", "avx2", "--precision", "fp32", "--threads", "\(threads)",
                                  "--quick", "--json"])
        if result.exitCode != 0, result.stderr.contains("avx2") {
            throw XCTSkip("this CPU lacks avx2: \(result.stderr)")
        }
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        var peaks = 0
        var gemms: Set<[Int]> = [], convs: [String: Set<String>] = [:]
        for line in result.stdout.split(separator: "\n") {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                                       String(line))
            for key in ["name", "isa", "precision", "threads", "m", "n", "k", "gflops", "percent_of_peak"] {
                XCTAssertNotNil(object[key], "missing \(key) in \(line)")
            }
            XCTAssertEqual(object["isa"] as? String, "avx2")
            XCTAssertEqual(object["precision"] as? String, "fp32")
            XCTAssertEqual(object["threads"] as? Int, threads)
            let name = try XCTUnwrap(object["name"] as? String)
            let gflops = try XCTUnwrap(object["gflops"] as? Double)
            let peak = try XCTUnwrap(object["peak_gflops"] as? Double)
            XCTAssertGreaterThan(gflops, 0, String(line))
            // percent_of_peak is gflops over the peak line's gflops (both printed rounded to 0.01 / 0.1).
            XCTAssertEqual(try XCTUnwrap(object["percent_of_peak"] as? Double), 100 * gflops / peak, accuracy: 0.1)
            if name == "peak" {
                peaks += 1
                continue
            }
            let m = try XCTUnwrap(object["m"] as? Int), n = try XCTUnwrap(object["n"] as? Int)
            let k = try XCTUnwrap(object["k"] as? Int), seconds = try XCTUnwrap(object["seconds"] as? Double)
            // gflops is 2·m·n·k (times the images of a conv line) over the median seconds (printed to the microsecond).
            let images = name == "gemm" ? 1 : try XCTUnwrap(object["images"] as? Int, String(line))
            XCTAssertEqual(2 * Double(m * n * k * images) / seconds / 1e9, gflops, accuracy: gflops * 0.01 + 0.01,
                           String(line))
            if name == "gemm" {
                gemms.insert([m, n, k])
            } else {
                let algorithm = try XCTUnwrap(object["algorithm"] as? String, String(line))
                XCTAssertGreaterThan(try XCTUnwrap(object["ratio_to_gemm"] as? Double, String(line)), 0)
                convs["\(name) \(m)x\(n)x\(k) x\(images)", default: []].insert(algorithm)
            }
        }
        XCTAssertEqual(peaks, 1)
        XCTAssertEqual(gemms, [[512, 512, 512], [256, 4096, 1625], [128, 1024, 576]])
        // Both conv shapes, every pass, each algorithm that applies (Winograd: fp32, K = 5 and K = 3), for one image
        // and, on several threads, for 2 images per thread.
        var expected: [String: Set<String>] = [:]
        for shape in ["256x4096x1625", "128x1024x576"] {
            for pass in ["conv_fwd", "conv_bwd_data", "conv_bwd_weight"] {
                for images in threads > 1 ? [1, 2 * threads] : [1] {
                    expected["\(pass) \(shape) x\(images)"] = ["im2col", "implicit", "winograd"]
                }
            }
        }
        XCTAssertEqual(convs, expected)
    }

    func testUnknownISAIsRejected() throws {
        let result = try CLI.run(["bench", "kernels", "--isa", "sse9", "--json"])
        XCTAssertNotEqual(result.exitCode, 0)
        XCTAssertTrue(result.stderr.contains("sse9"), result.stderr)
    }
}
