import Foundation
import StrataCore
@testable import StrataIO
import XCTest
import StrataTestSupport

/// Reading HDF5 datasets written by the independent `h5import` tool, and the failures of bad HDF5 inputs.
final class HDF5ReaderTests: XCTestCase {
    // Voxel value t*1000 + z*100 + y*10 + x makes every position identifiable.
    private func code(_ t: Int, _ z: Int, _ y: Int, _ x: Int) -> Float { Float(t * 1000 + z * 100 + y * 10 + x) }

    /// A big-endian int16 [T 3, D 2, H 4, W 5] dataset chunked (1, 2, 2, 5), at `/group/volume`.
    private func makeCodedVolume() throws -> String {
        let file = try VolumeTestKit.temporaryFolder(for: self) + "/coded.h5"
        var values: [Double] = []
        for t in 0..<3 { for z in 0..<2 { for y in 0..<4 { for x in 0..<5 {
            values.append(Double(code(t, z, y, x)))
        } } } }
        try VolumeTestKit.h5import(values, dims: [3, 2, 4, 5], into: file, dataset: "/group/volume", byteOrder: "BE",
                     chunk: [1, 2, 2, 5])
        return file
    }

    func testInfoOfAnIndependentlyWrittenDataset() throws {
        let file = try makeCodedVolume()
        let stack = try VolumeStack(path: file + ":/group/volume")
        let info = stack.info
        XCTAssertEqual(info.kind, .hdf5Volume)
        XCTAssertEqual(info.sources, [file + ":/group/volume"])
        XCTAssertEqual(info.steps, 3)
        XCTAssertEqual(info.dates, [nil, nil, nil])
        XCTAssertNil(info.timeOffsetsSeconds)
        XCTAssertEqual([info.bands, info.width, info.height, info.depth], [1, 5, 4, 2])
        XCTAssertEqual(info.bandNames, [""])
        XCTAssertEqual(info.dtype, "int16")
        XCTAssertEqual(info.blockSize, [1, 2, 2, 5])
        XCTAssertNil(info.spacing)
        XCTAssertNil(info.nodata)
        XCTAssertEqual(info.valueRange, [0, 134])        // step 0: codes 0 ... 1*100 + 3*10 + 4
        XCTAssertEqual(stack.shape, VolumeShape(steps: 3, channels: 1, depth: 2, height: 4, width: 5))
        XCTAssertEqual(stack.affine, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    }

    func testWindowsIncludingEdgesReadTheRightVoxels() throws {
        let stack = try VolumeStack(path: try makeCodedVolume() + ":/group/volume")
        let regions = [
            VolumeRegion(x: 0, y: 0, z: 0, width: 5, height: 4, depth: 2),      // whole
            VolumeRegion(x: 1, y: 2, z: 1, width: 3, height: 2, depth: 1),      // inside
            VolumeRegion(x: -2, y: 3, z: -1, width: 4, height: 3, depth: 3),    // over three edges
        ]
        for region in regions {
            let window = try stack.read(region: region, steps: 1..<3)
            XCTAssertEqual(window.values.shape, [2, 1, region.depth, region.height, region.width])
            let values = window.values.floats
            let mask = window.mask.withRawBytes { Array($0) }
            var i = 0
            for t in 1..<3 {
                for z in region.z..<region.z + region.depth {
                    for y in region.y..<region.y + region.height {
                        for x in region.x..<region.x + region.width {
                            if (0..<5).contains(x), (0..<4).contains(y), (0..<2).contains(z) {
                                XCTAssertEqual(values[i], code(t, z, y, x), "\(region) voxel \(t),\(z),\(y),\(x)")
                                XCTAssertEqual(mask[i], 1)
                            } else {
                                XCTAssertTrue(values[i].isNaN)
                                XCTAssertEqual(mask[i], 0)
                            }
                            i += 1
                        }
                    }
                }
            }
        }
    }

    func testRankThreeFloatDatasetIsATimeSeriesOfImages() throws {
        let file = try VolumeTestKit.temporaryFolder(for: self) + "/images.h5"
        let values = (0..<(2 * 3 * 4)).map { Double($0) * 0.5 }
        try VolumeTestKit.h5import(values, dims: [2, 3, 4], into: file, dataset: "/images", outputClass: "FP",
                                   outputSize: 64)
        let stack = try VolumeStack(path: file + ":/images")
        XCTAssertEqual(stack.shape, VolumeShape(steps: 2, channels: 1, depth: 1, height: 3, width: 4))
        XCTAssertEqual(stack.info.dtype, "float64")
        XCTAssertNil(stack.info.blockSize)                  // contiguous
        let window = try stack.read(region: stack.shape.fullRegion)
        XCTAssertEqual(window.values.floats, values.map(Float.init))
    }

    // MARK: - Bad inputs, one per test, with the exact error.

    func testMissingDatasetIsNoSuchDataset() throws {
        let file = try makeCodedVolume()
        VolumeTestKit.assertThrows(.noSuchDataset(path: file, dataset: "/group/missing"),
                                   try VolumeStack(path: file + ":/group/missing"))
    }

    func testDatasetUnderAMissingGroupIsNoSuchDataset() throws {
        let file = try makeCodedVolume()
        VolumeTestKit.assertThrows(.noSuchDataset(path: file, dataset: "/nothing/here/volume"),
                                   try VolumeStack(path: file + ":/nothing/here/volume"))
    }

    func testGroupIsNoSuchDataset() throws {
        let file = try makeCodedVolume()
        VolumeTestKit.assertThrows(.noSuchDataset(path: file, dataset: "/group"),
                                   try VolumeStack(path: file + ":/group"))
    }

    func testRankOneDatasetIsBadRank() throws {
        let file = try VolumeTestKit.temporaryFolder(for: self) + "/line.h5"
        try VolumeTestKit.h5import([1, 2, 3], dims: [3], into: file, dataset: "/line", outputClass: "FP",
                                   outputSize: 32)
        VolumeTestKit.assertThrows(
            .badRank(path: file, dataset: "/line", rank: 1, expected: "3 to 5 ([T, (C,) (D,) H, W])"),
            try VolumeStack(path: file + ":/line"))
    }

    func testRankTwoDatasetIsBadRank() throws {
        let file = try VolumeTestKit.temporaryFolder(for: self) + "/plane.h5"
        try VolumeTestKit.h5import([1, 2, 3, 4, 5, 6], dims: [2, 3], into: file, dataset: "/plane")
        VolumeTestKit.assertThrows(
            .badRank(path: file, dataset: "/plane", rank: 2, expected: "3 to 5 ([T, (C,) (D,) H, W])"),
            try VolumeStack(path: file + ":/plane"))
    }

    func testStringDatasetIsUnsupported() throws {
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let file = folder + "/strings.h5"
        try "a b c\n".write(toFile: folder + "/s.txt", atomically: true, encoding: .utf8)
        try "PATH /names\nINPUT-CLASS STR\n".write(toFile: folder + "/s.cfg", atomically: true, encoding: .utf8)
        try ExternalTool.output("h5import", [folder + "/s.txt", "-c", folder + "/s.cfg", "-o", file])
        VolumeTestKit.assertThrows(
            .unsupported(path: file + ":/names",
                         reason: "dataset type is 8-byte string; Strata reads integers up to 32 bits and floats"),
            try VolumeStack(path: file + ":/names"))
    }

    func testTextFileIsNotHDF5() throws {
        let file = try VolumeTestKit.temporaryFolder(for: self) + "/notes.h5"
        try "not an HDF5 file\n".write(toFile: file, atomically: true, encoding: .utf8)
        VolumeTestKit.assertThrows(.unreadable(path: file, reason: "not an HDF5 file (no HDF5 signature)"),
                                   try VolumeStack(path: file + ":/data"))
    }

    func testMissingFileIsFileNotFound() throws {
        let file = try VolumeTestKit.temporaryFolder(for: self) + "/absent.h5"
        VolumeTestKit.assertThrows(.fileNotFound(path: file), try VolumeStack(path: file + ":/data"))
    }

    func testDirectoryIsNotAFile() throws {
        let folder = try VolumeTestKit.temporaryFolder(for: self) + "/scan.h5"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        VolumeTestKit.assertThrows(.isDirectory(path: folder), try VolumeStack(path: folder + ":/data"))
    }

    func testZeroByteFileIsEmpty() throws {
        let file = try VolumeTestKit.temporaryFolder(for: self) + "/empty.h5"
        _ = FileManager.default.createFile(atPath: file, contents: Data())
        VolumeTestKit.assertThrows(.emptyFile(path: file), try VolumeStack(path: file + ":/data"))
    }

    func testHDF5FileWithoutDatasetIsAnInvalidArgument() throws {
        let file = try makeCodedVolume()
        VolumeTestKit.assertThrows(
            .invalidArgument(name: file,
                             reason: "an HDF5 file needs a dataset: address it as \(file):/path/to/dataset"),
            try VolumeStack(path: file))
    }

    /// Voxel sizes feed volumes in mm³: a NaN, zero or negative spacing, or a non-finite origin, is refused with the
    /// attribute named, not carried into reports and headers.
    func testNonFiniteOrNonPositiveSpacingIsRefused() throws {
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let shape = VolumeShape(steps: 2, channels: 1, depth: 2, height: 3, width: 4)
        let cases: [(String, VolumeMetadata, String)] = [
            ("nan", VolumeMetadata(spacing: Spacing(x: .nan, y: 1, z: 1)), "'spacing' holds nan"),
            ("zero", VolumeMetadata(spacing: Spacing(x: 1, y: 0, z: 1)), "'spacing' holds 0.0"),
            ("negative", VolumeMetadata(spacing: Spacing(x: 1, y: 1, z: -2)), "'spacing' holds -2.0"),
            ("origin", VolumeMetadata(origin: [0, .infinity, 0]), "'origin' holds inf"),
        ]
        for (name, metadata, message) in cases {
            let file = folder + "/\(name).h5"
            let writer = try HDF5VolumeWriter(path: file)
            try writer.createDataset("/v", shape: shape, storage: .float32, metadata: metadata)
            try writer.write(Tensor(zeros: [2, 1, 2, 3, 4]), to: "/v")
            try writer.finish()
            XCTAssertThrowsError(try VolumeStack(path: file + ":/v"), name) { error in
                XCTAssert("\(error)".contains(message), "\(error) should contain \(message)")
            }
        }
    }

    func testAddressParsing() {
        XCTAssertEqual(HDF5Address("a:b/scan.h5:/g/d/"), HDF5Address(file: "a:b/scan.h5", dataset: "/g/d"))
        XCTAssertEqual(HDF5Address("scan.h5:/d")?.description, "scan.h5:/d")
        XCTAssertNil(HDF5Address("bold.nii.gz"))
        XCTAssertNil(HDF5Address(":/d"))
    }
}
