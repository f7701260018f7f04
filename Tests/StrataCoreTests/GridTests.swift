import XCTest
@testable import StrataCore

final class GridTests: XCTestCase {
    func testWindowClipping() {
        let w = Window(x: -3, y: 5, width: 10, height: 10)
        XCTAssertEqual(w.clipped(toWidth: 6, height: 12), Window(x: 0, y: 5, width: 6, height: 7))
        XCTAssertNil(Window(x: 20, y: 0, width: 2, height: 2).clipped(toWidth: 6, height: 6))
    }

    func testExitCodes() {
        XCTAssertEqual(StrataError.fileNotFound(path: "a.tif").exitCode, 2)
        XCTAssertEqual(StrataError.ioFailure(path: "a.tif", reason: "disk full").exitCode, 1)
        XCTAssertTrue(StrataError.fileNotFound(path: "a.tif").description.contains("a.tif"))
    }

    func testCRSJSONKeepsNullEPSG() throws {
        let data = try JSONEncoder().encode(CRS(wkt: "LOCAL_CS[\"x\"]", epsg: nil))
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"epsg\":null"))
    }

    func testTensorBF16RoundTrip() {
        let t = Tensor(shape: [4], values: [1, 1.00390625, -2.5, 3.0e-3])
        let back = t.converted(to: .bfloat16).converted(to: .float32).floats
        XCTAssertEqual(back[0], 1)
        XCTAssertEqual(back[1], 1)       // ties to even: 1 + 2^-8 rounds down to 1
        XCTAssertEqual(back[2], -2.5)
        XCTAssertEqual(back[3], 3.0e-3, accuracy: 3.0e-3 / 128)
    }
}
