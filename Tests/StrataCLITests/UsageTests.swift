import XCTest

final class UsageTests: XCTestCase {
    func testHelpExitsZeroAndListsSubcommands() throws {
        let r = try CLI.run(["--help"])
        XCTAssertEqual(r.exitCode, 0)
        XCTAssert(r.stdout.contains("USAGE: strata"), r.stdout)
    }

    func testUnknownOptionIsUsageErrorExit2() throws {
        let r = try CLI.run(["--no-such-option"])
        XCTAssertEqual(r.exitCode, 2)
        XCTAssert(r.stderr.contains("--no-such-option"), r.stderr)
    }

    /// Usage errors are one line in the form of every other error (cli.md), not ArgumentParser's usage block.
    func testUsageErrorsAreOneLine() throws {
        for (arguments, fragment) in [(["predict", "--checkpoint", "m", "--input", "a.tif", "--out", "p.tif", "--blend",
                                        "cosine"], "'cosine' is invalid for '--blend"),
                                      (["info", "--no-such-option", "a.tif"], "--no-such-option")] {
            let r = try CLI.run(arguments)
            XCTAssertEqual(r.exitCode, 2, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("strata: error: "), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(fragment), r.stderr)
        }
    }

    func testUnknownSubcommandIsUsageErrorExit2() throws {
        let r = try CLI.run(["frobnicate"])
        XCTAssertEqual(r.exitCode, 2)
    }
}
