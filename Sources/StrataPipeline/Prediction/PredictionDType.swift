import StrataCore
import StrataIO

/// The element type predictions are stored as (`--output-dtype`), and how each output is scaled into it.
///
/// | dtype | formats | probability outputs | value outputs | nodata (stored) |
/// |---|---|---|---|---|
/// | `float32` | all | as is | as is | −9999 (GeoTIFF, HDF5); NaN (NIfTI) |
/// | `float16` | HDF5 | as is (~3 significant digits) | as is (≤ 65504) | −10000 (−9999 rounded to binary16) |
/// | `uint8` | all | `round(p · 250)`, 0…250 | refused | 255 |
/// | `int16` | GeoTIFF, NIfTI | `round(p · 10000)`, 0…10000 | rounded to whole units, ±32767 | −32768 |
///
/// Physical value = stored × scale, where scale is 1/250 (uint8 probabilities), 1/10000 (int16 probabilities) or
/// 1. The scale is recorded per band (`STRATA_SCALE` in GeoTIFF band metadata; `scl_slope` in NIfTI, so NIfTI
/// readers see probabilities). uint8 keeps 250 steps (0.004 apart) and leaves 251…254 unused so 255 can never be a
/// rounded probability.
///
/// ```swift
/// let encoding = try PredictionDType.uint8.encoding(for: PredictionOutput(name: "change_probability",
///                                                                      kind: .probability))
/// encoding.scale   // 0.004
/// ```
public enum PredictionDType: String, Sendable, Codable, CaseIterable {
    case float32, float16, uint8, int16

    /// How one output is stored in this type.
    public struct Encoding: Equatable, Sendable {
        /// Physical value per stored unit.
        public var scale: Double
        /// The stored value marking nodata (NaN for NIfTI float32, see the table above).
        public var nodata: Double
        /// Range physical values are clamped to before scaling, so that no value rounds onto nodata.
        public var validRange: ClosedRange<Double>?
    }

    /// The encoding of `output`, or `invalidArgument` when this type cannot hold it (uint8 for a value output).
    public func encoding(for output: PredictionOutput) throws -> Encoding {
        let probability = output.kind == .probability
        switch self {
        case .float32, .float16:
            return Encoding(scale: 1, nodata: -9999, validRange: nil)
        case .uint8:
            guard probability else {
                throw StrataError.invalidArgument(
                    name: "--output-dtype", reason: "uint8 holds probabilities only; output '\(output.name)' is a "
                        + "value (use float32 or int16 for GeoTIFF and NIfTI, float32 or float16 for HDF5)")
            }
            return Encoding(scale: 1.0 / 250, nodata: 255, validRange: 0...1)
        case .int16:
            return probability
                ? Encoding(scale: 1.0 / 10000, nodata: -32768, validRange: 0...1)
                : Encoding(scale: 1, nodata: -32768, validRange: -32767...32767)
        }
    }

    /// Stored values of a strip of physical predictions `[K, n, W]` (NaN = nodata, kept as NaN for the writer to
    /// replace by its nodata value): output k clamped to its ``Encoding/validRange`` and divided by its
    /// ``Encoding/scale``. Same layout as `rows`.
    static func stored(_ rows: Tensor, encodings: [Encoding]) -> [Float] {
        var values = rows.floats
        let plane = rows.count / encodings.count
        for (k, encoding) in encodings.enumerated() {
            let inverse = Float(1 / encoding.scale)
            let low = encoding.validRange.map { Float($0.lowerBound) } ?? -.infinity
            let high = encoding.validRange.map { Float($0.upperBound) } ?? .infinity
            for i in k * plane..<(k + 1) * plane where !values[i].isNaN {
                values[i] = min(max(values[i], low), high) * inverse
            }
        }
        return values
    }
}

/// Where predictions go: chosen from the output path or given (`--format`).
public enum PredictionFormat: String, Sendable, Codable, CaseIterable {
    /// Tiled GeoTIFF with the input's grid (rasters).
    case geotiff
    /// Cloud-optimised GeoTIFF (rasters).
    case cog
    /// HDF5 dataset `[1, K, D, H, W]` with the input's spacing and origin (volumes).
    case hdf5
    /// NIfTI-1 with the input's geometry, one 3-D file per output (volumes).
    case nifti

    /// The format a path's extension names: `.tif`/`.tiff` GeoTIFF, `.h5`/`.hdf5` (optionally `:/dataset`) HDF5,
    /// `.nii`/`.nii.gz` NIfTI; `nil` otherwise.
    ///
    /// ```swift
    /// PredictionFormat(path: "lesion.nii.gz")   // .nifti
    /// ```
    public init?(path: String) {
        let lower = path.lowercased()
        if lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") {
            self = .nifti
        } else if HDF5Address(path) != nil || lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") {
            self = .hdf5
        } else if lower.hasSuffix(".tif") || lower.hasSuffix(".tiff") {
            self = .geotiff
        } else {
            return nil
        }
    }

    /// Whether the format writes rasters (else volumes).
    var isRaster: Bool { self == .geotiff || self == .cog }
}
