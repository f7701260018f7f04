import StrataCore
import StrataKernels

/// One convolution of the kernel benchmark: a single image whose forward GEMM is one of the conv-shaped GEMMs
/// (M = Cout, N = H·W, K = Cin·K·K), with its inputs, gradients and workspace.
struct ConvBenchShape: Sendable, Equatable {
    let cin: Int, cout: Int, height: Int, width: Int, kernel: Int

    /// The forward product shape; both backward passes multiply the same three sizes in other roles.
    var gemmShape: GEMMShape { GEMMShape(m: cout, n: height * width, k: cin * kernel * kernel) }

    /// Config (a)'s layer (Cin 1 + hidden 64 = 65 channels, 64 x 64, kernel 5) and config (b)'s second layer
    /// (32 + 32 channels, 32 x 32, kernel 3): the GEMMs 256x4096x1625 and 128x1024x576 of `GEMMShape.standard`.
    static let standard = [ConvBenchShape(cin: 65, cout: 256, height: 64, width: 64, kernel: 5),
                           ConvBenchShape(cin: 64, cout: 128, height: 32, width: 32, kernel: 3)]
}

/// The three passes of `strata_conv.h`, as named in the benchmark output.
enum ConvPass: String, CaseIterable {
    case forward = "conv_fwd", backwardData = "conv_bwd_data", backwardWeight = "conv_bwd_weight"
}

/// Random fp32 x, w, dy and buffers for y, dx, dw, dbias and the workspace of one convolution.
final class ConvBenchInputs {
    private var desc: strata_conv2d_desc
    private let x, w, dy, y, dx, dw, dbias: UnsafeMutablePointer<Float>
    private let workspace: UnsafeMutableRawPointer

    init(shape: ConvBenchShape, precision: KernelPrecision) {
        desc = strata_conv2d_desc(N: 1, Cin: Int32(shape.cin), Cout: Int32(shape.cout), H: Int32(shape.height),
                                  W: Int32(shape.width), K: Int32(shape.kernel), compute: precision.dtype)
        let pixels = shape.height * shape.width, weights = shape.cout * shape.cin * shape.kernel * shape.kernel
        x = GEMMInputs.uniform(count: shape.cin * pixels, seed: 1)
        w = GEMMInputs.uniform(count: weights, seed: 2)
        dy = GEMMInputs.uniform(count: shape.cout * pixels, seed: 3)
        y = GEMMInputs.uniform(count: shape.cout * pixels, seed: 4)
        dx = GEMMInputs.uniform(count: shape.cin * pixels, seed: 5)
        // dw and dbias accumulate across runs; at these magnitudes and repetition counts they stay far from
        // overflow and denormals.
        dw = GEMMInputs.uniform(count: weights, seed: 6)
        dbias = GEMMInputs.uniform(count: shape.cout, seed: 7)
        workspace = UnsafeMutableRawPointer.allocate(byteCount: max(strata_conv2d_workspace_size(&desc), 1),
                                                     alignment: 64)
    }

    func deallocate() {
        [x, w, dy, y, dx, dw, dbias].forEach { $0.deallocate() }
        workspace.deallocate()
    }

    /// One pass with whatever algorithm is forced now.
    func run(_ pass: ConvPass) {
        switch pass {
        case .forward: _ = strata_conv2d_forward(&desc, x, w, nil, y, 0, workspace)
        case .backwardData: _ = strata_conv2d_backward_data(&desc, dy, w, dx, 0, workspace)
        case .backwardWeight: _ = strata_conv2d_backward_weights(&desc, x, dy, dw, dbias, workspace)
        }
    }
}

extension KernelBench {
    /// The algorithms timed for a shape: im2col and implicit, plus Winograd where it applies (fp32, K = 3 or 5; its
    /// GFLOPS count the direct convolution's multiply-adds, so they compare with the other lines as speed).
    static func convAlgorithms(_ shape: ConvBenchShape, _ precision: KernelPrecision)
        -> [(strata_conv_algorithm, String)] {
        let winograd = (shape.kernel == 3 || shape.kernel == 5) && precision.dtype == STRATA_F32
        return [(STRATA_CONV_IM2COL, "im2col"), (STRATA_CONV_IMPLICIT, "implicit")]
            + (winograd ? [(STRATA_CONV_WINOGRAD, "winograd")] : [])
    }

    /// Every pass of every conv shape with each algorithm, timed interleaved (im2col, implicit, im2col, ...) so a
    /// change in machine load hits all alike; each line's ratio is against `gemmGFLOPS` of its product shape.
    static func measureConvolutions(isa: KernelISA, precision: KernelPrecision, threads: Int, peak: Double,
                                    gemmGFLOPS: [GEMMShape: Double], options: KernelBenchOptions,
                                    report: (KernelBenchResult) -> Void) {
        defer { strata_conv2d_set_algorithm(STRATA_CONV_AUTO) }
        for shape in options.convShapes {
            let inputs = ConvBenchInputs(shape: shape, precision: precision)
            defer { inputs.deallocate() }
            let g = shape.gemmShape
            let flops = 2.0 * Double(g.m) * Double(g.n) * Double(g.k)
            let convAlgorithms = convAlgorithms(shape, precision)
            for pass in ConvPass.allCases {
                let times = interleavedMedians(options, count: convAlgorithms.count) { which in
                    strata_conv2d_set_algorithm(convAlgorithms[which].0)
                    inputs.run(pass)
                }
                for (which, algorithm) in convAlgorithms.enumerated() {
                    let gflops = flops / times[which] / 1e9
                    report(KernelBenchResult(name: pass.rawValue, isa: isa, precision: precision, threads: threads,
                                             m: g.m, n: g.n, k: g.k, gflops: gflops, peakGFLOPS: peak,
                                             seconds: times[which], algorithm: algorithm.1,
                                             gemmRatio: gemmGFLOPS[g].map { gflops / $0 }))
                }
            }
        }
    }

    /// Median seconds of body(0) ... body(count - 1), run in rotation: warm-ups, then the options' repetitions of
    /// one round each.
    static func interleavedMedians(_ options: KernelBenchOptions, count: Int, _ body: (Int) -> Void) -> [Double] {
        for _ in 0..<options.warmups { for which in 0..<count { body(which) } }
        let clock = ContinuousClock()
        var times = [[Double]](repeating: [], count: count)
        for _ in 0..<options.repetitions {
            for which in 0..<count {
                let elapsed = clock.measure { body(which) }
                times[which].append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }
}
