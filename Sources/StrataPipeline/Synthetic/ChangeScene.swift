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
    let texture: [Float]

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
        var before = [LandCover](repeating: .forest, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let px = Double(x) + 16 * Double(warpX[x, y] - 0.5), py = Double(y) + 16 * Double(warpY[x, y] - 0.5)
                var best = 0, bestDistance = Double.infinity
                for (i, s) in seeds.enumerated() {
                    let d = (s.x - px) * (s.x - px) + (s.y - py) * (s.y - py)
                    if d < bestDistance { bestDistance = d; best = i }
                }
                before[y * w + x] = classes[best]
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
        texture = ValueNoise(width: w, height: h, scale: 6, octaves: 3, rng: &rng).values

        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        let start = formatter.date(from: config.firstDate) ?? Date(timeIntervalSince1970: 1_610_236_800)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let stepDates = (0..<config.steps).map { start.addingTimeInterval(Double($0 * config.intervalDays) * 86_400) }
        dates = stepDates.map { formatter.string(from: $0) }
        daysOfYear = stepDates.map { Double(calendar.ordinality(of: .day, in: .year, for: $0) ?? 1) }
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
        let w = config.width, h = config.height, plane = w * h
        var rng = SeededGenerator.stream(seed: config.seed, UInt64(1000 + t))
        let clouds = ValueNoise(width: w, height: h, scale: 20, octaves: 3, rng: &rng)
        // Threshold chosen from this step's own noise so the cloud cover is close to cloudFraction.
        let threshold = clouds.values.sorted()[min(plane - 1, Int(Double(plane) * (1 - config.cloudFraction)))]
        var valid = [UInt8](repeating: 1, count: plane)
        for y in 0..<h {
            for x in 0..<w where clouds[x, y] >= threshold {
                valid[y * w + x] = 0
                let sx = x + 6, sy = y + 4
                if sx < w, sy < h { valid[sy * w + sx] = 0 }
            }
        }
        var reflectance = [Float](repeating: 0, count: 4 * plane)
        let doy = daysOfYear[t]
        var curves: [LandCover: [Float]] = [:]
        for cover in LandCover.allCases { curves[cover] = Self.phenology(cover, dayOfYear: doy) }
        for i in 0..<plane {
            let cover = (changeStep[i] >= 0 && t >= Int(changeStep[i])) ? coverAfter[i] : coverBefore[i]
            let curve = curves[cover]!
            let grain = 1 + 0.16 * (texture[i] - 0.5)
            for b in 0..<4 {
                let noise = Float(0.004 * rng.normal())
                reflectance[b * plane + i] = max(0.0001, min(1, curve[b] * grain + noise))
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
