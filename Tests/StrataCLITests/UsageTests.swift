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

    func testUnknownSubcommandIsUsageErrorExit2() throws {
        let r = try CLI.run(["frobnicate"])
        XCTAssertEqual(r.exitCode, 2)
    }
}
