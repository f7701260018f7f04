import Foundation
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
