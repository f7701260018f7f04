import StrataCore
import StrataIO

/// A raster time stack the evaluators read window by window: ``RasterStack`` in the CLI, arrays in tests.
///
/// `read(window:)` follows ``RasterStack/read(window:)``: values float32 `[T, C, h, w]`, mask uint8 `[T, h, w]`.
public protocol EvaluationRaster {
    /// The file (or files) the raster comes from, for error messages.
    var sourceName: String { get }
    var grid: Grid { get }
    /// Time steps, T.
    var steps: Int { get }
    /// Bands per step, C.
    var bands: Int { get }
    func read(window: Window) throws -> StackWindow
}

extension RasterStack: EvaluationRaster {
    public var sourceName: String { info.sources.joined(separator: ", ") }
}

/// A volume time stack the lesion evaluator reads one timepoint at a time: ``VolumeStack`` in the CLI.
public protocol EvaluationVolume {
    /// The file or `file.h5:/dataset` the volume comes from, for error messages.
    var sourceName: String { get }
    /// Sizes `[T, C, D, H, W]`.
    var shape: VolumeShape { get }
    /// Voxel size in mm (1 mm per axis when the file declares none).
    var voxelSpacing: Spacing { get }
    /// Values float32 `[t, C, d, h, w]` and mask uint8 `[t, d, h, w]` of `region` for `steps`.
    func read(region: VolumeRegion, steps: Range<Int>?) throws -> VolumeWindow
}

extension VolumeStack: EvaluationVolume {
    public var sourceName: String { info.sources.joined(separator: ", ") }
    public var voxelSpacing: Spacing { metadata.spacing ?? Spacing(x: 1, y: 1, z: 1) }
}
