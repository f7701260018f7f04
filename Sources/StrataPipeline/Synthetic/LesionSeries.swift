import Foundation
import StrataCore

/// Settings of the synthetic lesion follow-up study. Defaults are what `strata synth lesions` uses.
public struct LesionSeriesConfig: Sendable {
    public var patients = 3
    /// Voxels along x (columns), y (rows), z (slices).
    public var width = 48
    public var height = 48
    public var depth = 24
    /// Voxel size in mm along x, y, z.
    public var spacing = Spacing(x: 1, y: 1, z: 3)
    /// Scans per patient, one every `intervalDays` from `firstDate`.
    public var timepoints = 5
    public var intervalDays = 91
    public var firstDate = "2023-01-16"
    /// Standard deviation of the Rician noise (both quadrature channels), in image units (white matter ≈ 0.75).
    public var noiseSigma = 0.03
    public var seed: UInt64 = 1

    public init() {}
}

/// How a lesion's size evolves over the scans.
public enum LesionCourse: String, Sendable, Codable, CaseIterable {
    /// Present from the first scan, shrinks and is gone before the last.
    case vanishing
    /// Absent at first, appears and grows.
    case appearing
    /// One of a pair that grow into each other (their labels touch from some scan on).
    case merging
    /// Grows to a peak halfway and shrinks again.
    case growingThenShrinking = "growing_then_shrinking"
    /// Present throughout at a nearly constant size.
    case stable
}

/// One lesion: a soft-edged ellipsoid at a fixed place whose radii are scaled by ``sizeFactor`` per scan.
public struct Lesion: Sendable, Equatable {
    /// Label id, 1..., the same in every scan.
    public var id: Int
    public var course: LesionCourse
    /// Centre in mm from the volume centre (x, y, z).
    public var centreMM: [Double]
    /// Semi-axes in mm at full size (x, y, z).
    public var radiiMM: [Double]
    /// Radius scale per scan, 0 = absent.
    public var sizeFactor: [Double]
}

/// One patient's series: an ellipsoidal brain with smooth tissue classes, a bias field, Rician noise, and lesions.
///
/// Generative model (datasets/README.md, scenario `lesions`), in mm from the volume centre:
/// - brain: ellipsoid of semi-axes ≈ 0.42·W, 0.46·H, 0.42·D voxel extents (±5 % per patient) with a gyral wobble
///   of the cortex boundary; white matter 0.75 inside normalised radius 0.78, grey matter 0.55 outside it, two CSF
///   ventricles 0.15, background 0; class edges are sigmoids about 1 mm wide;
/// - lesions: intensity 1.1, soft edge `m = 1/(1 + exp(−(1 − r) · R / 0.6 mm))` for normalised ellipsoid radius r
///   and mean semi-axis R; a voxel's label is the lesion of largest `m` when that `m` ≥ 0.5 (r ≤ 1);
/// - bias field `exp(β·(x/A, y/B, z/C, (x/A)²))`, β ~ N(0, 0.08) per patient + N(0, 0.02) per scan;
/// - Rician noise: `|s·bias + σ(n₁ + i n₂)|`.
public struct LesionSeries: Sendable {
    public let config: LesionSeriesConfig
    /// 1-based patient number (`patient_001` ...).
    public let patient: Int
    public let lesions: [Lesion]
    private let brainAxes: [Double]
    private let wobblePhases: [Double]
    private let bias: [[Double]]

    public init(config: LesionSeriesConfig, patient: Int) {
        self.config = config
        self.patient = patient
        var rng = SeededGenerator.stream(seed: config.seed, UInt64(patient))
        let s = config.spacing
        let extent = [Double(config.width) * s.x, Double(config.height) * s.y, Double(config.depth) * s.z]
        let scale = 1 + 0.05 * rng.normal()
        let axes = [0.42 * extent[0] * scale, 0.46 * extent[1] * scale, 0.42 * extent[2] * scale]
        brainAxes = axes
        wobblePhases = [rng.uniform(0, 2 * Double.pi), rng.uniform(0, 2 * Double.pi)]
        let patientBias = (0..<4).map { _ in 0.08 * rng.normal() }
        bias = (0..<config.timepoints).map { _ in patientBias.map { $0 + 0.02 * rng.normal() } }

        // Lesions live in white matter (normalised radius < 0.55); sizes scale with the brain.
        let size = min(axes[0], axes[1]) / 20
        let T = config.timepoints
        func place() -> [Double] {
            let r = 0.5 * rng.uniform().squareRoot(), a = rng.uniform(0, 2 * Double.pi)
            return [r * cos(a) * axes[0], r * sin(a) * axes[1], rng.uniform(-0.3, 0.3) * axes[2]]
        }
        func radii() -> [Double] {
            [rng.uniform(2.5, 4.5) * size, rng.uniform(2.5, 4.5) * size, max(rng.uniform(3, 6) * size, 1.5 * s.z)]
        }
        var list: [Lesion] = []
        // Vanishing: full size at the first scan, gone from scan `gone` on.
        let gone = Int.random(in: max(1, T / 2)...(T - 1), using: &rng)
        list.append(Lesion(id: 1, course: .vanishing, centreMM: place(), radiiMM: radii(),
                              sizeFactor: (0..<T).map { $0 >= gone ? 0 : 1 - 0.8 * Double($0) / Double(gone) }))
        // Appearing: first seen at scan `onset`, full size at the last scan.
        let onset = Int.random(in: 1...max(1, T - 2), using: &rng)
        list.append(Lesion(id: 2, course: .appearing, centreMM: place(), radiiMM: radii(),
                              sizeFactor: (0..<T).map { $0 < onset ? 0 : 0.5 + 0.5 * Double($0 - onset) / Double(max(1, T - 1 - onset)) }))
        // A merging pair along x: their gap closes as both grow to full size by the last scan.
        let centre = place(), r = radii()
        let separation = 1.7 * r[0]
        let growth = (0..<T).map { 0.45 + 0.55 * Double($0) / Double(max(1, T - 1)) }
        list.append(Lesion(id: 3, course: .merging, centreMM: [centre[0] - separation / 2, centre[1], centre[2]],
                              radiiMM: r, sizeFactor: growth))
        list.append(Lesion(id: 4, course: .merging, centreMM: [centre[0] + separation / 2, centre[1], centre[2]],
                              radiiMM: r, sizeFactor: growth))
        // One or two more, growing then shrinking or stable.
        for id in 5..<(5 + Int.random(in: 1...2, using: &rng)) {
            let course: LesionCourse = rng.uniform() < 0.5 ? .growingThenShrinking : .stable
            let factor: [Double] = (0..<T).map { t in
                course == .stable ? 0.9 + 0.05 * rng.normal()
                    : 0.4 + 0.6 * sin(Double.pi * (Double(t) + 0.5) / Double(T))
            }
            list.append(Lesion(id: id, course: course, centreMM: place(), radiiMM: radii(), sizeFactor: factor))
        }
        lesions = list
    }

    /// mm from the volume centre of voxel (x, y, z).
    func position(_ x: Int, _ y: Int, _ z: Int) -> [Double] {
        let s = config.spacing
        return [(Double(x) - Double(config.width - 1) / 2) * s.x, (Double(y) - Double(config.height - 1) / 2) * s.y,
                (Double(z) - Double(config.depth - 1) / 2) * s.z]
    }

    /// Position of voxel (0, 0, 0) in mm (x, y, z), so that the volume is centred on the scanner origin.
    public var originMM: [Double] { position(0, 0, 0) }

    /// The scan (image units, white matter ≈ 0.75) and the label volume of scan `t`, each `[D, H, W]` row-major.
    ///
    /// ```swift
    /// let series = LesionSeries(config: LesionSeriesConfig(), patient: 1)
    /// let (image, labels) = series.scan(timepoint: 0)   // 24·48·48 values each
    /// ```
    public func scan(timepoint t: Int) -> (image: [Float], labels: [UInt8]) {
        let (w, h, d) = (config.width, config.height, config.depth)
        var image = [Float](repeating: 0, count: w * h * d)
        var labels = [UInt8](repeating: 0, count: w * h * d)
        var rng = SeededGenerator.stream(seed: config.seed, UInt64(patient) << 20 | UInt64(t))
        let (A, B, C) = (brainAxes[0], brainAxes[1], brainAxes[2])
        let meanAxis = (A + B + C) / 3
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        for z in 0..<d {
            for y in 0..<h {
                for x in 0..<w {
                    let p = position(x, y, z)
                    let rho = ((p[0] / A) * (p[0] / A) + (p[1] / B) * (p[1] / B) + (p[2] / C) * (p[2] / C)).squareRoot()
                    let angle = atan2(p[1] / B, p[0] / A)
                    let wobble = 0.04 * sin(7 * angle + wobblePhases[0]) * cos(3 * Double.pi * p[2] / C + wobblePhases[1])
                    // Edge widths ≈ 1 mm: (distance in normalised radius) × (mean semi-axis in mm).
                    let inBrain = sigmoid((1 - rho) * meanAxis / 1.0)
                    let white = sigmoid((0.78 + wobble - rho) * meanAxis / 1.0)
                    var tissue = 0.55 + 0.20 * white
                    for side in [-1.0, 1.0] {
                        let vx = (p[0] - side * 0.12 * A) / (0.07 * A), vy = (p[1] + 0.05 * B) / (0.22 * B)
                        let vz = p[2] / (0.25 * C)
                        let r = (vx * vx + vy * vy + vz * vz).squareRoot()
                        tissue = tissue + (0.15 - tissue) * sigmoid((1 - r) * 0.1 * A / 1.0)
                    }
                    var signal = inBrain * tissue
                    var best = 0, bestMembership = 0.0
                    for lesion in lesions {
                        let f = lesion.sizeFactor[t]
                        guard f > 0 else { continue }
                        let r = lesion.radiiMM.map { $0 * f }
                        let q = (0..<3).map { (p[$0] - lesion.centreMM[$0]) / r[$0] }
                        let rn = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).squareRoot()
                        guard rn < 3 else { continue }
                        let m = sigmoid((1 - rn) * (r[0] + r[1] + r[2]) / 3 / 0.6)
                        if m > bestMembership { bestMembership = m; best = lesion.id }
                    }
                    if bestMembership > 0 { signal += (1.1 - signal) * bestMembership * inBrain }
                    if bestMembership >= 0.5, inBrain >= 0.5 { labels[(z * h + y) * w + x] = UInt8(best) }
                    let b = bias[t]
                    let field = exp(b[0] * p[0] / A + b[1] * p[1] / B + b[2] * p[2] / C + b[3] * (p[0] / A) * (p[0] / A))
                    let re = signal * field + config.noiseSigma * rng.normal(), im = config.noiseSigma * rng.normal()
                    image[(z * h + y) * w + x] = Float((re * re + im * im).squareRoot())
                }
            }
        }
        return (image, labels)
    }
}
