import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline

final class SamplingVolumeTests: XCTestCase {
    let shape = VolumeShape(steps: 3, channels: 2, depth: 5, height: 24, width: 20)

    func testSlicesAreTwoDimensionalSamples() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let volume = try VolumeStack(path: try fixture.writeVolume(shape))
        let planes = try VolumePlanes(volume)
        XCTAssertEqual([planes.planes, planes.channels, planes.steps], [5, 2, 3])
        let source = try SampleSource(input: planes, patchSize: 8)
        let grid = try PatchSampler(sources: [source], sampling: .grid, seed: 0).positions(epoch: 0)
        XCTAssertEqual(grid.count, 5 * 3 * 3)                 // 5 slices × 3 rows × 3 columns (20 = 8 + 8 + 4)
        XCTAssertEqual(Set(grid.map(\.plane)), Set(0..<5))
        let p = SamplePosition(plane: 3, x: 12, y: 16)
        let sample = try source.sample(at: p)
        XCTAssertEqual(sample.values.shape, [3, 2, 8, 8])
        let values = sample.values.floats, mask = sample.mask.bytes
        for t in 0..<3 {
            for y in 0..<8 {
                for x in 0..<8 {
                    let valid = !SamplingFixture.invalid(t, p.x + x, p.y + y + 3)
                    XCTAssertEqual(mask[(t * 8 + y) * 8 + x], valid ? 1 : 0)
                    for c in 0..<2 {
                        XCTAssertEqual(values[((t * 2 + c) * 8 + y) * 8 + x],
                                       valid ? SamplingFixture.volumeValue(t, c, p.x + x, p.y + y, 3) : 0)
                    }
                }
            }
        }
    }

    func testSlabsStackNeighbourSlicesAsChannelsAndReplicateAtTheEdges() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let volume = try VolumeStack(path: try fixture.writeVolume(shape))
        XCTAssertThrowsError(try VolumePlanes(volume, slab: 2))
        let planes = try VolumePlanes(volume, slab: 3)
        XCTAssertEqual(planes.channels, 6)
        let opened = try InputStack.open([volume.info.sources[0]]).planes(slab: 3)
        XCTAssertEqual([opened.planes, opened.channels, opened.width, opened.height], [5, 6, 20, 24])
        // Slice 0: its lower neighbour is outside the volume, so channel c·3 + 0 repeats the centre slice.
        let tile = try planes.read(window: Window(x: 0, y: 0, width: 20, height: 24), plane: 0)
        let values = tile.values.floats, area = 20 * 24
        for (x, y) in [(1, 2), (7, 9), (19, 23)] where !SamplingFixture.invalid(1, x, y) {
            let k = y * 20 + x
            for c in 0..<2 {
                let centre = SamplingFixture.volumeValue(1, c, x, y, 0)
                XCTAssertEqual(values[(1 * 6 + c * 3 + 0) * area + k], centre)
                XCTAssertEqual(values[(1 * 6 + c * 3 + 1) * area + k], centre)
                if !SamplingFixture.invalid(1, x, y + 1) {
                    XCTAssertEqual(values[(1 * 6 + c * 3 + 2) * area + k], SamplingFixture.volumeValue(1, c, x, y, 1))
                }
            }
        }
        XCTAssertEqual(tile.mask.bytes, try VolumePlanes(volume).read(window: Window(x: 0, y: 0, width: 20, height: 24),
                                                                      plane: 0).mask.bytes, "the centre slice's mask")
        // Statistics per volume channel, repeated for the slab, normalise slab samples.
        let stats = try NormalizationStats.compute(VolumePlanes(volume))
        XCTAssertNoThrow(try SampleSource(input: planes, patchSize: 8, normalization: stats.repeatingChannels(3)))
        XCTAssertThrowsError(try SampleSource(input: planes, patchSize: 8, normalization: stats))
    }

    func testVolumeStatisticsEqualTwoPassOverValidVoxels() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let stats = try NormalizationStats.compute(VolumePlanes(try VolumeStack(path: try fixture.writeVolume(shape))))
        for c in 0..<2 {
            var xs: [Double] = []
            for t in 0..<3 { for z in 0..<5 { for y in 0..<24 { for x in 0..<20
                where !SamplingFixture.invalid(t, x, y + z) {
                xs.append(Double(SamplingFixture.volumeValue(t, c, x, y, z)))
            } } } }
            let mean = xs.reduce(0, +) / Double(xs.count)
            let std = (xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)).squareRoot()
            XCTAssertEqual(stats.count[c], xs.count)
            XCTAssertEqual(stats.mean[c], mean, accuracy: 1e-9 * abs(mean))
            XCTAssertEqual(stats.std[c], std, accuracy: 1e-9 * std)
        }
    }

    func testVolumeTargetsAndPatientSourcesBatchTogether() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let a = try VolumePlanes(try VolumeStack(path: try fixture.writeVolume(shape, name: "p1")))
        let b = try VolumePlanes(try VolumeStack(path: try fixture.writeVolume(shape, name: "p2")))
        let labelShape = VolumeShape(steps: 1, channels: 1, depth: 5, height: 24, width: 20)
        let labels = try VolumePlanes(try VolumeStack(path: try fixture.writeVolume(labelShape, name: "labels")))
        let sources = [try SampleSource(input: a, target: labels, patchSize: 8),
                       try SampleSource(input: b, target: labels, patchSize: 8)]
        let sampler = try PatchSampler(sources: sources, sampling: .random(count: 40), seed: 2)
        let positions = try sampler.positions(epoch: 0)
        XCTAssertEqual(Set(positions.map(\.source)), [0, 1])
        let batch = try sampler.batches(epoch: 0, batchSize: 5).next()!
        XCTAssertEqual(batch.values.shape, [5, 3, 2, 8, 8])
        XCTAssertEqual(batch.target?.shape, [5, 1, 8, 8])
        XCTAssertEqual(batch.targetMask?.shape, [5, 8, 8])
        let p = batch.positions[0]
        let valid = !SamplingFixture.invalid(0, p.x + 1, p.y + 2 + p.plane)
        let label = SamplingFixture.volumeValue(0, 0, p.x + 1, p.y + 2, p.plane)
        XCTAssertEqual(batch.target!.floats[2 * 8 + 1], valid ? label : 0)
    }
}
