import ArgumentParser
import Foundation
import StrataBench
import StrataCore

extension BenchCommand {
    /// `strata bench predict`: peak memory and throughput of `strata predict` on large raster stacks.
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Peak memory and megapixels per second of strata predict on large raster stacks.",
            discussion: """
                The stack is SIZE x SIZE pixels, 12 dates x 4 bands: per date a VRT that upsamples a small \
                float32 GeoTIFF (nearest neighbour), so the disk holds a few MB whatever the size. Models \
                (seeded random weights, change task, two output bands): convlstm = ConvLSTM hidden 16, kernel 3; \
                pixel = the same with kernel 1 (a per-pixel LSTM).

                Each size and model runs `strata predict --json` in a fresh child process with GDAL_CACHEMAX \
                capped; peak_rss_mib is that child's resident-set high-water mark (VmHWM). Stacks, checkpoints \
                and predictions stay in --work and are reused. The keys of each JSON line are documented in \
                docs/benchmarks.md ("Prediction"); the rasterio + PyTorch peer prints the same keys \
                (scripts/peers/rasterio_predict.py, scripts/peers/compare_predict.sh).

                Build in release first: swift build -c release && .build/release/strata bench predict --json \
                --size 2000,5000
                """
        )

        @Option(name: .long, help: "Image sides in pixels, comma-separated (default: 2000).")
        var size: String?

        @Option(name: .long, help: "Models, comma-separated: convlstm, pixel (default: both).")
        var model: String?

        @Option(name: .long, help: "Tile side in pixels (strata predict --tile).")
        var tile = 256

        @Option(name: .long, help: "Tile overlap in pixels (default: strata predict's, receptive radius + tile/16; 0 at radius 0).")
        var overlap: Int?

        @Option(name: .long, help: "Output sample type: float32, int16 or uint8.")
        var outputDtype = "float32"

        @Option(name: .long, help: "Compute threads of the child (STRATA_THREADS; default: inherited).")
        var threads: Int?

        @Option(name: .long, help: "GDAL_CACHEMAX of the child, MiB.")
        var gdalCache = 64

        @Option(name: .long, help: "Folder for stacks, checkpoints and predictions (reused between runs).")
        var work = NSTemporaryDirectory() + "strata-bench-predict"

        @Flag(name: .long, help: "Write the stacks and checkpoints, print one JSON line per size and model naming them, and stop.")
        var prepareOnly = false

        @Flag(name: .long, help: "One JSON object per line instead of a table.")
        var json = false

        func run() throws {
            let sizes = try list(size).map { text -> Int in
                guard let value = Int(text) else {
                    throw StrataError.invalidArgument(name: "--size", reason: "'\(text)' is not a whole number")
                }
                return value
            }
            let options = try PredictBenchOptions(sizes: sizes, models: list(model), tile: tile, overlap: overlap,
                                                  dtype: outputDtype, folder: work, threads: threads,
                                                  gdalCacheMiB: gdalCache)
            if prepareOnly {
                for line in try PredictBench.prepare(options) { print(line) }
                return
            }
            // /proc/self/exe: this very binary, whatever path or symlink started it.
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            if !json { FileHandle.standardOutput.write(Data((PredictBenchResult.tableHeader + "\n").utf8)) }
            try PredictBench.run(options, executable: executable) { result in
                FileHandle.standardOutput.write(Data(((json ? result.jsonLine : result.tableRow) + "\n").utf8))
            }
        }

        private func list(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}
