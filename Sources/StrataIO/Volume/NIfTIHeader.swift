import StrataCore

/// Every field of a NIfTI-1 header (348 bytes), as stored, so that a write after a read keeps them bit-exact.
///
/// Field names follow `nifti1.h`. Arrays have the C lengths (`dim` 8, `pixdim` 8, `srowX` 4, `descrip` 80 bytes ...).
/// Derived values in Strata's units (``spacingMM``, ``stepSeconds``, ``affine``) are computed from the raw fields.
///
/// ```swift
/// var header = try NIfTIHeader(width: 17, height: 21, depth: 3, steps: 20, datatype: .int16,
///                          spacing: Spacing(x: 4, y: 4, z: 8), stepSeconds: 2)
/// header.copyGeometry(from: source.niftiHeader!)   // qform/sform and spacing of the source, bit for bit
/// ```
public struct NIfTIHeader: Equatable, Sendable {
    /// The voxel types Strata reads (`nifti1.h` codes). The writer stores ``uint8``, ``int16`` and ``float32``.
    public enum Datatype: Int16, Sendable, CaseIterable {
        case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, float64 = 64, int8 = 256, uint16 = 512, uint32 = 768

        /// Bytes per voxel.
        public var size: Int { sampleType.size }

        /// The matching storage type, as reported in ``StackInfo/dtype``.
        public var sampleType: SampleType {
            switch self {
            case .uint8: return .uint8
            case .int8: return .int8
            case .int16: return .int16
            case .uint16: return .uint16
            case .int32: return .int32
            case .uint32: return .uint32
            case .float32: return .float32
            case .float64: return .float64
            }
        }
    }

    /// Codes defined by NIfTI-1 that Strata recognises but does not read (complex, RGB, 64-bit integers, float128).
    static let knownUnsupportedDatatypes: [Int16: String] = [
        32: "complex64", 128: "rgb24", 1024: "int64", 1280: "uint64", 1536: "float128", 1792: "complex128",
        2048: "complex256", 2304: "rgba32",
    ]

    // Legacy ANALYZE fields, kept only for a faithful round trip.
    public var dataTypeLegacy = [UInt8](repeating: 0, count: 10)
    public var dbName = [UInt8](repeating: 0, count: 18)
    public var extents: Int32 = 0
    public var sessionError: Int16 = 0
    public var regular: UInt8 = 0
    public var dimInfo: UInt8 = 0
    /// `dim[0]` is the number of used dimensions; `dim[1...]` are x, y, z, t, u (channels here), v, w.
    public var dim: [Int16] = [0, 1, 1, 1, 1, 1, 1, 1]
    public var intentP1: Float = 0
    public var intentP2: Float = 0
    public var intentP3: Float = 0
    public var intentCode: Int16 = 0
    /// The raw `nifti1.h` datatype code; see ``voxelType``.
    public var datatype: Int16 = 0
    public var bitpix: Int16 = 0
    public var sliceStart: Int16 = 0
    /// `pixdim[0]` is qfac (±1); `pixdim[1...3]` voxel size in ``xyztUnits``; `pixdim[4]` the time step (TR).
    public var pixdim: [Float] = [1, 1, 1, 1, 0, 0, 0, 0]
    /// Byte offset of the first voxel in a `.nii` file (352 when there are no extensions).
    public var voxOffset: Float = 352
    /// Stored values map to physical ones as `stored * sclSlope + sclInter`; a slope of 0 means no scaling.
    public var sclSlope: Float = 0
    public var sclInter: Float = 0
    public var sliceEnd: Int16 = 0
    public var sliceCode: UInt8 = 0
    /// Bits 0–2: spatial unit (1 m, 2 mm, 3 µm); bits 3–5: time unit (8 s, 16 ms, 24 µs).
    public var xyztUnits: UInt8 = 0
    public var calMax: Float = 0
    public var calMin: Float = 0
    public var sliceDuration: Float = 0
    public var toffset: Float = 0
    public var glmax: Int32 = 0
    public var glmin: Int32 = 0
    public var descrip = [UInt8](repeating: 0, count: 80)
    public var auxFile = [UInt8](repeating: 0, count: 24)
    /// 0 unknown, 1 scanner, 2 aligned, 3 Talairach, 4 MNI-152.
    public var qformCode: Int16 = 0
    public var sformCode: Int16 = 0
    public var quaternB: Float = 0
    public var quaternC: Float = 0
    public var quaternD: Float = 0
    public var qoffsetX: Float = 0
    public var qoffsetY: Float = 0
    public var qoffsetZ: Float = 0
    /// Rows of the sform affine (voxel index to mm, before unit conversion).
    public var srowX: [Float] = [0, 0, 0, 0]
    public var srowY: [Float] = [0, 0, 0, 0]
    public var srowZ: [Float] = [0, 0, 0, 0]
    public var intentName = [UInt8](repeating: 0, count: 16)
    /// `n+1\0` for a single `.nii` file.
    public var magic: [UInt8] = [0x6E, 0x2B, 0x31, 0x00]

    /// An empty header; every field zero except the defaults above.
    public init() {}

    /// A fresh header for a `width × height × depth` volume with `steps` time points (and `channels` in `dim[5]`).
    ///
    /// Spacing is stored in mm and the time step in seconds (`xyzt_units` = mm | s). qform and sform are left
    /// unset (code 0) so readers fall back to the spacing; call ``copyGeometry(from:)`` to take a source's.
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` for a size outside 1...32767 (NIfTI-1 stores int16).
    public init(width: Int, height: Int, depth: Int, steps: Int, channels: Int = 1, datatype: Datatype,
                spacing: Spacing, stepSeconds: Double? = nil) throws {
        let sizes = [width, height, depth, steps, channels]
        guard sizes.allSatisfy({ (1...Int(Int16.max)).contains($0) }) else {
            throw StrataError.invalidArgument(
                name: "NIfTI size", reason: "\(sizes) (x, y, z, t, channels): NIfTI-1 holds 1 to 32767 per axis")
        }
        let used = channels > 1 ? 5 : (steps > 1 ? 4 : 3)
        dim = [Int16(used), Int16(width), Int16(height), Int16(depth), Int16(steps), Int16(channels), 1, 1]
        self.datatype = datatype.rawValue
        bitpix = Int16(datatype.size * 8)
        pixdim = [1, Float(spacing.x), Float(spacing.y), Float(spacing.z), Float(stepSeconds ?? 0), 0, 0, 0]
        xyztUnits = 2 | 8
    }

    /// The voxel type, or `nil` when ``datatype`` is a code Strata does not read.
    public var voxelType: Datatype? { Datatype(rawValue: datatype) }

    /// Sizes used by Strata: x (width), y (height), z (depth), t (steps), u (channels); unused dimensions are 1.
    public var shape: (width: Int, height: Int, depth: Int, steps: Int, channels: Int) {
        let n = Int(dim[0])
        func size(_ i: Int) -> Int { i <= n ? Int(dim[i]) : 1 }
        return (size(1), size(2), size(3), size(4), size(5))
    }

    /// Millimetres per spatial unit of ``xyztUnits`` (unknown units are taken as mm).
    public var spatialUnitMM: Double {
        switch xyztUnits & 0x07 {
        case 1: return 1000      // metre
        case 3: return 0.001     // micrometre
        default: return 1        // mm, or unknown
        }
    }

    /// Seconds per time unit of ``xyztUnits``, or `nil` for units that are not durations (Hz, ppm, rad/s).
    public var timeUnitSeconds: Double? {
        switch xyztUnits & 0x38 {
        case 0, 8: return 1      // unknown is taken as seconds, as most scanners mean it
        case 16: return 0.001
        case 24: return 0.000_001
        default: return nil
        }
    }

    /// Voxel size in mm, from `pixdim[1...3]` (absolute values; 0 is read as 1).
    public var spacingMM: Spacing {
        func size(_ i: Int) -> Double {
            let v = abs(Double(pixdim[i]))
            return (v > 0 && v.isFinite ? v : 1) * spatialUnitMM
        }
        return Spacing(x: size(1), y: size(2), z: size(3))
    }

    /// The time between steps in seconds (`pixdim[4]` in the time unit), or `nil` when not a positive duration.
    public var stepSeconds: Double? {
        guard let unit = timeUnitSeconds, pixdim[4] > 0, pixdim[4].isFinite else { return nil }
        return Double(pixdim[4]) * unit
    }

    /// The voxel-to-mm affine (4×4, row-major), chosen as NIfTI readers do: the sform when `sform_code > 0`, else
    /// the qform when `qform_code > 0`, else a diagonal of the spacing. Index order is (i, j, k) = (x, y, z).
    public var affine: [[Double]] {
        let unit = spatialUnitMM
        var m: [[Double]]
        if sformCode > 0 {
            m = [srowX, srowY, srowZ].map { $0.map(Double.init) }
        } else if qformCode > 0 {
            m = quaternionAffine()
        } else {
            let s = spacingMM
            return [[s.x, 0, 0, 0], [0, s.y, 0, 0], [0, 0, s.z, 0], [0, 0, 0, 1]]
        }
        m = m.map { row in row.map { $0 * unit } }
        return m + [[0, 0, 0, 1]]
    }

    /// The qform as three affine rows (file units), from the quaternion, `pixdim` and qfac (NIfTI-1 method 2).
    func quaternionAffine() -> [[Double]] {
        var b = Double(quaternB), c = Double(quaternC), d = Double(quaternD)
        var a = 1 - (b * b + c * c + d * d)
        if a < 1e-7 {
            // A 180° rotation: (b, c, d) is the axis; renormalise it, a = 0.
            let norm = 1 / (b * b + c * c + d * d).squareRoot()
            b *= norm; c *= norm; d *= norm
            a = 0
        } else {
            a = a.squareRoot()
        }
        func size(_ i: Int) -> Double { pixdim[i] > 0 ? Double(pixdim[i]) : 1 }
        let xd = size(1), yd = size(2)
        let zd = pixdim[0] < 0 ? -size(3) : size(3)
        let r = [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ]
        let offsets = [Double(qoffsetX), Double(qoffsetY), Double(qoffsetZ)]
        return (0..<3).map { i in [r[i][0] * xd, r[i][1] * yd, r[i][2] * zd, offsets[i]] }
    }

    /// Copies the geometry of `source` bit for bit: qform and sform (codes, quaternion, offsets, rows), qfac,
    /// the spatial `pixdim`, the time step and `xyzt_units`. Sizes, datatype and scaling are left as they are.
    public mutating func copyGeometry(from source: NIfTIHeader) {
        qformCode = source.qformCode
        sformCode = source.sformCode
        quaternB = source.quaternB
        quaternC = source.quaternC
        quaternD = source.quaternD
        qoffsetX = source.qoffsetX
        qoffsetY = source.qoffsetY
        qoffsetZ = source.qoffsetZ
        srowX = source.srowX
        srowY = source.srowY
        srowZ = source.srowZ
        for i in 0...4 { pixdim[i] = source.pixdim[i] }
        xyztUnits = source.xyztUnits
        dimInfo = source.dimInfo
    }
}
