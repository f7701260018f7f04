import XCTest
import StrataCore
@testable import StrataModel

/// `infer` reads the series in chunks of steps, each continuing from the previous chunk's state: its logits and
/// final state must be the one-pass `forward`'s, bit for bit, for every architecture it chunks, and its buffers must
/// hold one chunk.
final class ChunkedInferenceTests: XCTestCase {
    let (batch, steps, height, width) = (2, 7, 6, 5)

    func tensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform(-1, 1)) })
    }

    func mask(seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        var mask = Tensor(zeros: [batch, steps, height, width], dtype: .uint8)
        mask.withMutableRawBytes { for i in 0..<$0.count { $0[i] = rng.uniform() < 0.3 ? 0 : 1 } }
        return mask
    }

    /// forward and infer (chunks of 1, 3 and 4 steps) on fresh models from the same seed.
    func assertSame(_ config: ModelConfig, channels: Int = 2, mask: Tensor? = nil, lengths: [Int]? = nil,
                    file: StaticString = #filePath, line: UInt = #line) throws {
        let x = tensor([batch, steps, channels, height, width], seed: 3)
        let reference = try RecurrentModel(config: config, seed: 9).forward(x, mask: mask, lengths: lengths)
        for chunk in [1, 3, 4] {
            let chunked = try RecurrentModel(config: config, seed: 9).infer(x, mask: mask, lengths: lengths,
                                                                             chunkSteps: chunk)
            XCTAssertEqual(chunked.logits.shape, reference.logits.shape, "chunk \(chunk)", file: file, line: line)
            XCTAssertEqual(chunked.logits.floats, reference.logits.floats, "chunk \(chunk)", file: file, line: line)
            for (a, b) in zip(chunked.finalState.layers.joined(), reference.finalState.layers.joined()) {
                XCTAssertEqual(a.hidden.floats, b.hidden.floats, "chunk \(chunk) h", file: file, line: line)
                XCTAssertEqual(a.cell?.floats, b.cell?.floats, "chunk \(chunk) c", file: file, line: line)
            }
        }
    }

    func head(_ kind: HeadConfig.Kind = .conv1x1) -> HeadConfig {
        HeadConfig(kind: kind, outputs: 2, activation: .none)
    }

    func testSequenceStackWithMaskAndLengths() throws {
        try assertSame(ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3, 2], kernel: [3, 1],
                                   output: .sequence, head: head()), mask: mask(seed: 1), lengths: [7, 4])
    }

    func testLastStateGRUAndPooledSequence() throws {
        try assertSame(ModelConfig(cell: .convGRU, inputChannels: 2, hidden: [3], kernel: [3], output: .last,
                                   head: head()), mask: mask(seed: 2))
        try assertSame(ModelConfig(cell: .convRNN, inputChannels: 2, hidden: [3], kernel: [3], output: .sequence,
                                   head: head(.poolDense)), mask: mask(seed: 3))
    }

    func testEncoderForecasterFoldedWithPeepholes() throws {
        try assertSame(ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [3, 3], kernel: [3, 3],
                                   peephole: .perChannel, output: .sequence, architecture: .encoderForecaster,
                                   forecastSteps: 3, spaceToDepth: 2, head: head()),
                       channels: 1, mask: mask(seed: 4))
    }

    func testWholeSeriesModelsRunInOnePass() throws {
        try assertSame(ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [2], kernel: [3], bidirectional: true,
                                   output: .sequence, head: head()), mask: mask(seed: 5))
        try assertSame(ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [2], kernel: [3], output: .last,
                                   head: head(.poolDense)), lengths: [3, 7])
    }

    /// The pre-activation buffers hold one chunk: 4 of 7 steps, and no backward may follow.
    func testBuffersHoldOneChunkAndBackwardIsRefused() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [4], kernel: [3], output: .sequence,
                                 head: head())
        let x = tensor([batch, steps, 2, height, width], seed: 6)
        let whole = try RecurrentModel(config: config, seed: 1), chunked = try RecurrentModel(config: config, seed: 1)
        _ = try whole.forward(x)
        let out = try chunked.infer(x, chunkSteps: 4)
        XCTAssertEqual(chunked.inputBuffer.capacity * 7, whole.inputBuffer.capacity * 4)
        XCTAssertThrowsError(try chunked.backward(outputGradient: out.logits))
    }
}
