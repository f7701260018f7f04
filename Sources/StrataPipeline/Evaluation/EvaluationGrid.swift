import StrataCore
import StrataIO

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
