import ArgumentParser
import Foundation
import StrataBench
import StrataCore

/// `strata bench`: performance measurements. Parsing and printing only; the measuring is in StrataBench.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Strata's performance on this machine.",
        subcommands: [Kernels.self, Train.self, Predict.self]
    )

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Peak multiply-add rate and GEMM throughput per ISA, precision and thread count.",
            discussion: """
                Shapes (M x N x K): 512x512x512 and the ConvLSTM im2col GEMMs 256x4096x1625 and 128x1024x576. \
                Each GEMM number is the median of 7 runs after 2 warm-ups (--quick: 3 after 1); the peak is the \
                fastest run of a multiply-add loop of the same ISA, precision and thread count, and "% peak" \
                compares the two. Then the forward, input-gradient and weight-gradient passes of the two conv \
                layers behind those GEMMs, per algorithm, each timed in rotation with its GEMM ("% GEMM"): one \
                image, and on several threads also 2 images per thread (marked x4 on 2 threads).

                Build in release first: swift build -c release && .build/release/strata bench kernels --json

                Without --isa, STRATA_ISA (if set) picks the one ISA to measure; without --threads, the counts are \
                1 and STRATA_THREADS (else all cores). See docs/benchmarks.md.
                """
        )

        @Option(name: .long, help: "ISAs, comma-separated: scalar, avx2, avx512, avx512bf16 (default: STRATA_ISA, else every non-scalar ISA this CPU has).")
        var isa: String?

        @Option(name: .long, help: "Precisions of A and B, comma-separated: fp32, bf16, fp16 (default: all).")
        var precision: String?

        @Option(name: .long, help: "Thread counts, comma-separated (default: 1 and all).")
        var threads: String?

        @Flag(name: .long, help: "3 timed runs after 1 warm-up instead of 7 after 2.")
        var quick = false

        @Flag(name: .long, help: "One JSON object per line instead of a table.")
        var json = false

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            try KernelISA.validateEnvironment(environment)
            let threadCounts = try list(threads).map { text -> Int in
                guard let count = Int(text) else {
                    throw StrataError.invalidArgument(name: "--threads", reason: "'\(text)' is not a whole number")
                }
                return count
            }
            let isas = isa == nil ? list(environment["STRATA_ISA"]) : list(isa)
            let options = try KernelBenchOptions(isas: isas, precisions: list(precision), threads: threadCounts,
                                                 quick: quick)
            // Unbuffered writes: a long run shows each line as soon as it is measured.
            if !json { FileHandle.standardOutput.write(Data((KernelBenchResult.tableHeader + "\n").utf8)) }
            try KernelBench.run(options) { result in
                FileHandle.standardOutput.write(Data(((json ? result.jsonLine : result.tableRow) + "\n").utf8))
            }
        }

        private func list(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}
