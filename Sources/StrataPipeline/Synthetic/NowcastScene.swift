import Foundation
import StrataCore
import StrataIO

/// Settings of the synthetic precipitation nowcasting scene. Defaults are what `strata synth nowcast` uses.
public struct NowcastConfig: Sendable {
    public var width = 64
    public var height = 64
    /// Frames, one every `intervalMinutes` from `firstTime`.
    public var steps = 20
    public var intervalMinutes = 10
    public var firstTime = "2024-06-01T12:00:00Z"
    /// Pixel size in metres (a 1 km radar composite grid, UTM zone 33N).
    public var pixelSizeMetres = 1000.0
    /// Forecasting split: frames `0..<inputSteps` are the input, `inputSteps..<steps` the target.
    public var inputSteps = 12
    /// Rain cells alive at a time per 10,000 pixels on grids up to 64 px a side (about 7 in view on the default
    /// 64 × 64 grid); larger grids get wider, proportionally fewer cells.
    public var cellsPer10000Pixels = 16.0
    public var seed: UInt64 = 1
    /// Rain events (``NowcastEvents``): each its own wind and cells on the same grid and times. One is written flat
    /// into the output folder, more into `event_001/` … `event_NNN/`.
    public var events = 1

    public init() {}
}

/// A rain cell: a rotated Gaussian whose peak rate follows `peak · sin(π (t − birth) / lifetime)` (mm/h), so it
/// grows, matures and decays, while the wind carries it.
public struct RainCell: Sendable, Codable, Equatable {
    /// Step at which the cell starts (may be negative: it is already raining at the first frame).
    public var birthStep: Int
    /// Steps from birth to death.
    public var lifetimeSteps: Int
    /// Peak rain rate, mm/h.
    public var peakRateMMPerHour: Double
    /// Gaussian widths along and across its axis, pixels.
    public var sigmaPixels: [Double]
    /// Orientation of its major axis, radians from the +x (east) axis.
    public var angle: Double
    /// Centre (x, y) in pixels at every step `0..<steps`.
    public var track: [[Double]]
}

/// Advecting, growing and decaying precipitation (mm/h) on a grid, with its wind field as truth.
///
/// Generative model (datasets/README.md, scenario `nowcast`):
/// - wind, in pixels per step: `u(x, y) = u₀ + a·sin(2π y / L)`, `v(x, y) = v₀ + a·sin(2π x / L)` with a mean
///   speed of 1.5–3 px/step in a random direction, `a` = 0.3 px/step and `L` the larger side of the grid;
/// - cells are born at random steps and places (upwind of the grid too), and their centres move with the wind at
///   their position (one Euler step per frame); rate `peak · sin(π (t − birth)/lifetime)`, peaks log-normal around
///   8 mm/h, lifetimes 8–20 steps, widths 2–6 px (scaled with the grid);
/// - the frame is the sum of the cells; rates below 0.1 mm/h are set to 0 (dry).
public struct NowcastScene: Sendable {
    public let config: NowcastConfig
    /// Mean wind, pixels per step, (u east, v south: +y is down the rows).
    public let meanWind: (u: Double, v: Double)
    /// Amplitude of the wind's spatial wave, pixels per step.
    public let windWave = 0.3
    public let cells: [RainCell]
    /// Seconds since 1970 of each frame.
    public let stepSeconds: [Double]

    /// The scene of rain event `event` (1-based; stream `event − 1` of the seed, so event 1 is the scene a
    /// single-event run writes).
    public init(config: NowcastConfig, event: Int = 1) throws {
        self.config = config
        var rng = SeededGenerator.stream(seed: config.seed, UInt64(event - 1))
        let speed = rng.uniform(1.5, 3), direction = rng.uniform(0, 2 * Double.pi)
        meanWind = (speed * cos(direction), speed * sin(direction))
        let start = try SynthCalendar.seconds(config.firstTime)
        stepSeconds = (0..<config.steps).map { start + Double($0 * config.intervalMinutes) * 60 }

        let w = Double(config.width), h = Double(config.height), steps = config.steps
        // Cells must be able to drift in from upwind: births are spread over an area extended upwind by the
        // distance the wind covers in the whole run, and over the steps before the first frame.
        let reach = speed * Double(steps) + 10
        let area = (w + reach) * (h + reach)
        // Cells widen with the grid (√ of its size over 64 px) and thin out as their area grows, so that a large
        // grid shows rain systems of plausible size instead of being wet everywhere.
        let sizeScale = max(1, min(w, h) / 64).squareRoot()
        let alive = config.cellsPer10000Pixels * area / 10_000 / (sizeScale * sizeScale)
        let meanLifetime = 14.0
        let count = max(3, Int((alive * Double(steps + 20) / meanLifetime).rounded()))
        var cells: [RainCell] = []
        for _ in 0..<count {
            let lifetime = Int.random(in: 8...20, using: &rng)
            let birth = Int.random(in: (-lifetime + 1)...(steps - 1), using: &rng)
            var x = rng.uniform(-reach, w + reach), y = rng.uniform(-reach, h + reach)
            let peak = 8 * exp(0.6 * rng.normal())
            let sigma = [rng.uniform(2, 6) * sizeScale, rng.uniform(2, 4) * sizeScale]
            let angle = rng.uniform(0, Double.pi)
            // Move the centre from birth to the first frame, then record one position per frame.
            var track: [[Double]] = []
            for t in min(birth, 0)..<steps {
                if t >= 0 { track.append([x, y]) }
                let wind = Self.wind(x: x, y: y, mean: meanWind, wave: windWave, length: max(w, h))
                x += wind.u
                y += wind.v
            }
            cells.append(RainCell(birthStep: birth, lifetimeSteps: lifetime, peakRateMMPerHour: peak,
                                  sigmaPixels: sigma, angle: angle, track: track))
        }
        self.cells = cells
    }

    /// Wind at (x, y) in pixels per step.
    static func wind(x: Double, y: Double, mean: (u: Double, v: Double), wave: Double, length: Double)
        -> (u: Double, v: Double) {
        (mean.u + wave * sin(2 * Double.pi * y / length), mean.v + wave * sin(2 * Double.pi * x / length))
    }

    /// Wind at pixel (x, y), pixels per step.
    public func wind(x: Double, y: Double) -> (u: Double, v: Double) {
        Self.wind(x: x, y: y, mean: meanWind, wave: windWave, length: Double(max(config.width, config.height)))
    }

    /// Rain rate of one cell at step `t`, mm/h at its centre (0 before birth and after death).
    func rate(_ cell: RainCell, step t: Int) -> Double {
        let age = Double(t - cell.birthStep)
        guard age >= 0, age <= Double(cell.lifetimeSteps) else { return 0 }
        return cell.peakRateMMPerHour * sin(Double.pi * age / Double(cell.lifetimeSteps))
    }

    /// Rain rate in mm/h of one window of frame `t`, row-major `[h, w]`.
    ///
    /// ```swift
    /// let scene = try NowcastScene(config: NowcastConfig())
    /// let frame = scene.frame(step: 0, window: Window(x: 0, y: 0, width: 64, height: 64))
    /// ```
    public func frame(step t: Int, window: Window) -> [Float] {
        var out = [Double](repeating: 0, count: window.pixelCount)
        for cell in cells {
            let peak = rate(cell, step: t)
            guard peak > 0 else { continue }
            let cx = cell.track[t][0], cy = cell.track[t][1]
            let radius = 4 * max(cell.sigmaPixels[0], cell.sigmaPixels[1])
            let x0 = max(window.x, Int((cx - radius).rounded(.down))), x1 = min(window.x + window.width, Int(cx + radius) + 1)
            let y0 = max(window.y, Int((cy - radius).rounded(.down))), y1 = min(window.y + window.height, Int(cy + radius) + 1)
            guard x0 < x1, y0 < y1 else { continue }
            let (c, s) = (cos(cell.angle), sin(cell.angle))
            let a = 1 / (cell.sigmaPixels[0] * cell.sigmaPixels[0]), b = 1 / (cell.sigmaPixels[1] * cell.sigmaPixels[1])
            for y in y0..<y1 {
                for x in x0..<x1 {
                    let dx = Double(x) - cx, dy = Double(y) - cy
                    let along = dx * c + dy * s, across = -dx * s + dy * c
                    out[(y - window.y) * window.width + (x - window.x)] += peak * exp(-0.5 * (a * along * along + b * across * across))
                }
            }
        }
        return out.map { $0 < 0.1 ? 0 : Float($0) }
    }

    /// Writes `rain_YYYYMMDDTHHMMSS.tif` per frame, `frames.h5:/precipitation` `[T, H, W]` and `nowcast.json`.
    ///
    /// Frames are generated and written in strips of 256 rows (both files), so memory holds one strip.
    ///
    /// ```swift
    /// let summary = try NowcastScene(config: NowcastConfig()).write(to: "/tmp/nowcast")
    /// summary.counts["frames"]   // 20
    /// ```
    public func write(to directory: String) throws -> SynthSummary {
        let root = try SynthSupport.makeDirectory(directory)
        let grid = SynthSupport.utm33Grid(width: config.width, height: config.height,
                                          pixelSizeMetres: config.pixelSizeMetres)
        let labels = stepSeconds.map(SynthCalendar.isoDateTime)
        let strips = SynthSupport.tiles(width: config.width, height: config.height, tile: 256)
            .filter { $0.x == 0 }.map { Window(x: 0, y: $0.y, width: config.width, height: $0.height) }
        let hdf5 = try HDF5VolumeWriter(path: root + "/frames.h5")
        let shape = VolumeShape(steps: config.steps, channels: 1, depth: 1, height: config.height, width: config.width)
        try hdf5.createDataset("/precipitation", shape: shape, storage: .float32, metadata: VolumeMetadata(
            timeLabels: labels, timeSeconds: stepSeconds.map { $0 - stepSeconds[0] }, bandNames: ["rain rate mm/h"]))
        var files: [String] = []
        var wet = 0, total = 0.0
        for t in 0..<config.steps {
            let name = "rain_\(SynthCalendar.compactDateTime(stepSeconds[t])).tif"
            let writer = try GeoTIFFWriter(
                path: root + "/" + name, grid: grid, bands: 1, sampleType: .float32,
                bandDescriptions: ["rain rate (mm/h)"],
                metadata: ["TIFFTAG_DATETIME": SynthCalendar.tiffDateTime(stepSeconds[t]),
                           "ACQUISITIONDATETIME": labels[t], "UNITS": "mm/h", "SYNTH_SCENARIO": "nowcast",
                           "SYNTH_STEP": String(t), "SYNTH_ROLE": t < config.inputSteps ? "input" : "target"])
            for strip in strips {
                let rain = frame(step: t, window: strip)
                wet += rain.lazy.filter { $0 > 0 }.count
                total += rain.reduce(0) { $0 + Double($1) }
                try writer.write(window: strip, values: SynthSupport.tensor(bands: 1, window: strip, values: rain))
                try hdf5.write(Tensor(shape: [1, 1, 1, strip.height, strip.width], values: rain),
                               to: "/precipitation", firstStep: t,
                               region: VolumeRegion(x: 0, y: strip.y, z: 0, width: strip.width, height: strip.height,
                                                    depth: 1))
            }
            try writer.finish()
            files.append(name)
        }
        try hdf5.finish()
        files.append("frames.h5")

        let metresPerSecond = config.pixelSizeMetres / Double(config.intervalMinutes * 60)
        let truth = NowcastTruth(
            units: "mm/h", timeLabels: labels, intervalMinutes: config.intervalMinutes,
            pixelSizeMetres: config.pixelSizeMetres, crs: "EPSG:32633", geotransform: grid.geoTransform,
            inputSteps: config.inputSteps, targetSteps: config.steps - config.inputSteps,
            meanWindPixelsPerStep: [meanWind.u, meanWind.v],
            meanWindMetresPerSecond: [meanWind.u * metresPerSecond, -meanWind.v * metresPerSecond],
            windWavePixelsPerStep: windWave, windWaveLengthPixels: Double(max(config.width, config.height)),
            cells: cells)
        try SynthSupport.writeFile(try SynthSupport.json(truth), to: root + "/nowcast.json")
        files.append("nowcast.json")
        let pixels = Double(config.width * config.height * config.steps)
        return SynthSummary(scenario: .nowcast, outputDirectory: root, seed: config.seed, files: files,
                            counts: ["frames": Double(config.steps), "input_steps": Double(config.inputSteps),
                                     "cells": Double(cells.count), "wet_fraction": Double(wet) / pixels,
                                     "mean_rate_mm_h": total / pixels])
    }
}

/// `nowcast.json`: the split convention, the wind (x east, y down the rows in pixels; east/north in m/s) and the
/// cells.
struct NowcastTruth: Codable {
    var units: String
    var timeLabels: [String]
    var intervalMinutes: Int
    var pixelSizeMetres: Double
    var crs: String
    var geotransform: [Double]
    var inputSteps: Int
    var targetSteps: Int
    var meanWindPixelsPerStep: [Double]
    var meanWindMetresPerSecond: [Double]
    var windWavePixelsPerStep: Double
    var windWaveLengthPixels: Double
    var cells: [RainCell]
}
