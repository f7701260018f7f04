import ArgumentParser
import Foundation
import StrataBench
import StrataCore

/// `strata bench`: performance measurements. Parsing and printing only; the measuring is in StrataBench.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Strata's performance on this machine.",
        subcommands: [Kernels.self]
    )

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Peak multiply-add rate and GEMM throughput per ISA, precision and thread count.",
            discussion: """
                Shapes: 512x512x512 and the ConvLSTM im2col GEMMs 256x4096x1625 and 128x1024x576 (M x N x K).
                Each number is the median of 7 runs after 2 warm-ups (--quick: 3 after 1). "% peak" compares a GEMM
                with the multiply-add loop of the same ISA, precision and thread count. Build in release first:
                  swift build -c release && .build/release/strata bench kernels --json
                STRATA_ISA and STRATA_THREADS are honoured as everywhere; --isa and --threads override them here.
                See docs/benchmarks.md.
                """
        )

        @Option(name: .long, help: "ISAs, comma-separated: scalar, avx2, avx512, avx512bf16 (default: every non-scalar ISA this CPU has).")
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
            try KernelISA.validateEnvironment(ProcessInfo.processInfo.environment)
            let threadCounts = try list(threads).map { text -> Int in
                guard let count = Int(text) else {
                    throw StrataError.invalidArgument(name: "--threads", reason: "'\(text)' is not a whole number")
                }
                return count
            }
            let options = try KernelBenchOptions(isas: list(isa), precisions: list(precision), threads: threadCounts,
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
