import StrataCore
import StrataKernels

/// Measures the peak multiply-add rate, the GEMM and the convolution passes per ISA, precision and thread count
/// (`strata bench kernels`).
///
/// Every GEMM number is the median of ``KernelBenchOptions/repetitions`` timed runs after
/// ``KernelBenchOptions/warmups`` untimed ones, so one run disturbed by another process does not move it. The peak
/// is the fastest run instead: it is a bound on what the hardware can do, and other processes only ever lower it.
///
/// ```swift
/// try KernelBench.run(KernelBenchOptions(quick: true)) { print($0.jsonLine) }
/// ```
public enum KernelBench {
    /// Runs every measurement the options ask for, calling `report` as each finishes. Restores the ISA and the
    /// thread count it found.
    public static func run(_ options: KernelBenchOptions, report: (KernelBenchResult) -> Void) throws {
        let savedISA = KernelISA.active, savedThreads = ThreadPool.threads
        defer {
            try? KernelISA.use(savedISA)
            ThreadPool.setThreads(savedThreads)
        }
        var inputs: [String: GEMMInputs] = [:]
        defer { inputs.values.forEach { $0.deallocate() } }
        for isa in options.isas {
            try KernelISA.use(isa)
            // The scalar reference GEMM is single-threaded, so more threads would only repeat the same number.
            for threads in isa == .scalar ? [1] : options.threads {
                ThreadPool.setThreads(threads)
                for precision in options.precisions {
                    let peak = peakGFLOPS(isa: isa, precision: precision, threads: threads, options: options)
                    report(KernelBenchResult(name: "peak", isa: isa, precision: precision, threads: threads, m: 0, n: 0,
                                             k: 0, gflops: peak, peakGFLOPS: peak, seconds: 0))
                    var gemms: [GEMMShape: GEMMInputs] = [:]
                    for shape in options.shapes {
                        let key = "\(shape.m)x\(shape.n)x\(shape.k)-\(precision.rawValue)"
                        let input = inputs[key] ?? GEMMInputs(shape: shape, precision: precision)
                        inputs[key] = input
                        let seconds = median(options) { input.multiply() }
                        let flops = 2.0 * Double(shape.m) * Double(shape.n) * Double(shape.k)
                        gemms[shape] = input
                        report(KernelBenchResult(name: "gemm", isa: isa, precision: precision, threads: threads,
                                                 m: shape.m, n: shape.n, k: shape.k, gflops: flops / seconds / 1e9,
                                                 peakGFLOPS: peak, seconds: seconds))
                    }
                    measureConvolutions(isa: isa, precision: precision, threads: threads, peak: peak,
                                        gemms: gemms, options: options, report: report)
                }
            }
        }
    }

    /// The multiply-add loop the GEMM of this ISA and precision is built on, run on `threads` threads at once.
    static func peakGFLOPS(isa: KernelISA, precision: KernelPrecision, threads: Int,
                           options: KernelBenchOptions) -> Double {
        // 8 tasks per thread: if one thread starts late the others take its share, instead of the wall time doubling.
        let tasks = 8 * threads, iterationsPerTask = 500_000
        let dtype = precision.dtype
        var flops = 0.0
        let seconds = sortedTimes(options) {
            flops = 0
            let perTask = UnsafeMutableBufferPointer<Double>.allocate(capacity: tasks)
            defer { perTask.deallocate() }
            ThreadPool.parallelFor(tasks) { task in
                perTask[task] = strata_peak_loop(isa.kernelValue, dtype, iterationsPerTask)
            }
            flops = perTask.reduce(0, +)
        }[0]
        return flops / seconds / 1e9
    }

    /// Median wall-clock seconds of `body` over the options' repetitions, after the warm-up runs.
    static func median(_ options: KernelBenchOptions, _ body: () -> Void) -> Double {
        let times = sortedTimes(options, body)
        return times[times.count / 2]
    }

    /// Wall-clock seconds of each of the options' repetitions of `body`, after the warm-up runs, fastest first.
    static func sortedTimes(_ options: KernelBenchOptions, _ body: () -> Void) -> [Double] {
        for _ in 0..<options.warmups { body() }
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<options.repetitions {
            let elapsed = clock.measure(body)
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return times.sorted()
    }
}

extension KernelISA {
    /// The C enum value, looked up by name (the names are the C names, see `strata_isa_name`).
    var kernelValue: strata_isa {
        var isa = STRATA_ISA_SCALAR
        _ = strata_isa_parse(rawValue, &isa)
        return isa
    }
}

extension KernelPrecision {
    var dtype: strata_dtype {
        switch self {
        case .fp32: return STRATA_F32
        case .bf16: return STRATA_BF16
        case .fp16: return STRATA_F16
        }
    }
}
