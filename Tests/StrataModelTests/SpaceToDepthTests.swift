import Foundation
import XCTest
import StrataCore
@testable import StrataModel

/// `model.space_to_depth`: the folding's channel order (PyTorch `pixel_unshuffle`), that a folded model is the plain
/// model on folded input, and its gradients against finite differences (with padding: 5 × 4 pixels, s = 2).
final class SpaceToDepthTests: XCTestCase {
    static func mask(_ shape: [Int], _ values: [UInt8]) -> Tensor {
        var mask = Tensor(zeros: shape, dtype: .uint8)
        mask.withMutableRawBytes { for i in values.indices { $0[i] = values[i] } }
        return mask
    }

    func testFoldOrderIsPixelUnshuffleWithZeroPadding() {
        // One 3 × 3 plane 0...8, s = 2: folded 2 × 2, channel dy·2 + dx holds pixel (2y + dy, 2x + dx).
        let fold = SpaceToDepth(factor: 2, height: 3, width: 3)
        let x = Tensor(shape: [1, 1, 3, 3], values: (0..<9).map(Float.init))
        let folded = fold.fold(x)
        XCTAssertEqual(folded.shape, [1, 4, 2, 2])
        XCTAssertEqual(folded.floats, [0, 2, 6, 8,   1, 0, 7, 0,   3, 5, 0, 0,   4, 0, 0, 0])
        XCTAssertEqual(fold.unfold(folded).floats, x.floats)
        // Two channels keep their blocks apart: channel c's block is c·s² ..< (c + 1)·s².
        let two = Tensor(shape: [1, 2, 2, 2], values: [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(SpaceToDepth(factor: 2, height: 2, width: 2).fold(two).floats, [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(SpaceToDepth(factor: 2, height: 2, width: 2).fold(two).shape, [1, 8, 1, 1])
    }

    func testFoldedMaskIsValidWhereAnyPixelIs() {
        let fold = SpaceToDepth(factor: 2, height: 3, width: 3)
        let mask = Self.mask([1, 1, 3, 3], [0, 0, 1,   0, 0, 0,   0, 0, 0])
        XCTAssertEqual(fold.foldMask(mask).withRawBytes { Array($0) }, [0, 1, 0, 0])
    }

    func testFoldedModelIsThePlainModelOnFoldedInput() throws {
        let folded = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3], output: .sequence,
                                 spaceToDepth: 2, head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
        var plainConfig = folded
        plainConfig.spaceToDepth = 1
        plainConfig.inputChannels = 8
        plainConfig.head.outputs = 4
        XCTAssertEqual(folded.parameterShapes().map(\.shape), plainConfig.parameterShapes().map(\.shape))
        let a = try RecurrentModel(config: folded, seed: 3), b = try RecurrentModel(config: plainConfig, seed: 4)
        for (p, q) in zip(a.parameters, b.parameters) { q.value = p.value }

        var rng = SeededGenerator(seed: 8)
        let x = Tensor(shape: [2, 4, 2, 5, 4], values: (0..<320).map { _ in Float(rng.uniform(-1, 1)) })
        let mask = Self.mask([2, 4, 5, 4], (0..<160).map { _ in rng.uniform() < 0.3 ? 0 : 1 })
        let fold = SpaceToDepth(factor: 2, height: 5, width: 4)
        let out = try a.forward(x, mask: mask)
        // Masked pixels enter their block as 0.
        let reference = try b.forward(fold.fold(x, masking: mask), mask: fold.foldMask(mask))
        XCTAssertEqual(out.logits.shape, [2, 4, 1, 5, 4])
        XCTAssertEqual(out.logits.floats, fold.unfold(reference.logits).floats)
        XCTAssertEqual(out.finalState.layers[0][0].hidden.shape, [2, 3, 3, 2])
        XCTAssertEqual(out.finalState.layers[0][0].hidden.floats, reference.finalState.layers[0][0].hidden.floats)
    }

    func testRejectsPerPixelPeepholesAndFactorZero() {
        var config = ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [2], kernel: [3], peephole: .perPixel,
                                 peepholeSize: [4, 4], spaceToDepth: 2,
                                 head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("space_to_depth")) }
        config.peephole = .none
        config.spaceToDepth = 0
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("space_to_depth")) }
    }

    func testCheckpointConfigWithoutTheKeyReadsAsOne() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [2], kernel: [3], spaceToDepth: 4,
                                 head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        XCTAssertTrue(json.contains("\"space_to_depth\":4"))
        XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)), config)
        let old = json.replacingOccurrences(of: ",\"space_to_depth\":4", with: "")
            .replacingOccurrences(of: "\"space_to_depth\":4,", with: "")
        XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: Data(old.utf8)).spaceToDepth, 1)
    }
}

/// Finite-difference checks of folded models (helpers in ModelGradientCheckTests.swift).
extension ModelGradientCheckTests {
    func testSpaceToDepthSequenceHeadWithMaskAndPadding() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3], output: .sequence,
                                 spaceToDepth: 2, head: head())
        try check(try model(config), input: input(channels: 2), mask: randomMask(seed: 21), loss: weightedSum(seed: 21))
    }

    func testSpaceToDepthEncoderForecaster() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [3], kernel: [3], output: .sequence,
                                 architecture: .encoderForecaster, forecastSteps: 2, spaceToDepth: 2,
                                 head: head(outputs: 1))
        try check(try model(config), input: input(channels: 1), loss: weightedSum(seed: 22))
    }

    func testSpaceToDepthPoolDenseHeadWithMask() throws {
        let config = ModelConfig(cell: .convGRU, inputChannels: 2, hidden: [2], kernel: [3], output: .last,
                                 spaceToDepth: 2, head: head(.poolDense, outputs: 1))
        try check(try model(config), input: input(channels: 2), mask: randomMask(seed: 23), loss: weightedSum(seed: 23))
    }

    /// A bidirectional folded layer from a folded initial state `[B, Ch, ⌈5/2⌉, ⌈4/2⌉]`, with lengths.
    func testSpaceToDepthBidirectionalWithInitialStateAndLengths() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [2], kernel: [3], bidirectional: true,
                                 output: .sequence, spaceToDepth: 2, head: head())
        let shape = [geometry.batch, 2, 3, 2]
        let state = RecurrentState(layers: [[.init(hidden: randomTensor(shape, seed: 24), cell: randomTensor(shape, seed: 25)),
                                             .init(hidden: randomTensor(shape, seed: 26), cell: randomTensor(shape, seed: 27))]])
        try check(try model(config), input: input(channels: 1), lengths: [4, 3], initialState: state,
                  loss: weightedSum(seed: 24))
    }
}
