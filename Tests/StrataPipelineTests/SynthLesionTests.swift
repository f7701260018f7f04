import Foundation
import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline
import StrataTestSupport

/// `strata synth lesions`: HDF5 and NIfTI files, label truth and the volume record.
final class SynthLesionTests: XCTestCase {
    func write(seed: UInt64 = 5, patients: Int = 1) throws -> SynthSummary {
        var options = SynthOptions(outputDirectory: try SynthTest.folder(self), seed: seed)
        options.width = 32
        options.height = 36
        options.depth = 12
        options.steps = 5
        options.patients = patients
        return try Synth.generate(.lesions, options: options)
    }

    func testSameSeedSameBytesOtherSeedOtherBytes() throws {
        let a = try write(), b = try write(), c = try write(seed: 6)
        for file in ["patient_001/t2.nii.gz", "patient_001/t2_labels.nii.gz", "patient_001/scans.h5",
                     "patient_001/lesions.h5", "patient_001/lesions.json"] {
            XCTAssertEqual(try SynthTest.bytes(a.outputDirectory + "/" + file),
                           try SynthTest.bytes(b.outputDirectory + "/" + file), file)
        }
        XCTAssertNotEqual(try SynthTest.bytes(a.outputDirectory + "/patient_001/t2.nii.gz"),
                          try SynthTest.bytes(c.outputDirectory + "/patient_001/t2.nii.gz"))
    }

    func testLabelsAgreeWithTheVolumeRecordAndTheCourses() throws {
        let summary = try write(patients: 2)
        XCTAssertEqual(summary.counts["patients"], 2)
        for patient in ["patient_001", "patient_002"] {
            let folder = summary.outputDirectory + "/" + patient
            let labels = try VolumeStack(path: folder + "/lesions.h5:/labels")
            XCTAssertEqual(labels.shape, VolumeShape(steps: 5, channels: 1, depth: 12, height: 36, width: 32))
            let values = try labels.read(region: labels.shape.fullRegion).values.floats
            // The NIfTI label files hold the same ids as the HDF5 labels.
            let niftiLabels = try VolumeStack(niftiSeries: (0..<5).map { folder + "/t\($0)_labels.nii.gz" })
            XCTAssertEqual(try niftiLabels.read(region: niftiLabels.shape.fullRegion).values.floats, values)
            XCTAssertEqual(niftiLabels.niftiHeader?.intentCode, 1002, "NIFTI_INTENT_LABEL")
            let record = try SynthTest.json(folder + "/lesions.json")
            XCTAssertEqual(record["voxel_volume_mm3"] as? Double, 3)
            let lesions = try XCTUnwrap(record["lesions"] as? [[String: Any]])
            let volume = 12 * 36 * 32
            for lesion in lesions {
                let id = try XCTUnwrap(lesion["id"] as? Int)
                let recorded = try XCTUnwrap(lesion["volume_mm3"] as? [Double])
                let counted = (0..<5).map { t in
                    Double(values[(t * volume)..<((t + 1) * volume)].filter { $0 == Float(id) }.count) * 3
                }
                XCTAssertEqual(counted, recorded, "\(patient) lesion \(id)")
                switch lesion["course"] as? String {
                case "vanishing":
                    XCTAssertGreaterThan(recorded[0], 0)
                    XCTAssertEqual(recorded[4], 0, "vanished by the last scan")
                case "appearing":
                    XCTAssertEqual(recorded[0], 0)
                    XCTAssertGreaterThan(recorded[4], 0)
                case "merging":
                    XCTAssertGreaterThan(recorded[4], recorded[0], "merging lesions grow")
                default: break
                }
            }
            // A merge is recorded at the first scan where the two ids share a voxel face, and not before.
            for merge in try XCTUnwrap(record["merges"] as? [[String: Any]]) {
                let ids = try XCTUnwrap(merge["ids"] as? [Int]), first = try XCTUnwrap(merge["first_timepoint"] as? Int)
                for t in 0..<5 {
                    let touching = touches(Array(values[(t * volume)..<((t + 1) * volume)]), Float(ids[0]), Float(ids[1]))
                    if t < first { XCTAssertFalse(touching, "\(patient) \(ids) at \(t)") }
                    if t == first { XCTAssertTrue(touching, "\(patient) \(ids) at \(t)") }
                }
            }
        }
    }

    func touches(_ labels: [Float], _ a: Float, _ b: Float) -> Bool {
        let (w, h, d) = (32, 36, 12)
        for z in 0..<d {
            for y in 0..<h {
                for x in 0..<w {
                    let v = labels[(z * h + y) * w + x]
                    guard v == a || v == b else { continue }
                    for (nx, ny, nz) in [(x + 1, y, z), (x, y + 1, z), (x, y, z + 1)] where nx < w && ny < h && nz < d {
                        let n = labels[(nz * h + ny) * w + nx]
                        if (v == a && n == b) || (v == b && n == a) { return true }
                    }
                }
            }
        }
        return false
    }

    func testHDF5AndNIfTIHoldTheSameScansWithSpacingOriginAndDates() throws {
        let summary = try write()
        let folder = summary.outputDirectory + "/patient_001"
        let hdf5 = try VolumeStack(path: folder + "/scans.h5:/scans")
        XCTAssertEqual(hdf5.info.spacing, [1, 1, 3])
        XCTAssertEqual(hdf5.info.dates, ["2023-01-16", "2023-04-17", "2023-07-17", "2023-10-16", "2024-01-15"])
        let record = try SynthTest.json(folder + "/lesions.json")
        let origin = try XCTUnwrap(record["origin_mm"] as? [Double])
        XCTAssertEqual(origin, [-15.5, -17.5, -16.5])
        XCTAssertEqual(hdf5.info.origin, origin)
        let nifti = try VolumeStack(niftiSeries: (0..<5).map { folder + "/t\($0).nii.gz" })
        XCTAssertEqual(nifti.info.spacing, [1, 1, 3])
        // sform: diagonal spacing, translation = origin (mm), as the qform says too.
        XCTAssertEqual(nifti.affine, [[1, 0, 0, -15.5], [0, 1, 0, -17.5], [0, 0, 3, -16.5], [0, 0, 0, 1]])
        let header = try XCTUnwrap(nifti.niftiHeader)
        XCTAssertEqual(header.qformCode, 1)
        XCTAssertEqual(header.sformCode, 1)
        XCTAssertEqual([header.quaternB, header.quaternC, header.quaternD], [0, 0, 0], "no rotation")
        XCTAssertEqual([header.qoffsetX, header.qoffsetY, header.qoffsetZ], [-15.5, -17.5, -16.5])
        let a = try hdf5.read(region: hdf5.shape.fullRegion).values.floats
        let b = try nifti.read(region: nifti.shape.fullRegion).values.floats
        XCTAssertEqual(a, b, "float32 stored by both writers")
        // Brain tissue (≈0.55–0.75) inside, background near the noise level (Rician mean ≈ 1.25σ = 0.04) outside.
        XCTAssertLessThan(a[0], 0.2)
        XCTAssertGreaterThan(a[(6 * 36 + 18) * 32 + 22], 0.4)
    }

    func testH5DumpSeesTheConventionAttributes() throws {
        let summary = try write()
        let header = try ExternalTool.output("h5dump", ["-H", summary.outputDirectory + "/patient_001/scans.h5"])
        XCTAssert(header.contains("DATASPACE  SIMPLE { ( 5, 12, 36, 32 )"), header)
        for attribute in ["axes", "spacing", "origin", "time_labels"] {
            XCTAssert(header.contains("ATTRIBUTE \"\(attribute)\""), attribute)
        }
        let spacing = try ExternalTool.output("h5dump", ["-a", "/scans/spacing", summary.outputDirectory + "/patient_001/scans.h5"])
        XCTAssert(spacing.contains("1, 1, 3"), spacing)
        let labels = try ExternalTool.output("h5dump", ["-H", summary.outputDirectory + "/patient_001/lesions.h5"])
        XCTAssert(labels.contains("H5T_STD_U8LE"), labels)
    }
}
