import Foundation
import StrataCore
import StrataIO
import StrataTestSupport
import XCTest
@testable import StrataPipeline

/// Small real stacks written with Strata's own writers in a fresh temporary folder: dated GeoTIFFs with nodata
/// pixels (and their label raster), and HDF5 volumes. The expected values come from the closed-form functions below,
/// never from reading the files back, so tests check the readers and samplers against an independent path.
struct SamplingFixture {
    let folder: URL

    init() throws {
        folder = try TestFolder(prefix: "strata-sampling").url
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static func grid(_ width: Int, _ height: Int) -> Grid {
        Grid(width: width, height: height, geoTransform: [500_000, 10, 0, 4_600_000, 0, -10], crs: nil)
    }

    /// Value of step t, channel c at (x, y): a large offset (1000) with a small spread, the case where a naive
    /// variance loses digits.
    static func value(_ t: Int, _ c: Int, _ x: Int, _ y: Int) -> Float {
        Float(1000 + 100 * c + 10 * t) + Float((x * 7 + y * 13 + t * 5 + c * 3) % 101) * 0.37
    }

    /// Pixel (x, y) of step t is nodata: a scattered ~9 % pattern, plus a rectangle invalid in every step.
    static func invalid(_ t: Int, _ x: Int, _ y: Int) -> Bool {
        (x * 3 + y * 5 + t * 7) % 11 == 0 || ((10..<14).contains(x) && (20..<23).contains(y))
    }

    /// Writes T dated GeoTIFFs of C bands (nodata -9999, 256 × 256 blocks) and returns their paths. At invalid
    /// pixels band 0 holds nodata and the other bands hold `otherBands` (the regular value when nil), so the
    /// step is invalid whatever they hold.
    @discardableResult
    func writeSeries(width: Int, height: Int, steps: Int = 3, channels: Int = 2, prefix: String = "scene",
                     otherBands: Float? = nil) throws -> [String] {
        try (0..<steps).map { t in
            let target = path("\(prefix)_2021-0\(t + 1)-15.tif")
            var values = [Float](repeating: 0, count: channels * width * height)
            for c in 0..<channels {
                for y in 0..<height {
                    for x in 0..<width {
                        let bad = Self.invalid(t, x, y)
                        values[(c * height + y) * width + x] = bad
                            ? (c == 0 ? .nan : (otherBands ?? Self.value(t, c, x, y))) : Self.value(t, c, x, y)
                    }
                }
            }
            let writer = try GeoTIFFWriter(path: target, grid: Self.grid(width, height), bands: channels,
                                           nodata: -9999)
            try writer.write(window: Window(x: 0, y: 0, width: width, height: height),
                             values: Tensor(shape: [channels, height, width], values: values))
            try writer.finish()
            return target
        }
    }

    /// Writes a label raster of `steps` steps with one band (`label(t, x, y)`, NaN = invalid) and returns its paths.
    @discardableResult
    func writeLabels(width: Int, height: Int, steps: Int = 1, name: String = "labels",
                     label: (Int, Int, Int) -> Float) throws -> [String] {
        try (0..<steps).map { t in
            let target = path(steps == 1 ? "\(name).tif" : "\(name)_2021-0\(t + 1)-15.tif")
            var values = [Float](repeating: 0, count: width * height)
            for y in 0..<height { for x in 0..<width { values[y * width + x] = label(t, x, y) } }
            let writer = try GeoTIFFWriter(path: target, grid: Self.grid(width, height), bands: 1, nodata: 255)
            try writer.write(window: Window(x: 0, y: 0, width: width, height: height),
                             values: Tensor(shape: [1, height, width], values: values))
            try writer.finish()
            return target
        }
    }

    /// Writes an HDF5 volume `[T, C, D, H, W]` with `value(t, c, x, y + 100·z)` and nodata -9999 where
    /// `invalid(t, x, y + z)`, and returns its address `file.h5:/scan`.
    func writeVolume(_ shape: VolumeShape, name: String = "scan") throws -> String {
        let file = path("\(name).h5")
        let writer = try HDF5VolumeWriter(path: file)
        try writer.createDataset("/scan", shape: shape, metadata: VolumeMetadata(nodata: -9999))
        var values = [Float](repeating: 0, count: shape.steps * shape.channels * shape.depth * shape.height
                                 * shape.width)
        var i = 0
        for t in 0..<shape.steps {
            for c in 0..<shape.channels {
                for z in 0..<shape.depth {
                    for y in 0..<shape.height {
                        for x in 0..<shape.width {
                            values[i] = Self.invalid(t, x, y + z) ? -9999 : Self.volumeValue(t, c, x, y, z)
                            i += 1
                        }
                    }
                }
            }
        }
        try writer.write(Tensor(shape: [shape.steps, shape.channels, shape.depth, shape.height, shape.width],
                                values: values), to: "/scan")
        try writer.finish()
        return "\(file):/scan"
    }

    static func volumeValue(_ t: Int, _ c: Int, _ x: Int, _ y: Int, _ z: Int) -> Float {
        value(t, c, x, y + 100 * z)
    }

    /// Mean and population std of channel c over the valid (t, x, y) of a series written by ``writeSeries``,
    /// two-pass in Double.
    static func twoPass(width: Int, height: Int, steps: Int, channel c: Int) -> (mean: Double, std: Double,
                                                                                count: Int) {
        var sum = 0.0, count = 0
        for t in 0..<steps { for y in 0..<height { for x in 0..<width where !invalid(t, x, y) {
            sum += Double(value(t, c, x, y))
            count += 1
        } } }
        let mean = sum / Double(count)
        var squares = 0.0
        for t in 0..<steps { for y in 0..<height { for x in 0..<width where !invalid(t, x, y) {
            let d = Double(value(t, c, x, y)) - mean
            squares += d * d
        } } }
        return (mean, (squares / Double(count)).squareRoot(), count)
    }
}

extension Tensor {
    /// uint8 elements as an array (masks).
    var bytes: [UInt8] { withRawBytes { Array($0) } }
}
