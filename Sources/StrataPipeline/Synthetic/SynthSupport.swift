import Foundation
import StrataCore

/// Calendar arithmetic for the synthetic scenarios, in UTC on the proleptic Gregorian calendar.
enum SynthCalendar {
    static let utc = TimeZone(identifier: "UTC")!

    /// Seconds since 1970 of an ISO 8601 date (`2024-06-01`) or date-time (`2024-06-01T12:00:00Z`).
    static func seconds(_ iso: String) throws -> Double {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = utc
        formatter.formatOptions = iso.count <= 10 ? [.withFullDate] : [.withInternetDateTime]
        guard let date = formatter.date(from: iso) else {
            throw StrataError.invalidArgument(name: "first date", reason: "'\(iso)' is not an ISO 8601 date "
                + "(YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SSZ)")
        }
        return date.timeIntervalSince1970
    }

    private static func components(_ seconds: Double) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                       from: Date(timeIntervalSince1970: seconds))
    }

    /// `YYYY-MM-DD`.
    static func isoDate(_ seconds: Double) -> String {
        let c = components(seconds)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    static func isoDateTime(_ seconds: Double) -> String {
        let c = components(seconds)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!,
                      c.second!)
    }

    /// `YYYYMMDD`, as in file names.
    static func compactDate(_ seconds: Double) -> String {
        isoDate(seconds).replacingOccurrences(of: "-", with: "")
    }

    /// `YYYYMMDDTHHMMSS`, as in Sentinel-2 file names (the form Strata's file-name dating reads with a time).
    static func compactDateTime(_ seconds: Double) -> String {
        let c = components(seconds)
        return String(format: "%04d%02d%02dT%02d%02d%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// `YYYY:MM:DD HH:MM:SS`, the TIFF 6.0 `DateTime` tag format.
    static func tiffDateTime(_ seconds: Double) -> String {
        let c = components(seconds)
        return String(format: "%04d:%02d:%02d %02d:%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!,
                      c.second!)
    }

    /// Day of the year, 1...366.
    static func dayOfYear(_ seconds: Double) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc
        return calendar.ordinality(of: .day, in: .year, for: Date(timeIntervalSince1970: seconds)) ?? 1
    }
}

/// Helpers shared by the scenario writers: grids, windows, folders, per-pixel random numbers.
enum SynthSupport {
    /// A north-up grid in UTM zone 33N (EPSG:32633) with its top-left corner at (`east`, `north`) metres.
    static func utm33Grid(width: Int, height: Int, pixelSizeMetres: Double, east: Double = 500_000,
                          north: Double = 5_200_000) -> Grid {
        Grid(width: width, height: height, geoTransform: [east, pixelSizeMetres, 0, north, 0, -pixelSizeMetres],
             crs: CRS(wkt: "", epsg: 32633))
    }

    /// Square tiles of `tile` pixels (smaller at the right and bottom edges) covering the grid, row by row.
    ///
    /// 256 matches the GeoTIFF writer's blocks, so each tile fills whole blocks and memory stays bounded by the
    /// tile, never the image.
    static func tiles(width: Int, height: Int, tile: Int = 256) -> [Window] {
        stride(from: 0, to: height, by: tile).flatMap { y in
            stride(from: 0, to: width, by: tile).map { x in
                Window(x: x, y: y, width: min(tile, width - x), height: min(tile, height - y))
            }
        }
    }

    /// Creates `directory` (and parents) and returns its standardised path.
    static func makeDirectory(_ directory: String) throws -> String {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StrataError.outputNotWritable(path: directory, reason: error.localizedDescription)
        }
        return (directory as NSString).standardizingPath
    }

    /// Writes `data` to `path` atomically (Foundation writes a temporary file and renames it).
    static func writeFile(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw StrataError.outputNotWritable(path: path, reason: error.localizedDescription)
        }
    }

    /// Pretty, key-sorted JSON, so that the same content always gives the same bytes.
    static func json<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(value) + Data("\n".utf8)
    }

    /// A generator for one pixel (or voxel) of one layer: the same numbers whatever order windows are made in.
    static func pixelGenerator(seed: UInt64, layer: UInt64, index: Int) -> SeededGenerator {
        SeededGenerator.stream(seed: seed ^ (layer &* 0x9E37_79B9_7F4A_7C15), UInt64(index))
    }

    /// Float32 tensor `[C, h, w]` from band-sequential values.
    static func tensor(bands: Int, window: Window, values: [Float]) -> Tensor {
        Tensor(shape: [bands, window.height, window.width], values: values)
    }
}

/// Clouds and their shadows for one acquisition: thresholded correlated noise, shadows offset by (6, 4) pixels.
///
/// The threshold is the `1 − fraction` quantile of the noise, taken over every pixel of grids up to 256 × 256 and
/// over a regular 256 × 256 sample of larger ones, so a window can be masked without generating the whole scene.
struct CloudMask {
    let noise: ValueNoise
    let threshold: Float
    /// Shadow offset in pixels (sun from the north-west): a cloud at (x, y) shades (x + 6, y + 4).
    static let shadowOffset = (x: 6, y: 4)

    init(width: Int, height: Int, fraction: Double, scale: Double = 20, rng: inout SeededGenerator) {
        let noise = ValueNoise(width: width, height: height, scale: scale, octaves: 3, rng: &rng)
        self.noise = noise
        guard fraction > 0 else {
            threshold = .infinity
            return
        }
        let sample: [Float]
        if width * height <= 65_536 {
            sample = noise.values
        } else {
            let nx = min(width, 256), ny = min(height, 256)
            sample = (0..<ny).flatMap { j in
                (0..<nx).map { i in noise[i * width / nx, j * height / ny] }
            }
        }
        let sorted = sample.sorted()
        threshold = sorted[min(sorted.count - 1, Int(Double(sorted.count) * (1 - fraction)))]
    }

    /// True when pixel (x, y) is under a cloud or its shadow.
    func isCloudy(x: Int, y: Int) -> Bool {
        if noise[x, y] >= threshold { return true }
        let sx = x - Self.shadowOffset.x, sy = y - Self.shadowOffset.y
        return sx >= 0 && sy >= 0 && noise[sx, sy] >= threshold
    }
}
