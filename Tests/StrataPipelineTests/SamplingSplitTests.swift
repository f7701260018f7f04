import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline

final class SamplingSplitTests: XCTestCase {
    let width = 300, height = 200

    func testBlocksTileThePlaneAndHitTheFraction() throws {
        let split = SpatialSplit(blockSize: 32, validationFraction: 0.25, seed: 4)
        let blocks = try split.blocks(width: width, height: height)
        XCTAssertEqual(blocks.count, 9 * 6)                  // 300 = 8·32 + 44 (merged), 200 = 5·32 + 40
        var hits = [Int](repeating: 0, count: width * height)
        for block in blocks {
            XCTAssertGreaterThanOrEqual(min(block.window.width, block.window.height), 32)
            for y in block.window.y..<block.window.y + block.window.height {
                for x in block.window.x..<block.window.x + block.window.width { hits[y * width + x] += 1 }
            }
        }
        XCTAssertEqual(Set(hits), [1])
        let validation = blocks.filter { $0.role == .validation }
        XCTAssertEqual(validation.count, 14)                 // round(0.25 · 54)
        let area = validation.reduce(0) { $0 + $1.window.pixelCount }
        XCTAssertEqual(Double(area) / Double(width * height), 0.25, accuracy: 0.08)
        // Seeded: same seed same blocks, another seed another choice.
        XCTAssertEqual(try split.regions(.validation, width: width, height: height), validation.map(\.window))
        var other = split
        other.seed = 5
        XCTAssertNotEqual(try other.regions(.validation, width: width, height: height), validation.map(\.window))
    }

    func testNoTrainingPatchOrPixelTouchesAValidationBlock() throws {
        let fixture = try SamplingFixture()
        defer { fixture.remove() }
        let input = RasterPlanes(try RasterStack(files: try fixture.writeSeries(width: width, height: height)))
        let split = SpatialSplit(blockSize: 40, validationFraction: 0.3, seed: 11)
        var validationPixels = Set<Int>()
        for block in try split.blocks(width: width, height: height) where block.role == .validation {
            for y in block.window.y..<block.window.y + block.window.height {
                for x in block.window.x..<block.window.x + block.window.width { validationPixels.insert(y * width + x) }
            }
        }
        let training = try SampleSource(input: input, patchSize: 24, split: split, role: .training)
        let validation = try SampleSource(input: input, patchSize: 24, split: split, role: .validation)
        var trainingPixels = Set<Int>()
        for sampling in [PatchSampling.random(count: 3000), .grid] {
            for p in try PatchSampler(sources: [training], sampling: sampling, seed: 2).positions(epoch: 0) {
                for y in p.y..<p.y + 24 { for x in p.x..<p.x + 24 { trainingPixels.insert(y * width + x) } }
            }
        }
        XCTAssertTrue(trainingPixels.isDisjoint(with: validationPixels))
        // The grid of the training side covers all of it: training ∪ validation is the whole plane.
        XCTAssertEqual(trainingPixels.count + validationPixels.count, width * height)
        for p in try PatchSampler(sources: [validation], sampling: .random(count: 500), seed: 2).positions(epoch: 0) {
            for y in p.y..<p.y + 24 {
                for x in p.x..<p.x + 24 { XCTAssertTrue(validationPixels.contains(y * width + x)) }
            }
        }
        let pixels = try PixelSampler(sources: [training], batchSize: 500, seed: 1).batches(epoch: 0)
        while let batch = try pixels.next() {
            XCTAssertTrue(batch.positions.allSatisfy { !validationPixels.contains($0.y * width + $0.x) })
        }
    }

    func testPatientSplitKeepsPatientsApart() {
        // 20 patients with 1–3 scans each; the patient is the file name's prefix before "_".
        let files = (0..<20).flatMap { p in (0...(p % 3)).map { "p\(p)_t\($0).h5:/scan" } }
        let patient = { (file: String) in String(file.split(separator: "_")[0]) }
        let split = PatientSplit(validationFraction: 0.25, seed: 8)
        let (training, validation) = split.split(files, patient: patient)
        XCTAssertEqual(training.count + validation.count, files.count)
        XCTAssertTrue(Set(training.map(patient)).isDisjoint(with: Set(validation.map(patient))))
        XCTAssertEqual(Set(validation.map(patient)).count, 5)
        XCTAssertEqual(split.split(files, patient: patient).validation, validation, "deterministic")
        XCTAssertNotEqual(PatientSplit(validationFraction: 0.25, seed: 9).split(files, patient: patient).validation,
                          validation)
        // Two patients, any fraction strictly between 0 and 1: one each.
        XCTAssertEqual(PatientSplit(validationFraction: 0.01).validationPatients(["a", "b"]).count, 1)
    }
}
