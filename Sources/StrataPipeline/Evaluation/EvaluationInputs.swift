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

/// The checks every evaluator makes before reading: prediction and truth must describe the same pixels.
///
/// A disagreement throws ``StrataError/gridMismatch(file:reference:property:expected:found:)`` naming the truth
/// (`file`), the prediction (`reference`) and the property; its exit code is 2.
public enum EvaluationGrid {
    /// Same size, CRS (EPSG codes when both have one, else the WKT text) and geotransform (origins within 1e-3
    /// pixel, pixel size and rotation within 1e-6 pixel, as stacks are checked in StrataIO).
    ///
    /// ```swift
    /// try EvaluationGrid.requireSameGrid(prediction: predicted, truth: observed)
    /// ```
    public static func requireSameGrid(prediction: EvaluationRaster, truth: EvaluationRaster) throws {
        let expected = prediction.grid, found = truth.grid
        func mismatch(_ property: String, _ a: String, _ b: String) -> StrataError {
            .gridMismatch(file: truth.sourceName, reference: prediction.sourceName, property: property,
                          expected: a, found: b)
        }
        if expected.width != found.width || expected.height != found.height {
            throw mismatch("size", "\(expected.width)x\(expected.height)", "\(found.width)x\(found.height)")
        }
        if !sameCRS(expected.crs, found.crs) {
            throw mismatch("CRS", label(expected.crs), label(found.crs))
        }
        if !sameGeoTransform(expected.geoTransform, found.geoTransform) {
            throw mismatch("geotransform", format(expected.geoTransform), format(found.geoTransform))
        }
    }

    /// Same number of steps and bands, so that step t band c of one is compared with step t band c of the other.
    public static func requireSameLayout(prediction: EvaluationRaster, truth: EvaluationRaster) throws {
        if prediction.steps != truth.steps || prediction.bands != truth.bands {
            throw StrataError.gridMismatch(
                file: truth.sourceName, reference: prediction.sourceName, property: "steps x bands",
                expected: "\(prediction.steps)x\(prediction.bands)", found: "\(truth.steps)x\(truth.bands)")
        }
    }

    /// Same `[T, C, D, H, W]` sizes and voxel spacing (within 1e-6 relative).
    public static func requireSameVolume(prediction: EvaluationVolume, truth: EvaluationVolume) throws {
        let a = prediction.shape, b = truth.shape
        func describe(_ s: VolumeShape) -> String { "\(s.steps)x\(s.channels)x\(s.depth)x\(s.height)x\(s.width)" }
        if a != b {
            throw StrataError.gridMismatch(file: truth.sourceName, reference: prediction.sourceName,
                                           property: "size (TxCxDxHxW)", expected: describe(a), found: describe(b))
        }
        let p = prediction.voxelSpacing, t = truth.voxelSpacing
        let close = zip([p.x, p.y, p.z], [t.x, t.y, t.z]).allSatisfy { abs($0 - $1) <= 1e-6 * max(abs($0), 1) }
        if !close {
            throw StrataError.gridMismatch(file: truth.sourceName, reference: prediction.sourceName,
                                           property: "voxel spacing (mm)", expected: "\(p.x)x\(p.y)x\(p.z)",
                                           found: "\(t.x)x\(t.y)x\(t.z)")
        }
    }

    static func sameCRS(_ a: CRS?, _ b: CRS?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case let (a?, b?):
            if let codeA = a.epsg, let codeB = b.epsg { return codeA == codeB }
            return a.wkt == b.wkt
        default: return false
        }
    }

    static func sameGeoTransform(_ a: [Double], _ b: [Double]) -> Bool {
        let pixel = max(abs(a[1]), abs(a[5]), 1e-12)
        let tolerances = [1e-3, 1e-6, 1e-6, 1e-3, 1e-6, 1e-6].map { $0 * pixel }
        return zip(zip(a, b), tolerances).allSatisfy { abs($0.0 - $0.1) <= $1 }
    }

    static func label(_ crs: CRS?) -> String {
        guard let crs else { return "none" }
        return crs.epsg.map { "EPSG:\($0)" } ?? String(crs.wkt.prefix(60))
    }

    static func format(_ transform: [Double]) -> String {
        "[" + transform.map { String($0) }.joined(separator: ", ") + "]"
    }
}

/// Windows that tile a grid without overlap, row by row, the last row and column clipped to the edge.
///
/// ```swift
/// EvaluationTiles.windows(width: 7, height: 5, tileSize: 3)   // 3 × 2 windows; the right column is 1 pixel wide
/// ```
public enum EvaluationTiles {
    public static func windows(width: Int, height: Int, tileSize: Int) -> [Window] {
        precondition(tileSize > 0, "tileSize must be positive")
        var result: [Window] = []
        for y in stride(from: 0, to: height, by: tileSize) {
            for x in stride(from: 0, to: width, by: tileSize) {
                result.append(Window(x: x, y: y, width: min(tileSize, width - x), height: min(tileSize, height - y)))
            }
        }
        return result
    }
}
