import Foundation
import XCTest
import StrataCore
import StrataIO
import StrataModel
import StrataPipeline
import StrataTestSupport

/// A small but complete checkpoint: two ConvLSTM layers, a head, normalisation, task, and the training state of
/// an AdamW that has taken real steps, with a loss scaler and generator states.
enum SampleCheckpoint {
    static let config = ModelConfig(cell: .convLSTM, inputChannels: 3, hidden: [4, 6], kernel: [3, 5],
                                    head: HeadConfig(kind: .conv1x1, outputs: 2, activation: .sigmoid))

    /// Weights from a seeded normal, every value a distinct float32.
    static func weights(_ config: ModelConfig = config, seed: UInt64 = 7) -> [String: Tensor] {
        var rng = SeededGenerator(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in config.parameterShapes() {
            tensors[name] = Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.normal()) })
        }
        return tensors
    }

    static func make() -> ModelCheckpoint {
        let tensors = weights()
        let parameters = tensors.keys.sorted().map { Parameter(name: $0, value: tensors[$0]!) }
        let optimizer = AdamW(parameters: parameters, learningRate: 1e-3)
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<3 {
            for parameter in parameters {
                parameter.gradient.withMutableFloats { g in for i in 0..<g.count { g[i] = Float(rng.normal()) } }
            }
            optimizer.step()
        }
        var scaler = DynamicLossScaler()
        scaler.update(foundOverflow: true)
        scaler.update(foundOverflow: false)
        let training = TrainingState(
            epoch: 2, globalStep: 3, batchInEpoch: 1, seed: 0xFEED_FACE_CAFE_BEEF, bestMetric: 0.8125,
            bestMetricName: "val_iou", scheduleStep: 3, learningRate: 1e-3, optimizer: "adamw",
            optimizerState: optimizer.state(), lossScaler: scaler.state(),
            rng: ["sampler": UInt64.max, "augment": 12345])
        return ModelCheckpoint(
            config: config, tensors: parameters.reduce(into: [:]) { $0[$1.name] = $1.value },
            normalization: NormalizationStats(mean: [0.1, 0.2, 0.3], std: [0.01, 0.02, 0.03], count: [10, 20, 30]),
            training: training,
            task: TaskInfo(kind: "segmentation", bandNames: ["b", "g", "r"], targetNames: ["water", "cloud"],
                           patchSize: [64, 48], minimumInputSteps: 4))
    }
}

/// Bit patterns of a tensor's elements, so that comparisons are exact (and NaN-proof).
func bits(_ tensor: Tensor) -> [UInt8] { tensor.withRawBytes { Array($0) } }

final class CheckpointRoundTripTests: XCTestCase {
    func temporaryFile(_ name: String) throws -> String {
        let folder = try TestFolder(for: self, prefix: "strata-ckpt").url
        return folder.appendingPathComponent(name).path
    }

    func testSaveThenLoadGivesBackEveryPartExactly() throws {
        let original = SampleCheckpoint.make()
        let path = try temporaryFile("model.safetensors")
        try original.save(to: path)
        let loaded = try ModelCheckpoint.load(from: path)

        XCTAssertEqual(loaded.config, original.config)
        XCTAssertEqual(Set(loaded.tensors.keys), Set(original.config.parameterShapes().map(\.name)))
        for (name, tensor) in original.tensors {
            XCTAssertEqual(loaded.tensors[name]?.shape, tensor.shape, name)
            XCTAssertEqual(loaded.tensors[name].map(bits), bits(tensor), name)
        }
        XCTAssertEqual(loaded.normalization, original.normalization)
        XCTAssertEqual(loaded.task, original.task)

        let training = try XCTUnwrap(loaded.training), expected = original.training!
        XCTAssertEqual(training.epoch, 2)
        XCTAssertEqual(training.globalStep, 3)
        XCTAssertEqual(training.batchInEpoch, 1)
        XCTAssertEqual(training.seed, 0xFEED_FACE_CAFE_BEEF)
        XCTAssertEqual(training.bestMetric, 0.8125)
        XCTAssertEqual(training.bestMetricName, "val_iou")
        XCTAssertEqual(training.scheduleStep, 3)
        XCTAssertEqual(training.learningRate, 1e-3)
        XCTAssertEqual(training.optimizer, "adamw")
        XCTAssertEqual(training.lossScaler, expected.lossScaler)
        XCTAssertEqual(training.rng, ["sampler": UInt64.max, "augment": 12345])
        XCTAssertEqual(training.optimizerState.scalars, expected.optimizerState.scalars)
        XCTAssertEqual(Set(training.optimizerState.tensors.keys), Set(expected.optimizerState.tensors.keys))
        XCTAssertEqual(training.optimizerState.tensors.count, 2 * original.tensors.count)   // exp_avg, exp_avg_sq
        for (name, tensor) in expected.optimizerState.tensors {
            XCTAssertEqual(training.optimizerState.tensors[name].map(bits), bits(tensor), name)
        }
    }

    /// Every architecture the configuration can describe saves and loads: GRU and RNN cells, peepholes of both
    /// kinds, bidirectional layers, the encoder–forecaster, a pooled dense head.
    func testEveryArchitectureRoundTrips() throws {
        let head = HeadConfig(kind: .conv1x1, outputs: 3, activation: .softmax)
        let configs = [
            ModelConfig(cell: .convGRU, inputChannels: 2, hidden: [3, 4], kernel: [3, 1], head: head),
            ModelConfig(cell: .convRNN, inputChannels: 2, hidden: [3], kernel: [5], output: .sequence, head: head),
            ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3], peephole: .perChannel, head: head),
            ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3], peephole: .perPixel,
                        peepholeSize: [4, 5], head: head),
            ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3, 2], kernel: [3, 3], bidirectional: true,
                        head: HeadConfig(kind: .poolDense, outputs: 1, activation: .none)),
            ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3, 3], kernel: [3, 3],
                        architecture: .encoderForecaster, forecastSteps: 2, head: head),
        ]
        for (index, config) in configs.enumerated() {
            let checkpoint = ModelCheckpoint(config: config, tensors: SampleCheckpoint.weights(config))
            let path = try temporaryFile("arch\(index).safetensors")
            try checkpoint.save(to: path)
            let loaded = try ModelCheckpoint.loadWeights(from: path)
            XCTAssertEqual(loaded.config, config)
            XCTAssertEqual(loaded.tensors.count, config.parameterShapes().count)
            for (name, tensor) in checkpoint.tensors {
                XCTAssertEqual(loaded.tensors[name].map(bits), bits(tensor), "\(config.cell) \(name)")
            }
        }
    }

    /// A restored optimizer and scaler continue exactly: the resumed run's next step equals the original's.
    func testResumedOptimizerTakesTheSameNextStep() throws {
        let original = SampleCheckpoint.make()
        let path = try temporaryFile("resume.safetensors")
        try original.save(to: path)
        let loaded = try ModelCheckpoint.load(from: path)

        func run(_ checkpoint: ModelCheckpoint) throws -> [String: [UInt8]] {
            let parameters = checkpoint.tensors.keys.sorted().map { Parameter(name: $0, value: checkpoint.tensors[$0]!) }
            let optimizer = AdamW(parameters: parameters, learningRate: checkpoint.training!.learningRate!)
            try optimizer.restore(checkpoint.training!.optimizerState)
            var scaler = DynamicLossScaler()
            try scaler.restore(checkpoint.training!.lossScaler!)
            for parameter in parameters {
                parameter.gradient.withMutableFloats { g in for i in 0..<g.count { g[i] = Float(i % 7) * scaler.scale } }
            }
            XCTAssertTrue(scaler.step(optimizer))
            return parameters.reduce(into: [:]) { $0[$1.name] = bits($1.value) }
        }
        XCTAssertEqual(try run(loaded), try run(original))
    }

    /// The same checkpoint always gives the same bytes (sorted tensors and keys), so checkpoints can be compared
    /// with `cmp` and deduplicated.
    func testSavingTwiceGivesIdenticalBytes() throws {
        let checkpoint = SampleCheckpoint.make()
        let first = try temporaryFile("a.safetensors"), second = try temporaryFile("b.safetensors")
        try checkpoint.save(to: first)
        try ModelCheckpoint.load(from: first).save(to: second)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: first)),
                       try Data(contentsOf: URL(fileURLWithPath: second)))
    }

    /// Prediction loads the weights and ignores the training part, even a training part it could not decode.
    func testLoadWeightsSkipsTrainingState() throws {
        let checkpoint = SampleCheckpoint.make()
        let path = try temporaryFile("predict.safetensors")
        var writer = SafeTensorsWriter()
        for (name, tensor) in checkpoint.tensors { try writer.add(name, tensor) }
        try writer.add("optimizer.layers.0.weight.exp_avg", checkpoint.tensors["layers.0.weight"]!)
        writer.metadata["format"] = ModelCheckpoint.format
        try writer.setMetadata("config", json: checkpoint.config)
        writer.metadata["training"] = "{\"epoch\": \"a newer layout\"}"
        try writer.write(to: path)

        let weights = try ModelCheckpoint.loadWeights(from: path)
        XCTAssertNil(weights.training)
        XCTAssertEqual(weights.config, checkpoint.config)
        XCTAssertEqual(weights.tensors["head.bias"].map(bits), bits(checkpoint.tensors["head.bias"]!))
        XCTAssertThrowsError(try ModelCheckpoint.load(from: path)) { error in
            XCTAssertEqual((error as? StrataError)?.description, "\(path): invalid header: metadata entry"
                + " 'training': key 'epoch' has the wrong type (Expected to decode Int but found a string instead.)")
        }
    }

    /// The checkpoint a person writes with Python's safetensors from docs/formats-checkpoint.md
    /// (scripts/reference/handwritten_checkpoint.py) loads, with the values the script describes.
    func testHandwrittenPythonCheckpointLoads() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "handwritten", withExtension: "safetensors",
                                                  subdirectory: "Fixtures/handwritten"))
        let checkpoint = try ModelCheckpoint.load(from: url.path)
        XCTAssertEqual(checkpoint.config, ModelConfig(cell: .convLSTM, inputChannels: 2, hidden: [3], kernel: [3],
                                                      head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .sigmoid)))
        for (name, shape) in checkpoint.config.parameterShapes() {
            let expected = (0..<shape.reduce(1, *)).map { Float($0 % 17 - 8) / 16 }
            XCTAssertEqual(checkpoint.tensors[name]?.floats, expected, name)
        }
        XCTAssertEqual(checkpoint.normalization,
                       NormalizationStats(mean: [0.05, 0.25], std: [0.02, 0.1], count: [1000, 1000]))
        XCTAssertEqual(checkpoint.task, TaskInfo(kind: "segmentation", bandNames: ["red", "nir"],
                                                 targetNames: ["burned"], patchSize: [32, 32], minimumInputSteps: 3))
        XCTAssertNil(checkpoint.training)
    }

    /// The doc's Python example is the script's example block (less the doc's `path = ...` line), so the doc
    /// shows exactly what the fixture above was written with.
    func testDocumentedExampleIsTheTestedScript() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/formats-checkpoint.md"), encoding: .utf8)
        let script = try String(contentsOf: root.appendingPathComponent("scripts/reference/handwritten_checkpoint.py"),
                                encoding: .utf8)
        func between(_ text: String, _ start: String, _ end: String) throws -> String {
            let from = try XCTUnwrap(text.range(of: start), "no '\(start)'")
            let to = try XCTUnwrap(text.range(of: end, range: from.upperBound..<text.endIndex), "no '\(end)'")
            return String(text[from.upperBound..<to.lowerBound])
        }
        let section = try between(doc, "### Writing a checkpoint by hand", "## Importing")
        let example = try between(section, "```python\npath = \"model.safetensors\"\n", "```\n")
        let tested = try between(script, "# --- example (docs/formats-checkpoint.md) ---\n", "# --- end of example ---")
        XCTAssertEqual(example, tested)
    }
}
