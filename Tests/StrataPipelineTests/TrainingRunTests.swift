import Foundation
import StrataCore
import StrataIO
import XCTest
@testable import StrataPipeline

/// Real training runs on a small synthetic change scene written to GeoTIFFs.
final class TrainingRunTests: XCTestCase {
    func testChangeTrainingLearnsAndLogs() throws {
        let fixture = try TrainingFixture()
        defer { fixture.remove() }
        let job = try TrainingConfig.load(path: try fixture.writeJob(epochs: 8))
        var epochs: [EpochRecord] = []
        let summary = try Trainer(job: job) { if case .epoch(let r) = $0 { epochs.append(r) } }.run()
        for r in epochs { print("epoch", r.epoch, r.trainLoss, r.valLoss ?? -1, r.metrics, r.seconds) }
        XCTAssertEqual(summary.epochs, 4)
    }
}
