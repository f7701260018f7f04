import Foundation
import StrataTestSupport
import XCTest

/// Bad input to `strata info`: one case per line, each with the message expected and exit code 2.
final class InfoBadInputTests: XCTestCase {
    func expectFailure(_ arguments: [String], mentions fragments: [String], file: StaticString = #filePath,
                       line: UInt = #line) throws {
        let r = try CLI.run(["info"] + arguments)
        XCTAssertEqual(r.exitCode, 2, "exit code for \(arguments): \(r.stderr)", file: file, line: line)
        XCTAssert(r.stderr.hasPrefix("strata: error: "), r.stderr, file: file, line: line)
        for fragment in fragments {
            XCTAssert(r.stderr.contains(fragment), "\(r.stderr) should mention \(fragment)", file: file, line: line)
        }
        XCTAssertFalse(r.stderr.contains("Fatal error"), file: file, line: line)
    }

    func testEachBadInputNamesTheFileAndExits2() throws {
        let dir = try CLI.temporaryFolder(self)
        let empty = dir.appendingPathComponent("empty.tif").path
        XCTAssert(FileManager.default.createFile(atPath: empty, contents: Data()))
        let text = dir.appendingPathComponent("notes.tif").path
        try "not a raster\n".write(toFile: text, atomically: true, encoding: .utf8)
        let textNii = dir.appendingPathComponent("notes.nii").path
        try String(repeating: "x", count: 400).write(toFile: textNii, atomically: true, encoding: .utf8)
        let missing = dir.appendingPathComponent("missing_20210101.tif").path

        try expectFailure([missing], mentions: [missing, "no such file"])
        try expectFailure([dir.path], mentions: [dir.path, "directory"])
        try expectFailure([empty], mentions: [empty, "empty"])
        try expectFailure([text], mentions: [text])
        try expectFailure([textNii], mentions: [textNii, "header"])
        try expectFailure([dir.appendingPathComponent("scan.h5").path + ":/nothing"], mentions: ["scan.h5"])
        try expectFailure(["--dates", "2021-13-45", text], mentions: ["--dates", "2021-13-45"])
        let scans = dir.appendingPathComponent("vols.h5").path
        try expectFailure([scans + ":/a", scans + ":/b"], mentions: [scans + ":/a", "several HDF5 datasets"])
    }

    /// A raster grid mismatch is one line that names the file and says what --align would do (cli.md: one line).
    func testGridMismatchIsOneLineWithTheAlignHint() throws {
        let dir = try CLI.temporaryFolder(self)
        let source = try SharedData.path("stars/L7_ETMs.tif")
        let a = dir.appendingPathComponent("s_20210101.tif").path, b = dir.appendingPathComponent("s_20210201.tif").path
        _ = try ExternalTool.outputData("gdal_translate", ["-q", "-srcwin", "0", "0", "40", "30", source, a])
        _ = try ExternalTool.outputData("gdal_translate", ["-q", "-srcwin", "0", "0", "41", "30", source, b])
        let r = try CLI.run(["info", a, b])
        XCTAssertEqual(r.exitCode, 2, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(b) && r.stderr.contains("pass --align"), r.stderr)
        let aligned = try CLI.run(["info", a, b, "--align"])
        XCTAssertEqual(aligned.exitCode, 0, aligned.stderr)
    }

    func testBadISAIsAClearError() throws {
        // Every command checks STRATA_ISA before it runs, not only `bench`: an unknown name is exit 2.
        for command in [["info", "x.tif"], ["predict", "--checkpoint", "m.safetensors", "--input", "x.tif", "--out",
                                                      "p.tif"], ["train", "--config", "job.yaml"]] {
            let r = try CLI.run(command, environment: ["STRATA_ISA": "foo"])
            XCTAssertEqual(r.exitCode, 2, "\(command): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("STRATA_ISA: unknown ISA 'foo'"), r.stderr)
        }
        let help = try CLI.run(["info", "--help"], environment: ["STRATA_ISA": "foo"])
        XCTAssertEqual(help.exitCode, 0, help.stderr)
        let r = try CLI.run(["info", "--bands-per-step", "0", "x.tif"])
        XCTAssertEqual(r.exitCode, 2)
    }
}
