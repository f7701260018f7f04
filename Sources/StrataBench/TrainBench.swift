import Foundation
import StrataCore
import StrataModel

/// What `strata bench train` measures: configurations × precisions × thread counts.
///
/// ```swift
/// let options = try TrainBenchOptions(configs: ["c"], precisions: ["fp32"], threads: [1], steps: 3)
/// ```
public struct TrainBenchOptions: Sendable {
    public var configs: [TrainBenchConfig]
    public var precisions: [ComputePrecision]
    public var threads: [Int]
    /// Timed steps per measurement (the median is reported), after `warmup` untimed ones.
    public var steps: Int
    public var warmup: Int

    /// Validates names given on the command line. Empty lists mean every configuration, fp32 and bf16, and 1 and
    /// all threads (STRATA_THREADS, else every core).
    public init(configs: [String] = [], precisions: [String] = [], threads: [Int] = [], steps: Int = 10,
                warmup: Int = 2) throws {
        self.configs = try configs.isEmpty ? TrainBenchConfig.allCases : configs.map { name in
            guard let config = TrainBenchConfig(rawValue: name) else {
                throw StrataError.invalidArgument(name: "--config", reason: "unknown configuration '\(name)'; expected a, b or c")
            }
            return config
        }
        self.precisions = try precisions.isEmpty ? [.fp32, .bf16] : precisions.map { name in
            guard let precision = ComputePrecision(rawValue: name), precision != .fp16 else {
                throw StrataError.invalidArgument(name: "--precision", reason: "unknown precision '\(name)'; expected fp32 or bf16")
            }
            return precision
        }
        if let bad = threads.first(where: { $0 < 1 || $0 > 256 }) {
            throw StrataError.invalidArgument(name: "--threads", reason: "\(bad) is not in 1...256")
        }
        let all = ThreadPool.threads
        self.threads = threads.isEmpty ? (all > 1 ? [1, all] : [1]) : threads
        guard steps >= 1 else { throw StrataError.invalidArgument(name: "--steps", reason: "\(steps) is not >= 1") }
        guard warmup >= 0 else { throw StrataError.invalidArgument(name: "--warmup", reason: "\(warmup) is negative") }
        self.steps = steps
        self.warmup = warmup
    }

    /// One measurement: a configuration at one precision and thread count.
    public struct Case: Sendable {
        public var config: TrainBenchConfig
        public var precision: ComputePrecision
        public var threads: Int
    }

    /// Every combination, configuration-major (a fp32 1, a fp32 2, a bf16 1, ...).
    public var cases: [Case] {
        configs.flatMap { c in precisions.flatMap { p in threads.map { Case(config: c, precision: p, threads: $0) } } }
    }
}

/// Times training steps of the reference ConvLSTM configurations (`strata bench train`).
///
/// A step is what a training loop does per batch: ``RecurrentModel/trainStep(input:mask:lengths:target:targetMask:loss:optimizer:clipNorm:)``
/// with ``MeanSquaredErrorLoss`` and ``Adam`` (lr 1e-3) on a fixed random batch (input uniform in [0, 1), target
/// uniform in [0, 1), both `[B, T, Cin, H, W]`). The number is the median over the timed steps after the warm-up,
/// so one step slowed by another process does not move it.
///
/// Peak memory is the kernel's high-water mark of the resident set (`VmHWM` in `/proc/self/status`).
/// ``runIsolated(_:executable:report:)`` measures every case in a fresh child process, so each peak is that case's
/// alone; ``measure(_:steps:warmup:)`` in the current process first resets the mark by writing "5" to
/// `/proc/self/clear_refs` (Linux), which is what `--in-process` does.
public enum TrainBench {
    /// Runs every case of `options` in this process, one after another.
    public static func run(_ options: TrainBenchOptions, report: (TrainBenchResult) -> Void) throws {
        for item in options.cases { report(try measure(item, steps: options.steps, warmup: options.warmup)) }
    }

    /// Runs every case in its own child process: `executable bench train --in-process ... --json`, and relays the
    /// line each child prints.
    public static func runIsolated(_ options: TrainBenchOptions, executable: String,
                                   report: (TrainBenchResult) -> Void) throws {
        for item in options.cases {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["bench", "train", "--in-process", "--json", "--config", item.config.rawValue,
                                 "--precision", item.precision.rawValue, "--threads", "\(item.threads)",
                                 "--steps", "\(options.steps)", "--warmup", "\(options.warmup)"]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw StrataError.invalidArgument(name: "bench train", reason: "the child measuring config "
                    + "\(item.config.rawValue) \(item.precision.rawValue) \(item.threads) thread(s) exited with "
                    + "status \(process.terminationStatus)")
            }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("{") {
                report(try TrainBenchResult(jsonLine: String(line)))
            }
        }
    }

    /// Measures one case in this process (sets the pool's thread count and restores it afterwards).
    public static func measure(_ item: TrainBenchOptions.Case, steps: Int, warmup: Int) throws -> TrainBenchResult {
        let savedThreads = ThreadPool.threads
        defer { ThreadPool.setThreads(savedThreads) }
        ThreadPool.setThreads(item.threads)
        resetPeakRSS()

        let config = item.config
        let model = try RecurrentModel(config: config.model, seed: 1)
        model.precision = item.precision
        let optimizer = Adam(parameters: model.parameters, learningRate: 1e-3)
        let count = config.inputShape.reduce(1, *)
        let input = Tensor(shape: config.inputShape, values: uniform(count: count, seed: 11))
        let target = Tensor(shape: config.inputShape, values: uniform(count: count, seed: 12))
        let loss = MeanSquaredErrorLoss()

        var last = 0.0
        for _ in 0..<warmup { last = try model.trainStep(input: input, target: target, loss: loss, optimizer: optimizer) }
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<steps {
            let elapsed = try clock.measure {
                last = try model.trainStep(input: input, target: target, loss: loss, optimizer: optimizer)
            }
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        let peakRSS = peakRSSMiB()
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2]
            : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let gflops = config.flopsPerStep / median / 1e9
        let isa = KernelISA.active
        let kernelPrecision: KernelPrecision = item.precision == .bf16 ? .bf16 : .fp32
        // The fastest of 3 × 7 runs of the loop: another process can only lower it, so more tries get closer to
        // what the cores deliver when free (under contention it still comes out low and the percentage high).
        let peakOptions = try KernelBenchOptions()
        let peak = (0..<3).map { _ in
            KernelBench.peakGFLOPS(isa: isa, precision: kernelPrecision, threads: item.threads, options: peakOptions)
        }.max()!
        return TrainBenchResult(config: config.rawValue, precision: item.precision.rawValue, threads: item.threads,
                                secondsPerStep: median, minSecondsPerStep: times[0], peakRSSMiB: peakRSS,
                                steps: steps, warmup: warmup, gflops: gflops,
                                percentOfPeak: peak > 0 ? 100 * gflops / peak : 0, isa: isa.rawValue, loss: last)
    }

    /// Uniform values in [0, 1) from a fixed-seed xorshift: the same batch every run, in every process.
    static func uniform(count: Int, seed: UInt64) -> [Float] {
        var state = 0x9E37_79B9_7F4A_7C15 &* seed
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(state >> 40) / Float(1 << 24)
        }
    }

    /// Resets the process's resident-set high-water mark (Linux: "5" to /proc/self/clear_refs); a no-op elsewhere.
    static func resetPeakRSS() {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return }
        handle.write(Data("5".utf8))
        try? handle.close()
    }

    /// VmHWM from /proc/self/status in MiB (0 where there is no /proc).
    static func peakRSSMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kib = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kib / 1024
        }
        return 0
    }
}
