import Foundation
import XCTest
import StrataCore
@testable import StrataModel

/// Milliseconds per training step on the benchmark shape (B 4, T 10, 64×64, Cin 1, one ConvLSTM layer of 64,
/// K 5, 1×1 head on the last state, BCE, Adam), fp32 and bf16. Skipped unless STRATA_ENGINE_BENCH is set: it is a
/// measurement, not a check, and takes minutes with the reference GEMM. STRATA_ENGINE_BENCH_HW overrides the
/// 64-pixel side, STRATA_ENGINE_BENCH_STEPS the number of timed steps (default 3, after one warm-up step).
final class ModelSpeedTests: XCTestCase {
    func testTrainingStepTime() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["STRATA_ENGINE_BENCH"] != nil else { throw XCTSkip("set STRATA_ENGINE_BENCH=1 to measure") }
        let side = Int(env["STRATA_ENGINE_BENCH_HW"] ?? "64")!, timed = Int(env["STRATA_ENGINE_BENCH_STEPS"] ?? "3")!
        let (b, t) = (4, 10)
        var rng = SeededGenerator(seed: 1)
        let x = Tensor(shape: [b, t, 1, side, side],
                       values: (0..<(b * t * side * side)).map { _ in Float(rng.uniform(-1, 1)) })
        let y = Tensor(shape: [b, 1, side, side],
                       values: (0..<(b * side * side)).map { _ in rng.uniform() < 0.5 ? 0 : 1 })
        let config = ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [64], kernel: [5], output: .last,
                                 head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .sigmoid))
        for precision in [ComputePrecision.fp32, .bf16] {
            let model = try RecurrentModel(config: config, seed: 1)
            model.precision = precision
            let adam = Adam(parameters: model.parameters, learningRate: 1e-3)
            try model.trainStep(input: x, target: y, loss: BinaryCrossEntropyLoss(), optimizer: adam)
            var forwardOnly = Double.infinity, step = Double.infinity
            for _ in 0..<timed {
                var start = Date()
                _ = try model.forward(x)
                forwardOnly = min(forwardOnly, Date().timeIntervalSince(start))
                start = Date()
                try model.trainStep(input: x, target: y, loss: BinaryCrossEntropyLoss(), optimizer: adam)
                step = min(step, Date().timeIntervalSince(start))
            }
            // Forward GEMM work: per step and image, [4Ch, (Cin + Ch)·K²] · [(Cin + Ch)·K², HW]; a training
            // step is about 3× that (forward, data gradient, weight gradient).
            let flop = 2.0 * Double(4 * 64 * 65 * 25 * side * side * b * t)
            print(String(format: "ENGINE-BENCH %@ %dx%d: forward %.1f ms (%.0f GFLOP/s), "
                            + "train step %.1f ms (%.0f GFLOP/s)",
                         precision.rawValue, side, side, forwardOnly * 1e3, flop / forwardOnly / 1e9, step * 1e3,
                         3 * flop / step / 1e9))
        }
    }
}
