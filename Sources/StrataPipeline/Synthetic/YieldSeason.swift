import Foundation
import StrataCore
import StrataIO

/// Settings of the synthetic crop-yield season. Defaults are what `strata synth yield` uses.
public struct YieldSeasonConfig: Sendable {
    public var width = 128
    public var height = 128
    /// Acquisitions, one every `intervalDays` from `firstDate`.
    public var steps = 14
    public var intervalDays = 12
    public var firstDate = "2024-04-01"
    /// Pixel size in metres (UTM zone 33N, EPSG:32633).
    public var pixelSizeMetres = 10.0
    public var fields = 12
    /// Fraction of each acquisition under cloud (shadows come on top), written as nodata.
    public var cloudFraction = 0.1
    public var seed: UInt64 = 1

    public init() {}
}

/// A growing season over crop fields: dated rasters of NDVI, EVI, blue, red, NIR and growing degree days, with
/// yield truth per pixel and per field from the documented function ``YieldCrop`` describes.
///
/// Generative model (datasets/README.md, scenario `yield`):
/// - fields: a jittered grid of convex quadrilaterals separated by hedges, crops drawn among wheat, maize, soybean;
/// - canopy cover `fc = vigour_f · grain(p) · DL(doy)`, a double-logistic greening and senescence per crop shifted
///   by the field's sowing date; hedges and grass between fields follow a mild seasonal curve;
/// - reflectance `blue = 0.07 − 0.04 fc`, `red = 0.13 − 0.10 fc`, `NIR = 0.18 + k_c fc` (k_c 0.32 wheat and
///   grass, 0.30 maize, 0.40 soybean), each plus N(0, 0.004);
///   `NDVI = (NIR − red)/(NIR + red)`, `EVI = 2.5 (NIR − red)/(NIR + 6 red − 7.5 blue + 1)`;
/// - temperature with a regional seasonal curve, a season anomaly and a smooth ±3 °C spatial offset; GDD band;
/// - clouds and shadows as nodata (the yield uses every date, clouds are only what the sensor misses).
public struct YieldSeason: Sendable {
    public let config: YieldSeasonConfig
    public let fields: [YieldField]
    /// Seconds since 1970 of each acquisition.
    public let stepSeconds: [Double]
    /// Days since the first acquisition, per acquisition.
    public let stepDays: [Double]
    public static let bandNames = ["NDVI", "EVI", "blue reflectance", "red reflectance", "NIR reflectance",
                                   "growing degree days since the first acquisition (degC day, base 10 degC)"]
    private let columns: Int, rows: Int
    private let grain: ValueNoise
    private let elevation: ValueNoise
    private let gdd: GrowingDegreeDays
    private let daysOfYear: [Double]

    public init(config: YieldSeasonConfig) throws {
        self.config = config
        let w = config.width, h = config.height
        // Fields sit in a grid of cells as square as the raster allows; each cell needs at least 6 × 6 pixels.
        let columns = max(1, Int((Double(config.fields) * Double(w) / Double(h)).squareRoot().rounded(.up)))
        let rows = (config.fields + columns - 1) / columns
        self.columns = columns
        self.rows = rows
        guard w / columns >= 6, h / rows >= 6 else {
            throw StrataError.invalidArgument(name: "--fields", reason: "\(config.fields) fields do not fit a "
                + "\(w)x\(h) raster with at least 6x6 pixels each")
        }
        var rng = SeededGenerator.stream(seed: config.seed, 0)
        let cellWidth = Double(w) / Double(columns), cellHeight = Double(h) / Double(rows)
        let margin = max(1, 0.06 * min(cellWidth, cellHeight))
        fields = (0..<config.fields).map { index in
            let x0 = Double(index % columns) * cellWidth, y0 = Double(index / columns) * cellHeight
            func jitter(_ size: Double) -> Double { margin + rng.uniform(0, 0.12 * size) }
            // Top-left, bottom-left, bottom-right, top-right: counter-clockwise once y points north.
            let corners = [(x: x0 + jitter(cellWidth), y: y0 + jitter(cellHeight)),
                           (x: x0 + jitter(cellWidth), y: y0 + cellHeight - jitter(cellHeight)),
                           (x: x0 + cellWidth - jitter(cellWidth), y: y0 + cellHeight - jitter(cellHeight)),
                           (x: x0 + cellWidth - jitter(cellWidth), y: y0 + jitter(cellHeight))]
            let crop = YieldCrop.allCases[Int.random(in: 0..<YieldCrop.allCases.count, using: &rng)]
            return YieldField(id: index + 1, crop: crop, corners: corners, vigour: 1 + 0.08 * rng.normal(),
                              sowingShiftDays: 5 * rng.normal(),
                              noiseTonnesPerHectare: crop.fieldNoiseTonnesPerHectare * rng.normal())
        }
        grain = ValueNoise(width: w, height: h, scale: 5, octaves: 3, rng: &rng)
        elevation = ValueNoise(width: w, height: h, scale: Double(max(w, h)) / 3, octaves: 2, rng: &rng)
        let start = try SynthCalendar.seconds(config.firstDate)
        stepSeconds = (0..<config.steps).map { start + Double($0 * config.intervalDays) * 86_400 }
        stepDays = (0..<config.steps).map { Double($0 * config.intervalDays) }
        daysOfYear = stepSeconds.map { Double(SynthCalendar.dayOfYear($0)) }
        gdd = GrowingDegreeDays(firstDayOfYear: Int(daysOfYear[0]), stepDays: stepDays.map { Int($0) },
                                seasonAnomaly: rng.normal())
    }

    /// Field id (1...) of a pixel, 0 outside every field.
    public func fieldID(x: Int, y: Int) -> Int {
        let column = min(columns - 1, x * columns / config.width), row = min(rows - 1, y * rows / config.height)
        let index = row * columns + column
        guard index < fields.count, fields[index].contains(pixelX: x, pixelY: y) else { return 0 }
        return index + 1
    }

    /// The six bands of every acquisition over one window, `[T][C=6][h·w]`, and validity `[T][h·w]`.
    func season(window: Window) -> (bands: [[[Float]]], valid: [[UInt8]]) {
        let plane = window.pixelCount
        var bands = [[[Float]]](repeating: [[Float]](repeating: [Float](repeating: 0, count: plane), count: 6),
                                count: config.steps)
        var valid = [[UInt8]](repeating: [UInt8](repeating: 1, count: plane), count: config.steps)
        for t in 0..<config.steps {
            var cloudRNG = SeededGenerator.stream(seed: config.seed, UInt64(1000 + t))
            let clouds = CloudMask(width: config.width, height: config.height, fraction: config.cloudFraction,
                                   rng: &cloudRNG)
            let doy = daysOfYear[t]
            for row in 0..<window.height {
                let y = window.y + row
                for col in 0..<window.width {
                    let x = window.x + col, o = row * window.width + col
                    if clouds.isCloudy(x: x, y: y) { valid[t][o] = 0 }
                    let id = fieldID(x: x, y: y)
                    let cover: Double, nirPerCover: Double
                    if id > 0 {
                        let field = fields[id - 1]
                        let (start, end) = field.crop.greening
                        let s = start + field.sowingShiftDays, e = end + field.sowingShiftDays
                        let curve = 1 / (1 + exp(-0.12 * (doy - s))) - 1 / (1 + exp(-0.10 * (doy - e)))
                        cover = field.vigour * (1 + 0.25 * Double(grain[x, y] - 0.5)) * curve
                        nirPerCover = field.crop.nirPerCover
                    } else {
                        cover = (0.45 + 0.15 * sin(2 * Double.pi * (doy - 80) / 365)) * (1 + 0.4 * Double(grain[x, y] - 0.5))
                        nirPerCover = 0.32
                    }
                    let fc = min(1, max(0, cover))
                    var rng = SynthSupport.pixelGenerator(seed: config.seed, layer: UInt64(t),
                                                          index: y * config.width + x)
                    let blue = max(0.005, 0.07 - 0.04 * fc + 0.004 * rng.normal())
                    let red = max(0.005, 0.13 - 0.10 * fc + 0.004 * rng.normal())
                    let nir = max(0.005, 0.18 + nirPerCover * fc + 0.004 * rng.normal())
                    let offset = 6 * (Double(elevation[x, y]) - 0.5)
                    bands[t][0][o] = Float((nir - red) / (nir + red))
                    bands[t][1][o] = Float(2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1))
                    bands[t][2][o] = Float(blue)
                    bands[t][3][o] = Float(red)
                    bands[t][4][o] = Float(nir)
                    bands[t][5][o] = Float(gdd.value(step: t, offset: offset))
                }
            }
        }
        return (bands, valid)
    }

    /// Yield (t/ha) of pixel `o` of a window's season, from the bands as stored (float32), before ε_field.
    func modelYield(crop: YieldCrop, bands: [[[Float]]], pixel o: Int) -> Double {
        let ndvi = bands.map { Double($0[0][o]) }
        return crop.yieldTonnesPerHectare(integratedNDVI: YieldCrop.integrate(ndvi: ndvi, days: stepDays),
                                          finalGDD: Double(bands[config.steps - 1][5][o]))
    }
}
