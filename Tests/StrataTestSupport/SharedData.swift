import Foundation
import XCTest

/// The real-world test files in `../shared/data` beside the checkout (a GeoTIFF, a netCDF, a NIfTI), present in CI
/// and on developer machines; `STRATA_TEST_DATA` points elsewhere.
///
/// ```swift
/// let netCDF = try SharedData.path("stars/bcsd_obs_1999.nc")   // skips the test when absent
/// ```
public enum SharedData {
    /// The data folder: `STRATA_TEST_DATA`, else `../shared/data` relative to this checkout (found from this
    /// source file's path, so it holds wherever the clone lives).
    public static var folder: String {
        if let override = ProcessInfo.processInfo.environment["STRATA_TEST_DATA"] { return override }
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // StrataTestSupport
            .deletingLastPathComponent()                                            // Tests
            .deletingLastPathComponent()                                            // the checkout
        return checkout.deletingLastPathComponent().appendingPathComponent("shared/data").path
    }

    /// The path of `relative` inside the data folder; skips the test, naming the file, when it is missing.
    public static func path(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = folder + "/" + relative
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("shared test file \(path) is missing; put ../shared beside the checkout or set "
                              + "STRATA_TEST_DATA", file: file, line: line)
        }
        return path
    }
}
