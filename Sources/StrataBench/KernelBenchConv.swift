import StrataCore
import StrataKernels

/// One convolution of the kernel benchmark: images whose forward GEMM is one of the conv-shaped GEMMs (M = Cout,
/// N = H·W, K = Cin·K·K per image).
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

/// Random fp32 x, w, dy and buffers for y, dx, dw, dbias and the workspace of one convolution over `images` images
/// (x [images, Cin, H, W], dy and y [images, Cout, H, W]); under bf16, dy's bf16 copy too.
final class ConvBenchInputs {
    private var desc: strata_conv2d_desc
    private let x, w, dy, y, dx, dw, dbias: UnsafeMutablePointer<Float>
    /// dy in bf16 (bf16 precision only): the backward passes read it as bf16 training does, where the recurrent
    /// cell keeps dz in bf16 (`strata_conv2d_backward_*_bf16`), just as the GEMM lines read operands already in the
    /// compute type. x and w stay fp32 and are rounded inside each pass, as in training.
    private let dy16: UnsafeMutablePointer<UInt16>?
    private let workspace: UnsafeMutableRawPointer

    init(shape: ConvBenchShape, precision: KernelPrecision, images: Int) {
        desc = strata_conv2d_desc(N: Int32(images), Cin: Int32(shape.cin), Cout: Int32(shape.cout), H: Int32(shape.height),
                                  W: Int32(shape.width), K: Int32(shape.kernel), compute: precision.dtype)
        let pixels = images * shape.height * shape.width, weights = shape.cout * shape.cin * shape.kernel * shape.kernel
        x = GEMMInputs.uniform(count: shape.cin * pixels, seed: 1)
        w = GEMMInputs.uniform(count: weights, seed: 2)
        dy = GEMMInputs.uniform(count: shape.cout * pixels, seed: 3)
        y = GEMMInputs.uniform(count: shape.cout * pixels, seed: 4)
        dx = GEMMInputs.uniform(count: shape.cin * pixels, seed: 5)
        // dw and dbias accumulate across runs; at these magnitudes and repetition counts they stay far from
        // overflow and denormals.
        dw = GEMMInputs.uniform(count: weights, seed: 6)
        dbias = GEMMInputs.uniform(count: shape.cout, seed: 7)
        if precision == .bf16 {
            let bits = UnsafeMutablePointer<UInt16>.allocate(capacity: shape.cout * pixels)
            strata_f32_to_bf16(dy, bits, shape.cout * pixels)
            dy16 = bits
        } else {
            dy16 = nil
        }
        workspace = UnsafeMutableRawPointer.allocate(byteCount: max(strata_conv2d_workspace_size(&desc), 1),
                                                     alignment: 64)
    }

    func deallocate() {
        [x, w, dy, y, dx, dw, dbias].forEach { $0.deallocate() }
        dy16?.deallocate()
        workspace.deallocate()
    }

    /// One pass with whatever algorithm is forced now.
    func run(_ pass: ConvPass) {
        switch pass {
        case .forward: _ = strata_conv2d_forward(&desc, x, w, nil, y, 0, workspace)
        case .backwardData:
            if let dy16 { _ = strata_conv2d_backward_data_bf16(&desc, dy16, w, dx, 0, workspace) }
            else { _ = strata_conv2d_backward_data(&desc, dy, w, dx, 0, workspace) }
        case .backwardWeight:
            if let dy16 { _ = strata_conv2d_backward_weights_bf16(&desc, x, dy16, dw, dbias, workspace) }
            else { _ = strata_conv2d_backward_weights(&desc, x, dy, dw, dbias, workspace) }
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

    /// Every pass of every conv shape with each algorithm, timed interleaved with the GEMM of its product shape
    /// (GEMM, im2col, implicit, GEMM, im2col, ...) so a change in machine load or clock hits all alike; each line's
    /// ratio is against the GEMM timed in the same rotation. Timed apart, the GEMM's own line moved 830 -> 963
    /// GFLOP/s between two quiet runs (bf16, 128x1024x576, 1 thread), which is more than the 15 % the ratio is
    /// judged by.
    ///
    /// On several threads each shape runs twice: one image, whose passes split their GEMMs across the threads, and a
    /// batch of 2 images per thread, which the passes run as whole images side by side, one thread each, as
    /// training convolves its B·T images. The batch's ratio compares its rate (images x flops per second) with the
    /// one GEMM's on all threads.
    static func measureConvolutions(isa: KernelISA, precision: KernelPrecision, threads: Int, peak: Double,
                                    gemms: [GEMMShape: GEMMInputs], options: KernelBenchOptions,
                                    report: (KernelBenchResult) -> Void) {
        defer { strata_conv2d_set_algorithm(STRATA_CONV_AUTO) }
        for shape in options.convShapes {
            for images in threads > 1 ? [1, 2 * threads] : [1] {
                measureConvolution(shape, images: images, isa: isa, precision: precision, threads: threads,
                                   peak: peak, gemm: gemms[shape.gemmShape], options: options, report: report)
            }
        }
    }

    private static func measureConvolution(_ shape: ConvBenchShape, images: Int, isa: KernelISA,
                                           precision: KernelPrecision, threads: Int, peak: Double,
                                           gemm: GEMMInputs?, options: KernelBenchOptions,
                                           report: (KernelBenchResult) -> Void) {
        let inputs = ConvBenchInputs(shape: shape, precision: precision, images: images)
        defer { inputs.deallocate() }
        let g = shape.gemmShape
        let flops = 2.0 * Double(g.m) * Double(g.n) * Double(g.k) * Double(images)
        let convAlgorithms = convAlgorithms(shape, precision)
        for pass in ConvPass.allCases {
            // Body 0 is the GEMM (when the GEMM lines measured this shape), then one per algorithm.
            let first = gemm == nil ? 0 : 1
            let times = interleavedMedians(options, count: first + convAlgorithms.count) { which in
                if which < first {
                    gemm?.multiply()
                    return
                }
                strata_conv2d_set_algorithm(convAlgorithms[which - first].0)
                inputs.run(pass)
            }
            for (which, algorithm) in convAlgorithms.enumerated() {
                let seconds = times[first + which]
                report(KernelBenchResult(name: pass.rawValue, isa: isa, precision: precision, threads: threads,
                                         m: g.m, n: g.n, k: g.k, gflops: flops / seconds / 1e9, peakGFLOPS: peak,
                                         seconds: seconds, algorithm: algorithm.1, images: images,
                                         gemmRatio: first == 1 ? times[0] * Double(images) / seconds : nil))
            }
        }
    }

    /// Median seconds of body(0) ... body(count - 1), run in rotation: warm-ups, then the options' repetitions of
    /// one round each. Each timed call follows at least `settle` of untimed calls of the same body, so it runs in
    /// its own steady state as a GEMM line's back-to-back runs do: with its data and workspace in cache, and at the
    /// clock its own instruction mix sustains. On AMX the clock matters: an AMX bf16 input gradient (64 -> 128
    /// channels, 32x32, 1 thread) took 199 us right after the GEMM of its shape against 183 us back to back, and
    /// was back to 183 after 0.5 ms of its own runs.
    static func interleavedMedians(_ options: KernelBenchOptions, count: Int, settle: Duration = .milliseconds(1),
                                   _ body: (Int) -> Void) -> [Double] {
        for _ in 0..<options.warmups { for which in 0..<count { body(which) } }
        let clock = ContinuousClock()
        var times = [[Double]](repeating: [], count: count)
        for _ in 0..<options.repetitions {
            for which in 0..<count {
                let warm = clock.now
                repeat { body(which) } while clock.now - warm < settle
                let elapsed = clock.measure { body(which) }
                times[which].append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }
}
