import ArgumentParser
import Foundation
import StrataBench
import StrataCore

extension BenchCommand {
    /// `strata bench train`: seconds per training step and peak memory of the reference ConvLSTM configurations.
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seconds per training step and peak memory of the reference ConvLSTM configurations.",
            discussion: """
                Configurations (B batch, T steps, Cin input channels): a: B=4 T=10 64x64 Cin=1, ConvLSTM hidden 64, \
                kernel 5; b: B=8 T=12 32x32 Cin=6, hidden 32,32, kernel 3; c: B=16 T=24 16x16 Cin=4, hidden 16, \
                kernel 3. Every step of the top layer feeds a 1x1 convolution head with Cin outputs; the loss is the \
                MSE against a random target shaped like the input; Adam (lr 1e-3) steps after each backward pass.

                Each number is the median of --steps timed training steps after --warmup untimed ones; gflops \
                counts the convolutions (forward + 2x backward). Every configuration, precision and thread count \
                runs in a fresh child process so peak_rss_mib (VmHWM) is its own.

                Build in release first: swift build -c release && .build/release/strata bench train --json
                The PyTorch peer and a side-by-side script are in scripts/peers/. See docs/benchmarks.md.
                """
        )

        @Option(name: .long, help: "Configurations, comma-separated: a, b, c (default: all).")
        var config: String?

        @Option(name: .long, help: "Convolution operand precisions, comma-separated: fp32, bf16 (default: both).")
        var precision: String?

        @Option(name: .long, help: "Thread counts, comma-separated (default: 1 and STRATA_THREADS, else all cores).")
        var threads: String?

        @Option(name: .long, help: "Timed training steps per measurement (the median is reported).")
        var steps = 10

        @Option(name: .long, help: "Untimed warm-up steps before the timed ones.")
        var warmup = 2

        @Flag(name: .long, help: "One JSON object per line instead of a table.")
        var json = false

        @Flag(name: .long, help: .hidden)
        var inProcess = false

        func run() throws {
            try KernelISA.validateEnvironment(ProcessInfo.processInfo.environment)
            let threadCounts = try list(threads).map { text -> Int in
                guard let count = Int(text) else {
                    throw StrataError.invalidArgument(name: "--threads", reason: "'\(text)' is not a whole number")
                }
                return count
            }
            let options = try TrainBenchOptions(configs: list(config), precisions: list(precision),
                                                threads: threadCounts, steps: steps, warmup: warmup)
            if !json { FileHandle.standardOutput.write(Data((TrainBenchResult.tableHeader + "\n").utf8)) }
            let report = { (result: TrainBenchResult) in
                FileHandle.standardOutput.write(Data(((json ? result.jsonLine : result.tableRow) + "\n").utf8))
            }
            if inProcess {
                try TrainBench.run(options, report: report)
            } else {
                // /proc/self/exe: this very binary, whatever path or symlink started it.
                let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                    ?? CommandLine.arguments[0]
                try TrainBench.runIsolated(options, executable: executable, report: report)
            }
        }

        private func list(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}
