import Foundation

/// One line of `strata bench predict --json`: one model over one stack size. The peer
/// (`scripts/peers/rasterio_predict.py`) prints the same keys with `framework` "pytorch-rasterio".
public struct PredictBenchResult: Codable, Sendable {
    /// "strata" here.
    public var framework = "strata"
    /// ``PredictBenchModel`` name: "convlstm" or "pixel".
    public var model: String
    /// Image side in pixels (the image is size × size), time steps and bands per step.
    public var size: Int
    public var dates: Int
    public var bands: Int
    /// Tile side and overlap in pixels, and the number of tiles read.
    public var tile: Int
    public var overlap: Int
    public var tiles: Int
    /// Compute threads (STRATA_THREADS of the child; all cores when not set).
    public var threads: Int
    /// Output sample type ("float32", "int16", "uint8").
    public var dtype: String
    /// Seconds from opening the inputs to the closed output (the job's own clock).
    public var seconds: Double
    /// Wall-clock seconds of the whole child process: start-up, checks, prediction, exit.
    public var processSeconds: Double
    /// size² / 10⁶ / seconds.
    public var megapixelsPerSecond: Double
    /// Peak resident set of the child, MiB (its VmHWM, via `wait4`'s `ru_maxrss`).
    public var peakRSSMiB: Double
    /// The job's own buffers by the formula in docs/prediction.md ("Memory"), MiB.
    public var jobBufferMiB: Double
    /// GDAL_CACHEMAX given to the child, MiB.
    public var gdalCacheMiB: Int
    /// 1-minute load average when the run started (/proc/loadavg): the machine is shared.
    public var loadAverage: Double
    /// The prediction written (kept, so it can be compared with the peer's).
    public var output: String

    enum CodingKeys: String, CodingKey {
        case framework, model, size, dates, bands, tile, overlap, tiles, threads, dtype, seconds, output
        case processSeconds = "process_seconds", megapixelsPerSecond = "megapixels_per_second"
        case peakRSSMiB = "peak_rss_mib", jobBufferMiB = "job_buffer_mib", gdalCacheMiB = "gdal_cache_mib"
        case loadAverage = "load_average"
    }

    /// One JSON object on one line, keys sorted.
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// A row of the human-readable table (see ``tableHeader``).
    public var tableRow: String {
        pad(model, 10) + pad("\(size)", 8, right: true) + pad("\(tile)", 6, right: true)
            + pad("\(threads)", 9, right: true) + pad(String(format: "%.1f", seconds), 10, right: true)
            + pad(String(format: "%.3f", megapixelsPerSecond), 9, right: true)
            + pad(String(format: "%.0f", peakRSSMiB), 9, right: true)
            + pad(String(format: "%.0f", jobBufferMiB), 12, right: true)
            + pad(String(format: "%.2f", loadAverage), 7, right: true)
    }

    /// Column titles for ``tableRow``.
    public static let tableHeader = pad("model", 10) + pad("size", 8, right: true) + pad("tile", 6, right: true)
        + pad("threads", 9, right: true) + pad("seconds", 10, right: true) + pad("Mpx/s", 9, right: true)
        + pad("RSS MiB", 9, right: true) + pad("buffers MiB", 12, right: true) + pad("load", 7, right: true)
}

private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}
