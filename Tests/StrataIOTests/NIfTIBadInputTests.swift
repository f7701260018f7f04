import Foundation
import StrataCore
@testable import StrataIO
import XCTest

/// Damaged NIfTI inputs, made from functional.nii by editing bytes, one per test, each with the exact error.
final class NIfTIBadInputTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = try VolumeTestKit.temporaryFolder(for: self)
    }

    /// functional.nii with `edit` applied, written as `name` in the temporary folder.
    private func damaged(_ name: String, _ edit: (inout VolumeFileBytes) -> Void) throws -> String {
        var bytes = try VolumeFileBytes(path: try VolumeTestKit.functionalNIfTIPath())
        edit(&bytes)
        let path = folder + "/" + name
        try bytes.write(to: path)
        return path
    }

    func testWrongHeaderSize() throws {
        let path = try damaged("size.nii") { $0.setInt32(350, at: 0) }
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path,
                           reason: "sizeof_hdr is 350 (byte-swapped 1577123840), expected 348 in either byte order"),
            try VolumeStack(path: path))
    }

    func testNIfTI2HeaderIsUnsupported() throws {
        let path = try damaged("two.nii") { $0.setInt32(540, at: 0) }
        VolumeTestKit.assertThrows(
            .unsupported(path: path, reason: "NIfTI-2 header (sizeof_hdr 540); Strata reads NIfTI-1"),
            try VolumeStack(path: path))
    }

    func testNegativeDimension() throws {
        let path = try damaged("negative.nii") { $0.setInt16(-21, at: 44) }   // dim[2]
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path, reason: "dim[2] is -21; every used dimension (1...4) must be at least 1"),
            try VolumeStack(path: path))
    }

    func testZeroDimension() throws {
        let path = try damaged("zero.nii") { $0.setInt16(0, at: 48) }   // dim[4], the time points
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path, reason: "dim[4] is 0; every used dimension (1...4) must be at least 1"),
            try VolumeStack(path: path))
    }

    func testTooManyDimensions() throws {
        let path = try damaged("eight.nii") { $0.setInt16(8, at: 40) }   // dim[0]
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path, reason: "dim[0] is 8, expected 1 to 7 used dimensions"),
            try VolumeStack(path: path))
    }

    func testNoDimensions() throws {
        let path = try damaged("none.nii") { $0.setInt16(0, at: 40) }
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path, reason: "dim[0] is 0, expected 1 to 7 used dimensions"),
            try VolumeStack(path: path))
    }

    func testDimsClaimMoreBytesThanTheFileHolds() throws {
        let path = try damaged("short.nii") { $0.bytes.removeLast(43192 - 10000) }
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path, reason: "dims 17×21×3×20×1 of int16 need 42840 bytes from vox_offset 352 "
                + "(43192 in all), but the file holds 10000 bytes"),
            try VolumeStack(path: path))
    }

    func testDimsLargerThanTheData() throws {
        let path = try damaged("more.nii") { $0.setInt16(21, at: 48) }   // 21 time points, 20 stored
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path, reason: "dims 17×21×3×21×1 of int16 need 44982 bytes from vox_offset 352 "
                + "(45334 in all), but the file holds 43192 bytes"),
            try VolumeStack(path: path))
    }

    func testTruncatedGzip() throws {
        let whole = try VolumeTestKit.gzipBytes(of: try VolumeTestKit.functionalNIfTIPath())
        let path = folder + "/truncated.nii.gz"
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try VolumeStack(path: path)) { error in
            guard case .invalidHeader(let errorPath, let reason) = error as? StrataError else {
                return XCTFail("expected invalidHeader, got \(error)")
            }
            XCTAssertEqual(errorPath, path)
            // How many bytes inflate before the cut depends on the compressor; the sentence around it does not.
            XCTAssertTrue(reason.hasPrefix("dims 17×21×3×20×1 of int16 need 42840 bytes from vox_offset 352 "
                                           + "(43192 in all), but the decompressed stream ends after "), reason)
        }
    }

    func testBadMagic() throws {
        let path = try damaged("magic.nii") { $0.bytes.replaceSubrange(344..<348, with: [0x6E, 0x2B, 0x32, 0x00]) }
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path, reason: "magic is 6e 2b 32 00, expected 'n+1\\0' (6e 2b 31 00)"),
            try VolumeStack(path: path))
    }

    func testHeaderImagePairMagicIsUnsupported() throws {
        let path = try damaged("pair.nii") { $0.bytes.replaceSubrange(344..<348, with: [0x6E, 0x69, 0x31, 0x00]) }
        VolumeTestKit.assertThrows(
            .unsupported(path: path,
                         reason: "magic 'ni1' marks a .hdr/.img pair; Strata reads single-file .nii (magic 'n+1')"),
            try VolumeStack(path: path))
    }

    func testUnknownDatatype() throws {
        let path = try damaged("datatype.nii") { $0.setInt16(3, at: 70) }
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path, reason: "datatype 3 is not a NIfTI-1 datatype code"),
            try VolumeStack(path: path))
    }

    func testComplexDatatypeIsUnsupported() throws {
        let path = try damaged("complex.nii") { $0.setInt16(32, at: 70) }
        VolumeTestKit.assertThrows(
            .unsupported(path: path, reason: "datatype 32 (complex64) voxels are not read"),
            try VolumeStack(path: path))
    }

    func testHeaderShorterThan348Bytes() throws {
        let path = try damaged("stub.nii") { $0.bytes.removeLast(43192 - 100) }
        VolumeTestKit.assertThrows(
            .invalidHeader(path: path, reason: "file holds 100 bytes, fewer than the 348 of a NIfTI-1 header"),
            try VolumeStack(path: path))
    }

    func testMissingPath() throws {
        let path = folder + "/absent.nii"
        VolumeTestKit.assertThrows(.fileNotFound(path: path), try VolumeStack(path: path))
    }

    func testDirectory() throws {
        let path = folder + "/scan.nii"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        VolumeTestKit.assertThrows(.isDirectory(path: path), try VolumeStack(path: path))
    }

    func testZeroByteFile() throws {
        let path = folder + "/empty.nii.gz"
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        VolumeTestKit.assertThrows(.emptyFile(path: path), try VolumeStack(path: path))
    }
}
