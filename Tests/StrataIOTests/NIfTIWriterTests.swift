import Foundation
import StrataCore
@testable import StrataIO
import XCTest
import StrataTestSupport

/// NIfTIWriter round trips through real files: byte-for-byte copies, fresh headers with copied geometry, gzip,
/// and series of 3-D files read back as time steps.
final class NIfTIWriterTests: XCTestCase {
    func testRewritingFunctionalWithItsHeaderIsByteIdentical() throws {
        let path = try VolumeTestKit.functionalNIfTIPath()
        let copy = try VolumeTestKit.temporaryFolder(for: self) + "/copy.nii"
        let stack = try VolumeStack(path: path)
        let values = try stack.read(region: stack.shape.fullRegion).values
        // Same header (int16 with scl_slope/scl_inter): physical values map back to the very same stored integers,
        // and every header field, qform and sform included, is written back bit for bit.
        try NIfTIWriter.write(values, to: copy, header: try XCTUnwrap(stack.niftiHeader))
        XCTAssertEqual(try VolumeFileBytes(path: copy).bytes, try VolumeFileBytes(path: path).bytes)
    }

    func testFloat32WithCopiedGeometryKeepsQformSformSpacingAndValues() throws {
        let source = try VolumeStack(path: try VolumeTestKit.functionalNIfTIPath())
        let sourceHeader = try XCTUnwrap(source.niftiHeader)
        let out = try VolumeTestKit.temporaryFolder(for: self) + "/prediction.nii"
        var header = try NIfTIHeader(width: 17, height: 21, depth: 3, steps: 20, datatype: .float32,
                                 spacing: Spacing(x: 1, y: 1, z: 1))
        header.copyGeometry(from: sourceHeader)
        let values = try source.read(region: source.shape.fullRegion).values
        try NIfTIWriter.write(values, to: out, header: header)

        let back = try VolumeStack(path: out)
        let written = try XCTUnwrap(back.niftiHeader)
        XCTAssertEqual(written.datatype, 16)
        XCTAssertEqual(written.bitpix, 32)
        XCTAssertEqual(written.sclSlope, 0)
        for (a, b) in [(written.srowX, sourceHeader.srowX), (written.srowY, sourceHeader.srowY),
                       (written.srowZ, sourceHeader.srowZ)] {
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern))
        }
        XCTAssertEqual([written.qformCode, written.sformCode], [sourceHeader.qformCode, sourceHeader.sformCode])
        XCTAssertEqual([written.quaternB, written.quaternC, written.quaternD, written.qoffsetX, written.qoffsetY,
                        written.qoffsetZ].map(\.bitPattern),
                       [sourceHeader.quaternB, sourceHeader.quaternC, sourceHeader.quaternD, sourceHeader.qoffsetX,
                        sourceHeader.qoffsetY, sourceHeader.qoffsetZ].map(\.bitPattern))
        XCTAssertEqual(written.pixdim.map(\.bitPattern), sourceHeader.pixdim.map(\.bitPattern))
        XCTAssertEqual(back.affine, source.affine)
        XCTAssertEqual(back.info.spacing, [4, 4, 8])
        XCTAssertEqual(back.info.timeOffsetsSeconds, source.info.timeOffsetsSeconds)
        XCTAssertEqual(back.info.dtype, "float32")
        XCTAssertNil(back.info.scale)
        XCTAssertEqual(try back.read(region: back.shape.fullRegion).values.floats, values.floats)
        // Independent check of the stored floats: voxel (8, 10, 1, 5) at 352 + 4 * index.
        let bytes = try VolumeFileBytes(path: out)
        XCTAssertEqual(bytes.float(at: 352 + 4 * (((5 * 3 + 1) * 21 + 10) * 17 + 8)), 3897.3609, accuracy: 1e-3)
    }

    func testScalingIsAppliedOnWriteAndUndoneOnRead() throws {
        let out = try VolumeTestKit.temporaryFolder(for: self) + "/scaled.nii"
        var header = try NIfTIHeader(width: 3, height: 2, depth: 1, steps: 1, datatype: .uint8,
                                 spacing: Spacing(x: 0.5, y: 0.5, z: 1))
        header.sclSlope = 0.5
        header.sclInter = -10
        try NIfTIWriter.write(Tensor(shape: [1, 1, 1, 2, 3], values: [-10, -9.5, 0, 117.5, 500, .nan]), to: out,
                              header: header)
        // Stored = (v + 10) / 0.5, rounded and clamped to 0...255; NaN stores 0.
        XCTAssertEqual(Array(try VolumeFileBytes(path: out).bytes[352...]), [0, 1, 20, 255, 255, 0])
        let back = try VolumeStack(path: out)
        XCTAssertEqual(back.niftiHeader?.sclSlope, 0.5)
        XCTAssertEqual(back.niftiHeader?.sclInter, -10)
        XCTAssertEqual(back.info.scale, 0.5)
        XCTAssertEqual(back.info.offset, -10)
        XCTAssertEqual(try back.read(region: back.shape.fullRegion).values.floats, [-10, -9.5, 0, 117.5, 117.5, -10])
    }

    func testGzipRoundTripMatchesThePlainFile() throws {
        let source = try VolumeStack(path: try VolumeTestKit.functionalNIfTIPath())
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let values = try source.read(region: source.shape.fullRegion).values
        let header = try XCTUnwrap(source.niftiHeader)
        try NIfTIWriter.write(values, to: folder + "/out.nii.gz", header: header)
        try NIfTIWriter.write(values, to: folder + "/out.nii", header: header)
        // The system gzip inflates what zlib wrote to exactly the plain file.
        let plainFromGzip = try ExternalTool.outputData("gzip", ["-dc", folder + "/out.nii.gz"])
        XCTAssertEqual([UInt8](plainFromGzip), try VolumeFileBytes(path: folder + "/out.nii").bytes)
        let back = try VolumeStack(path: folder + "/out.nii.gz")
        XCTAssertEqual(back.niftiHeader, header)
        XCTAssertEqual(try back.read(region: back.shape.fullRegion).values.floats, values.floats)
    }

    func testSeriesOfThreeDFilesReadsAsTimeSteps() throws {
        let source = try VolumeStack(path: try VolumeTestKit.functionalNIfTIPath())
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        var paths: [String] = []
        for t in [4, 9, 2] {
            var header = try NIfTIHeader(width: 17, height: 21, depth: 3, steps: 1, datatype: .float32,
                                     spacing: Spacing(x: 4, y: 4, z: 8))
            header.copyGeometry(from: source.niftiHeader!)
            let path = folder + "/vol\(t).nii" + (t == 9 ? ".gz" : "")
            try NIfTIWriter.write(try source.read(region: source.shape.fullRegion, steps: t..<t + 1).values,
                                  to: path, header: header)
            paths.append(path)
        }
        let series = try VolumeStack(paths: paths)
        XCTAssertEqual(series.info.kind, .nifti)
        XCTAssertEqual(series.info.sources, paths)
        XCTAssertEqual(series.info.steps, 3)
        XCTAssertNil(series.info.timeOffsetsSeconds)
        XCTAssertEqual(series.info.spacing, [4, 4, 8])
        let region = VolumeRegion(x: 2, y: 3, z: 0, width: 10, height: 12, depth: 3)
        let got = try series.read(region: region).values.floats
        var expected: [Float] = []
        for t in [4, 9, 2] { expected += try source.read(region: region, steps: t..<t + 1).values.floats }
        XCTAssertEqual(got, expected)
    }

    func testSeriesMembersOfDifferentSizeAreAGridMismatch() throws {
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let a = folder + "/a.nii", b = folder + "/b.nii"
        for (path, width) in [(a, 2), (b, 3)] {
            let header = try NIfTIHeader(width: width, height: 2, depth: 1, steps: 1, datatype: .uint8,
                                     spacing: Spacing(x: 1, y: 1, z: 1))
            try NIfTIWriter.write(Tensor(zeros: [1, 1, 1, 2, width]), to: path, header: header)
        }
        VolumeTestKit.assertThrows(
            .gridMismatch(file: b, reference: a, property: "size", expected: "2×2×1", found: "3×2×1"),
            try VolumeStack(niftiSeries: [a, b]))
    }

    func testUnfinishedWriterLeavesNothing() throws {
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let header = try NIfTIHeader(width: 2, height: 2, depth: 1, steps: 3, datatype: .int16,
                                 spacing: Spacing(x: 1, y: 1, z: 1))
        do {
            let writer = try NIfTIWriter(path: folder + "/partial.nii.gz", header: header)
            try writer.append(Tensor(zeros: [1, 2, 2]))
            VolumeTestKit.assertThrows(
                .invalidArgument(name: "volume", reason: "1 of 3 volumes written; the file is incomplete"),
                try writer.finish())
        }
        do {
            let writer = try NIfTIWriter(path: folder + "/dropped.nii", header: header)
            try writer.append(Tensor(zeros: [1, 2, 2]))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
    }

    func testHeaderSizesBeyondNIfTI1AreRejected() {
        VolumeTestKit.assertThrows(
            .invalidArgument(name: "NIfTI size",
                             reason: "[40000, 2, 1, 1, 1] (x, y, z, t, channels): NIfTI-1 holds 1 to 32767 per axis"),
            try NIfTIHeader(width: 40000, height: 2, depth: 1, steps: 1, datatype: .uint8,
                            spacing: Spacing(x: 1, y: 1, z: 1)))
    }

    func testWriterRefusesDatatypesItDoesNotStore() throws {
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let header = try NIfTIHeader(width: 2, height: 2, depth: 1, steps: 1, datatype: .float64,
                                     spacing: Spacing(x: 1, y: 1, z: 1))
        VolumeTestKit.assertThrows(
            .invalidArgument(name: "NIfTI datatype", reason: "64 cannot be written; use uint8, int16 or float32"),
            try NIfTIWriter(path: folder + "/x.nii", header: header))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
    }
}
