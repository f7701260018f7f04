import CZlib
import Foundation
import StrataCore

/// One NIfTI-1 file (`.nii` or gzip-compressed `.nii.gz`) opened for windowed reads of its voxels.
///
/// A `.nii` file stays on disk: each window is read with `pread` at `vox_offset`, one span of rows per slice.
/// A `.nii.gz` cannot be read at random offsets, so the stream is inflated once at open, up to the last voxel the
/// header claims, and windows are served from memory (the only case where Strata holds a whole volume).
/// Gzip is recognised by its magic bytes (1f 8b), not by the file name.
final class NIfTIFile {
    let path: String
    let header: NIfTIHeader
    let bigEndian: Bool
    let compressed: Bool
    let voxelType: NIfTIHeader.Datatype
    /// Open descriptor of a `.nii`, or -1 for a `.nii.gz`.
    private let descriptor: Int32
    /// The inflated prefix of a `.nii.gz` (header + voxels), empty for a `.nii`.
    private let inflated: [UInt8]

    init(path: String) throws {
        try InputPath.requireFile(path)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw StrataError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        var signature = [UInt8](repeating: 0, count: 2)
        let got = pread(fd, &signature, 2, 0)
        self.path = path
        if got == 2, signature == [0x1F, 0x8B] {
            close(fd)
            (header, bigEndian, inflated) = try Self.inflate(path: path)
            compressed = true
            descriptor = -1
        } else {
            do {
                var headerBytes = [UInt8](repeating: 0, count: NIfTIHeader.byteCount)
                let n = pread(fd, &headerBytes, NIfTIHeader.byteCount, 0)
                guard n >= 0 else {
                    throw StrataError.unreadable(path: path, reason: String(cString: strerror(errno)))
                }
                (header, bigEndian) = try NIfTIHeader.decode(Array(headerBytes.prefix(n)), path: path)
                var status = stat()
                guard fstat(fd, &status) == 0 else {
                    throw StrataError.unreadable(path: path, reason: String(cString: strerror(errno)))
                }
                try header.requireData(available: Int(status.st_size), path: path, compressed: false)
            } catch {
                close(fd)
                throw error
            }
            compressed = false
            descriptor = fd
            inflated = []
        }
        voxelType = header.voxelType!
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Inflates the header and then exactly the voxel bytes it claims; a stream that ends early is a header error
    /// (the dims claim more than the file holds), a corrupt stream is unreadable.
    private static func inflate(path: String) throws -> (NIfTIHeader, Bool, [UInt8]) {
        guard let gz = gzopen(path, "rb") else {
            let reason = String(cString: strerror(errno))
            throw StrataError.unreadable(path: path, reason: "cannot open gzip stream: \(reason)")
        }
        defer { gzclose(gz) }
        gzbuffer(gz, 1 << 18)

        // Reads up to `count` bytes at `start`; returns how many arrived before the stream ended.
        func fill(_ buffer: inout [UInt8], from start: Int, count: Int) throws -> Int {
            var done = 0
            while done < count {
                let chunk = UInt32(min(count - done, 1 << 30))
                let n = buffer.withUnsafeMutableBytes { gzread(gz, $0.baseAddress! + start + done, chunk) }
                if n <= 0 {
                    var code: Int32 = 0
                    let message = String(cString: gzerror(gz, &code))
                    // Z_OK at the end is a complete stream; Z_BUF_ERROR is zlib's "unexpected end of file", a
                    // truncated one. Both leave the length check to the caller; anything else is corruption.
                    if code == Z_OK || code == Z_BUF_ERROR { break }
                    throw StrataError.unreadable(path: path, reason: "gzip stream is corrupt: \(message)")
                }
                done += Int(n)
            }
            return done
        }

        var headerBytes = [UInt8](repeating: 0, count: NIfTIHeader.byteCount)
        let headerCount = try fill(&headerBytes, from: 0, count: NIfTIHeader.byteCount)
        guard headerCount == NIfTIHeader.byteCount else {
            throw StrataError.invalidHeader(
                path: path,
                reason: "the decompressed stream ends after \(headerCount) bytes, "
                    + "fewer than the 348 of a NIfTI-1 header")
        }
        let (header, bigEndian) = try NIfTIHeader.decode(headerBytes, path: path)
        let needed = Int(header.voxOffset) + header.voxelByteCount
        var bytes = [UInt8](repeating: 0, count: needed)
        bytes.replaceSubrange(0..<NIfTIHeader.byteCount, with: headerBytes)
        let rest = try fill(&bytes, from: NIfTIHeader.byteCount, count: needed - NIfTIHeader.byteCount)
        try header.requireData(available: NIfTIHeader.byteCount + rest, path: path, compressed: true)
        return (header, bigEndian, bytes)
    }

    /// Reads `region` (inside the volume) of one step and channel as physical float32 values (scaling applied).
    ///
    /// Voxel (x, y, z) lands at `out[(z - region.z) * sliceStride + (y - region.y) * rowStride + (x - region.x)]`.
    func read(step: Int, channel: Int, region: VolumeRegion, into out: UnsafeMutablePointer<Float>,
              rowStride: Int, sliceStride: Int) throws {
        let s = header.shape
        let size = voxelType.size
        // File order is x fastest, then y, z, t, u (channels): one contiguous span covers a slice's rows.
        let spanVoxels = (region.height - 1) * s.width + region.width
        var scratch = compressed ? [] : [UInt8](repeating: 0, count: spanVoxels * size)
        for z in region.z..<region.z + region.depth {
            let volumeIndex = (channel * s.steps + step) * s.depth + z
            let firstVoxel = volumeIndex * s.height * s.width + region.y * s.width + region.x
            let byteOffset = Int(header.voxOffset) + firstVoxel * size
            let slice = out + (z - region.z) * sliceStride
            if compressed {
                inflated.withUnsafeBytes { all in
                    convertRows(all.baseAddress! + byteOffset, region: region, into: slice, rowStride: rowStride)
                }
            } else {
                try scratch.withUnsafeMutableBytes { buffer in
                    try readFully(buffer.baseAddress!, count: buffer.count, at: byteOffset)
                    convertRows(UnsafeRawPointer(buffer.baseAddress!), region: region, into: slice,
                                rowStride: rowStride)
                }
            }
        }
    }

    private func readFully(_ buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        var done = 0
        while done < count {
            let n = pread(descriptor, buffer + done, count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let reason = n < 0 ? String(cString: strerror(errno)) : "file ended early (was it truncated?)"
                throw StrataError.ioFailure(path: path, reason: "reading voxels at byte \(offset + done): \(reason)")
            }
            done += n
        }
    }

    /// Converts `region.height` rows of `region.width` stored voxels (rows `width` voxels apart) to physical floats.
    private func convertRows(_ span: UnsafeRawPointer, region: VolumeRegion, into out: UnsafeMutablePointer<Float>,
                             rowStride: Int) {
        let rowBytes = header.shape.width * voxelType.size
        for row in 0..<region.height {
            convert(span + row * rowBytes, count: region.width, into: out + row * rowStride)
        }
    }

    /// Decodes `count` stored voxels in the file's byte order and applies `scl_slope`/`scl_inter` (slope 0: none).
    private func convert(_ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        let slope = Double(header.sclSlope), intercept = Double(header.sclInter)
        let scaled = slope != 0 && slope.isFinite && intercept.isFinite
        let swap = bigEndian
        // Scaling in double so that integer voxels map to the float nearest their exact physical value.
        @inline(__always) func store(_ i: Int, _ v: Double) { out[i] = Float(scaled ? v * slope + intercept : v) }
        @inline(__always) func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            let raw = source.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
            return swap ? T(bigEndian: raw) : T(littleEndian: raw)
        }
        switch voxelType {
        case .uint8: for i in 0..<count { store(i, Double(load(i, UInt8.self))) }
        case .int8: for i in 0..<count { store(i, Double(load(i, Int8.self))) }
        case .int16: for i in 0..<count { store(i, Double(load(i, Int16.self))) }
        case .uint16: for i in 0..<count { store(i, Double(load(i, UInt16.self))) }
        case .int32: for i in 0..<count { store(i, Double(load(i, Int32.self))) }
        case .uint32: for i in 0..<count { store(i, Double(load(i, UInt32.self))) }
        case .float32: for i in 0..<count { store(i, Double(Float(bitPattern: load(i, UInt32.self)))) }
        case .float64: for i in 0..<count { store(i, Double(bitPattern: load(i, UInt64.self))) }
        }
    }
}
