import Foundation
import StrataCore
@testable import StrataIO
import XCTest
import StrataTestSupport

/// Reading the real `functional.nii` (int16, 17 × 21 × 3 × 20, scl_slope ≈ 0.0754, scl_inter ≈ 3100.76), checked
/// against the raw bytes parsed here with a few independent lines, and against values printed by Python's `struct`.
final class NIfTIReaderTests: XCTestCase {
    // Physical value of voxel (x, y, z, t) straight from the file bytes: int16 at 352 + 2 * index, scaled in double.
    private func independentValue(_ bytes: VolumeFileBytes, x: Int, y: Int, z: Int, t: Int) -> Float {
        let raw = bytes.int16(at: 352 + 2 * (((t * 3 + z) * 21 + y) * 17 + x))
        let slope = Double(bytes.float(at: 112)), intercept = Double(bytes.float(at: 116))
        return Float(Double(raw) * slope + intercept)
    }

    func testFunctionalInfoMatchesTheHeader() throws {
        let path = try VolumeTestKit.functionalNIfTIPath()
        let info = try VolumeStack(path: path).info
        XCTAssertEqual(info.kind, .nifti)
        XCTAssertEqual(info.sources, [path])
        XCTAssertEqual(info.steps, 20)
        XCTAssertEqual(info.dates, Array(repeating: nil, count: 20))
        XCTAssertEqual(info.timeOffsetsSeconds, (0..<20).map { Double($0) * 2 })   // TR 2 s
        XCTAssertEqual(info.bands, 1)
        XCTAssertEqual(info.bandNames, [""])
        XCTAssertEqual([info.width, info.height, info.depth], [17, 21, 3])
        XCTAssertEqual(info.dtype, "int16")
        XCTAssertEqual(info.spacing, [4, 4, 8])
        XCTAssertEqual(info.origin, [32, -40, 0])       // sform translation column
        XCTAssertNil(info.nodata)
        XCTAssertEqual(info.scale, Double(Float(0.07540696859359741)))
        XCTAssertEqual(info.offset, Double(Float(3100.76171875)))
        // Step 0 min/max from Python over the raw int16: -31008 and 32322, scaled. Float32 results: 1e-3 slack.
        let range = try XCTUnwrap(info.valueRange)
        XCTAssertEqual(range[0], -31008 * 0.07540696859359741 + 3100.76171875, accuracy: 1e-3)
        XCTAssertEqual(range[1], 32322 * 0.07540696859359741 + 3100.76171875, accuracy: 1e-3)
    }

    func testFunctionalAffineIsTheSform() throws {
        let stack = try VolumeStack(path: try VolumeTestKit.functionalNIfTIPath())
        XCTAssertEqual(stack.affine, [[-4, 0, 0, 32], [0, 4, 0, -40], [0, 0, 8, 0], [0, 0, 0, 1]])
        // The qform (quaternion 0,1,0 with qfac -1) describes the same geometry as the sform.
        let header = try XCTUnwrap(stack.niftiHeader)
        let q = header.quaternionAffine()
        XCTAssertEqual(q, [[-4, 0, 0, 32], [0, 4, 0, -40], [0, 0, 8, 0]])
    }

    func testFunctionalVoxelsMatchTheRawBytes() throws {
        let path = try VolumeTestKit.functionalNIfTIPath()
        let bytes = try VolumeFileBytes(path: path)
        let stack = try VolumeStack(path: path)
        let window = try stack.read(region: VolumeRegion(x: 0, y: 0, z: 0, width: 17, height: 21, depth: 3))
        XCTAssertEqual(window.values.shape, [20, 1, 3, 21, 17])
        XCTAssertEqual(window.mask.shape, [20, 3, 21, 17])
        XCTAssertTrue(window.mask.withRawBytes { $0.allSatisfy { $0 == 1 } })
        let values = window.values.floats
        for t in 0..<20 {
            for z in 0..<3 {
                for y in 0..<21 {
                    for x in 0..<17 {
                        let expected = independentValue(bytes, x: x, y: y, z: z, t: t)
                        XCTAssertEqual(values[((t * 3 + z) * 21 + y) * 17 + x], expected)
                    }
                }
            }
        }
        // Known voxel from Python's struct: (x 8, y 10, z 1, t 5) stores 10564 -> 3897.3609... (float32 rounding).
        XCTAssertEqual(values[((5 * 3 + 1) * 21 + 10) * 17 + 8], 3897.3609, accuracy: 1e-3)
    }

    func testWindowAtTheEdgeIsFilledWithNaNAndMasked() throws {
        let stack = try VolumeStack(path: try VolumeTestKit.functionalNIfTIPath())
        let full = try stack.read(region: stack.shape.fullRegion, steps: 3..<5).values.floats
        let region = VolumeRegion(x: 14, y: -2, z: 2, width: 5, height: 4, depth: 2)
        let window = try stack.read(region: region, steps: 3..<5)
        XCTAssertEqual(window.values.shape, [2, 1, 2, 4, 5])
        let values = window.values.floats
        let mask = window.mask.withRawBytes { Array($0) }
        for t in 0..<2 {
            for dz in 0..<2 {
                for dy in 0..<4 {
                    for dx in 0..<5 {
                        let (x, y, z) = (14 + dx, -2 + dy, 2 + dz)
                        let i = ((t * 2 + dz) * 4 + dy) * 5 + dx
                        if x < 17, y >= 0, z < 3 {
                            XCTAssertEqual(values[i], full[((t * 3 + z) * 21 + y) * 17 + x])
                            XCTAssertEqual(mask[i], 1)
                        } else {
                            XCTAssertTrue(values[i].isNaN, "voxel \(x),\(y),\(z) outside must be NaN")
                            XCTAssertEqual(mask[i], 0)
                        }
                    }
                }
            }
        }
        let outside = try stack.read(region: VolumeRegion(x: 40, y: 0, z: 0, width: 2, height: 2, depth: 1))
        XCTAssertTrue(outside.values.floats.allSatisfy(\.isNaN))
        XCTAssertTrue(outside.mask.withRawBytes { $0.allSatisfy { $0 == 0 } })
    }

    func testBigEndianCopyReadsTheSame() throws {
        let path = try VolumeTestKit.functionalNIfTIPath()
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let swapped = folder + "/functional-be.nii"
        // Python rewrites every header field and voxel big-endian: an independent byte swapper.
        let script = """
            import struct, sys, array
            d = open(sys.argv[1], 'rb').read()
            fmt = 'i10s18sihcc8h3f4h8f3fh2c4f2i80s24s2h6f4f4f4f16s4s'
            fields = struct.unpack('<' + fmt, d[:348])
            voxels = array.array('h'); voxels.frombytes(d[352:]); voxels.byteswap()
            open(sys.argv[2], 'wb').write(struct.pack('>' + fmt, *fields) + d[348:352] + voxels.tobytes())
            """
        try ExternalTool.output("python3", ["-c", script, path, swapped])
        let little = try VolumeStack(path: path)
        let big = try VolumeStack(path: swapped)
        XCTAssertEqual(big.niftiHeader, little.niftiHeader)
        var expectedInfo = little.info
        expectedInfo.sources = [swapped]
        XCTAssertEqual(big.info, expectedInfo)
        let region = VolumeRegion(x: 3, y: 4, z: 0, width: 9, height: 11, depth: 3)
        XCTAssertEqual(try big.read(region: region).values.floats, try little.read(region: region).values.floats)
    }

    func testGzipCompressedReadsTheSame() throws {
        let path = try VolumeTestKit.functionalNIfTIPath()
        let folder = try VolumeTestKit.temporaryFolder(for: self)
        let gz = folder + "/functional.nii.gz"
        let compressed = try VolumeTestKit.gzipBytes(of: path)
        try compressed.write(to: URL(fileURLWithPath: gz))
        let plain = try VolumeStack(path: path)
        let packed = try VolumeStack(path: gz)
        XCTAssertEqual(packed.niftiHeader, plain.niftiHeader)
        XCTAssertEqual(packed.info.valueRange, plain.info.valueRange)
        let region = VolumeRegion(x: -1, y: 5, z: 1, width: 6, height: 30, depth: 2)
        let a = try packed.read(region: region, steps: 10..<20), b = try plain.read(region: region, steps: 10..<20)
        XCTAssertEqual(a.values.floats.map(\.bitPattern), b.values.floats.map(\.bitPattern))
        XCTAssertEqual(a.mask.withRawBytes { Array($0) }, b.mask.withRawBytes { Array($0) })
    }
}
