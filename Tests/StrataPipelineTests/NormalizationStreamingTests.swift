import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline

final class NormalizationStreamingTests: XCTestCase {
    /// 300 × 200 with 256 × 256 blocks: windows of 256 leave a 44-pixel column, so they do not divide the raster.
    let width = 300, height = 200, steps = 3

    func testStreamingStatsEqualTwoPassOverValidPixels() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let stack = RasterPlanes(try RasterStack(files: try fixture.writeSeries(width: width, height: height)))
        XCTAssertEqual(stack.blockSize.width, 256)
        for windowSize in [100, 256, 300, 1000] {
            let stats = try NormalizationStats.compute(stack, windowSize: windowSize)
            for c in 0..<2 {
                let reference = SamplingFixture.twoPass(width: width, height: height, steps: steps, channel: c)
                // Both sums are in Double over float32 inputs; 1e-9 relative leaves room for summation order only.
                XCTAssertEqual(stats.mean[c], reference.mean, accuracy: 1e-9 * abs(reference.mean),
                               "window \(windowSize)")
                XCTAssertEqual(stats.std[c], reference.std, accuracy: 1e-9 * reference.std, "window \(windowSize)")
                XCTAssertEqual(stats.count[c], reference.count)
            }
        }
    }

    func testInvalidPixelsIgnoredWhateverTheyHold() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let plain = try RasterStack(files: try fixture.writeSeries(width: width, height: height, prefix: "plain"))
        let huge = try RasterStack(files: try fixture.writeSeries(width: width, height: height, prefix: "huge",
                                                                  otherBands: 1e6))
        let a = try NormalizationStats.compute(RasterPlanes(plain), windowSize: 128)
        let b = try NormalizationStats.compute(RasterPlanes(huge), windowSize: 128)
        XCTAssertEqual(a, b)
        // Band 1 really holds 1e6 at invalid pixels of the second stack: the mask is what hides it.
        let tile = try huge.read(window: Window(x: 10, y: 20, width: 1, height: 1))
        XCTAssertEqual(tile.mask.bytes, [0, 0, 0])
    }

    /// An in-memory plane stack whose invalid pixels hold `invalidValue` in every channel (the raster reader
    /// always writes its fill value there, so this is the way to put arbitrary values behind the mask).
    final class MemoryPlanes: PlaneStack {
        let width = 37, height = 23, planes = 2, steps = 2, channels = 2
        let blockSize = (width: 8, height: 4)
        let invalidValue: Float
        init(invalidValue: Float) { self.invalidValue = invalidValue }
        func read(window: Window, plane: Int) throws -> StackWindow {
            let (h, w) = (window.height, window.width)
            var values = [Float](repeating: 0, count: steps * channels * h * w)
            var mask = [Float](repeating: 0, count: steps * h * w)
            for t in 0..<steps { for y in 0..<h { for x in 0..<w {
                let (gx, gy) = (window.x + x, window.y + y + 50 * plane)
                let valid = !SamplingFixture.invalid(t, gx, gy)
                mask[(t * h + y) * w + x] = valid ? 1 : 0
                for c in 0..<channels {
                    values[((t * channels + c) * h + y) * w + x] =
                        valid ? SamplingFixture.value(t, c, gx, gy) : invalidValue
                }
            } } }
            return StackWindow(window: window, values: Tensor(shape: [steps, channels, h, w], values: values),
                               mask: Tensor(shape: [steps, h, w], values: mask).converted(to: .uint8))
        }
    }

    func testValuesBehindTheMaskChangeNothing() throws {
        // 37 × 23 with 8 × 4 blocks: no window size used here divides the plane.
        for windowSize in [1, 5, 8, 30] {
            let a = try NormalizationStats.compute(MemoryPlanes(invalidValue: 0), windowSize: windowSize)
            let b = try NormalizationStats.compute(MemoryPlanes(invalidValue: 1e6), windowSize: windowSize)
            let c = try NormalizationStats.compute(MemoryPlanes(invalidValue: .nan), windowSize: windowSize)
            XCTAssertEqual(a, b)
            XCTAssertEqual(a, c)
            var xs: [Double] = []
            for plane in 0..<2 { for t in 0..<2 { for y in 0..<23 { for x in 0..<37
                where !SamplingFixture.invalid(t, x, y + 50 * plane) {
                xs.append(Double(SamplingFixture.value(t, 1, x, y + 50 * plane)))
            } } } }
            let mean = xs.reduce(0, +) / Double(xs.count)
            let std = (xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)).squareRoot()
            XCTAssertEqual(a.count[1], xs.count)
            XCTAssertEqual(a.mean[1], mean, accuracy: 1e-9 * mean)
            XCTAssertEqual(a.std[1], std, accuracy: 1e-9 * std)
        }
    }

    func testStatisticsWindowsCoverEachPixelOnceAndFollowBlocks() {
        let regions = [Window(x: 0, y: 0, width: 150, height: 200), Window(x: 150, y: 0, width: 150, height: 200)]
        let cases = [((64, 64), 100, nil as [Window]?), ((256, 256), 64, nil), ((64, 32), 70, regions)]
        for (block, size, parts) in cases {
            let windows = NormalizationStats.statisticsWindows(width: width, height: height, blockSize: block,
                                                               windowSize: size, regions: parts)
            var hits = [Int](repeating: 0, count: width * height)
            for w in windows {
                XCTAssertNotNil(w.clipped(toWidth: width, height: height))
                XCTAssertEqual(w.clipped(toWidth: width, height: height), w, "inside the plane")
                for y in w.y..<w.y + w.height { for x in w.x..<w.x + w.width { hits[y * width + x] += 1 } }
            }
            XCTAssertEqual(Set(hits), [1], "block \(block) window \(size)")
        }
        // Window 100 on 64-pixel blocks rounds up to 128: starts 0, 128, 256.
        let starts = Set(NormalizationStats.statisticsWindows(width: width, height: height, blockSize: (64, 64),
                                                              windowSize: 100).map(\.x))
        XCTAssertEqual(starts, [0, 128, 256])
    }

    func testSubsampledWindowsAreSeededAndBounded() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let stack = RasterPlanes(try RasterStack(files: try fixture.writeSeries(width: width, height: height)))
        let regions = try SpatialSplit(blockSize: 32, validationFraction: 0, seed: 0)
            .regions(.training, width: width, height: height)
        let all = try NormalizationStats.compute(stack, regions: regions)
        let a = try NormalizationStats.compute(stack, regions: regions, maxWindows: 10, seed: 5)
        let b = try NormalizationStats.compute(stack, regions: regions, maxWindows: 10, seed: 5)
        let c = try NormalizationStats.compute(stack, regions: regions, maxWindows: 10, seed: 6)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertLessThan(a.count[0], all.count[0] / 3)   // 10 of 54 blocks
        let reference = SamplingFixture.twoPass(width: width, height: height, steps: steps, channel: 0)
        XCTAssertEqual(all.count[0], reference.count)
        // A subsample of the same distribution: mean within a few spreads of the full mean.
        XCTAssertEqual(a.mean[0], all.mean[0], accuracy: all.std[0])
    }

    func testRunningMomentsStableAndMergeable() {
        // Values 1e7 + {0, 0.1, ..., 0.9}: a mean 3·10⁷ times the spread. The naive Σx²/n − mean² is off by
        // more than the variance itself; Welford/Chan keep about ε·mean/std ≈ 1e-9 relative (tolerance 1e-7).
        let xs = (0..<1000).map { 1e7 + Double($0 % 10) * 0.1 }
        var whole = RunningMoments()
        xs.forEach { whole.add($0) }
        var left = RunningMoments(), right = RunningMoments()
        xs[..<317].forEach { left.add($0) }
        xs[317...].forEach { right.add($0) }
        left.merge(right)
        // Reference: shift by 1e7 first (exact), then two passes.
        let shifted = xs.map { $0 - 1e7 }
        let shiftedMean = shifted.reduce(0, +) / 1000
        let variance = shifted.reduce(0) { $0 + ($1 - shiftedMean) * ($1 - shiftedMean) } / 1000
        let naive = xs.reduce(0) { $0 + $1 * $1 } / 1000 - pow(xs.reduce(0, +) / 1000, 2)
        XCTAssertGreaterThan(abs(naive - variance), 1e-3 * variance, "the case is hard for the naive formula")
        XCTAssertEqual(whole.variance, variance, accuracy: 1e-7 * variance)
        XCTAssertEqual(left.variance, variance, accuracy: 1e-7 * variance)
        XCTAssertEqual(left.mean, 1e7 + shiftedMean, accuracy: 1e-8)
        XCTAssertEqual(left.count, 1000)
        var empty = RunningMoments()
        empty.merge(whole)
        XCTAssertEqual(empty, whole)
    }

    func testApplyNormalisesValidAndZeroesInvalid() {
        let stats = NormalizationStats(mean: [10, -1], std: [2, 0.5], count: [1, 1])
        // [T=1, C=2, 1, 3]; pixel 1 invalid and holds NaN in both channels.
        var values = Tensor(shape: [1, 2, 1, 3], values: [12, .nan, 8, -1, .nan, 0])
        let mask = Tensor(shape: [1, 1, 3], values: [1, 0, 1]).converted(to: .uint8)
        stats.apply(to: &values, mask: mask)
        XCTAssertEqual(values.floats, [1, 0, -1, 0, 0, 2])
        // Batched [B=2, T=1, C=2, 1, 1] with the mask [2, 1, 1, 1].
        var batch = Tensor(shape: [2, 1, 2, 1, 1], values: [14, 0, 1e6, 1e6])
        stats.apply(to: &batch, mask: Tensor(shape: [2, 1, 1, 1], values: [1, 0]).converted(to: .uint8))
        XCTAssertEqual(batch.floats, [2, 2, 0, 0])
    }

    func testRepeatingChannelsForSlabs() {
        let stats = NormalizationStats(mean: [1, 2], std: [3, 4], count: [5, 6]).repeatingChannels(3)
        XCTAssertEqual(stats.mean, [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(stats.std, [3, 3, 3, 4, 4, 4])
        XCTAssertEqual(stats.count, [5, 5, 5, 6, 6, 6])
    }
}
