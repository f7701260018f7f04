import Foundation
import StrataCore
@testable import StrataIO
import XCTest
import StrataTestSupport

/// HDF5VolumeWriter: files checked with `h5dump` (layout, filters, attributes, values) and read back by VolumeStack.
final class HDF5WriterTests: XCTestCase {
    private let shape = VolumeShape(steps: 4, channels: 2, depth: 3, height: 20, width: 30)
    private let metadata = VolumeMetadata(
        spacing: Spacing(x: 0.5, y: 0.75, z: 2), origin: [-10, 20.5, 3],
        timeLabels: ["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-08"], timeSeconds: [0, 86400, 259200, 604800],
        nodata: -9999, bandNames: ["flair", "t1"])

    /// Distinct values per voxel: t*1e4 + c*1e3 + z*100 + y + x/64 (exact in float32 and, rounded, in float16 tests).
    private func values(_ shape: VolumeShape, steps: Range<Int>) -> Tensor {
        var v: [Float] = []
        for t in steps { for c in 0..<shape.channels { for z in 0..<shape.depth { for y in 0..<shape.height {
            for x in 0..<shape.width { v.append(Float(t * 10000 + c * 1000 + z * 100 + y) + Float(x) / 64) }
        } } } }
        return Tensor(shape: [steps.count, shape.channels, shape.depth, shape.height, shape.width], values: v)
    }

    private func writeFile(_ path: String, storage: HDF5VolumeWriter.StorageType = .float32) throws {
        let writer = try HDF5VolumeWriter(path: path)
        try writer.createDataset("/scan/volume", shape: shape, storage: storage, metadata: metadata)
        // Streamed: one step at a time, as a tiled inference loop would.
        for t in 0..<shape.steps {
            try writer.write(values(shape, steps: t..<t + 1), to: "/scan/volume", firstStep: t)
        }
        try writer.finish()
    }

    func testFloat32RoundTripIsExactAndH5dumpSeesLayoutFiltersAndAttributes() throws {
        let path = try VolumeTestKit.temporaryFolder(for: self) + "/out.h5"
        try writeFile(path)
        let header = try ExternalTool.output("h5dump", ["-p", "-H", path])
        let chunk = HDF5VolumeWriter.chunkShape(for: shape, axes: VolumeAxes(hasChannels: true, hasDepth: true),
                                                elementSize: 4)
        XCTAssertEqual(chunk, [2, 1, 3, 20, 30])   // one step is 7200 B < 10 KiB: two steps, 14400 B
        XCTAssertTrue(header.contains("CHUNKED ( 2, 1, 3, 20, 30 )"), header)
        XCTAssertTrue(header.contains("DATASPACE  SIMPLE { ( 4, 2, 3, 20, 30 ) / ( 4, 2, 3, 20, 30 ) }"), header)
        XCTAssertTrue(header.contains("H5T_IEEE_F32LE"), header)
        XCTAssertTrue(header.contains("PREPROCESSING SHUFFLE"), header)
        XCTAssertTrue(header.contains("COMPRESSION DEFLATE { LEVEL 5 }"), header)
        for name in ["axes", "spacing", "origin", "time_labels", "time_seconds", "nodata", "band_names"] {
            XCTAssertTrue(header.contains("ATTRIBUTE \"\(name)\""), "missing attribute \(name)")
        }
        let attributes = try ExternalTool.output("h5dump", ["-a", "/scan/volume/axes", "-a", "/scan/volume/spacing",
                                                "-a", "/scan/volume/band_names", path])
        XCTAssertTrue(attributes.contains("\"T,C,D,H,W\""), attributes)
        XCTAssertTrue(attributes.contains("0.5, 0.75, 2"), attributes)
        XCTAssertTrue(attributes.contains("\"flair\", \"t1\""), attributes)
        // Values as h5dump prints them: the whole dataset, row-major.
        XCTAssertEqual(try VolumeTestKit.h5dumpValues(path, dataset: "/scan/volume").map(Float.init),
                       values(shape, steps: 0..<4).floats)

        let stack = try VolumeStack(path: path + ":/scan/volume")
        XCTAssertEqual(stack.shape, shape)
        XCTAssertEqual(stack.metadata, metadata)
        XCTAssertEqual(stack.info.kind, .hdf5Volume)
        XCTAssertEqual(stack.info.dtype, "float32")
        XCTAssertEqual(stack.info.spacing, [0.5, 0.75, 2])
        XCTAssertEqual(stack.info.origin, [-10, 20.5, 3])
        XCTAssertEqual(stack.info.dates, metadata.timeLabels!.map { $0 })
        XCTAssertEqual(stack.info.timeOffsetsSeconds, [0, 86400, 259200, 604800])
        XCTAssertEqual(stack.info.nodata, -9999)
        XCTAssertEqual(stack.info.bandNames, ["flair", "t1"])
        XCTAssertEqual(stack.info.blockSize, [2, 1, 3, 20, 30])
        XCTAssertEqual(stack.affine, [[0.5, 0, 0, -10], [0, 0.75, 0, 20.5], [0, 0, 2, 3], [0, 0, 0, 1]])
        let back = try stack.read(region: shape.fullRegion)
        XCTAssertEqual(back.values.floats, values(shape, steps: 0..<4).floats)
    }

    func testEdgeWindowsOfAWrittenFileAreFilledWithNodata() throws {
        let path = try VolumeTestKit.temporaryFolder(for: self) + "/out.h5"
        try writeFile(path)
        let stack = try VolumeStack(path: path + ":/scan/volume")
        let expected = values(shape, steps: 2..<3).floats
        let region = VolumeRegion(x: 27, y: -1, z: 2, width: 5, height: 3, depth: 2)
        let window = try stack.read(region: region, steps: 2..<3)
        let v = window.values.floats, m = window.mask.withRawBytes { Array($0) }
        for c in 0..<2 { for dz in 0..<2 { for dy in 0..<3 { for dx in 0..<5 {
            let (x, y, z) = (27 + dx, -1 + dy, 2 + dz)
            let i = ((c * 2 + dz) * 3 + dy) * 5 + dx, mi = (dz * 3 + dy) * 5 + dx
            if x < 30, y >= 0, z < 3 {
                XCTAssertEqual(v[i], expected[((c * 3 + z) * 20 + y) * 30 + x])
                XCTAssertEqual(m[mi], 1)
            } else {
                XCTAssertEqual(v[i], -9999)   // nodata, not NaN, since the dataset declares one
                XCTAssertEqual(m[mi], 0)
            }
        } } } }
    }

    func testFloat16StorageRoundTripsWithinHalfPrecision() throws {
        let path = try VolumeTestKit.temporaryFolder(for: self) + "/half.h5"
        try writeFile(path, storage: .float16)
        let header = try ExternalTool.output("h5dump", ["-p", "-H", path])
        // HDF5 describes the derived half type by its bit fields: 16 bits, 5 exponent, 10 mantissa.
        XCTAssertTrue(header.contains("DATATYPE  16-bit little-endian floating-point 16-bit precision"), header)
        XCTAssertTrue(header.contains("CHUNKED ( 3, 1, 3, 20, 30 )"), header)   // 3600 B per step: three reach 10 KiB
        // -9999 has no float16 form; the writer stores the nearest one, -10000, as attribute and fill value.
        XCTAssertTrue(header.contains("VALUE  -10000"), header)
        let stack = try VolumeStack(path: path + ":/scan/volume")
        XCTAssertEqual(stack.info.dtype, "float16")
        XCTAssertEqual(stack.info.nodata, -10000)
        let edge = try stack.read(region: VolumeRegion(x: 29, y: 0, z: 0, width: 2, height: 1, depth: 1), steps: 0..<1)
        // Channel 0 and 1 of voxel x 29, then the nodata column x 30; 1000 + 29/64 rounds to 1000.5 in float16.
        XCTAssertEqual(edge.values.floats, [29.0 / 64, -10000, 1000.5, -10000])
        XCTAssertEqual(edge.mask.withRawBytes { Array($0) }, [1, 0])
        let back = try stack.read(region: shape.fullRegion).values.floats
        let original = values(shape, steps: 0..<4).floats
        // Binary16 keeps 11 significant bits: relative error ≤ 2^-11 after round to nearest.
        for (a, b) in zip(back, original) { XCTAssertEqual(a, b, accuracy: abs(b) * 0x1p-11) }
        // And it is exactly what Tensor's fp16 conversion gives, so reader and writer agree on rounding.
        XCTAssertEqual(back, values(shape, steps: 0..<4).converted(to: .float16).floats)
    }

    func testUInt8StorageRoundsClampsAndWritesNaNAsNodata() throws {
        let path = try VolumeTestKit.temporaryFolder(for: self) + "/mask.h5"
        let small = VolumeShape(steps: 1, channels: 1, depth: 1, height: 2, width: 3)
        let writer = try HDF5VolumeWriter(path: path)
        try writer.createDataset("/labels", shape: small, storage: .uint8, metadata: VolumeMetadata(nodata: 255))
        try writer.write(Tensor(shape: [1, 1, 1, 2, 3], values: [0.4, 1.6, -3, 300, .nan, 7]), to: "/labels")
        try writer.finish()
        XCTAssertTrue(try ExternalTool.output("h5dump", ["-H", path]).contains("H5T_STD_U8LE"))
        XCTAssertEqual(try VolumeTestKit.h5dumpValues(path, dataset: "/labels"), [0, 2, 0, 255, 255, 7])
        let window = try VolumeStack(path: path + ":/labels").read(region: small.fullRegion)
        XCTAssertEqual(window.values.floats, [0, 2, 0, 255, 255, 7])
        XCTAssertEqual(window.mask.withRawBytes { Array($0) }, [1, 1, 1, 0, 0, 1])   // 255 is nodata
    }

    func testWindowsWrittenInAnyOrderAssembleTheVolume() throws {
        let path = try VolumeTestKit.temporaryFolder(for: self) + "/tiles.h5"
        let writer = try HDF5VolumeWriter(path: path)
        try writer.createDataset("/a/b/tiles", shape: shape, metadata: metadata)
        let all = values(shape, steps: 0..<4)
        let whole = try VolumeStackTestSource(tensor: all)
        // Four spatial tiles over all steps, written bottom-right first.
        for (x, y) in [(15, 10), (0, 10), (15, 0), (0, 0)] {
            let region = VolumeRegion(x: x, y: y, z: 0, width: 15, height: 10, depth: 3)
            try writer.write(whole.crop(region), to: "/a/b/tiles", region: region)
        }
        // A second dataset in the same file.
        try writer.createDataset("/a/mean", shape: VolumeShape(steps: 1, channels: 1, depth: 1, height: 1, width: 2))
        try writer.write(Tensor(shape: [1, 1, 1, 1, 2], values: [1.5, 2.5]), to: "/a/mean")
        try writer.finish()
        XCTAssertEqual(try VolumeStack(path: path + ":/a/b/tiles").read(region: shape.fullRegion).values.floats,
                       all.floats)
        XCTAssertEqual(try VolumeTestKit.h5dumpValues(path, dataset: "/a/mean"), [1.5, 2.5])
        XCTAssertEqual(try VolumeStack(path: path + ":/a/mean").info.dtype, "float32")
    }

    func testTwoDimensionalMultichannelSeriesKeepsItsAxes() throws {
        let path = try VolumeTestKit.temporaryFolder(for: self) + "/bands.h5"
        let bands = VolumeShape(steps: 2, channels: 3, depth: 1, height: 4, width: 5)
        let writer = try HDF5VolumeWriter(path: path)
        try writer.createDataset("/bands", shape: bands, metadata: VolumeMetadata(
            spacing: Spacing(x: 10, y: 10, z: 1), timeLabels: ["baseline", "2024-06-01T00:00:00Z"]))
        try writer.write(values(bands, steps: 0..<2), to: "/bands")
        try writer.finish()
        let header = try ExternalTool.output("h5dump", ["-a", "/bands/axes", path])
        XCTAssertTrue(header.contains("\"T,C,H,W\""), header)
        XCTAssertTrue(try ExternalTool.output("h5dump", ["-H", path]).contains("( 2, 3, 4, 5 )"))
        let stack = try VolumeStack(path: path + ":/bands")
        XCTAssertEqual(stack.shape, bands)       // rank 4 read as T,C,H,W thanks to the attribute, not T,D,H,W
        XCTAssertEqual(stack.info.dates, [nil, "2024-06-01T00:00:00Z"])   // "baseline" is no ISO date
        XCTAssertNil(stack.info.timeOffsetsSeconds)
        XCTAssertEqual(try stack.read(region: bands.fullRegion).values.floats, values(bands, steps: 0..<2).floats)
    }

    func testTimeOffsetsComeFromISOLabelsWithoutTimeSeconds() throws {
        let path = try VolumeTestKit.temporaryFolder(for: self) + "/dated.h5"
        let small = VolumeShape(steps: 3, channels: 1, depth: 1, height: 2, width: 2)
        let writer = try HDF5VolumeWriter(path: path)
        try writer.createDataset("/dated", shape: small, metadata: VolumeMetadata(
            timeLabels: ["2024-01-01", "2024-01-02T06:00:00Z", "2024-01-11"]))
        try writer.write(Tensor(zeros: [3, 1, 1, 2, 2]), to: "/dated")
        try writer.finish()
        let info = try VolumeStack(path: path + ":/dated").info
        XCTAssertEqual(info.timeOffsetsSeconds, [0, 108000, 864000])
        XCTAssertEqual(info.valueRange, [0, 0])
    }

    func testChunksStayBetweenTenKiBAndOneMiB() {
        let axes = VolumeAxes(hasChannels: false, hasDepth: true)
        let big = VolumeShape(steps: 10, channels: 1, depth: 200, height: 512, width: 512)
        let chunk = HDF5VolumeWriter.chunkShape(for: big, axes: axes, elementSize: 4)
        XCTAssertEqual(chunk, [1, 50, 64, 64])   // 800 KiB: the sides halved largest-first
        let bytes = chunk.reduce(4, *)
        XCTAssertTrue((10 << 10...1 << 20).contains(bytes), "\(bytes) bytes")
        // A tiny dataset is one chunk.
        let tiny = VolumeShape(steps: 3, channels: 1, depth: 1, height: 4, width: 4)
        XCTAssertEqual(HDF5VolumeWriter.chunkShape(for: tiny, axes: VolumeAxes(hasChannels: false, hasDepth: false),
                                                   elementSize: 4), [3, 4, 4])
    }

    func testUnfinishedWriterLeavesNothing() throws {
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let path = folder + "/unfinished.h5"
        do {
            let writer = try HDF5VolumeWriter(path: path)
            try writer.createDataset("/volume", shape: shape, metadata: metadata)
            try writer.write(values(shape, steps: 0..<1), to: "/volume")
            XCTAssertThrowsError(try writer.write(values(shape, steps: 0..<1), to: "/volume", firstStep: 4))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
    }

    func testFinishingTwiceIsRefused() throws {
        let path = try VolumeTestKit.temporaryFolder(for: self) + "/twice.h5"
        let writer = try HDF5VolumeWriter(path: path)
        try writer.finish()
        VolumeTestKit.assertThrows(.invalidArgument(name: path, reason: "the writer is already finished"),
                                   try writer.finish())
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
    }

    func testWriterIntoAMissingFolderIsNotWritable() throws {
        let folder = try VolumeTestKit.temporaryFolder(for: self) + "/absent"
        VolumeTestKit.assertThrows(
            .outputNotWritable(path: folder + "/x.h5", reason: "folder \(folder) does not exist"),
            try HDF5VolumeWriter(path: folder + "/x.h5"))
    }
}

/// Crops a `[T, C, D, H, W]` tensor in the test, independently of the readers.
struct VolumeStackTestSource {
    let tensor: Tensor

    init(tensor: Tensor) throws { self.tensor = tensor }

    func crop(_ r: VolumeRegion) -> Tensor {
        let s = tensor.shape
        let all = tensor.floats
        var out: [Float] = []
        for t in 0..<s[0] { for c in 0..<s[1] { for z in r.z..<r.z + r.depth { for y in r.y..<r.y + r.height {
            for x in r.x..<r.x + r.width { out.append(all[(((t * s[1] + c) * s[2] + z) * s[3] + y) * s[4] + x]) }
        } } } }
        return Tensor(shape: [s[0], s[1], r.depth, r.height, r.width], values: out)
    }
}
