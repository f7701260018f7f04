import Foundation
import StrataCore

// Decoding, validating and encoding the 348-byte NIfTI-1 header. Offsets are those of `struct nifti_1_header`.

extension NIfTIHeader {
    /// Bytes in a NIfTI-1 header (`sizeof_hdr`).
    static let byteCount = 348
    /// The header, then a 4-byte extension flag (all zero: no extensions): where voxels start in files Strata writes.
    static let standardVoxOffset = 352

    /// Decodes a header from its first 348 bytes, in either byte order, and checks the fields that locate voxels.
    ///
    /// - Returns: the header and whether the file is big-endian.
    /// - Throws: ``StrataError/invalidHeader(path:reason:)`` for a malformed header, or
    ///   ``StrataError/unsupported(path:reason:)`` for a valid one Strata does not read (NIfTI-2, .hdr/.img pairs,
    ///   complex voxels, more than five dimensions).
    static func decode(_ bytes: [UInt8], path: String) throws -> (header: NIfTIHeader, bigEndian: Bool) {
        guard bytes.count >= byteCount else {
            throw StrataError.invalidHeader(
                path: path, reason: "file holds \(bytes.count) bytes, fewer than the 348 of a NIfTI-1 header")
        }
        let little = bytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
        let bigEndian: Bool
        if Int32(littleEndian: little) == 348 {
            bigEndian = false
        } else if Int32(bigEndian: little) == 348 {
            bigEndian = true
        } else if Int32(littleEndian: little) == 540 || Int32(bigEndian: little) == 540 {
            throw StrataError.unsupported(path: path, reason: "NIfTI-2 header (sizeof_hdr 540); Strata reads NIfTI-1")
        } else {
            throw StrataError.invalidHeader(
                path: path,
                reason: "sizeof_hdr is \(Int32(littleEndian: little)) (byte-swapped \(Int32(bigEndian: little))), "
                    + "expected 348 in either byte order")
        }
        let r = FieldReader(bytes: bytes, bigEndian: bigEndian)
        var h = NIfTIHeader()
        h.dataTypeLegacy = r.bytes(4, 10)
        h.dbName = r.bytes(14, 18)
        h.extents = r.int32(32)
        h.sessionError = r.int16(36)
        h.regular = bytes[38]
        h.dimInfo = bytes[39]
        h.dim = (0..<8).map { r.int16(40 + 2 * $0) }
        h.intentP1 = r.float(56)
        h.intentP2 = r.float(60)
        h.intentP3 = r.float(64)
        h.intentCode = r.int16(68)
        h.datatype = r.int16(70)
        h.bitpix = r.int16(72)
        h.sliceStart = r.int16(74)
        h.pixdim = (0..<8).map { r.float(76 + 4 * $0) }
        h.voxOffset = r.float(108)
        h.sclSlope = r.float(112)
        h.sclInter = r.float(116)
        h.sliceEnd = r.int16(120)
        h.sliceCode = bytes[122]
        h.xyztUnits = bytes[123]
        h.calMax = r.float(124)
        h.calMin = r.float(128)
        h.sliceDuration = r.float(132)
        h.toffset = r.float(136)
        h.glmax = r.int32(140)
        h.glmin = r.int32(144)
        h.descrip = r.bytes(148, 80)
        h.auxFile = r.bytes(228, 24)
        h.qformCode = r.int16(252)
        h.sformCode = r.int16(254)
        h.quaternB = r.float(256)
        h.quaternC = r.float(260)
        h.quaternD = r.float(264)
        h.qoffsetX = r.float(268)
        h.qoffsetY = r.float(272)
        h.qoffsetZ = r.float(276)
        h.srowX = (0..<4).map { r.float(280 + 4 * $0) }
        h.srowY = (0..<4).map { r.float(296 + 4 * $0) }
        h.srowZ = (0..<4).map { r.float(312 + 4 * $0) }
        h.intentName = r.bytes(328, 16)
        h.magic = r.bytes(344, 4)
        try h.validate(path: path)
        return (h, bigEndian)
    }

    /// Checks magic, dimensions, datatype and vox_offset; each failure says which field and why.
    func validate(path: String) throws {
        if magic == [0x6E, 0x69, 0x31, 0x00] {
            throw StrataError.unsupported(
                path: path, reason: "magic 'ni1' marks a .hdr/.img pair; Strata reads single-file .nii (magic 'n+1')")
        }
        guard magic == [0x6E, 0x2B, 0x31, 0x00] else {
            let shown = magic.map { String(format: "%02x", $0) }.joined(separator: " ")
            throw StrataError.invalidHeader(path: path, reason: "magic is \(shown), expected 'n+1\\0' (6e 2b 31 00)")
        }
        let used = Int(dim[0])
        guard (1...7).contains(used) else {
            throw StrataError.invalidHeader(path: path, reason: "dim[0] is \(used), expected 1 to 7 used dimensions")
        }
        for i in 1...used where dim[i] <= 0 {
            throw StrataError.invalidHeader(
                path: path, reason: "dim[\(i)] is \(dim[i]); every used dimension (1...\(used)) must be at least 1")
        }
        if used >= 6, dim[6...used].contains(where: { $0 > 1 }) {
            throw StrataError.unsupported(
                path: path, reason: "dimensions 6 and 7 (dim[6...7] = \(dim[6]), \(dim[7])) are not read")
        }
        guard voxelType != nil else {
            if let name = Self.knownUnsupportedDatatypes[datatype] {
                throw StrataError.unsupported(path: path, reason: "datatype \(datatype) (\(name)) voxels are not read")
            }
            throw StrataError.invalidHeader(path: path, reason: "datatype \(datatype) is not a NIfTI-1 datatype code")
        }
        guard voxOffset.isFinite, voxOffset >= Float(Self.standardVoxOffset), voxOffset == voxOffset.rounded() else {
            throw StrataError.invalidHeader(
                path: path,
                reason: "vox_offset is \(voxOffset), expected a whole number of bytes ≥ 352 in a .nii file")
        }
    }

    /// Bytes of voxel data the dimensions claim (all of x, y, z, t, u).
    var voxelByteCount: Int {
        let s = shape
        return s.width * s.height * s.depth * s.steps * s.channels * (voxelType?.size ?? 0)
    }

    /// Throws when the file (or the decompressed stream) ends before the voxels the header claims.
    func requireData(available: Int, path: String, compressed: Bool) throws {
        let needed = Int(voxOffset) + voxelByteCount
        guard available >= needed else {
            let s = shape
            let where_ = compressed ? "the decompressed stream ends after" : "the file holds"
            throw StrataError.invalidHeader(
                path: path,
                reason: "dims \(s.width)×\(s.height)×\(s.depth)×\(s.steps)×\(s.channels) of \(voxelType!) need "
                    + "\(voxelByteCount) bytes from vox_offset \(Int(voxOffset)) (\(needed) in all), but \(where_) "
                    + "\(available) bytes")
        }
    }

    /// The header as 348 little-endian bytes followed by the 4-byte extension flag (zero), 352 bytes in all.
    func encoded() -> [UInt8] {
        var w = FieldWriter(count: Self.standardVoxOffset)
        w.int32(0, 348)
        w.bytes(4, dataTypeLegacy)
        w.bytes(14, dbName)
        w.int32(32, extents)
        w.int16(36, sessionError)
        w.bytes(38, [regular, dimInfo])
        for i in 0..<8 { w.int16(40 + 2 * i, dim[i]) }
        w.float(56, intentP1)
        w.float(60, intentP2)
        w.float(64, intentP3)
        w.int16(68, intentCode)
        w.int16(70, datatype)
        w.int16(72, bitpix)
        w.int16(74, sliceStart)
        for i in 0..<8 { w.float(76 + 4 * i, pixdim[i]) }
        w.float(108, voxOffset)
        w.float(112, sclSlope)
        w.float(116, sclInter)
        w.int16(120, sliceEnd)
        w.bytes(122, [sliceCode, xyztUnits])
        w.float(124, calMax)
        w.float(128, calMin)
        w.float(132, sliceDuration)
        w.float(136, toffset)
        w.int32(140, glmax)
        w.int32(144, glmin)
        w.bytes(148, descrip)
        w.bytes(228, auxFile)
        w.int16(252, qformCode)
        w.int16(254, sformCode)
        for (i, v) in [quaternB, quaternC, quaternD, qoffsetX, qoffsetY, qoffsetZ].enumerated() {
            w.float(256 + 4 * i, v)
        }
        for i in 0..<4 {
            w.float(280 + 4 * i, srowX[i])
            w.float(296 + 4 * i, srowY[i])
            w.float(312 + 4 * i, srowZ[i])
        }
        w.bytes(328, intentName)
        w.bytes(344, magic)
        return w.buffer
    }
}

/// Reads fixed-offset fields from header bytes in the file's byte order.
private struct FieldReader {
    let bytes: [UInt8]
    let bigEndian: Bool

    func bytes(_ offset: Int, _ count: Int) -> [UInt8] { Array(bytes[offset..<offset + count]) }

    private func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        let raw = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
    }

    func int16(_ offset: Int) -> Int16 { load(offset, as: Int16.self) }
    func int32(_ offset: Int) -> Int32 { load(offset, as: Int32.self) }
    func float(_ offset: Int) -> Float { Float(bitPattern: load(offset, as: UInt32.self)) }
}

/// Writes fixed-offset little-endian fields into a zeroed buffer.
private struct FieldWriter {
    var buffer: [UInt8]

    init(count: Int) { buffer = [UInt8](repeating: 0, count: count) }

    mutating func bytes(_ offset: Int, _ values: [UInt8]) {
        buffer.replaceSubrange(offset..<offset + values.count, with: values)
    }

    private mutating func store<T: FixedWidthInteger>(_ offset: Int, _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes(offset, Array($0)) }
    }

    mutating func int16(_ offset: Int, _ value: Int16) { store(offset, value) }
    mutating func int32(_ offset: Int, _ value: Int32) { store(offset, value) }
    mutating func float(_ offset: Int, _ value: Float) { store(offset, value.bitPattern) }
}
