import StrataCore

/// The storage type of a GEMM's inputs (C is always fp32).
public enum KernelPrecision: String, CaseIterable, Sendable {
    case fp32, bf16, fp16
}

/// One GEMM shape: C[M, N] = A[M, K] · B[K, N].
public struct GEMMShape: Sendable, Hashable {
    public let m: Int, n: Int, k: Int
    public init(m: Int, n: Int, k: Int) { (self.m, self.n, self.k) = (m, n, k) }

    /// 512³, and the two im2col GEMMs of the ConvLSTM layers (M output channels x gates, N pixels, K C·K·K).
    public static let standard = [GEMMShape(m: 512, n: 512, k: 512), GEMMShape(m: 256, n: 4096, k: 1625),
                                  GEMMShape(m: 128, n: 1024, k: 576)]
}

/// What `strata bench kernels` measures.
///
/// ```swift
/// let options = try KernelBenchOptions(isas: ["avx512bf16"], precisions: ["bf16"], threads: [1, 2], quick: true)
/// ```
public struct KernelBenchOptions: Sendable {
    public var isas: [KernelISA]
    public var precisions: [KernelPrecision]
    public var threads: [Int]
    public var shapes: [GEMMShape]
    /// Convolutions timed after the GEMMs (forward, input and weight gradient, im2col and implicit); their forward
    /// GEMMs are the conv shapes of `shapes`, so each line can be compared with its GEMM.
    var convShapes: [ConvBenchShape]
    /// Timed repetitions per measurement (the median is reported), after `warmups` untimed ones.
    public var repetitions: Int
    public var warmups: Int

    /// Validates names given on the command line. Empty lists mean: every non-scalar ISA this CPU supports (the
    /// scalar reference takes minutes on these shapes, so it runs only when asked for), every precision, and 1 and
    /// all threads. `quick` runs 3 repetitions after 1 warm-up instead of 7 after 2.
    public init(isas: [String] = [], precisions: [String] = [], threads: [Int] = [], quick: Bool = false) throws {
        self.isas = try isas.isEmpty ? KernelISA.supported.filter { $0 != .scalar } : isas.map { name in
            guard let isa = KernelISA(rawValue: name) else {
                throw StrataError.invalidArgument(name: "--isa", reason: "unknown ISA '\(name)'; expected one of "
                    + KernelISA.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard isa.isSupported else {
                throw StrataError.invalidArgument(name: "--isa", reason: "this CPU does not support \(name); supported: "
                    + KernelISA.supported.map(\.rawValue).joined(separator: ", "))
            }
            return isa
        }
        self.precisions = try precisions.isEmpty ? KernelPrecision.allCases : precisions.map { name in
            guard let precision = KernelPrecision(rawValue: name) else {
                throw StrataError.invalidArgument(name: "--precision", reason: "unknown precision '\(name)'; expected "
                    + KernelPrecision.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return precision
        }
        if let bad = threads.first(where: { $0 < 1 || $0 > 256 }) {
            throw StrataError.invalidArgument(name: "--threads", reason: "\(bad) is not in 1...256")
        }
        let all = ThreadPool.threads
        self.threads = threads.isEmpty ? (all > 1 ? [1, all] : [1]) : threads
        self.shapes = GEMMShape.standard
        self.convShapes = ConvBenchShape.standard
        self.repetitions = quick ? 3 : 7
        self.warmups = quick ? 1 : 2
    }
}
