import CGDAL
import Foundation
import StrataCore
import XCTest

@testable import StrataIO

/// `align: true` warps members lazily onto the first member's grid.
final class RasterAlignTests: XCTestCase {
    var fixture: RasterFixture!

    override func setUpWithError() throws { fixture = try RasterFixture() }
    override func tearDown() { fixture.remove() }

    func testShiftedMemberIsWarpedOntoTheFirstGrid() throws {
        let first = try fixture.write("a_20210101.tif") { _, x, y in RasterFixture.stored(0, 0, x, y) }
        // Second member: origin 2 pixels (20 m) east, so its column j lies on the reference's column j + 2.
        var shifted = RasterFixture.geoTransform
        shifted[0] += 20
        let second = try fixture.write("b_20210201.tif", geoTransform: shifted) { _, x, y in
            RasterFixture.stored(1, 0, x, y)
        }
        XCTAssertThrowsStrataError(.gridMismatch(file: second, reference: first, property: "geotransform")) {
            try RasterStack(files: [first, second])
        }
        let stack = try RasterStack(files: [second, first], align: true)
        XCTAssertEqual(stack.info.sources, [first, second], "reference = first in time order")
        XCTAssertEqual(stack.grid.geoTransform, RasterFixture.geoTransform)
        let tile = try stack.read(window: Window(x: 0, y: 10, width: 8, height: 2))
        let values = tile.values.floats, mask = tile.mask.withRawBytes { Array($0) }
        for row in 0..<2 {
            for column in 0..<8 {
                let at = row * 8 + column
                XCTAssertEqual(values[at], Float(RasterFixture.stored(0, 0, column, 10 + row)))
                XCTAssertEqual(mask[at], 1)
                // Step 1: the first two columns lie west of the member's extent.
                if column < 2 {
                    XCTAssertEqual(mask[16 + at], 0, "no source pixel reaches column \(column)")
                } else {
                    XCTAssertEqual(mask[16 + at], 1)
                    // Bilinear at an exact pixel shift returns the source value; 1e-3 allows warp round-off.
                    XCTAssertEqual(values[16 + at], Float(RasterFixture.stored(1, 0, column - 2, 10 + row)),
                                   accuracy: 1e-3)
                }
            }
        }
    }

    func testIntegerMemberInAnotherCRSUsesNearestNeighbour() throws {
        let first = try fixture.write("c_20210101.tif", type: GDT_Int16) { _, x, _ in Double(x / 10) }
        // Same area in UTM 34N (EPSG:32634) at 10 m: a real reprojection; classes must stay whole numbers.
        let second = try fixture.write("d_20210201.tif", width: 900, height: 600, type: GDT_Int16, epsg: 32634,
                                       geoTransform: [-2_000, 10, 0, 4_620_000, 0, -10]) {
            _, x, _ in Double(x % 7)
        }
        XCTAssertThrowsStrataError(.gridMismatch(file: second, reference: first, property: "CRS")) {
            try RasterStack(files: [first, second])
        }
        let stack = try RasterStack(files: [first, second], align: true)
        let tile = try stack.read(window: Window(x: 100, y: 100, width: 16, height: 16))
        let warped = Array(tile.values.floats[256...])
        let valid = zip(warped, tile.mask.withRawBytes { Array($0[256...]) }).filter { $0.1 == 1 }.map(\.0)
        XCTAssertFalse(valid.isEmpty)
        XCTAssertTrue(valid.allSatisfy { $0 == $0.rounded() && (0...6).contains($0) }, "nearest keeps classes")
    }
}
