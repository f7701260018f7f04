import Foundation
import StrataCore
import StrataIO
import StrataTestSupport
import XCTest
@testable import StrataPipeline

/// A predictor with real spatial context: at each pixel, over the `(2r + 1)²` neighbourhood inside the window,
///
/// - `box_mean` (value): the mean, over neighbours with some valid step, of their temporal mean over valid steps
///   (and channels);
/// - `valid_fraction` (probability): the sum of the neighbours' fraction of valid steps divided by `(2r + 1)²`.
///
/// Both depend on every pixel within `r` and on nothing farther, so `receptiveRadius = r` is exact: a tile whose
/// trusted pixels see their whole neighbourhood predicts them bit for bit as the whole image does.
final class BoxMeanPredictor: Predictor {
    let radius: Int
    /// Throw on this call (counting from 1) to test atomicity.
    let failOnCall: Int?
    private(set) var calls = 0

    init(radius: Int, failOnCall: Int? = nil) {
        self.radius = radius
        self.failOnCall = failOnCall
    }

    var outputs: [PredictionOutput] {
        [PredictionOutput(name: "box_mean", kind: .value, unit: "reflectance"),
         PredictionOutput(name: "valid_fraction", kind: .probability)]
    }
    var receptiveRadius: Int { radius }
    var minimumSteps: Int { 2 }
    var name: String { "box-mean-r\(radius)" }

    struct Failure: Error {}

    func predict(values: Tensor, mask: Tensor) throws -> Tensor {
        calls += 1
        if calls == failOnCall { throw Failure() }
        let s = values.shape
        let (t, c, h, w) = (s[0], s[1], s[2], s[3])
        let area = h * w
        let v = values.floats, m = mask.bytes
        var temporal = [Float](repeating: 0, count: area), fraction = [Float](repeating: 0, count: area)
        var has = [Bool](repeating: false, count: area)
        for p in 0..<area {
            var sum: Float = 0, count = 0
            for step in 0..<t where m[step * area + p] != 0 {
                for channel in 0..<c { sum += v[(step * c + channel) * area + p] }
                count += 1
            }
            has[p] = count > 0
            temporal[p] = count > 0 ? sum / Float(count * c) : 0
            fraction[p] = Float(count) / Float(t)
        }
        var out = [Float](repeating: 0, count: 2 * area)
        let side = Float((2 * radius + 1) * (2 * radius + 1))
        for y in 0..<h {
            for x in 0..<w {
                var sum: Float = 0, count = 0, fractions: Float = 0
                for dy in -radius...radius {
                    for dx in -radius...radius {
                        let yy = y + dy, xx = x + dx
                        guard (0..<h).contains(yy), (0..<w).contains(xx) else { continue }
                        let q = yy * w + xx
                        fractions += fraction[q]
                        if has[q] {
                            sum += temporal[q]
                            count += 1
                        }
                    }
                }
                out[y * w + x] = count > 0 ? sum / Float(count) : 0
                out[area + y * w + x] = fractions / side
            }
        }
        return Tensor(shape: [2, h, w], values: out)
    }
}

/// Temporary folder with small stacks written by Strata's writers; values in 0...1 so a 1e-5 tolerance is ~100 ulp.
struct PredictionFixture {
    let folder: URL

    init() throws {
        folder = try TestFolder(prefix: "strata-predict").url
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Files in the folder, hidden temporaries included.
    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    static let utm33 = CRS(wkt: "", epsg: 32633)

    static func grid(_ width: Int, _ height: Int) -> Grid {
        Grid(width: width, height: height, geoTransform: [399_960, 10, 0, 5_000_040, 0, -10], crs: utm33)
    }

    /// A smooth pattern in 0...1 that differs between steps and channels.
    static func value(_ t: Int, _ c: Int, _ x: Int, _ y: Int) -> Float {
        Float(0.5 + 0.25 * sin(Double(x) * 0.37 + Double(t)) * cos(Double(y) * 0.23 - Double(c))
              + 0.2 * sin(Double(x * y % 17) + Double(t * 3 + c)))
    }

    /// Default invalid pattern: a rectangle invalid in every step, and a scattered pattern invalid in some steps.
    static func invalid(_ t: Int, _ x: Int, _ y: Int) -> Bool {
        allStepsInvalid(x, y) || (x * 5 + y * 3 + t * 7) % 13 == 0
    }

    static func allStepsInvalid(_ x: Int, _ y: Int) -> Bool { (5..<9).contains(x) && (3..<7).contains(y) }

    /// Writes T dated GeoTIFFs of C bands, nodata -9999, and returns the stack.
    func rasterStack(width: Int, height: Int, steps: Int = 3, channels: Int = 2, name: String = "scene",
                     invalid: (Int, Int, Int) -> Bool = PredictionFixture.invalid) throws -> RasterStack {
        let paths = try (0..<steps).map { t -> String in
            let target = path("\(name)_2021-0\(t + 1)-15.tif")
            var values = [Float](repeating: 0, count: channels * width * height)
            for c in 0..<channels {
                for y in 0..<height {
                    for x in 0..<width {
                        values[(c * height + y) * width + x] = invalid(t, x, y) ? -9999 : Self.value(t, c, x, y)
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
        return try RasterStack(files: paths)
    }

    /// Values `[T, C, D, H, W]` of a volume fixture: the raster pattern with slice z shifted by 11 columns, invalid
    /// (`invalidValue`) where ``invalid(_:_:_:)`` holds.
    static func volumeValues(_ shape: VolumeShape, invalidValue: Float) -> Tensor {
        var values: [Float] = []
        for t in 0..<shape.steps {
            for c in 0..<shape.channels {
                for z in 0..<shape.depth {
                    for y in 0..<shape.height {
                        for x in 0..<shape.width {
                            values.append(invalid(t, x, y) ? invalidValue : value(t, c, x + 11 * z, y))
                        }
                    }
                }
            }
        }
        return Tensor(shape: [shape.steps, shape.channels, shape.depth, shape.height, shape.width], values: values)
    }

    /// Writes the volume fixture (``volumeValues(_:invalidValue:)``, invalid voxels −9999) as dataset `dataset` of
    /// the HDF5 file `name` and opens it. `metadata` should declare nodata −9999.
    func volumeStack(_ name: String, dataset: String = "/scan", shape: VolumeShape,
                     metadata: VolumeMetadata = VolumeMetadata(nodata: -9999)) throws -> VolumeStack {
        let writer = try HDF5VolumeWriter(path: path(name))
        try writer.createDataset(dataset, shape: shape, metadata: metadata)
        try writer.write(Self.volumeValues(shape, invalidValue: -9999), to: dataset)
        try writer.finish()
        return try VolumeStack(path: "\(path(name)):\(dataset)")
    }

    /// Checks a volume prediction `[1, K, D, H, W]` of `input` slice by slice against the whole-slice prediction:
    /// nodata exactly where every step of the input is invalid, values within `accuracy` elsewhere.
    static func assertMatchesWholeSlices(_ result: VolumeStack, input: VolumeStack, predictor: any Predictor,
                                         accuracy: Float, file: StaticString = #filePath, line: UInt = #line) throws {
        let shape = input.shape, k = predictor.outputs.count
        let read = try result.read(region: shape.fullRegion)
        let values = read.values.floats, mask = read.mask.bytes
        let area = shape.height * shape.width, planes = try VolumePlanes(input)
        for z in 0..<shape.depth {
            let expected = try wholePlanePrediction(planes, plane: z, predictor: predictor).floats
            for p in 0..<area {
                let (x, y) = (p % shape.width, p / shape.width)
                XCTAssertEqual(mask[z * area + p] == 0, allStepsInvalid(x, y), file: file, line: line)
                guard mask[z * area + p] != 0 else { continue }
                for output in 0..<k {
                    XCTAssertEqual(values[(output * shape.depth + z) * area + p], expected[output * area + p],
                                   accuracy: accuracy, file: file, line: line)
                }
            }
        }
    }

    /// The predictor on the whole plane in one window: the reference tiled runs must reproduce. `[K, H, W]`.
    static func wholePlanePrediction(_ planes: any PlaneStack, plane: Int, predictor: any Predictor) throws -> Tensor {
        var read = try planes.read(window: Window(x: 0, y: 0, width: planes.width, height: planes.height),
                                   plane: plane)
        TiledPrediction.zeroInvalid(&read.values, mask: read.mask)
        return try predictor.predict(values: read.values, mask: read.mask)
    }

    /// Pixels of a `[T, H, W]` mask with some valid step.
    static func anyValid(_ mask: Tensor) -> [Bool] {
        let s = mask.shape, area = s[1] * s[2], m = mask.bytes
        return (0..<area).map { p in (0..<s[0]).contains { m[$0 * area + p] != 0 } }
    }

    static func gdalinfo(_ path: String) throws -> [String: Any] {
        try ExternalTool.json("gdalinfo", ["-json", "-mdd", "all", path])
    }
}
