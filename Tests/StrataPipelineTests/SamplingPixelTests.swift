import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline

final class SamplingPixelTests: XCTestCase {
    let width = 90, height = 70, steps = 3, channels = 2

    func testPixelBatchesHoldEachPixelValidInSomeStepOnce() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let input = RasterPlanes(try RasterStack(files: try fixture.writeSeries(width: width, height: height)))
        let labels = RasterPlanes(try RasterStack(files: try fixture.writeLabels(width: width, height: height) {
            Float(($1 * $2) % 3)
        }))
        let source = try SampleSource(input: input, target: labels, patchSize: 1)
        let sampler = try PixelSampler(sources: [source], batchSize: 1000, seed: 5, windowSize: 32)
        let epoch = sampler.batches(epoch: 0)
        var seen: [SamplePosition] = []
        var sizes: [Int] = []
        while let batch = try epoch.next() {
            let n = batch.count
            sizes.append(n)
            XCTAssertEqual(batch.values.shape, [n, steps, channels, 1, 1])
            XCTAssertEqual(batch.mask.shape, [n, steps, 1, 1])
            XCTAssertEqual(batch.target?.shape, [n, 1, 1, 1])
            XCTAssertEqual(batch.targetMask?.shape, [n, 1, 1])
            let values = batch.values.floats, mask = batch.mask.bytes, target = batch.target!.floats
            for (i, p) in batch.positions.enumerated() {
                for t in 0..<steps {
                    let valid = !SamplingFixture.invalid(t, p.x, p.y)
                    XCTAssertEqual(mask[i * steps + t], valid ? 1 : 0)
                    for c in 0..<channels {
                        XCTAssertEqual(values[(i * steps + t) * channels + c],
                                       valid ? SamplingFixture.value(t, c, p.x, p.y) : 0)
                    }
                }
                XCTAssertEqual(target[i], Float((p.x * p.y) % 3))
            }
            seen += batch.positions
        }
        // Rule: a pixel is in an epoch when it is valid in at least one step, exactly once.
        let expected = Set((0..<height).flatMap { y in (0..<width).map { x in SamplePosition(x: x, y: y) } }
            .filter { p in (0..<steps).contains { !SamplingFixture.invalid($0, p.x, p.y) } })
        XCTAssertEqual(seen.count, expected.count)
        XCTAssertEqual(Set(seen), expected)
        XCTAssertFalse(expected.contains(SamplePosition(x: 11, y: 21)), "the all-invalid rectangle is left out")
        XCTAssertEqual(sizes.dropLast().allSatisfy { $0 == 1000 }, true)
        XCTAssertEqual(sizes.reduce(0, +), expected.count)

        // Same (seed, epoch): same batches; another epoch: another order.
        let again = sampler.batches(epoch: 0)
        var replay: [SamplePosition] = []
        while let batch = try again.next() { replay += batch.positions }
        XCTAssertEqual(replay, seen)
        let other = sampler.batches(epoch: 1)
        XCTAssertNotEqual(try other.next()?.positions, Array(seen.prefix(1000)))
    }
}
