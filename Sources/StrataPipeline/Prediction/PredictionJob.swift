import Foundation
import StrataCore
import StrataIO

/// `strata predict` as a value: a checkpoint, an input stack and an output, checked against each other before
/// anything is written, then predicted tile by tile with ``TiledPrediction``.
///
/// Every check that can fail on the user's input runs before the output is created, and the sinks write under a
/// temporary name, so a refused or failed job leaves no file behind. Refusals are ``StrataError`` cases with exit
/// code 2 and say both sides of what does not fit (channels, steps, kernel, the output folder).
///
/// ```swift
/// var job = PredictionJob(checkpoint: "run/best.safetensors", inputs: ["scene_*.tif"], output: "change.tif")
/// job.tiling.tile = 128
/// let result = try job.run()
/// result.summary.megapixelsPerSecond
/// ```
public struct PredictionJob: Sendable {
    /// A `.safetensors` checkpoint written by `strata train` (or imported with a task).
    public var checkpoint: String
    /// Input files (or GDAL dataset names such as `NETCDF:"f.nc":pr`, or one volume `file.h5:/dataset`).
    public var inputs: [String]
    /// How the inputs form a stack (dates, bands per step, order, alignment).
    public var stackOptions: StackOptions
    /// The output file: `.tif` for rasters (GeoTIFF or COG), `.h5[:/dataset]` or `.nii[.gz]` for volumes.
    public var output: String
    /// Tile size, overlap, blending, output format and storage type.
    public var tiling: TiledPrediction

    public init(checkpoint: String, inputs: [String], output: String, stackOptions: StackOptions = StackOptions(),
                tiling: TiledPrediction = TiledPrediction()) {
        self.checkpoint = checkpoint
        self.inputs = inputs
        self.output = output
        self.stackOptions = stackOptions
        self.tiling = tiling
    }

    /// What a job did: the tiled run's summary plus what the job read.
    public struct Result: Codable, Equatable, Sendable {
        public var checkpoint: String
        /// The checkpoint's task (`change`, `lesions`, `yield`, `nowcast`).
        public var task: String
        /// Time steps and channels of the input stack.
        public var steps: Int
        public var channels: Int
        /// The input steps' ISO dates (empty when the inputs carry none); also in the output's metadata.
        public var timeLabels: [String]
        /// The receptive radius of the model over these steps, pixels.
        public var receptiveRadius: Int
        public var summary: PredictionSummary

        enum CodingKeys: String, CodingKey {
            case checkpoint, task, steps, channels, summary
            case timeLabels = "time_labels"
            case receptiveRadius = "receptive_radius"
        }
    }

    /// Checks everything, then predicts.
    ///
    /// - Throws: ``StrataError`` (exit code 2) for a missing input or checkpoint, an empty stack, a stack whose
    ///   channels differ from the checkpoint's, a kernel wider than the image, too few steps, an output folder that
    ///   does not exist or cannot be written; any read, write or model error (no output left either way).
    public func run() throws -> Result {
        try Self.checkOutputFolder(output)
        guard !inputs.isEmpty else {
            throw StrataError.invalidStack(reason: "no input files: the stack is empty")
        }
        let model = try ModelCheckpoint.loadWeights(from: checkpoint)
        let stack = try InputStack.open(inputs, options: stackOptions)
        try Self.checkOutputIsNotAnInput(output, sources: stack.info.sources)
        let config = model.config
        let planes: any PlaneStack
        let labels: [String]
        switch stack {
        case .raster(let raster):
            planes = try stack.planes()
            labels = raster.info.dates.compactMap { $0 }
        case .volume(let volume):
            // Lesion models read neighbouring slices as extra channels: the slab is what makes the channels match.
            let slab = config.inputChannels % max(volume.shape.channels, 1) == 0
                ? max(1, config.inputChannels / max(volume.shape.channels, 1)) : 1
            planes = try stack.planes(slab: slab % 2 == 1 ? slab : 1)
            labels = volume.metadata.timeLabels ?? []
        }
        let name = URL(fileURLWithPath: checkpoint).lastPathComponent
        guard planes.steps > 0 else {
            throw StrataError.invalidStack(reason: "the input stack has no time steps")
        }
        guard planes.channels == config.inputChannels else {
            throw StrataError.invalidArgument(
                name: checkpoint, reason: "the model expects \(config.inputChannels) input channel(s) per step, "
                    + "the input stack has \(planes.channels)")
        }
        let kernel = config.kernel.max() ?? 1
        guard kernel <= min(planes.width, planes.height) else {
            throw StrataError.invalidArgument(
                name: checkpoint, reason: "the model's \(kernel)x\(kernel) kernel does not fit the input of "
                    + "\(planes.width)x\(planes.height) pixels")
        }
        let predictor = try CheckpointPredictor(checkpoint: model, name: name, steps: planes.steps,
                                                stepLabels: labels.count == planes.steps ? labels : nil)
        guard planes.steps >= predictor.minimumSteps else {
            let sources = stack.info.sources
            let input = sources.count == 1 ? sources[0] : "\(sources[0]) (+\(sources.count - 1) files)"
            throw StrataError.invalidStack(
                reason: "\(input): the input stack has \(planes.steps) time step(s), model \(name) needs at least "
                    + "\(predictor.minimumSteps)")
        }
        let summary = try tiling.run(planes: planes, normalization: model.normalization, predictor: predictor,
                                     output: output)
        return Result(checkpoint: checkpoint, task: predictor.task.kind.rawValue, steps: planes.steps,
                      channels: planes.channels, timeLabels: labels, receptiveRadius: predictor.receptiveRadius,
                      summary: summary)
    }

    /// Writing the prediction over one of its inputs would destroy it (the rename at the end replaces the file): a
    /// raster or NIfTI output must be another file, an HDF5 output another dataset (other datasets of the same file
    /// are kept).
    static func checkOutputIsNotAnInput(_ output: String, sources: [String]) throws {
        let target = HDF5Address(output) ?? HDF5Address(file: output, dataset: "/prediction")
        let isHDF5 = HDF5Address(output) != nil || output.lowercased().hasSuffix(".h5")
            || output.lowercased().hasSuffix(".hdf5")
        let targetFile = canonicalPath(target.file)
        for source in sources {
            let sourceAddress = HDF5Address(source)
            guard canonicalPath(sourceAddress?.file ?? gdalFile(source)) == targetFile else { continue }
            if isHDF5, let sourceAddress, sourceAddress.dataset != target.dataset { continue }
            throw StrataError.invalidArgument(
                name: "--out", reason: "\(output) is one of the inputs (\(source)); writing there would destroy it")
        }
    }

    /// The file behind a GDAL dataset name (`NETCDF:"file.nc":var`, `HDF5:"file.h5"://ds`), else the name itself.
    private static func gdalFile(_ name: String) -> String {
        let parts = name.split(separator: "\"", omittingEmptySubsequences: false)
        return parts.count >= 3 ? String(parts[1]) : name
    }

    /// `path` with symbolic links and `.`/`..` resolved (its folder's, when the file does not exist yet).
    private static func canonicalPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: path) { return url.resolvingSymlinksInPath().path }
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).path
    }

    /// The output's folder must exist and be writable; checked first, so a long job does not fail at the end.
    static func checkOutputFolder(_ output: String) throws {
        let file = HDF5Address(output)?.file ?? output
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StrataError.outputNotWritable(path: output, reason: "the folder \(folder) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw StrataError.outputNotWritable(path: output, reason: "the folder \(folder) is not writable")
        }
    }
}
