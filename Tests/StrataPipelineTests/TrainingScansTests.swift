import Foundation
import StrataCore
import StrataIO
import StrataTestSupport
import XCTest
@testable import StrataPipeline

/// Collections of scans (`inputs.scans`): the patient split keeps a patient's scans on one side, statistics combine
/// across scans, and a lesion job trains on them.
final class TrainingScansTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try TestFolder(prefix: "strata-scans").url
        addTeardownBlock { [folder] in try? FileManager.default.removeItem(at: folder!) }
    }

    /// A `[T=3, C=1, D=2, 12, 12]` volume whose lesion (a block) grows over time, and its labels.
    func writeScan(_ name: String, offset: Int) throws {
        let shape = VolumeShape(steps: 3, channels: 1, depth: 2, height: 12, width: 12)
        for (suffix, lesionValue, background) in [("", Float(3), Float(1)), ("_labels", Float(1), Float(0))] {
            let writer = try HDF5VolumeWriter(path: folder.appendingPathComponent("\(name)\(suffix).h5").path)
            try writer.createDataset("/data", shape: shape, metadata: VolumeMetadata())
            var values: [Float] = []
            for t in 0..<3 { for _ in 0..<2 { for y in 0..<12 { for x in 0..<12 {
                let lesion = (offset..<(offset + 3 + t)).contains(x) && (3..<8).contains(y)
                values.append(lesion ? lesionValue : background + (suffix.isEmpty ? Float((x + y) % 3) * 0.1 : 0))
            } } } }
            try writer.write(Tensor(shape: [3, 1, 2, 12, 12], values: values), to: "/data")
            try writer.finish()
        }
    }

    func job(fraction: Double = 0.34) throws -> TrainingConfig {
        let names = ["p1_a", "p1_b", "p2_a", "p3_a"]
        for (i, name) in names.enumerated() { try writeScan(name, offset: 1 + i) }
        let text = """
            task: lesions
            inputs: {scans: [\(names.map { "\($0).h5:/data" }.joined(separator: ", "))]}
            targets: {scans: [\(names.map { "\($0)_labels.h5:/data" }.joined(separator: ", "))]}
            model: {hidden: [4], kernel: 3}
            epochs: 1
            batch: 4
            patch: 8
            samples_per_epoch: 8
            validation: {fraction: \(fraction), patient_pattern: '(p[0-9]+)_'}
            output: run
            """
        let path = folder.appendingPathComponent("job.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try TrainingConfig.load(path: path)
    }

    func testPatientSplitKeepsAPatientsScansTogether() throws {
        let job = try self.job()
        let data = try TrainingData.open(job, task: job.task.make(job))
        XCTAssertEqual(data.scans.count, 4)
        let sources = try TrainingSources.build(job, data: data, normalization: nil)
        func patients(_ side: [SampleSource]) -> Set<String> {
            Set(side.map { source in
                let name = data.scans.first { $0.input === source.input }!.name
                return try! TrainingSources.patient(of: name, pattern: job.validation.patientPattern)
            })
        }
        XCTAssertEqual(patients(sources.validation).count, 1, "round(0.34 · 3 patients) = 1 held out")
        XCTAssertTrue(patients(sources.validation).isDisjoint(with: patients(sources.training)))
        XCTAssertEqual(sources.training.count + sources.validation.count, 4)
        XCTAssertEqual(sources.validation.first?.regions, [Window(x: 0, y: 0, width: 12, height: 12)],
                       "whole planes on each side")

        let summary = try Trainer(job: job).run()
        XCTAssertNotNil(summary.last?.metrics["val_dice"])
    }

    func testTooFewPatientsIsRefused() throws {
        var job = try self.job()
        job.inputs.scans = Array(job.inputs.scans!.prefix(2))      // p1 only
        job.targets.scans = Array(job.targets.scans!.prefix(2))
        XCTAssertThrowsError(try Trainer(job: job).run()) { error in
            XCTAssertEqual((error as? StrataError)?.description, "validation: 1 patient(s) are too few to hold some "
                + "out; add scans or set validation.fraction: 0")
        }
    }

    func testPatientKeys() throws {
        XCTAssertEqual(try TrainingSources.patient(of: "/d/p07_visit2.h5:/t1", pattern: "(p[0-9]+)_"), "p07")
        XCTAssertEqual(try TrainingSources.patient(of: "/d/sub-3.nii", pattern: "sub-[0-9]+"), "sub-3")
        XCTAssertEqual(try TrainingSources.patient(of: "/d/a.nii", pattern: nil), "/d/a.nii")
        XCTAssertThrowsError(try TrainingSources.patient(of: "/d/a.nii", pattern: "p[0-9]"))
        // Without a pattern the key is the path below the scans' common folder, so the split does not depend on
        // where the data live.
        XCTAssertEqual(TrainingSources.pathsBelowCommonFolder(["/x/run1/data/e1/r_0.tif", "/x/run1/data/e2/r_0.tif",
                                                               "/x/run1/data/e10/r_0.tif"]),
                       ["e1/r_0.tif", "e2/r_0.tif", "e10/r_0.tif"])
        XCTAssertEqual(TrainingSources.pathsBelowCommonFolder(["/a/s1.h5:/v", "/a/b/s2.h5:/v"]), ["s1.h5:/v", "b/s2.h5:/v"])
        XCTAssertEqual(TrainingSources.pathsBelowCommonFolder(["/a/one.nii"]), ["one.nii"])
        let split = PatientSplit(validationFraction: 0.25, seed: 1)
        let here = (1...8).map { "/home/u/run/data/event_00\($0)/rain_0.tif" }
        let moved = here.map { $0.replacingOccurrences(of: "/home/u/run/", with: "/scratch/elsewhere/") }
        XCTAssertEqual(split.validationPatients(TrainingSources.pathsBelowCommonFolder(here)),
                       split.validationPatients(TrainingSources.pathsBelowCommonFolder(moved)))
    }

    /// {0, 2} and {3, 5} combine to {0, 2, 3, 5}: mean 2.5, population variance 3.25.
    func testStatisticsCombineAcrossScans() {
        let a = NormalizationStats(mean: [1], std: [1], count: [2]), b = NormalizationStats(mean: [4], std: [1], count: [2])
        let both = TrainingSources.combined([a, b])
        XCTAssertEqual(both.mean[0], 2.5, accuracy: 1e-12)
        XCTAssertEqual(both.std[0], 3.25.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(both.count, [4])
    }

    func testScanKeysAreChecked() {
        let base = "task: lesions\ninputs: {scans: [a.h5, [b1.nii, b2.nii]]}\n"
        let cases: [(String, String)] = [
            ("targets: {scans: [a_l.h5]}", "job.yaml: key 'targets.scans': 1 label stacks for 2 entries of 'inputs.scans'"),
            ("targets: {paths: t.h5}", "job.yaml: key 'targets.paths': with 'inputs.scans' give the labels as 'targets.scans'"),
            ("targets: {scans: [x, y]}\nvalidation: {patient_pattern: '('}", "job.yaml: key 'validation.patient_pattern': '(' is not a regular expression"),
            ("targets: {scans: [x, {a: 1}]}", "job.yaml: key 'targets.scans': expected a list of paths or of lists of paths, found a list"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try TrainingConfig.parse(yaml: base + text, baseFolder: "/d"), text) { error in
                XCTAssertEqual((error as? StrataError)?.description, message)
            }
        }
        XCTAssertThrowsError(try TrainingConfig.parse(yaml: "task: yield\ninputs: {paths: a.tif}\ntargets: {paths: b.tif}\n"
                                                      + "validation: {split: scans}", baseFolder: "/d")) { error in
            XCTAssertEqual((error as? StrataError)?.description, "job.yaml: key 'validation.split': 'scans' needs 'inputs.scans'")
        }
        XCTAssertEqual(try TrainingConfig.parse(yaml: base + "targets: {scans: [x, y]}", baseFolder: "/d").inputs.scans,
                       [["/d/a.h5"], ["/d/b1.nii", "/d/b2.nii"]])
    }
}
