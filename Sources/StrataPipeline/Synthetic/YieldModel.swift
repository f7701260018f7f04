import Foundation
import StrataCore

/// Crops of the yield scenario, with the coefficients of the documented yield function (datasets/README.md).
///
/// Per pixel p of a field of crop c: `yield(p) = a_c · I(p) · (1 + b_c · (GDD_end(p) − G_ref) / G_ref) + ε_field`,
/// where `I(p)` is the trapezoidal integral of the written NDVI over the season's acquisition dates (NDVI·days),
/// `GDD_end(p)` the growing degree days (°C·day) band of the last acquisition, `G_ref` = ``referenceGDD``, and
/// `ε_field ~ N(0, σ_c)` one draw per field (management, soil). The field's yield is the mean over its pixels.
///
/// ```swift
/// let crop = YieldCrop.maize
/// let y = crop.yieldTonnesPerHectare(integratedNDVI: 90, finalGDD: 1200)   // before the field's noise term
/// ```
public enum YieldCrop: String, CaseIterable, Sendable, Codable {
    case wheat, maize, soybean

    /// G_ref, °C·day (base 10 °C) accumulated over a typical season.
    public static let referenceGDD = 1100.0

    /// a_c: t/ha per NDVI·day.
    public var tonnesPerNDVIDay: Double {
        switch self {
        case .wheat: return 0.085
        case .maize: return 0.12
        case .soybean: return 0.042
        }
    }

    /// b_c: relative yield change per relative GDD excess (maize gains from heat, wheat suffers from it).
    public var heatSensitivity: Double {
        switch self {
        case .wheat: return -0.4
        case .maize: return 0.5
        case .soybean: return 0.3
        }
    }

    /// σ_c of the per-field noise term, t/ha.
    public var fieldNoiseTonnesPerHectare: Double {
        switch self {
        case .wheat: return 0.4
        case .maize: return 0.6
        case .soybean: return 0.25
        }
    }

    /// Start and end of greening (day of year) of the double-logistic canopy cover (the days of half cover).
    /// Central European calendars: winter wheat is green from spring and senesces in early July; maize (sown late
    /// April) reaches half cover in mid June, soybean (sown mid May, slower to close its rows) in early July.
    var greening: (start: Double, end: Double) {
        switch self {
        case .wheat: return (95, 185)
        case .maize: return (160, 255)
        case .soybean: return (185, 258)
        }
    }

    /// NIR reflectance gained per unit of canopy cover: a broadleaf, planophile soybean canopy reflects more NIR
    /// than the erect leaves of maize or wheat (the contrast crop-type mappers use in summer).
    var nirPerCover: Double {
        switch self {
        case .wheat: return 0.32
        case .maize: return 0.30
        case .soybean: return 0.40
        }
    }

    /// Yield in t/ha before the field's noise term: `a_c · I · (1 + b_c (GDD_end − G_ref)/G_ref)`.
    public func yieldTonnesPerHectare(integratedNDVI: Double, finalGDD: Double) -> Double {
        tonnesPerNDVIDay * integratedNDVI * (1 + heatSensitivity * (finalGDD - Self.referenceGDD) / Self.referenceGDD)
    }

    /// Trapezoidal integral of NDVI over days (NDVI·days): `Σ (n_t + n_{t+1}) / 2 · (d_{t+1} − d_t)`.
    public static func integrate(ndvi: [Double], days: [Double]) -> Double {
        var total = 0.0
        for t in 0..<max(0, ndvi.count - 1) {
            let mean: Double = (ndvi[t] + ndvi[t + 1]) / 2
            total += mean * (days[t + 1] - days[t])
        }
        return total
    }
}

/// A field: a convex quadrilateral in pixel coordinates (x right, y down), its crop and its management draws.
public struct YieldField: Sendable {
    public var id: Int
    public var crop: YieldCrop
    /// Corners in pixel units, counter-clockwise on the map (x east, y north), not closed.
    public var corners: [(x: Double, y: Double)]
    /// Canopy vigour multiplier (≈ N(1, 0.08)).
    public var vigour: Double
    /// Shift of the crop's greening dates, days.
    public var sowingShiftDays: Double
    /// ε_field, t/ha.
    public var noiseTonnesPerHectare: Double

    /// True when the pixel centre (x + 0.5, y + 0.5) lies inside the polygon (even–odd rule).
    func contains(pixelX x: Int, pixelY y: Int) -> Bool {
        let px = Double(x) + 0.5, py = Double(y) + 0.5
        var inside = false
        var j = corners.count - 1
        for i in corners.indices {
            let a = corners[i], b = corners[j]
            if (a.y > py) != (b.y > py), px < (b.x - a.x) * (py - a.y) / (b.y - a.y) + a.x { inside.toggle() }
            j = i
        }
        return inside
    }
}

/// Temperature and growing degree days: `T(d, p) = 12 + 10 sin(2π (doy − 105) / 365) + Δ_season + ΔT(p)` °C, and
/// GDD at an acquisition = `Σ max(0, T − 10)` over the days from the first acquisition up to (not including) it.
struct GrowingDegreeDays {
    /// Cumulative GDD for each step, tabulated against the pixel's temperature offset from −8 to +8 °C in
    /// 0.01 °C steps (linear interpolation between entries differs from the sum by far less than 0.01 °C·day).
    private let table: [[Double]]
    static let offsetRange = (low: -8.0, high: 8.0, step: 0.01)

    init(firstDayOfYear: Int, stepDays: [Int], seasonAnomaly: Double) {
        let n = Int((Self.offsetRange.high - Self.offsetRange.low) / Self.offsetRange.step) + 1
        let lastDay = stepDays.last ?? 0
        let daily = (0..<max(1, lastDay)).map { d -> Double in
            let doy = Double(firstDayOfYear + d)
            return 12 + 10 * sin(2 * Double.pi * (doy - 105) / 365) + seasonAnomaly
        }
        table = stepDays.map { day in
            (0..<n).map { k in
                let offset = Self.offsetRange.low + Double(k) * Self.offsetRange.step
                return daily.prefix(day).reduce(0) { $0 + max(0, $1 + offset - 10) }
            }
        }
    }

    /// GDD (°C·day) at step `t` for a pixel whose temperature is `offset` °C above the regional curve.
    func value(step t: Int, offset: Double) -> Double {
        let f = (min(max(offset, Self.offsetRange.low), Self.offsetRange.high) - Self.offsetRange.low)
            / Self.offsetRange.step
        let k = min(Int(f), table[t].count - 2), w = f - Double(k)
        return table[t][k] * (1 - w) + table[t][k + 1] * w
    }
}
