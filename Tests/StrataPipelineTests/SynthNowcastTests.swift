import Foundation
import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline
import StrataTestSupport

/// `strata synth nowcast`: frames move with the wind and both file forms agree.
final class SynthNowcastTests: XCTestCase {
    func write(seed: UInt64 = 2, events: Int? = nil) throws -> SynthSummary {
        var options = SynthOptions(outputDirectory: try SynthTest.folder(self), seed: seed)
        options.width = 64
        options.height = 56
        options.steps = 12
        options.events = events
        return try Synth.generate(.nowcast, options: options)
    }

    /// Normalised cross-correlation `c[dy + 6][dx + 6]`: Pearson's r between `a` over the interior (7 px from the
    /// edges) and `b` over the same region shifted by (dx, dy), for shifts within ±6 px. `a` is a template taken
    /// away from the edges, so cells cut off by the grid's edge (in both frames at the same place) do not pull the
    /// peak towards no motion; normalising keeps bright regions of `b` from winning on brightness alone.
    func crossCorrelation(_ a: [Float], _ b: [Float], width: Int, height: Int) -> [[Double]] {
        func region(_ f: [Float], _ dx: Int, _ dy: Int) -> [Double] {
            (7..<(height - 7)).flatMap { y in (7..<(width - 7)).map { x in Double(f[(y + dy) * width + x + dx]) } }
        }
        let t = region(a, 0, 0)
        return (-6...6).map { dy in
            (-6...6).map { dx in
                let r = region(b, dx, dy), n = Double(t.count)
                let mt = t.reduce(0, +) / n, mr = r.reduce(0, +) / n
                var cov = 0.0, vt = 0.0, vr = 0.0
                for i in t.indices {
                    cov += (t[i] - mt) * (r[i] - mr)
                    vt += (t[i] - mt) * (t[i] - mt)
                    vr += (r[i] - mr) * (r[i] - mr)
                }
                return vt > 0 && vr > 0 ? cov / (vt * vr).squareRoot() : -1
            }
        }
    }

    /// The peak of a correlation surface, refined to sub-pixel by a parabola through the peak and its neighbours.
    func peak(_ c: [[Double]]) -> (x: Double, y: Double, integer: (Int, Int)) {
        var (bx, by) = (6, 6)
        for y in 0...12 { for x in 0...12 where c[y][x] > c[by][bx] { (bx, by) = (x, y) } }
        func vertex(_ l: Double, _ m: Double, _ r: Double) -> Double {
            let d = l - 2 * m + r
            return d < 0 ? 0.5 * (l - r) / d : 0
        }
        let fx = bx > 0 && bx < 12 ? vertex(c[by][bx - 1], c[by][bx], c[by][bx + 1]) : 0
        let fy = by > 0 && by < 12 ? vertex(c[by - 1][bx], c[by][bx], c[by + 1][bx]) : 0
        return (Double(bx - 6) + fx, Double(by - 6) + fy, (bx - 6, by - 6))
    }

    func testFramesMoveWithTheWind() throws {
        for seed: UInt64 in [2, 3, 5, 6] {
            let summary = try write(seed: seed)
            let truth = try SynthTest.json(summary.outputDirectory + "/nowcast.json")
            let wind = try XCTUnwrap(truth["mean_wind_pixels_per_step"] as? [Double])
            let stack = try VolumeStack(path: summary.outputDirectory + "/frames.h5:/precipitation")
            let frames = try stack.read(region: stack.shape.fullRegion).values.floats
            let plane = 64 * 56
            var total = [[Double]](repeating: [Double](repeating: 0, count: 13), count: 13)
            var pairs = 0, close = 0
            for t in 0..<11 {
                let a = Array(frames[(t * plane)..<((t + 1) * plane)]), b = Array(frames[((t + 1) * plane)..<((t + 2) * plane)])
                let wetInterior = (7..<49).reduce(0) { n, y in n + (7..<57).filter { a[y * 64 + $0] > 0 }.count }
                guard wetInterior >= 100 else { continue }
                let c = crossCorrelation(a, b, width: 64, height: 56)
                let (dx, dy) = peak(c).integer
                if abs(Double(dx) - wind[0]) <= 1.01 && abs(Double(dy) - wind[1]) <= 1.01 { close += 1 }
                for y in 0...12 { for x in 0...12 { total[y][x] += c[y][x] } }
                pairs += 1
            }
            XCTAssertGreaterThanOrEqual(pairs, 4, "enough rain to track (seed \(seed))")
            // One pair alone: cells grow and decay and the wind varies by ±0.3 px/step across the grid, so most
            // (not all) integer peaks lie within 1 px of the mean wind.
            XCTAssertGreaterThanOrEqual(Double(close), 0.75 * Double(pairs), "seed \(seed) wind \(wind)")
            // All pairs together, refined to sub-pixel: the displacement the wind says, within 0.75 px.
            let shift = peak(total)
            XCTAssertEqual(shift.x, wind[0], accuracy: 0.75, "seed \(seed)")
            XCTAssertEqual(shift.y, wind[1], accuracy: 0.75, "seed \(seed)")
        }
    }

    func testGeoTIFFsAndHDF5HoldTheSameFramesAndTimes() throws {
        let summary = try write()
        let tiffs = summary.files.filter { $0.hasPrefix("rain_") }.map { summary.outputDirectory + "/" + $0 }
        XCTAssertEqual(tiffs.count, 12)
        XCTAssertEqual(tiffs.first.map { ($0 as NSString).lastPathComponent }, "rain_20240601T120000.tif")
        let (stack, values, mask) = try SynthTest.read(tiffs)
        XCTAssertEqual(stack.info.dates.first, "2024-06-01T12:00:00Z")
        XCTAssertEqual(stack.info.dates.last, "2024-06-01T13:50:00Z")
        XCTAssert(mask.allSatisfy { $0 == 1 })
        let volumes = try VolumeStack(path: summary.outputDirectory + "/frames.h5:/precipitation")
        XCTAssertEqual(volumes.info.dates, stack.info.dates)
        XCTAssertEqual(volumes.info.timeOffsetsSeconds?.last, 6600)
        XCTAssertEqual(try volumes.read(region: volumes.shape.fullRegion).values.floats, values)
        XCTAssert(values.allSatisfy { $0 == 0 || ($0 >= 0.1 && $0 < 500) }, "mm/h, dry below 0.1")
        let truth = try SynthTest.json(summary.outputDirectory + "/nowcast.json")
        XCTAssertEqual(truth["input_steps"] as? Int, 7)
        XCTAssertEqual(truth["target_steps"] as? Int, 5)
        let header = try ExternalTool.output("h5dump", ["-H", summary.outputDirectory + "/frames.h5"])
        XCTAssert(header.contains("DATASPACE  SIMPLE { ( 12, 56, 64 )"), header)
        XCTAssert(header.contains("ATTRIBUTE \"time_labels\""), header)
    }

    func testSameSeedSameBytes() throws {
        let a = try write(), b = try write(), c = try write(seed: 3)
        for file in ["frames.h5", "rain_20240601T123000.tif", "nowcast.json"] {
            XCTAssertEqual(try SynthTest.bytes(a.outputDirectory + "/" + file),
                           try SynthTest.bytes(b.outputDirectory + "/" + file), file)
        }
        XCTAssertNotEqual(try SynthTest.bytes(a.outputDirectory + "/frames.h5"),
                          try SynthTest.bytes(c.outputDirectory + "/frames.h5"))
    }

    /// `--events 3`: one folder per event, event 1 is the single-event scene byte for byte, each event its own wind.
    func testEventsGetTheirOwnFoldersAndWinds() throws {
        let single = try write(), events = try write(events: 3)
        XCTAssertEqual(events.counts["events"], 3)
        XCTAssertEqual(events.counts["frames"], 12)
        XCTAssertEqual(events.files.count, 3 * single.files.count)
        XCTAssertEqual(events.files.filter { $0.hasPrefix("event_003/rain_") }.count, 12)
        for file in ["frames.h5", "nowcast.json"] {
            XCTAssertEqual(try SynthTest.bytes(single.outputDirectory + "/" + file),
                           try SynthTest.bytes(events.outputDirectory + "/event_001/" + file), file)
        }
        let winds = try (1...3).map { event -> [Double] in
            let truth = try SynthTest.json(events.outputDirectory + String(format: "/event_%03d/nowcast.json", event))
            return try XCTUnwrap(truth["mean_wind_pixels_per_step"] as? [Double])
        }
        XCTAssertEqual(Set(winds.map { "\($0)" }).count, 3, "three different winds: \(winds)")
        XCTAssertEqual(events.counts["cells"], try (1...3).map { event -> Double in
            let truth = try SynthTest.json(events.outputDirectory + String(format: "/event_%03d/nowcast.json", event))
            return Double(try XCTUnwrap(truth["cells"] as? [Any]).count)
        }.reduce(0, +))
        var options = SynthOptions(outputDirectory: try SynthTest.folder(self))
        options.events = 2
        XCTAssertThrowsError(try Synth.generate(.change, options: options)) {
            XCTAssertEqual($0 as? StrataError, .invalidArgument(name: "--events", reason: "2: 1...999, nowcast only"))
        }
    }
}
