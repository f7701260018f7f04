import XCTest
import Foundation
@testable import StrataModel

final class ModelConfigTests: XCTestCase {
    func testJSONKeysAreSnakeCase() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 6, hidden: [32, 32], kernel: [3, 3],
                                 peephole: .perChannel, head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .sigmoid))
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        for key in ["\"input_channels\":6", "\"cell\":\"convlstm\"", "\"peephole\":\"per_channel\"", "\"kind\":\"conv1x1\""] {
            XCTAssert(json.contains(key), "\(key) in \(json)")
        }
        XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)), config)
    }

    func testStackedBidirectionalShapes() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 3, hidden: [4, 6], kernel: [3, 5], bidirectional: true,
                                 head: HeadConfig(kind: .conv1x1, outputs: 2, activation: .softmax))
        try config.validate()
        let shapes = Dictionary(uniqueKeysWithValues: config.parameterShapes().map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["layers.0.weight"], [16, 7, 3, 3])
        XCTAssertEqual(shapes["layers.0.reverse.weight"], [16, 7, 3, 3])
        XCTAssertEqual(shapes["layers.1.weight"], [24, 14, 5, 5])   // input: 4 hidden × 2 directions
        XCTAssertEqual(shapes["head.weight"], [2, 12, 1, 1])
        XCTAssertEqual(shapes.count, 10)
    }

    func testGRUAndEncoderForecasterShapes() throws {
        let config = ModelConfig(cell: .convGRU, inputChannels: 1, hidden: [8], kernel: [3],
                                 architecture: .encoderForecaster, forecastSteps: 3,
                                 head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
        try config.validate()
        let shapes = Dictionary(uniqueKeysWithValues: config.parameterShapes().map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["encoder.layers.0.weight_gates"], [16, 9, 3, 3])
        XCTAssertEqual(shapes["forecaster.layers.0.weight_candidate"], [8, 8, 3, 3])
    }

    func testInvalidConfigurationsNameTheKey() {
        let head = HeadConfig(kind: .poolDense, outputs: 1, activation: .none)
        let cases: [(ModelConfig, String)] = [
            (ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [4], kernel: [4], head: head), "model.kernel"),
            (ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [4, 4], kernel: [3], head: head), "model.kernel"),
            (ModelConfig(cell: .convGRU, inputChannels: 1, hidden: [4], kernel: [3], peephole: .perChannel, head: head), "model.peephole"),
            (ModelConfig(cell: .convLSTM, inputChannels: 0, hidden: [4], kernel: [3], head: head), "model.input_channels"),
            (ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [4], kernel: [3], architecture: .encoderForecaster, head: head), "model.forecast_steps"),
        ]
        for (config, key) in cases {
            XCTAssertThrowsError(try config.validate()) { error in
                XCTAssert("\(error)".contains(key), "\(error) should name \(key)")
            }
        }
    }
}
