import ArgumentParser
import Foundation
import StrataCore
import StrataPipeline

/// `strata predict`: run a trained checkpoint over an input stack, tile by tile.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict with a trained checkpoint over a stack of any size (tiled, streaming).",
        discussion: """
            Reads the stack the way `strata train` did (same dates, bands and order options), normalises it with \
            the checkpoint's statistics and writes one band per output, named by the task: change_probability and \
            change_date (change), lesion_probability (lesions), yield (yield), forecast_t+1 ... (nowcast). The \
            output keeps the input's CRS and geotransform (rasters) or spacing and affine (volumes); the input \
            dates are in its metadata (STRATA_TIME_LABELS). Pixels without any valid step are nodata.

            Memory is bounded by the tile and the image width, never the image area.

            Examples:
              strata predict --checkpoint run/best.safetensors --input 'scenes/scene_*.tif' --out change.tif
              strata predict --checkpoint rain/best.safetensors --input 'NETCDF:"obs.nc":pr' --out forecast.tif
              strata predict --checkpoint mri/best.safetensors --input scan.h5:/flair --out lesion.h5 --json
            """
    )

    @Option(help: "The checkpoint (.safetensors) written by strata train.")
    var checkpoint: String

    @Option(name: .long, parsing: .upToNextOption, help: "Input files, GDAL dataset names or one volume.")
    var input: [String]

    @Option(name: .long, help: "The output file (.tif, .h5[:/dataset], .nii, .nii.gz); its folder must exist.")
    var out: String

    // .unconditional: `--tile -5` reaches the range check ("must be at least 1 pixel") instead of ArgumentParser
    // taking -5 for an option and reporting a missing value.
    @Option(parsing: .unconditional,
            help: "Tile side in pixels (default 256, rounded up to whole blocks of a model with space_to_depth).")
    var tile: Int?

    @Option(parsing: .unconditional, help: """
        Pixels each tile extends past its core (default: the model's receptive radius + tile/16; 0 for a per-pixel \
        model).
        """)
    var overlap: Int?

    @Option(help: "Blending of overlapping tiles: hann or gaussian.")
    var blend: BlendWindow = .hann

    @Option(help: "float32, float16 (HDF5 only), uint8 or int16.")
    var outputDtype: PredictionDType = .float32

    @Option(help: "geotiff, cog, hdf5 or nifti (default: from the output's extension).")
    var format: PredictionFormat?

    @OptionGroup var stack: StackArguments

    @Flag(help: "Print one JSON object (the summary, with megapixels_per_second) instead of text.")
    var json = false

    func run() throws {
        let job = PredictionJob(
            checkpoint: checkpoint, inputs: input, output: out,
            stackOptions: try stack.options(),
            tiling: TiledPrediction(tile: tile, overlap: overlap, blend: blend, format: format, dtype: outputDtype))
        let result = try job.run()
        for warning in result.summary.warnings {
            FileHandle.standardError.write(Data("strata: warning: \(warning)\n".utf8))
        }
        print(json ? result.jsonText : result.text)
    }
}

extension BlendWindow: ExpressibleByArgument {}
extension PredictionDType: ExpressibleByArgument {}
extension PredictionFormat: ExpressibleByArgument {}
