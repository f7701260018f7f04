import Foundation
import XCTest
import StrataCore
@testable import StrataModel

/// State continuation, masking and lengths, and the forward semantics of the bidirectional and encoder–forecaster
/// models against the naive float64 reference.
final class ModelStateAndMaskTests: XCTestCase {
    let (batch, steps, height, width) = (2, 6, 6, 5)

    func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform(-1, 1)) })
    }

    func sequenceConfig(_ cell: ModelConfig.Cell, hidden: [Int] = [4, 3]) -> ModelConfig {
        ModelConfig(cell: cell, inputChannels: 2, hidden: hidden, kernel: hidden.map { _ in 3 }, output: .sequence,
                    head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
    }

    /// Steps [from, to) of a [B, T, ...] tensor.
    func steps(_ t: Tensor, _ range: Range<Int>) -> Tensor {
        let s = t.shape, block = s[2...].reduce(1, *), v = t.floats
        var out: [Float] = []
        for b in 0..<s[0] {
            for step in range { out += v[((b * s[1] + step) * block)..<((b * s[1] + step + 1) * block)] }
        }
        return Tensor(shape: [s[0], range.count] + Array(s[2...]), values: out)
    }

    /// Feeding 6 steps as 3 + 2 + 1, each chunk starting from the previous final state, equals one pass.
    /// Each step's arithmetic is the same whichever chunk it is in, so the values are bit-identical.
    func testChunkedInferenceEqualsOnePass() throws {
        for cell in [ModelConfig.Cell.convLSTM, .convGRU, .convRNN] {
            let model = try RecurrentModel(config: sequenceConfig(cell), seed: 9)
            let x = randomTensor([batch, steps, 2, height, width], seed: 1)
            let whole = try model.forward(x)
            var state: RecurrentState?
            var logits: [Float] = []
            var perSample: [[Float]] = Array(repeating: [], count: batch)
            for range in [0..<3, 3..<5, 5..<6] {
                let out = try model.forward(steps(x, range), initialState: state)
                state = out.finalState
                let v = out.logits.floats, block = v.count / batch
                for b in 0..<batch { perSample[b] += v[(b * block)..<((b + 1) * block)] }
            }
            for b in 0..<batch { logits += perSample[b] }
            XCTAssertEqual(logits, whole.logits.floats, "\(cell): chunked logits")
            for (i, layer) in whole.finalState.layers.enumerated() {
                XCTAssertEqual(state!.layers[i][0].hidden.floats, layer[0].hidden.floats, "\(cell) layer \(i) h")
                XCTAssertEqual(state!.layers[i][0].cell?.floats, layer[0].cell?.floats, "\(cell) layer \(i) c")
            }
        }
    }

    /// A fully masked last step leaves h and c bit-identical to the state after the step before; a partly masked
    /// step leaves exactly the masked pixels unchanged.
    func testMaskedStepKeepsTheStateBitIdentical() throws {
        for cell in [ModelConfig.Cell.convLSTM, .convGRU, .convRNN] {
            let model = try RecurrentModel(config: sequenceConfig(cell), seed: 10)
            let x = randomTensor([batch, steps, 2, height, width], seed: 2)
            let before = try model.forward(steps(x, 0..<(steps - 1))).finalState
            var mask = Tensor(zeros: [batch, steps, height, width], dtype: .uint8)
            let hw = height * width
            mask.withMutableRawBytes { m in
                for b in 0..<batch { for t in 0..<steps { for q in 0..<hw {
                    // Last step: pixel q is valid only when q is odd; earlier steps all valid.
                    m[(b * steps + t) * hw + q] = t < steps - 1 || q % 2 == 1 ? 1 : 0
                } } }
            }
            let after = try model.forward(x, mask: mask).finalState
            for i in 0..<2 {
                let h0 = before.layers[i][0].hidden.floats, h1 = after.layers[i][0].hidden.floats
                let c0 = before.layers[i][0].cell?.floats, c1 = after.layers[i][0].cell?.floats
                var changed = 0
                for j in h0.indices {
                    let q = j % hw
                    if q % 2 == 0 {   // every layer reads the same mask
                        XCTAssertEqual(h1[j].bitPattern, h0[j].bitPattern, "\(cell) layer \(i) h[\(j)] masked")
                        if let c0, let c1 { XCTAssertEqual(c1[j].bitPattern, c0[j].bitPattern, "\(cell) c[\(j)]") }
                    } else if h1[j] != h0[j] { changed += 1 }
                }
                XCTAssertGreaterThan(changed, 0, "\(cell) layer \(i): valid pixels should move")
            }
        }
    }

    /// lengths = [L_b] gives the same logits, final state and gradients as a mask that is 0 at steps ≥ L_b.
    func testLengthsEqualMaskingThoseSteps() throws {
        let config = sequenceConfig(.convLSTM)
        let lengths = [4, 2]
        var mask = Tensor(zeros: [batch, steps, height, width], dtype: .uint8)
        let hw = height * width
        mask.withMutableRawBytes { m in
            for b in 0..<batch { for t in 0..<lengths[b] { for q in 0..<hw { m[(b * steps + t) * hw + q] = 1 } } }
        }
        let x = randomTensor([batch, steps, 2, height, width], seed: 3)
        var results: [([Float], [Float], [[Float]])] = []
        for useLengths in [true, false] {
            let model = try RecurrentModel(config: config, seed: 11)
            let out = useLengths ? try model.forward(x, lengths: lengths) : try model.forward(x, mask: mask)
            let dy = randomTensor(out.logits.shape, seed: 4)
            try model.backward(outputGradient: dy)
            results.append((out.logits.floats, out.finalState.layers[1][0].hidden.floats,
                            model.parameters.map { $0.gradient.floats }))
        }
        XCTAssertEqual(results[0].0, results[1].0)
        XCTAssertEqual(results[0].1, results[1].1)
        XCTAssertEqual(results[0].2, results[1].2)
    }

    /// A mask that is nonzero everywhere (any nonzero byte means valid) and lengths of every step take the unmasked
    /// path: the same logits, final state and gradients as no mask, bit for bit; a single masked pixel does not.
    func testAllValidMaskRunsTheUnmaskedPath() throws {
        let config = sequenceConfig(.convLSTM)
        let x = randomTensor([batch, steps, 2, height, width], seed: 5)
        var mask = Tensor(zeros: [batch, steps, height, width], dtype: .uint8)
        mask.withMutableRawBytes { m in for i in 0..<m.count { m[i] = UInt8(1 + i % 200) } }
        let geometry = SequenceGeometry(steps: steps, batch: batch, height: height, width: width)
        var results: [([Float], [Float], [[Float]])] = []
        for variant in 0..<3 {
            let model = try RecurrentModel(config: config, seed: 12)
            if variant == 1 { XCTAssertNil(try model.effectiveMask(mask, lengths: nil, geometry: geometry)) }
            let out = switch variant {
            case 0: try model.forward(x)
            case 1: try model.forward(x, mask: mask)
            default: try model.forward(x, lengths: [steps, steps])
            }
            try model.backward(outputGradient: randomTensor(out.logits.shape, seed: 6))
            results.append((out.logits.floats, out.finalState.layers[1][0].hidden.floats,
                            model.parameters.map { $0.gradient.floats }))
        }
        for i in 1..<3 {
            XCTAssertEqual(results[i].0.map(\.bitPattern), results[0].0.map(\.bitPattern), "variant \(i) logits")
            XCTAssertEqual(results[i].1.map(\.bitPattern), results[0].1.map(\.bitPattern), "variant \(i) state")
            XCTAssertEqual(results[i].2, results[0].2, "variant \(i) gradients")
        }
        mask.withMutableRawBytes { $0[7] = 0 }
        let model = try RecurrentModel(config: config, seed: 12)
        XCTAssertNotNil(try model.effectiveMask(mask, lengths: nil, geometry: geometry))
        XCTAssertNotNil(try model.effectiveMask(nil, lengths: [steps, steps - 1], geometry: geometry))
    }

    /// The backward pass turns the stored gates into their gradients in place, so a second backward for the same
    /// forward is refused rather than computed from gradients taken for gates; a new forward allows it again.
    func testBackwardRunsOncePerForward() throws {
        let model = try RecurrentModel(config: sequenceConfig(.convLSTM), seed: 13)
        let x = randomTensor([batch, steps, 2, height, width], seed: 7)
        let dy = randomTensor(try model.forward(x).logits.shape, seed: 8)
        try model.backward(outputGradient: dy)
        XCTAssertThrowsError(try model.backward(outputGradient: dy)) {
            guard case .invalidArgument(name: "backward", _)? = $0 as? StrataError else { return XCTFail("\($0)") }
        }
        _ = try model.forward(x)
        XCTAssertNoThrow(try model.backward(outputGradient: dy))
    }

    /// Same seed, same numbers: two models from one seed train to identical parameters.
    func testSeededTrainingIsReproducible() throws {
        let config = sequenceConfig(.convGRU)
        var finals: [[Float]] = []
        for _ in 0..<2 {
            let model = try RecurrentModel(config: config, seed: 12)
            let adam = Adam(parameters: model.parameters, learningRate: 1e-2)
            let x = randomTensor([batch, steps, 2, height, width], seed: 5)
            let y = randomTensor([batch, steps, 1, height, width], seed: 6)
            for _ in 0..<3 { try model.trainStep(input: x, target: y, loss: MeanSquaredErrorLoss(), optimizer: adam) }
            finals.append(model.parameters.flatMap { $0.value.floats })
        }
        XCTAssertEqual(finals[0], finals[1])
        let other = try RecurrentModel(config: config, seed: 13)
        let same = try RecurrentModel(config: config, seed: 12)
        XCTAssertNotEqual(other.parameters[0].value.floats, same.parameters[0].value.floats)
    }

    /// Bidirectional layer: the forward half is the naive layer, the reverse half is the naive layer on the
    /// time-reversed input, reversed back (float64 reference, fp32 engine: 1e-5 relative as for the fixtures).
    func testBidirectionalMatchesNaiveReference() throws {
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3], bidirectional: true,
                                 output: .sequence, head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
        let model = try RecurrentModel(config: config, seed: 14)
        let x = randomTensor([batch, steps, 2, height, width], seed: 7)
        _ = try model.forward(x)
        let shape = LayerShape(batch: batch, time: steps, inputChannels: 2, hiddenChannels: 3, height: height,
                               width: width, kernelSize: 3)
        let hw = height * width, item = 3 * hw
        let zeros = [Double](repeating: 0, count: batch * item)
        func naive(_ prefix: String, _ input: [Double]) -> [Double] {
            let weight = model.parameter(named: "\(prefix).weight")!.value.floats.map(Double.init)
            let bias = model.parameter(named: "\(prefix).bias")!.value.floats.map(Double.init)
            return convLSTMLayer(x: input, h0: zeros, c0: zeros, weight: weight, bias: bias, peepholes: nil,
                                 shape: shape).hidden
        }
        let xs = x.floats.map(Double.init)
        let forward = naive("layers.0", xs)
        let reversed = reverseTime(naive("layers.0.reverse", reverseTime(xs, block: 2 * hw)), block: item)
        // Engine output [T, B, 2Ch, HW] -> expected [B, T, (fwd, rev), Ch·HW].
        let level = model.encoder[0]
        let engine = Array(UnsafeBufferPointer(start: level.outputs, count: steps * batch * 2 * item))
        var expected = [Double](repeating: 0, count: engine.count)
        for t in 0..<steps { for b in 0..<batch { for i in 0..<item {
            expected[((t * batch + b) * 2) * item + i] = forward[(b * steps + t) * item + i]
            expected[((t * batch + b) * 2 + 1) * item + i] = reversed[(b * steps + t) * item + i]
        } } }
        EngineCheck.assertClose(engine, expected, CellFixtureParityTests.fp32Tolerance, "bidirectional outputs")
    }

    func reverseTime(_ v: [Double], block: Int) -> [Double] {
        var out = v
        for b in 0..<batch { for t in 0..<steps {
            let src = (b * steps + t) * block, dst = (b * steps + steps - 1 - t) * block
            for i in 0..<block { out[dst + i] = v[src + i] }
        } }
        return out
    }

    /// Encoder–forecaster (Shi et al.): the forecaster starts from the encoder's final h and c and reads no input;
    /// checked against the naive layer with Cin = 0 and a 1×1 head per forecast step.
    func testEncoderForecasterMatchesNaiveReference() throws {
        let k = 3
        let config = ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3, 2], kernel: [3, 3], output: .sequence,
                                 architecture: .encoderForecaster, forecastSteps: k,
                                 head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .none))
        let model = try RecurrentModel(config: config, seed: 15)
        let x = randomTensor([batch, steps, 2, height, width], seed: 8)
        let logits = try model.forward(x).logits
        XCTAssertEqual(logits.shape, [batch, k, 1, height, width])
        func value(_ name: String) -> [Double] { model.parameter(named: name)!.value.floats.map(Double.init) }
        let hw = height * width
        var sequence = x.floats.map(Double.init), channels = 2
        var states: [(h: [Double], c: [Double])] = []
        for (i, ch) in [3, 2].enumerated() {
            let zeros = [Double](repeating: 0, count: batch * ch * hw)
            let shape = LayerShape(batch: batch, time: steps, inputChannels: channels, hiddenChannels: ch,
                                   height: height, width: width, kernelSize: 3)
            let out = convLSTMLayer(x: sequence, h0: zeros, c0: zeros, weight: value("encoder.layers.\(i).weight"),
                                    bias: value("encoder.layers.\(i).bias"), peepholes: nil, shape: shape)
            var last = [Double]()
            for b in 0..<batch { last += frame(out.hidden, b: b, t: steps - 1, time: steps, channels: ch, pixels: hw) }
            states.append((last, out.cellLast))
            sequence = out.hidden
            channels = ch
        }
        sequence = []
        channels = 0
        for (i, ch) in [3, 2].enumerated() {
            let shape = LayerShape(batch: batch, time: k, inputChannels: channels, hiddenChannels: ch,
                                   height: height, width: width, kernelSize: 3)
            sequence = convLSTMLayer(x: sequence, h0: states[i].h, c0: states[i].c,
                                     weight: value("forecaster.layers.\(i).weight"),
                                     bias: value("forecaster.layers.\(i).bias"), peepholes: nil, shape: shape).hidden
            channels = ch
        }
        let w = value("head.weight"), bias = value("head.bias")[0]
        var expected = [Double]()
        for b in 0..<batch { for t in 0..<k {
            let f = frame(sequence, b: b, t: t, time: k, channels: 2, pixels: hw)
            for q in 0..<hw { expected.append(bias + w[0] * f[f.startIndex + q] + w[1] * f[f.startIndex + hw + q]) }
        } }
        EngineCheck.assertClose(logits.floats, expected, CellFixtureParityTests.fp32Tolerance, "forecast logits")
    }

    /// Bad inputs, one per line, with the argument each error names.
    func testBadInputsAreNamed() throws {
        let model = try RecurrentModel(config: sequenceConfig(.convLSTM), seed: 1)
        let x = randomTensor([batch, steps, 2, height, width], seed: 9)
        func name(_ body: () throws -> Void) -> String? {
            do { try body() } catch StrataError.invalidArgument(let name, _) { return name } catch { return "\(error)" }
            return nil
        }
        let wrongChannels = randomTensor([batch, steps, 3, height, width], seed: 1)
        XCTAssertEqual(name { _ = try model.forward(wrongChannels) }, "input")
        XCTAssertEqual(name { _ = try model.forward(x, mask: Tensor(zeros: [batch, steps, height, width])) }, "mask")
        let smallMask = Tensor(zeros: [batch, steps, 1, width], dtype: .uint8)
        XCTAssertEqual(name { _ = try model.forward(x, mask: smallMask) }, "mask")
        XCTAssertEqual(name { _ = try model.forward(x, lengths: [1]) }, "lengths")
        XCTAssertEqual(name { _ = try model.forward(x, lengths: [1, steps + 1]) }, "lengths")
        XCTAssertEqual(name { _ = try model.forward(x, initialState: RecurrentState(layers: [])) }, "initialState")
        let fresh = try RecurrentModel(config: sequenceConfig(.convLSTM), seed: 1)
        XCTAssertEqual(name { try fresh.backward(outputGradient: x) }, "backward")
        let out = try model.forward(x)
        XCTAssertEqual(name { try model.backward(outputGradient: x) }, "outputGradient")
        XCTAssertNil(name { try model.backward(outputGradient: Tensor(zeros: out.logits.shape)) })
    }
}
