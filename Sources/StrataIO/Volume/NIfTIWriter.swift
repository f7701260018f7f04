import CZlib
import Foundation
import StrataCore

/// Writes a NIfTI-1 file (`.nii`, or gzip-compressed when the path ends in `.gz`) one 3-D volume at a time, or a
/// few rows at a time with ``appendRows(_:)`` (streaming predictions).
///
/// The header is written as given (so qform, sform, pixdim, units and descriptions survive a round trip bit for
/// bit) except for the fields that locate the voxels: `vox_offset` 352, `bitpix`, magic `n+1`. Voxels are stored
/// as ``NIfTIHeader/datatype`` (uint8, int16 or float32), from physical values `v` as
/// `(v - scl_inter) / scl_slope` (no scaling when the slope is 0), rounded and clamped for integers, NaN as 0.
/// Volumes come in file order: every step of channel 0, then of channel 1 ...
///
/// The file appears under `path` only when ``finish()`` succeeds.
///
/// ```swift
/// var header = try NIfTIHeader(width: 17, height: 21, depth: 3, steps: 20, datatype: .float32,
///                          spacing: source.metadata.spacing!, stepSeconds: 2)
/// header.copyGeometry(from: source.niftiHeader!)
/// let writer = try NIfTIWriter(path: "prediction.nii.gz", header: header)
/// for t in 0..<20 { try writer.append(volume(t)) }     // each float32 [D, H, W]
/// try writer.finish()
/// ```
public final class NIfTIWriter {
    /// The voxel types the writer stores.
    public static let writableDatatypes: [NIfTIHeader.Datatype] = [.uint8, .int16, .float32]

    private enum Sink {
        case plain(UnsafeMutablePointer<FILE>)
        case gzip(gzFile)
    }

    /// The header as written.
    public let header: NIfTIHeader
    private let output: AtomicOutput
    private var sink: Sink?
    private let datatype: NIfTIHeader.Datatype
    private let voxelsPerVolume: Int
    private let volumeCount: Int
    /// Voxels written so far, in file order (``appendRows(_:)`` may stop inside a volume).
    private var voxelsWritten = 0

    /// Creates the (temporary) file and writes the header.
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` for a header with bad sizes or a datatype other
    ///   than uint8, int16, float32; ``StrataError/outputNotWritable(path:reason:)`` when the file cannot be made.
    public init(path: String, header: NIfTIHeader) throws {
        var header = header
        header.voxOffset = Float(NIfTIHeader.standardVoxOffset)
        header.magic = [0x6E, 0x2B, 0x31, 0x00]
        guard let datatype = header.voxelType, Self.writableDatatypes.contains(datatype) else {
            throw StrataError.invalidArgument(
                name: "NIfTI datatype", reason: "\(header.datatype) cannot be written; use uint8, int16 or float32")
        }
        header.bitpix = Int16(datatype.size * 8)
        do {
            try header.validate(path: path)
        } catch StrataError.invalidHeader(_, let reason) {
            throw StrataError.invalidArgument(name: "NIfTI header", reason: reason)
        }
        let s = header.shape
        self.header = header
        self.datatype = datatype
        voxelsPerVolume = s.width * s.height * s.depth
        volumeCount = s.steps * s.channels
        output = try AtomicOutput(path: path)
        if path.hasSuffix(".gz") {
            guard let gz = gzopen(output.temporaryPath, "wb6") else {
                throw StrataError.outputNotWritable(path: path, reason: String(cString: strerror(errno)))
            }
            sink = .gzip(gz)
        } else {
            guard let file = fopen(output.temporaryPath, "wb") else {
                throw StrataError.outputNotWritable(path: path, reason: String(cString: strerror(errno)))
            }
            sink = .plain(file)
        }
        try write(header.encoded())
    }

    deinit { close() }

    /// Writes one 3-D volume of physical values: float32 with `D × H × W` elements (shape `[D, H, W]`, or with
    /// leading 1s such as `[1, 1, D, H, W]`).
    public func append(_ volume: Tensor) throws {
        let s = header.shape
        guard volume.dtype == .float32, volume.shape.count >= 3,
              Array(volume.shape.suffix(3)) == [s.depth, s.height, s.width],
              volume.shape.dropLast(3).allSatisfy({ $0 == 1 }) else {
            throw StrataError.invalidArgument(
                name: "volume", reason: "expected float32 [\(s.depth), \(s.height), \(s.width)], got "
                    + "\(volume.dtype) \(volume.shape)")
        }
        guard voxelsWritten % voxelsPerVolume == 0, voxelsWritten < voxelsPerVolume * volumeCount else {
            throw StrataError.invalidArgument(name: "volume", reason: voxelsWritten % voxelsPerVolume == 0
                ? "all \(volumeCount) volumes are already written" : "a volume written by rows is not complete")
        }
        try write(encode(volume, count: voxelsPerVolume))
        voxelsWritten += voxelsPerVolume
    }

    /// Writes the next whole rows in file order, float32 `[n, W]` (or any shape ending in W with `n · W`
    /// elements): streaming writers append a volume a few rows at a time, without holding all of it. Rows continue
    /// across slices and volumes (row `H` of slice z is row 0 of slice z + 1).
    ///
    /// ```swift
    /// for strip in strips { try writer.appendRows(strip) }   // each [rows, W], slice after slice
    /// ```
    public func appendRows(_ rows: Tensor) throws {
        let s = header.shape
        guard rows.dtype == .float32, rows.shape.last == s.width, rows.count > 0,
              voxelsWritten + rows.count <= voxelsPerVolume * volumeCount else {
            throw StrataError.invalidArgument(
                name: "rows", reason: "expected float32 [n, \(s.width)] within the \(voxelsPerVolume * volumeCount) "
                    + "voxels of the file (\(voxelsWritten) written), got \(rows.dtype) \(rows.shape)")
        }
        try write(encode(rows, count: rows.count))
        voxelsWritten += rows.count
    }

    /// Closes the file and moves it to its final name; every volume the header declares must have been appended.
    public func finish() throws {
        guard voxelsWritten == voxelsPerVolume * volumeCount else {
            close()
            output.discard()
            throw StrataError.invalidArgument(
                name: "volume",
                reason: "\(voxelsWritten / voxelsPerVolume) of \(volumeCount) volumes written; the file is incomplete")
        }
        guard close() else {
            output.discard()
            throw StrataError.ioFailure(path: output.path, reason: "closing the file failed (disk full?)")
        }
        try output.commit()
    }

    /// Writes a whole `[T, C, D, H, W]` float32 stack to `path` with `header` (sizes must match).
    ///
    /// ```swift
    /// try NIfTIWriter.write(window.values, to: "copy.nii", header: stack.niftiHeader!)
    /// ```
    public static func write(_ values: Tensor, to path: String, header: NIfTIHeader) throws {
        let writer = try NIfTIWriter(path: path, header: header)
        let s = values.shape
        guard s.count == 5 else {
            throw StrataError.invalidArgument(name: "values", reason: "expected [T, C, D, H, W], got \(s)")
        }
        let volume = s[2] * s[3] * s[4]
        let all = values.floats
        // Tensor order is [T, C, ...]; NIfTI's is t fastest, then channel.
        for c in 0..<s[1] {
            for t in 0..<s[0] {
                let start = (t * s[1] + c) * volume
                try writer.append(Tensor(shape: [s[2], s[3], s[4]], values: Array(all[start..<start + volume])))
            }
        }
        try writer.finish()
    }

    /// Stored little-endian bytes for `count` voxels of physical values.
    private func encode(_ volume: Tensor, count: Int) -> [UInt8] {
        let slope = Double(header.sclSlope), intercept = Double(header.sclInter)
        let scaled = slope != 0 && slope.isFinite && intercept.isFinite
        var bytes = [UInt8](repeating: 0, count: count * datatype.size)
        volume.withFloats { v in
            bytes.withUnsafeMutableBytes { out in
                // Double arithmetic so that a value read with this slope maps back to its exact integer.
                func stored(_ i: Int) -> Double { scaled ? (Double(v[i]) - intercept) / slope : Double(v[i]) }
                func integer(_ x: Double, _ low: Double, _ high: Double) -> Double {
                    x.isNaN ? 0 : min(max(x.rounded(), low), high)
                }
                switch datatype {
                case .uint8:
                    for i in 0..<count { out[i] = UInt8(integer(stored(i), 0, 255)) }
                case .int16:
                    for i in 0..<count {
                        let value = Int16(integer(stored(i), -32768, 32767)).littleEndian
                        out.storeBytes(of: value, toByteOffset: 2 * i, as: Int16.self)
                    }
                default:
                    for i in 0..<count {
                        let bits = Float(stored(i)).bitPattern.littleEndian
                        out.storeBytes(of: bits, toByteOffset: 4 * i, as: UInt32.self)
                    }
                }
            }
        }
        return bytes
    }

    private func write(_ bytes: [UInt8]) throws {
        let ok: Bool = bytes.withUnsafeBytes { raw in
            switch sink {
            case .plain(let file): return fwrite(raw.baseAddress, 1, raw.count, file) == raw.count
            case .gzip(let gz):
                // gzwrite takes an unsigned int count: feed it at most 1 GiB at a time.
                var done = 0
                while done < raw.count {
                    let chunk = min(raw.count - done, 1 << 30)
                    guard gzwrite(gz, raw.baseAddress! + done, UInt32(chunk)) == Int32(chunk) else { return false }
                    done += chunk
                }
                return true
            case nil: return false
            }
        }
        guard ok else {
            throw StrataError.ioFailure(path: output.path, reason: "writing \(bytes.count) bytes failed (disk full?)")
        }
    }

    /// Closes the sink once; `false` when the final flush failed.
    @discardableResult
    private func close() -> Bool {
        defer { sink = nil }
        switch sink {
        case .plain(let file): return fclose(file) == 0
        case .gzip(let gz): return gzclose(gz) == Z_OK
        case nil: return true
        }
    }
}
