import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline

final class SamplingPatchTests: XCTestCase {
    let width = 300, height = 200, steps = 3, channels = 2, patch = 32
    var fixture: SamplingFixture!
    var input: RasterPlanes!
    var labels: RasterPlanes!

    /// Label of (x, y): 1 on a diagonal band, 0 elsewhere, invalid (NaN → nodata 255) on every 17th column.
    static func label(_ x: Int, _ y: Int) -> Float {
        x % 17 == 5 ? .nan : ((x + 2 * y) % 40 < 3 ? 1 : 0)
    }

    override func setUpWithError() throws {
        fixture = try SamplingFixture()
        input = RasterPlanes(try RasterStack(files: try fixture.writeSeries(width: width, height: height)))
        labels = RasterPlanes(try RasterStack(files: try fixture.writeLabels(width: width, height: height) {
            Self.label($1, $2)
        }))
    }

    override func tearDown() { fixture.remove() }

    func testGridCoversEveryPixelAndReachesEdges() throws {
        XCTAssertEqual(SampleSource.gridStarts(length: 70, patch: 32), [0, 32, 38])
        XCTAssertEqual(SampleSource.gridStarts(length: 64, patch: 32), [0, 32])
        XCTAssertEqual(SampleSource.gridStarts(length: 32, patch: 32), [0])
        let source = try SampleSource(input: input, patchSize: patch)
        let sampler = try PatchSampler(sources: [source], sampling: .grid, seed: 1)
        let positions = try sampler.positions(epoch: 0)
        XCTAssertEqual(positions.count, 10 * 7)          // ceil(300 / 32) × ceil(200 / 32)
        XCTAssertEqual(Set(positions).count, positions.count, "every patch once")
        var covered = [Bool](repeating: false, count: width * height)
        for p in positions {
            XCTAssertTrue(p.x >= 0 && p.y >= 0 && p.x + patch <= width && p.y + patch <= height)
            for y in p.y..<p.y + patch { for x in p.x..<p.x + patch { covered[y * width + x] = true } }
        }
        XCTAssertTrue(covered.allSatisfy { $0 })
        XCTAssertTrue(positions.contains { $0.x == width - patch && $0.y == height - patch }, "bottom-right corner")
        // Shuffled per epoch, same set.
        let next = try sampler.positions(epoch: 1)
        XCTAssertNotEqual(next, positions)
        XCTAssertEqual(Set(next), Set(positions))
    }

    func testRandomSamplingIsSeededAndInside() throws {
        let source = try SampleSource(input: input, patchSize: patch)
        let a = try PatchSampler(sources: [source], sampling: .random(count: 500), seed: 9)
        let b = try PatchSampler(sources: [source], sampling: .random(count: 500), seed: 9)
        let c = try PatchSampler(sources: [source], sampling: .random(count: 500), seed: 10)
        XCTAssertEqual(try a.positions(epoch: 2), try b.positions(epoch: 2))
        XCTAssertNotEqual(try a.positions(epoch: 2), try a.positions(epoch: 3))
        XCTAssertNotEqual(try a.positions(epoch: 2), try c.positions(epoch: 2))
        let positions = try a.positions(epoch: 2)
        XCTAssertTrue(positions.allSatisfy { p in
            p.x >= 0 && p.y >= 0 && p.x + patch <= width && p.y + patch <= height
        })
        // Uniform over 269 × 169 positions: both far corners are reached by some patch in 500 draws' spread.
        XCTAssertGreaterThan(positions.map(\.x).max()!, 200)
        XCTAssertLessThan(positions.map(\.x).min()!, 60)
    }

    func testPatchValuesMaskAndTargetMatchTheRasterAtTheirPosition() throws {
        let stats = try NormalizationStats.compute(input)
        let source = try SampleSource(input: input, target: labels, patchSize: patch, normalization: stats)
        let sampler = try PatchSampler(sources: [source], sampling: .random(count: 6), seed: 3)
        let loader = try sampler.batches(epoch: 0, batchSize: 4)
        var seen = 0
        while let batch = try loader.next() {
            let b = batch.count
            XCTAssertEqual(batch.values.shape, [b, steps, channels, patch, patch])
            XCTAssertEqual(batch.mask.shape, [b, steps, patch, patch])
            XCTAssertEqual(batch.target?.shape, [b, 1, patch, patch])
            XCTAssertEqual(batch.targetMask?.shape, [b, patch, patch])
            let values = batch.values.floats, mask = batch.mask.bytes
            let target = batch.target!.floats, targetMask = batch.targetMask!.bytes
            for (i, p) in batch.positions.enumerated() {
                for t in 0..<steps {
                    for y in 0..<patch {
                        for x in 0..<patch {
                            let (gx, gy) = (p.x + x, p.y + y)
                            let valid = !SamplingFixture.invalid(t, gx, gy)
                            XCTAssertEqual(mask[((i * steps + t) * patch + y) * patch + x], valid ? 1 : 0)
                            for c in 0..<channels {
                                let got = values[(((i * steps + t) * channels + c) * patch + y) * patch + x]
                                let expected = valid
                                    ? Float((Double(SamplingFixture.value(t, c, gx, gy)) - stats.mean[c])
                                        / stats.std[c])
                                    : 0
                                XCTAssertEqual(got, expected, accuracy: 1e-5)
                            }
                        }
                    }
                }
                for y in 0..<patch {
                    for x in 0..<patch {
                        let label = Self.label(p.x + x, p.y + y)
                        XCTAssertEqual(targetMask[(i * patch + y) * patch + x], label.isNaN ? 0 : 1)
                        XCTAssertEqual(target[(i * patch + y) * patch + x], label.isNaN ? 0 : label)
                    }
                }
            }
            seen += b
        }
        XCTAssertEqual(seen, 6)
        XCTAssertEqual(try sampler.batches(epoch: 0, batchSize: 4).groups.map(\.count), [4, 2])
    }

    func testSameSeedAndEpochGiveSameBatchesWithOrWithoutPrefetchAndOnResume() throws {
        let source = try SampleSource(input: input, target: labels, patchSize: 16)
        let sampler = try PatchSampler(sources: [source], sampling: .random(count: 20), seed: 77)
        func collect(_ loader: BatchLoader) throws -> [Batch] {
            var out: [Batch] = []
            while let batch = try loader.next() { out.append(batch) }
            return out
        }
        let plain = try collect(try sampler.batches(epoch: 4, batchSize: 6))
        let again = try collect(try PatchSampler(sources: [source], sampling: .random(count: 20), seed: 77)
            .batches(epoch: 4, batchSize: 6, prefetch: true))
        let resumed = try collect(try sampler.batches(epoch: 4, batchSize: 6, startingAt: 2, prefetch: true))
        XCTAssertEqual(plain.count, 4)
        XCTAssertEqual(again.count, 4)
        for (x, y) in zip(plain, again) {
            XCTAssertEqual(x.positions, y.positions)
            XCTAssertEqual(x.values.floats, y.values.floats)
            XCTAssertEqual(x.target!.floats, y.target!.floats)
        }
        XCTAssertEqual(resumed.map(\.positions), plain[2...].map(\.positions))
        let other = try collect(try sampler.batches(epoch: 5, batchSize: 6))
        XCTAssertNotEqual(other.map(\.positions), plain.map(\.positions))
    }

    func testPerStepTargetsHaveATimeAxis() throws {
        let perStep = RasterPlanes(try RasterStack(files: try fixture.writeLabels(width: width, height: height,
                                                                                  steps: steps, name: "steps") {
            Float(($0 + $1 + $2) % 2)
        }))
        let source = try SampleSource(input: input, target: perStep, patchSize: 8)
        let batch = try PatchSampler(sources: [source], sampling: .random(count: 3), seed: 1).batches(
            epoch: 0, batchSize: 3).next()!
        XCTAssertEqual(batch.target?.shape, [3, steps, 1, 8, 8])
        XCTAssertEqual(batch.targetMask?.shape, [3, steps, 8, 8])
        let p = batch.positions[2], target = batch.target!.floats
        for t in 0..<steps {
            XCTAssertEqual(target[((2 * steps + t) * 8 + 5) * 8 + 3], Float((t + p.x + 3 + p.y + 5) % 2))
        }
    }

    func testBadArgumentsAreRefused() throws {
        XCTAssertThrowsError(try SampleSource(input: input, patchSize: 201))
        XCTAssertThrowsError(try SampleSource(input: input, patchSize: 32, split: SpatialSplit(blockSize: 16)))
        XCTAssertThrowsError(try SampleSource(input: input, patchSize: 8,
                                              normalization: NormalizationStats(mean: [0], std: [1], count: [1])))
        let smallLabels = try fixture.writeLabels(width: 10, height: 10, name: "small") { _, _, _ in 0 }
        let small = RasterPlanes(try RasterStack(files: smallLabels))
        XCTAssertThrowsError(try SampleSource(input: input, target: small, patchSize: 8))
        let source = try SampleSource(input: input, patchSize: 8)
        XCTAssertThrowsError(try PatchSampler(sources: [source], sampling: .random(count: 0), seed: 0))
        XCTAssertThrowsError(try PatchSampler(sources: [source], sampling: .balanced(count: 5, positiveFraction: 0.5),
                                              seed: 0), "balancing needs a target")
    }
}
