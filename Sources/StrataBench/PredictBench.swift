import Foundation
import StrataCore
import StrataPipeline

/// What `strata bench predict` measures: models × stack sizes, one tile size.
///
/// ```swift
/// let options = try PredictBenchOptions(sizes: [2000, 5000], models: ["pixel"], folder: "/tmp/bench")
/// ```
public struct PredictBenchOptions: Sendable {
    /// Image sides in pixels (each image is size × size).
    public var sizes: [Int]
    public var models: [PredictBenchModel]
    /// `strata predict --tile`, and `--overlap` (nil: its default, receptive radius + tile / 16).
    public var tile: Int
    public var overlap: Int?
    /// `strata predict --output-dtype`: float32, int16 or uint8 (uint8 is refused by the change task's date band).
    public var dtype: String
    /// Seeds, VRTs, checkpoints and predictions (reused by later runs).
    public var folder: String
    /// STRATA_THREADS for the child (nil: inherit, i.e. all cores unless the caller set it).
    public var threads: Int?
    /// GDAL_CACHEMAX for the child, MiB: caps GDAL's block cache so it does not hide the job's own memory.
    public var gdalCacheMiB: Int

    /// Checks the values given on the command line. Empty `sizes` means 2000; empty `models` means both.
    public init(sizes: [Int] = [], models: [String] = [], tile: Int = 256, overlap: Int? = nil,
                dtype: String = "float32", folder: String, threads: Int? = nil, gdalCacheMiB: Int = 64) throws {
        if let bad = sizes.first(where: { $0 < 16 }) {
            throw StrataError.invalidArgument(name: "--size", reason: "\(bad) is smaller than 16 pixels")
        }
        self.sizes = sizes.isEmpty ? [2000] : sizes
        self.models = try models.isEmpty ? PredictBenchModel.allCases : models.map { name in
            guard let model = PredictBenchModel(rawValue: name) else {
                throw StrataError.invalidArgument(name: "--model", reason: "unknown model '\(name)'; expected "
                    + PredictBenchModel.allCases.map(\.rawValue).joined(separator: " or "))
            }
            return model
        }
        guard tile >= 16 else { throw StrataError.invalidArgument(name: "--tile", reason: "\(tile) is below 16") }
        guard ["float32", "int16", "uint8"].contains(dtype) else {
            throw StrataError.invalidArgument(name: "--output-dtype", reason: "'\(dtype)' is not float32, int16 or uint8")
        }
        if let threads, threads < 1 {
            throw StrataError.invalidArgument(name: "--threads", reason: "\(threads) is not >= 1")
        }
        (self.tile, self.overlap, self.dtype, self.folder) = (tile, overlap, dtype, folder)
        (self.threads, self.gdalCacheMiB) = (threads, gdalCacheMiB)
    }
}

/// Times `strata predict` on large raster stacks (`strata bench predict`): peak memory and megapixels per second.
///
/// For every size and model it writes the stack (``PredictBenchStack``, reused between runs) and the checkpoint
/// (``PredictBenchModel``), then runs `strata predict ... --json` in a fresh child process
/// (``PredictBenchChild``) with `GDAL_CACHEMAX` capped, and reports the child's peak resident set (`ru_maxrss` =
/// VmHWM), the job's seconds and throughput, and the job's buffer bound from docs/prediction.md. One child per
/// measurement, so each peak is that run's alone.
public enum PredictBench {
    /// Measures every size × model in `options`, size-major, calling `report` after each.
    ///
    /// - Parameter executable: the `strata` binary the children run (normally this very process's).
    public static func run(_ options: PredictBenchOptions, executable: String,
                           report: (PredictBenchResult) -> Void) throws {
        let stack = PredictBenchStack(folder: options.folder)
        for size in options.sizes {
            let inputs = try stack.prepare(size: size)
            for model in options.models {
                report(try measure(model, size: size, inputs: inputs, options: options, executable: executable))
            }
        }
    }

    /// Writes the stacks and checkpoints without predicting; returns one JSON line per size × model naming the
    /// checkpoint and the inputs (what the peer and the driver script read).
    public static func prepare(_ options: PredictBenchOptions) throws -> [String] {
        let stack = PredictBenchStack(folder: options.folder)
        var lines: [String] = []
        for size in options.sizes {
            let inputs = try stack.prepare(size: size)
            for model in options.models {
                let checkpoint = checkpointPath(model, options)
                try model.writeCheckpoint(to: checkpoint)
                let object: [String: Any] = ["model": model.rawValue, "size": size, "checkpoint": checkpoint,
                                             "inputs": inputs]
                let data = try JSONSerialization.data(withJSONObject: object,
                                                      options: [.sortedKeys, .withoutEscapingSlashes])
                lines.append(String(decoding: data, as: UTF8.self))
            }
        }
        return lines
    }

    static func checkpointPath(_ model: PredictBenchModel, _ options: PredictBenchOptions) -> String {
        options.folder + "/\(model.rawValue).safetensors"
    }

    static func measure(_ model: PredictBenchModel, size: Int, inputs: [String], options: PredictBenchOptions,
                        executable: String) throws -> PredictBenchResult {
        let checkpoint = checkpointPath(model, options)
        try model.writeCheckpoint(to: checkpoint)
        let name = "\(options.folder)/\(size)/strata_\(model.rawValue)_\(options.tile)"
        var arguments = ["predict", "--checkpoint", checkpoint, "--input"] + inputs
            + ["--out", name + ".tif", "--tile", "\(options.tile)", "--output-dtype", options.dtype, "--json"]
        if let overlap = options.overlap { arguments += ["--overlap", "\(overlap)"] }
        var environment = ["GDAL_CACHEMAX": "\(options.gdalCacheMiB)"]
        if let threads = options.threads { environment["STRATA_THREADS"] = "\(threads)" }
        let load = loadAverage()
        let outcome = try PredictBenchChild.run(executable, arguments, environment: environment, logPrefix: name)
        guard outcome.status == 0 else {
            throw StrataError.invalidArgument(name: "bench predict", reason: "strata predict (\(model.rawValue), "
                + "\(size) px) exited with status \(outcome.status): "
                + outcome.standardError.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // `strata predict --json` prints PredictionJob.Result with snake_case keys (docs/cli.md).
        guard let job = try? JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any],
              let summary = job["summary"] as? [String: Any],
              let steps = job["steps"] as? Int, let channels = job["channels"] as? Int,
              let width = summary["width"] as? Int, let height = summary["height"] as? Int,
              let tile = summary["tile"] as? Int, let overlap = summary["overlap"] as? Int,
              let tiles = summary["tiles"] as? Int, let outputs = summary["output_names"] as? [String],
              let seconds = summary["seconds"] as? Double,
              let throughput = summary["megapixels_per_second"] as? Double else {
            throw StrataError.internalError("strata predict --json printed an unexpected summary: "
                                            + outcome.standardOutput)
        }
        let buffers = TiledPrediction.bufferBytes(width: width, height: height, tile: tile, steps: steps,
                                                  channels: channels, outputs: outputs.count)
        return PredictBenchResult(
            model: model.rawValue, size: size, dates: steps, bands: channels, tile: tile, overlap: overlap,
            tiles: tiles, threads: options.threads ?? ThreadPool.threads, dtype: options.dtype, seconds: seconds,
            processSeconds: outcome.seconds, megapixelsPerSecond: throughput,
            peakRSSMiB: Double(outcome.peakRSSKiB) / 1024, jobBufferMiB: Double(buffers) / 1_048_576,
            gdalCacheMiB: options.gdalCacheMiB, loadAverage: load, output: name + ".tif")
    }

    /// The 1-minute load average (0 where /proc/loadavg does not exist).
    static func loadAverage() -> Double {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return Double(text.split(separator: " ").first ?? "") ?? 0
    }
}
