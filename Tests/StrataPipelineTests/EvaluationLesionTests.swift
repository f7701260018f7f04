import XCTest
import Foundation
import StrataCore
import StrataIO
import StrataTestSupport
@testable import StrataPipeline

final class EvaluationLesionTests: XCTestCase {
    /// A `[d, h, w]` flag volume with the listed (z, y, x) voxels set.
    func volume(_ depth: Int, _ height: Int, _ width: Int, _ voxels: [(Int, Int, Int)]) -> [Bool] {
        var flags = [Bool](repeating: false, count: depth * height * width)
        for (z, y, x) in voxels { flags[(z * height + y) * width + x] = true }
        return flags
    }

    func testCornerContactJoinsUnder26Connectivity() {
        // Voxels touching only at corners, along the main diagonal of a 3 × 3 × 3 cube: one component of 3.
        let diagonal = ConnectedComponents(foreground: volume(3, 3, 3, [(0, 0, 0), (1, 1, 1), (2, 2, 2)]),
                                           depth: 3, height: 3, width: 3)
        XCTAssertEqual(diagonal.count, 1)
        XCTAssertEqual(diagonal.sizes, [3])
        // Edge contact within a slice and across slices (anti-diagonal in z/x) joins too.
        let edges = ConnectedComponents(foreground: volume(2, 2, 2, [(0, 0, 1), (1, 0, 0), (1, 1, 1)]),
                                        depth: 2, height: 2, width: 2)
        XCTAssertEqual(edges.count, 1)
    }

    func testSeparatedBlobsStayApart() {
        // Two 2 × 2 × 2 cubes with one empty column (x = 2) between them: two components of 8.
        var voxels: [(Int, Int, Int)] = []
        for z in 0..<2 { for y in 0..<2 { for x in [0, 1, 3, 4] { voxels.append((z, y, x)) } } }
        let blobs = ConnectedComponents(foreground: volume(2, 2, 5, voxels), depth: 2, height: 2, width: 5)
        XCTAssertEqual(blobs.count, 2)
        XCTAssertEqual(blobs.sizes, [8, 8])
        XCTAssertEqual(blobs.labels[0], 1)          // (0, 0, 0): first seen
        XCTAssertEqual(blobs.labels[4], 2)          // (0, 0, 4)
        XCTAssertEqual(blobs.labels[2], 0)          // the gap
    }

    func testArmsThatMeetLaterAreUnited() {
        // A U in one slice: the two arms get different provisional labels until the bottom row joins them.
        //   X . X
        //   X . X
        //   X X X
        let u = ConnectedComponents(
            foreground: volume(1, 3, 3, [(0, 0, 0), (0, 0, 2), (0, 1, 0), (0, 1, 2), (0, 2, 0), (0, 2, 1), (0, 2, 2)]),
            depth: 1, height: 3, width: 3)
        XCTAssertEqual(u.count, 1)
        XCTAssertEqual(u.sizes, [7])
        XCTAssertEqual(Set(u.labels.filter { $0 != 0 }), [1])
    }

    func testLongLesionDoesNotRecurse() {
        // 200,000 voxels in one chain (a recursive flood fill would overflow the stack).
        let n = 200_000
        let chain = ConnectedComponents(foreground: [Bool](repeating: true, count: n), depth: 1, height: 1, width: n)
        XCTAssertEqual(chain.sizes, [n])
    }

    /// Labels of a 1 × 1 × 12 line volume with the given x ranges set.
    func line(_ ranges: [ClosedRange<Int>]) -> ConnectedComponents {
        var flags = [Bool](repeating: false, count: 12)
        for range in ranges { for x in range { flags[x] = true } }
        return ConnectedComponents(foreground: flags, depth: 1, height: 1, width: 12)
    }

    func testMatchingIoUJustAboveAndAtOrBelowTheThreshold() {
        // Truth x 0…8 (9 voxels), prediction x 8 (1 voxel): IoU = 1 / 9 = 0.111 > 0.1 → matched.
        let above = LesionMatching(predicted: line([8...8]), truth: line([0...8]))
        XCTAssertEqual([above.truePositives, above.falsePositives, above.falseNegatives], [1, 0, 0])
        XCTAssertEqual(above.pairs.first?.iou ?? 0, 1.0 / 9.0, accuracy: 1e-12)
        // Truth x 0…9 (10), prediction x 9 (1): IoU = 1 / 10 = 0.1, not above → TP 0, FP 1, FN 1.
        let at = LesionMatching(predicted: line([9...9]), truth: line([0...9]))
        XCTAssertEqual([at.truePositives, at.falsePositives, at.falseNegatives], [0, 1, 1])
        // Truth x 0…9 (10), prediction x 9…10 (2): IoU = 1 / (2 + 10 − 1) = 1/11 = 0.091 → unmatched.
        let below = LesionMatching(predicted: line([9...10]), truth: line([0...9]))
        XCTAssertEqual([below.truePositives, below.falsePositives, below.falseNegatives], [0, 1, 1])
        XCTAssertEqual(try XCTUnwrap(below.f1), 0, accuracy: 0)
    }

    func testMatchingIsOneToOneAndGreedyByIoU() {
        // Truth x 0…9 (10). Predictions x 0…5 (6 voxels, IoU 0.6) and x 7…9 (3, IoU 0.3): both qualify, only the
        // better one matches → TP 1, FP 1, FN 0; lesion F1 = 2 / (2 + 1 + 0) = 2/3.
        let matching = LesionMatching(predicted: line([0...5, 7...9]), truth: line([0...9]))
        XCTAssertEqual([matching.truePositives, matching.falsePositives, matching.falseNegatives], [1, 1, 0])
        XCTAssertEqual(matching.pairs, [LesionMatching.Pair(predicted: 1, truth: 1, iou: 0.6)])
        XCTAssertEqual(try XCTUnwrap(matching.f1), 2.0 / 3.0, accuracy: 1e-12)
    }

    func testKeepingDropsSmallComponentsAndRenumbers() {
        // x: 1 voxel (x 0), 3 voxels (x 2…4), 2 voxels (x 6…7), 1 voxel (x 9); keep sizes > 1 → [3, 2], labels 1, 2.
        let all = line([0...0, 2...4, 6...7, 9...9])
        XCTAssertEqual(all.sizes, [1, 3, 2, 1])
        let kept = all.keeping { $0 > 1 }
        XCTAssertEqual(kept.count, 2)
        XCTAssertEqual(kept.sizes, [3, 2])
        XCTAssertEqual(kept.labels, [0, 0, 1, 1, 1, 0, 2, 2, 0, 0, 0, 0])
    }

    func testMinimumLesionVolumeLeavesSmallLesionsOutOfTheLesionCountsOnly() {
        // 1 × 1 × 12 voxels of 1 × 1 × 3 mm (3 mm³ each).
        // Truth: a 4-voxel lesion (x 0…3, 12 mm³) and a 1-voxel one (x 9, 3 mm³).
        // Prediction: x 0…3 (matched, IoU 1) and a 1-voxel false lesion at x 6.
        var truth = [Float](repeating: 0, count: 12), predicted = truth
        for x in [0, 1, 2, 3, 9] { truth[x] = 1 }
        for x in [0, 1, 2, 3, 6] { predicted[x] = 1 }
        func scores(_ minimum: Double) -> LesionTimepointScores {
            LesionTimepointScores(predicted: predicted, truth: truth, valid: [UInt8](repeating: 1, count: 12),
                                  depth: 1, height: 1, width: 12, threshold: 0.5, voxelVolumeMM3: 3,
                                  minimumLesionVolumeMM3: minimum)
        }
        // Default 0 mm³: every component counts → TP 1, FP 1, FN 1.
        let all = scores(0)
        XCTAssertEqual([all.lesions.truePositives, all.lesions.falsePositives, all.lesions.falseNegatives], [1, 1, 1])
        XCTAssertEqual([all.ignoredPredictedLesions, all.ignoredTrueLesions], [0, 0])
        // 3 mm³ (MSSEG-2016): lesions of at most 3 mm³ are not counted on either side → TP 1, FP 0, FN 0.
        let msseg = scores(3)
        XCTAssertEqual([msseg.lesions.truePositives, msseg.lesions.falsePositives, msseg.lesions.falseNegatives],
                       [1, 0, 0])
        XCTAssertEqual([msseg.ignoredPredictedLesions, msseg.ignoredTrueLesions], [1, 1])
        // Just below one voxel's volume the 1-voxel lesions count again.
        XCTAssertEqual(scores(2.9).lesions.falsePositives, 1)
        // Dice and volumes use every voxel either way: TP 4, FP 1, FN 1 → 8 / 10; 15 mm³ each.
        XCTAssertEqual(try XCTUnwrap(msseg.voxels.f1), 0.8, accuracy: 1e-12)
        XCTAssertEqual(msseg.voxels, all.voxels)
        XCTAssertEqual(msseg.predictedVolumeMM3, 15, accuracy: 1e-12)
        XCTAssertEqual(msseg.truthVolumeMM3, 15, accuracy: 1e-12)
    }

    func testNegativeMinimumLesionVolumeIsRefused() {
        var request = EvaluationRequest(prediction: "p.h5:/p", truth: "t.h5:/t")
        request.minimumLesionVolume = -1
        XCTAssertThrowsError(try request.run()) { error in
            XCTAssertTrue("\(error)".contains("--min-lesion-volume"), "\(error)")
        }
    }

    func testVolumeErrorWithAnisotropicSpacing() {
        // Spacing 0.5 × 2 × 3 mm → 3 mm³ per voxel. Prediction 4 lesion voxels (12 mm³), truth 6 (18 mm³):
        // |12 − 18| = 6 mm³; relative 6 / 18 = 1/3.
        let predicted: [Float] = [1, 1, 1, 1, 0, 0, 0, 0]
        let truth: [Float] = [1, 1, 1, 1, 1, 1, 0, 0]
        let scores = LesionTimepointScores(predicted: predicted, truth: truth, valid: [UInt8](repeating: 1, count: 8),
                                           depth: 2, height: 2, width: 2, threshold: 0.5,
                                           voxelVolumeMM3: Spacing(x: 0.5, y: 2, z: 3).voxelVolumeMM3)
        XCTAssertEqual(scores.predictedVolumeMM3, 12, accuracy: 1e-12)
        XCTAssertEqual(scores.truthVolumeMM3, 18, accuracy: 1e-12)
        XCTAssertEqual(scores.volumeErrorMM3, 6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(scores.relativeVolumeError), 1.0 / 3.0, accuracy: 1e-12)
        let noTruth = LesionTimepointScores(predicted: predicted, truth: [Float](repeating: 0, count: 8),
                                            valid: [UInt8](repeating: 1, count: 8), depth: 2, height: 2, width: 2,
                                            threshold: 0.5, voxelVolumeMM3: 3)
        XCTAssertNil(noTruth.relativeVolumeError)
    }

    func testDicePerTimepointAndOverall() throws {
        // Two timepoints of 1 × 2 × 4 voxels (spacing 1 × 1 × 2 mm, 2 mm³ per voxel).
        // t0: prediction 1 1 1 0 / 0 0 0 0, truth 1 1 0 1 / 0 0 0 0 → TP 2, FP 1, FN 1 → Dice 4/6.
        //     Components: prediction one lesion (x 0…2), truth two (x 0…1 and x 3, not touching):
        //     IoU(P, T1) = 2/3 → matched; T2 unmatched → TP 1, FP 0, FN 1.
        // t1: prediction 0 0 0 0 / 1 0 0 0, truth 0 0 0 0 / 1 1 1 1 with the last voxel nodata in the prediction
        //     → valid voxels 7: TP 1, FP 0, FN 2 → Dice 2/4; truth lesion x 0…2 (the nodata voxel is
        //     background), IoU = 1/3 → matched: TP 1.
        // Overall Dice = 2·3 / (2·3 + 1 + 3) = 6/10; lesion F1 = 2·2 / (2·2 + 0 + 1) = 4/5.
        // Volumes: predicted (3 + 1) · 2 = 8 mm³, true (3 + 3) · 2 = 12 mm³ → error 4 mm³, relative 1/3.
        let p: [Float] = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
        let t: [Float] = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
        var validity = [UInt8](repeating: 1, count: 16)
        validity[15] = 0
        let spacing = Spacing(x: 1, y: 1, z: 2)
        let report = try LesionEvaluation(threshold: 0.5).run(
            prediction: InMemoryVolume("p.h5:/lesion", steps: 2, depth: 1, height: 2, width: 4, values: p,
                                       mask: validity, spacing: spacing),
            truth: InMemoryVolume("t.h5:/lesion", steps: 2, depth: 1, height: 2, width: 4, values: t, spacing: spacing))
        XCTAssertEqual(try XCTUnwrap(report.timepoints[0].voxels.f1), 4.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(report.timepoints[1].voxels.f1), 2.0 / 4.0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(report.dice), 6.0 / 10.0, accuracy: 1e-12)
        XCTAssertEqual(report.lesionCounts.truePositives, 2)
        XCTAssertEqual(report.lesionCounts.falseNegatives, 1)
        XCTAssertEqual(try XCTUnwrap(report.lesionF1), 4.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(report.predictedVolumeMM3, 8, accuracy: 1e-12)
        XCTAssertEqual(report.truthVolumeMM3, 12, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(report.relativeVolumeError), 1.0 / 3.0, accuracy: 1e-12)
    }

    /// `strata predict` writes a lesion model's timepoints as the channels of one step (`[1, T, D, H, W]`); the
    /// labels hold them as steps (`[T, 1, D, H, W]`): channel t is scored against timepoint t.
    func testPredictionWithTimepointsAsChannelsScoresEachTimepoint() throws {
        let folder = try TestFolder(for: self, prefix: "lesion-channels").path
        // t0: prediction 1 1 1 0 / 0 0 0 0, truth 1 1 0 1 / 0 0 0 0 → TP 2, FP 1, FN 1.
        // t1: prediction 0 0 0 0 / 1 0 0 0, truth 0 0 0 0 / 1 1 1 1 → TP 1, FP 0, FN 3. Dice 6 / 11.
        let p: [Float] = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
        let t: [Float] = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
        let metadata = VolumeMetadata(spacing: Spacing(x: 1, y: 1, z: 2))
        for (name, steps, channels, values) in [("prediction", 1, 2, p), ("labels", 2, 1, t)] {
            let writer = try HDF5VolumeWriter(path: folder + "/\(name).h5")
            try writer.createDataset("/data", shape: VolumeShape(steps: steps, channels: channels, depth: 1, height: 2,
                                                                 width: 4), metadata: metadata)
            try writer.write(Tensor(shape: [steps, channels, 1, 2, 4], values: values), to: "/data")
            try writer.finish()
        }
        var request = EvaluationRequest(prediction: folder + "/prediction.h5:/data", truth: folder + "/labels.h5:/data")
        request.task = .lesions
        let text = try request.run().json.text
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(object["dice"] as? Double), 6.0 / 11.0, accuracy: 1e-9)
        XCTAssertEqual((object["timepoints"] as? [Any])?.count, 2, text)
        // Same channels against one timepoint of truth: a real size mismatch, still refused.
        var single = request
        single.truth = folder + "/prediction.h5:/data"
        XCTAssertThrowsError(try { _ = try single.run() }())
    }

    func testSpacingMismatchNamesBothVolumes() {
        let a = InMemoryVolume("p.nii", steps: 1, depth: 1, height: 1, width: 2, values: [0, 1],
                               spacing: Spacing(x: 1, y: 1, z: 2))
        let b = InMemoryVolume("t.nii", steps: 1, depth: 1, height: 1, width: 2, values: [0, 1],
                               spacing: Spacing(x: 1, y: 1, z: 3))
        XCTAssertThrowsError(try LesionEvaluation().run(prediction: a, truth: b)) { error in
            guard case let StrataError.gridMismatch(file, reference, property, _, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual([file, reference, property], ["t.nii", "p.nii", "voxel spacing (mm)"])
        }
    }
}
