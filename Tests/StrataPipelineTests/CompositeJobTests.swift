import Foundation
import XCTest
import StrataCore
import StrataIO
@testable import StrataPipeline
import StrataTestSupport

/// The composite job through real files: GeoTIFFs written with GDAL, a COG out, read back by a second path.
final class CompositeJobTests: XCTestCase {
    func testTiledCompositeEqualsWholeImageCompositeAndIsACOG() throws {
        let folder = try TestFolder(for: self, prefix: "strata-composite").url

        // 3 dates, 2 bands (red, nir), 70×50 pixels: tiles of 32 do not divide the image.
        let (w, h, steps) = (70, 50, 3)
        let grid = Grid(width: w, height: h, geoTransform: [500_000, 10, 0, 5_200_000, 0, -10], crs: nil)
        var rng = SeededGenerator(seed: 3)
        var paths: [String] = []
        for t in 0..<steps {
            let path = folder.appendingPathComponent("scene_2021060\(t + 1).tif").path
            let writer = try GeoTIFFWriter(path: path, grid: grid, bands: 2, sampleType: .float32, nodata: -1,
                                           bandDescriptions: ["red", "nir"])
            // Every 7th pixel is nodata at step t, so pixels differ in their valid counts.
            let values = (0..<(2 * w * h)).map { i -> Float in (i % (w * h)) % 7 == t ? -1 : Float(rng.uniform(0.01, 0.5)) }
            try writer.write(window: grid.fullWindow, values: Tensor(shape: [2, h, w], values: values))
            try writer.finish()
            paths.append(path)
        }
        let stack = try RasterStack(files: paths)
        let output = folder.appendingPathComponent("composite.tif").path
        let summary = try CompositeJob(tileSize: 32, format: .cog).run(stack: stack, output: output)
        XCTAssertEqual(summary.bands, ["median_red", "median_nir", "valid_count", "max_ndvi"])
        XCTAssertEqual(summary.pixelsWithoutData, 0)

        // Second path: the whole image at once through MedianComposite, compared with the file read back.
        let whole = try stack.read(window: grid.fullWindow)
        let expected = MedianComposite(redBand: 0, nirBand: 1).apply(values: whole.values, mask: whole.mask).floats
        let written = try RasterStack(file: output, bandsPerStep: 4).read(window: grid.fullWindow).values.floats
        XCTAssertEqual(written, expected)

        let gdalinfo = try ExternalTool.json("gdalinfo", ["-json", output])
        let structure = (gdalinfo["metadata"] as? [String: Any])?["IMAGE_STRUCTURE"] as? [String: String]
        XCTAssertEqual(structure?["LAYOUT"], "COG")
        XCTAssertEqual(structure?["COMPRESSION"], "DEFLATE")
    }
}
