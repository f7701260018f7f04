import Foundation
import StrataCore

/// Land-cover classes of the synthetic change scene.
public enum LandCover: UInt8, CaseIterable, Sendable {
    case forest = 1, cropland, grassland, water, urban
}

/// Settings of the synthetic land-cover change scene. Every default is what `strata demo` uses.
public struct ChangeSceneConfig: Sendable {
    public var width = 192
    public var height = 192
    /// Acquisitions, one every `intervalDays` from `firstDate`.
    public var steps = 12
    public var intervalDays = 30
    public var firstDate = "2021-01-10"
    /// Pixel size in metres (UTM zone 33N, EPSG:32633).
    public var pixelSizeMetres = 10.0
    /// Number of change polygons (clearing, urbanisation, flooding).
    public var changeEvents = 8
    /// Fraction of each acquisition under cloud (shadows come on top), marked as nodata.
    public var cloudFraction = 0.08
    public var seed: UInt64 = 1

    public init() {}
}

/// A synthetic multispectral time series over a land-cover map with change events and ground truth.
///
/// Generative model (documented for users in datasets/README.md):
/// - land cover: Voronoi cells (one per ~1,500 px) with noise-warped borders, classes drawn from forest, cropland,
///   grassland, water, urban;
/// - reflectance per class and band follows a seasonal harmonic curve `m + a1·cos(ω(doy − φ)) + a2·cos(2ω(doy − φ))`
///   (as in BFAST/CCDC simulation studies), times a spatially correlated texture (±8 %), plus white noise
///   (σ = 0.004 reflectance);
/// - change events: rotated rectangles of 12–40 px sides; inside, pixels switch to the event's target class from a
///   random step between the second and the second-to-last; clearing turns forest into cropland, urbanisation turns
///   anything into urban, flooding into water; pixels already of the target class do not change;
/// - clouds: thresholded correlated noise covering `cloudFraction`, with shadows offset by (6, 4) px; both are nodata.
///
/// Bands are blue, green, red, near-infrared, as surface reflectance in [0, 1].
public struct ChangeScene: Sendable {
    public let config: ChangeSceneConfig
    public static let bandNames = ["blue", "green", "red", "nir"]

    /// Land cover at the first step, row-major `[H, W]`.
    public let coverBefore: [LandCover]
    /// Land cover after all events, `[H, W]`.
    public let coverAfter: [LandCover]
    /// First step showing the new cover, or -1 where nothing changes, `[H, W]`.
    public let changeStep: [Int16]
    /// ISO 8601 date of each step.
    public let dates: [String]
    /// Day of year of each step (for the phenology curves).
    let daysOfYear: [Double]
    /// Seconds since 1970 (UTC) of each step.
    let stepSeconds: [Double]
    /// Brightness grain within classes, evaluated per pixel (never held as a full plane).
    let texture: ValueNoise

    public init(config: ChangeSceneConfig) {
        self.config = config
        let w = config.width, h = config.height
        var rng = SeededGenerator.stream(seed: config.seed, 0)

        // Land cover: Voronoi cells whose borders are warped by correlated noise.
        let cellCount = max(4, w * h / 1500)
        let seeds = (0..<cellCount).map { _ in (x: rng.uniform(0, Double(w)), y: rng.uniform(0, Double(h))) }
        let classes: [LandCover] = (0..<cellCount).map { _ in
            // Forest and cropland dominate, as in a rural Sentinel-2 tile.
            let u = rng.uniform()
            return u < 0.3 ? .forest : u < 0.6 ? .cropland : u < 0.8 ? .grassland : u < 0.9 ? .water : .urban
        }
        let warpX = ValueNoise(width: w, height: h, scale: 24, rng: &rng)
        let warpY = ValueNoise(width: w, height: h, scale: 24, rng: &rng)
        // Nearest seed by a bucket search (exactly the brute-force answer, ties to the lowest index), so a
        // 4000 × 4000 scene with ~10,000 cells is labelled in seconds.
        let index = SeedIndex(points: seeds, width: w, height: h)
        var before = [LandCover](repeating: .forest, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let px = Double(x) + 16 * Double(warpX[x, y] - 0.5), py = Double(y) + 16 * Double(warpY[x, y] - 0.5)
                before[y * w + x] = classes[index.nearest(px, py)]
            }
        }

        // Change events.
        var after = before
        var step = [Int16](repeating: -1, count: w * h)
        for _ in 0..<config.changeEvents {
            let cx = rng.uniform(0, Double(w)), cy = rng.uniform(0, Double(h))
            let halfA = rng.uniform(6, 20), halfB = rng.uniform(6, 20), angle = rng.uniform(0, Double.pi)
            let u = rng.uniform()
            let kind: (from: LandCover?, to: LandCover) = u < 0.45 ? (.forest, .cropland) : u < 0.8 ? (nil, .urban) : (nil, .water)
            let eventStep = Int16(Int.random(in: 1...max(1, config.steps - 2), using: &rng))
            let (c, s) = (cos(angle), sin(angle))
            for y in max(0, Int(cy - 30))..<min(h, Int(cy + 30)) {
                for x in max(0, Int(cx - 30))..<min(w, Int(cx + 30)) {
                    let dx = Double(x) - cx, dy = Double(y) - cy
                    guard abs(dx * c + dy * s) <= halfA, abs(-dx * s + dy * c) <= halfB else { continue }
                    let i = y * w + x
                    // Only the first event at a pixel counts, so the truth has one date per pixel.
                    guard step[i] < 0, after[i] != kind.to, kind.from == nil || after[i] == kind.from else { continue }
                    after[i] = kind.to
                    step[i] = eventStep
                }
            }
        }
        coverBefore = before
        coverAfter = after
        changeStep = step
        texture = ValueNoise(width: w, height: h, scale: 6, octaves: 3, rng: &rng)

        // An unreadable first date falls back to the default's 2021-01-10 (the CLI validates dates before this).
        let start = (try? SynthCalendar.seconds(config.firstDate)) ?? 1_610_236_800
        stepSeconds = (0..<config.steps).map { start + Double($0 * config.intervalDays) * 86_400 }
        dates = stepSeconds.map(SynthCalendar.isoDate)
        daysOfYear = stepSeconds.map { Double(SynthCalendar.dayOfYear($0)) }
    }

    /// The grid: UTM 33N, origin at (500 000 m E, 5 200 000 m N), square pixels.
    public var geoTransform: [Double] {
        [500_000, config.pixelSizeMetres, 0, 5_200_000, 0, -config.pixelSizeMetres]
    }
    public static let epsg = 32633

    /// Pixels that change at some step.
    public var changedPixelCount: Int { changeStep.lazy.filter { $0 >= 0 }.count }

    /// Reflectance of one acquisition, `[C=4, H, W]` row-major, and its validity `[H, W]` (0 under cloud/shadow).
    public func acquisition(step t: Int) -> (reflectance: [Float], valid: [UInt8]) {
        acquisition(step: t, window: Window(x: 0, y: 0, width: config.width, height: config.height))
    }

    /// Reflectance of one window of one acquisition, `[C=4, h, w]` row-major, and its validity `[h, w]`.
    ///
    /// Every pixel's value depends only on the seed, the step and the pixel, so windows can be made in any order
    /// and a large scene never needs a full-size plane.
    ///
    /// ```swift
    /// let scene = ChangeScene(config: ChangeSceneConfig())
    /// let (reflectance, valid) = scene.acquisition(step: 3, window: Window(x: 0, y: 0, width: 64, height: 32))
    /// ```
    public func acquisition(step t: Int, window: Window) -> (reflectance: [Float], valid: [UInt8]) {
        let w = config.width, plane = window.width * window.height
        var cloudRNG = SeededGenerator.stream(seed: config.seed, UInt64(1000 + t))
        let clouds = CloudMask(width: w, height: config.height, fraction: config.cloudFraction, rng: &cloudRNG)
        var valid = [UInt8](repeating: 1, count: plane)
        var reflectance = [Float](repeating: 0, count: 4 * plane)
        let doy = daysOfYear[t]
        var curves: [LandCover: [Float]] = [:]
        for cover in LandCover.allCases { curves[cover] = Self.phenology(cover, dayOfYear: doy) }
        for row in 0..<window.height {
            let y = window.y + row
            for col in 0..<window.width {
                let x = window.x + col, i = y * w + x, o = row * window.width + col
                if clouds.isCloudy(x: x, y: y) { valid[o] = 0 }
                let cover = (changeStep[i] >= 0 && t >= Int(changeStep[i])) ? coverAfter[i] : coverBefore[i]
                let curve = curves[cover]!
                let grain = 1 + 0.16 * (texture[x, y] - 0.5)
                var rng = SynthSupport.pixelGenerator(seed: config.seed, layer: UInt64(t), index: i)
                for b in 0..<4 {
                    let noise = Float(0.004 * rng.normal())
                    reflectance[b * plane + o] = max(0.0001, min(1, curve[b] * grain + noise))
                }
            }
        }
        return (reflectance, valid)
    }

    /// Mean reflectance of blue, green, red, NIR for a class on a day of the year.
    static func phenology(_ cover: LandCover, dayOfYear doy: Double) -> [Float] {
        // Per band (mean, first-harmonic amplitude, second-harmonic amplitude); `peak` is the class's day φ.
        let peak: Double, bands: [(Double, Double, Double)]
        switch cover {
        case .forest: (peak, bands) = (200, [(0.03, 0.005, 0), (0.05, 0.01, 0), (0.03, -0.008, 0), (0.30, 0.08, 0.01)])
        case .cropland: (peak, bands) = (190, [(0.06, -0.01, 0), (0.08, 0.02, 0.005), (0.10, -0.05, 0.01), (0.25, 0.15, 0.04)])
        case .grassland: (peak, bands) = (160, [(0.05, 0, 0), (0.08, 0.015, 0), (0.07, -0.025, 0), (0.25, 0.07, 0.02)])
        case .water: (peak, bands) = (180, [(0.07, 0.005, 0), (0.06, 0.005, 0), (0.03, 0.003, 0), (0.012, 0.002, 0)])
        case .urban: (peak, bands) = (180, [(0.12, 0.005, 0), (0.13, 0.005, 0), (0.15, 0.005, 0), (0.20, 0.01, 0)])
        }
        let omega = 2 * Double.pi / 365.25
        let phase = omega * (doy - peak)
        return bands.map { m, a1, a2 in Float(m + a1 * cos(phase) + a2 * cos(2 * phase)) }
    }
}

/// Nearest-point queries over points scattered on a `width × height` plane, by square buckets.
struct SeedIndex {
    private let points: [(x: Double, y: Double)]
    private let bucketSize: Double
    private let columns: Int, rows: Int
    private var buckets: [[Int]]

    init(points: [(x: Double, y: Double)], width: Int, height: Int) {
        self.points = points
        // About two points per bucket.
        bucketSize = max(1, (Double(width * height) / Double(max(1, points.count)) * 2).squareRoot())
        columns = max(1, Int((Double(width) / bucketSize).rounded(.up)))
        rows = max(1, Int((Double(height) / bucketSize).rounded(.up)))
        buckets = Array(repeating: [], count: columns * rows)
        for (i, p) in points.enumerated() { buckets[bucket(p.x, p.y)].append(i) }
    }

    private func clampedColumn(_ x: Double) -> Int { min(columns - 1, max(0, Int((x / bucketSize).rounded(.down)))) }
    private func clampedRow(_ y: Double) -> Int { min(rows - 1, max(0, Int((y / bucketSize).rounded(.down)))) }
    private func bucket(_ x: Double, _ y: Double) -> Int { clampedRow(y) * columns + clampedColumn(x) }

    /// Index of the point nearest to (x, y); among equally near points the lowest index.
    func nearest(_ x: Double, _ y: Double) -> Int {
        let cx = clampedColumn(x), cy = clampedRow(y)
        var best = -1, bestDistance = Double.infinity
        var ring = 0
        while true {
            for by in (cy - ring)...(cy + ring) where by >= 0 && by < rows {
                for bx in (cx - ring)...(cx + ring) where bx >= 0 && bx < columns {
                    // Only the ring's border: inner buckets were searched before.
                    guard abs(by - cy) == ring || abs(bx - cx) == ring else { continue }
                    for i in buckets[by * columns + bx] {
                        let d = (points[i].x - x) * (points[i].x - x) + (points[i].y - y) * (points[i].y - y)
                        if d < bestDistance || (d == bestDistance && i < best) { bestDistance = d; best = i }
                    }
                }
            }
            // Every point outside the searched square lies farther than its border, at least `ring` buckets
            // (minus the query's offset inside its own bucket) away; a query outside the plane adds its distance.
            let outside = max(0, -x, x - Double(columns) * bucketSize, -y, y - Double(rows) * bucketSize)
            let reach = Double(ring) * bucketSize - outside
            if best >= 0, reach > 0, bestDistance <= reach * reach { return best }
            if ring > columns + rows { return max(best, 0) }
            ring += 1
        }
    }
}
