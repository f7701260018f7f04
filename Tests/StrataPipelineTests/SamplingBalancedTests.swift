import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline

final class SamplingBalancedTests: XCTestCase {
    let width = 300, height = 200, patch = 16

    /// 1 % positives: six 10 × 10 squares (600 of 60 000 pixels).
    static let squares = [(20, 30), (150, 20), (260, 160), (90, 120), (200, 90), (40, 170)]
    static func positive(_ x: Int, _ y: Int) -> Bool {
        squares.contains { x >= $0.0 && x < $0.0 + 10 && y >= $0.1 && y < $0.1 + 10 }
    }

    /// The fraction of patches containing a positive pixel, checked on the label function (independent path).
    func positiveFraction(_ positions: [SamplePosition]) -> Double {
        let hits = positions.filter { p in
            (p.y..<p.y + patch).contains { y in (p.x..<p.x + patch).contains { x in Self.positive(x, y) } }
        }
        return Double(hits.count) / Double(positions.count)
    }

    func testBalancedSamplingReachesTheRequestedFraction() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let input = RasterPlanes(try RasterStack(files: try fixture.writeSeries(width: width, height: height)))
        let labels = RasterPlanes(try RasterStack(files: try fixture.writeLabels(width: width, height: height) {
            Self.positive($1, $2) ? 1 : 0
        }))
        let source = try SampleSource(input: input, target: labels, patchSize: patch)
        let random = try PatchSampler(sources: [source], sampling: .random(count: 400), seed: 3)
        XCTAssertLessThan(positiveFraction(try random.positions(epoch: 0)), 0.15, "rare without balancing")
        for fraction in [0.5, 0.2] {
            let balanced = try PatchSampler(sources: [source],
                                            sampling: .balanced(count: 400, positiveFraction: fraction), seed: 3)
            XCTAssertEqual(balanced.positives?.seen, 600)
            let positions = try balanced.positions(epoch: 0)
            XCTAssertEqual(positions.count, 400)
            // Positive slots are exact; negatives are re-drawn until they hold no positive (64 tries).
            XCTAssertEqual(positiveFraction(positions), fraction, accuracy: 0.02)
            XCTAssertTrue(positions.allSatisfy { p in
            p.x >= 0 && p.y >= 0 && p.x + patch <= width && p.y + patch <= height
        })
            XCTAssertEqual(try balanced.positions(epoch: 0), positions, "seeded")
        }
    }

    func testReservoirKeepsAUniformBoundedSampleOfPositives() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let input = RasterPlanes(try RasterStack(files: try fixture.writeSeries(width: width, height: height)))
        let labels = RasterPlanes(try RasterStack(files: try fixture.writeLabels(width: width, height: height) {
            Self.positive($1, $2) ? 1 : ($1 == 0 ? .nan : 0)
        }))
        let source = try SampleSource(input: input, target: labels, patchSize: patch)
        let reservoir = try PositiveReservoir(sources: [source], capacity: 100, seed: 1, windowSize: 64)
        XCTAssertEqual(reservoir.seen, 600)
        XCTAssertEqual(reservoir.validTargets, width * height - height)   // column 0 invalid
        XCTAssertEqual(reservoir.positions.count, 100)
        XCTAssertEqual(Set(reservoir.positions).count, 100)
        XCTAssertTrue(reservoir.positions.allSatisfy { Self.positive($0.x, $0.y) })
        // Uniform: the 100 kept come from most of the six squares, not just the first ones read.
        let squaresHit = Set(reservoir.positions.compactMap { p in
            Self.squares.firstIndex { p.x >= $0.0 && p.x < $0.0 + 10 && p.y >= $0.1 && p.y < $0.1 + 10 }
        })
        XCTAssertGreaterThanOrEqual(squaresHit.count, 5)
        let big = try PositiveReservoir(sources: [source], capacity: 10_000, seed: 1)
        XCTAssertEqual(big.positions.count, 600)
    }
}
