import StrataKernels

/// One convolution shape (`strata_conv2d_desc`) called on raw pointers, so the time loop pays no tensor
/// bookkeeping. Legend: N images, Cin / Cout channels, HW pixels, K kernel size.
///
/// x `[N, Cin, H, W]`, w `[Cout, Cin, K, K]`, bias `[Cout]`, y `[N, Cout, H, W]` (see `strata_conv.h`).
struct ConvOperator {
    var desc: strata_conv2d_desc

    init(images: Int, inputChannels: Int, outputChannels: Int, height: Int, width: Int, kernel: Int,
         precision: ComputePrecision) {
        desc = strata_conv2d_desc(N: Int32(images), Cin: Int32(inputChannels), Cout: Int32(outputChannels),
                                  H: Int32(height), W: Int32(width), K: Int32(kernel), compute: precision.kernelType)
        precondition(strata_conv2d_check(&desc) == 0, "convolution \(desc) is invalid or too large for the GEMM")
    }

    /// Workspace bytes the three passes need.
    var workspaceBytes: Int {
        var d = desc
        return strata_conv2d_workspace_size(&d)
    }

    /// y (+)= conv(x, w) + bias.
    func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 _ y: UnsafeMutablePointer<Float>, accumulate: Bool, workspace: UnsafeMutableRawPointer) {
        var d = desc
        let status = strata_conv2d_forward(&d, x, w, bias, y, accumulate ? 1 : 0, workspace)
        precondition(status == 0, "strata_conv2d_forward rejected a checked descriptor")
    }

    /// dx (+)= ∂L/∂x from dy.
    func backwardData(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                      accumulate: Bool, workspace: UnsafeMutableRawPointer) {
        var d = desc
        let status = strata_conv2d_backward_data(&d, dy, w, dx, accumulate ? 1 : 0, workspace)
        precondition(status == 0, "strata_conv2d_backward_data rejected a checked descriptor")
    }

    /// dw += ∂L/∂w, dbias += ∂L/∂bias (if given).
    func backwardWeights(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                         dbias: UnsafeMutablePointer<Float>?, workspace: UnsafeMutableRawPointer) {
        var d = desc
        let status = strata_conv2d_backward_weights(&d, x, dy, dw, dbias, workspace)
        precondition(status == 0, "strata_conv2d_backward_weights rejected a checked descriptor")
    }
}

/// The gate convolution of a cell split into its input part (all B·T steps in one call) and its recurrent part
/// (one call per step), with the weight halves copied out of the PyTorch-layout parameter `[G·Ch, Cin + Ch, K, K]`.
///
/// The recurrence only constrains the h part, so x's contribution to every step's pre-activation is computed
/// up front; each step then adds conv(h_{t-1}) into the same buffer (`accumulate`).
final class SplitConvolution {
    let parameter: Parameter
    let bias: Parameter
    let inputChannels: Int, hiddenChannels: Int, outputChannels: Int, kernel: Int
    /// x half `[Cout, Cin, K, K]` and h half `[Cout, Ch, K, K]` of the weights, refreshed by ``splitWeights()``.
    let inputWeights = FloatBuffer(), hiddenWeights = FloatBuffer()
    /// Gradients of the two halves, summed over a backward pass, then added into `parameter.gradient`.
    let inputWeightGradient = FloatBuffer(), hiddenWeightGradient = FloatBuffer()
    /// The bias gradient of one backward pass [Cout].
    let biasGradient = FloatBuffer()
    private(set) var inputConv: ConvOperator?
    private(set) var hiddenConv: ConvOperator?
    private(set) var hiddenConvAllSteps: ConvOperator?
    /// The recurrent weight gradient over steps 1..<T only (nil when T = 1), for a pass from a zero initial state.
    private(set) var hiddenConvLaterSteps: ConvOperator?
    /// Set by the cell before each forward pass: h_{-1} is all zeros (no initial state given), so step 0's
    /// recurrent convolution adds nothing and its share of the recurrent weight gradient is zero; both are skipped
    /// (1/T of the recurrent forward and weight-gradient work).
    var zeroInitialState = false
    /// B and HW of the prepared pass.
    private var batch = 0, pixels = 0

    init(parameter: Parameter, bias: Parameter, inputChannels: Int, hiddenChannels: Int) {
        self.parameter = parameter
        self.bias = bias
        self.inputChannels = inputChannels
        self.hiddenChannels = hiddenChannels
        outputChannels = parameter.shape[0]
        kernel = parameter.shape[2]
    }

    private var kk: Int { kernel * kernel }

    /// Sets up the operators for `steps` × `batch` images of `height` × `width`; returns the workspace bytes needed.
    func prepare(steps: Int, batch: Int, height: Int, width: Int, precision: ComputePrecision) -> Int {
        if inputChannels > 0 {
            inputConv = ConvOperator(images: steps * batch, inputChannels: inputChannels,
                                     outputChannels: outputChannels, height: height, width: width, kernel: kernel,
                                     precision: precision)
        }
        hiddenConv = ConvOperator(images: batch, inputChannels: hiddenChannels, outputChannels: outputChannels,
                                  height: height, width: width, kernel: kernel, precision: precision)
        hiddenConvAllSteps = ConvOperator(images: steps * batch, inputChannels: hiddenChannels,
                                          outputChannels: outputChannels, height: height, width: width,
                                          kernel: kernel, precision: precision)
        hiddenConvLaterSteps = steps > 1
            ? ConvOperator(images: (steps - 1) * batch, inputChannels: hiddenChannels, outputChannels: outputChannels,
                           height: height, width: width, kernel: kernel, precision: precision)
            : nil
        (self.batch, pixels) = (batch, height * width)
        return [inputConv?.workspaceBytes ?? 0, hiddenConv!.workspaceBytes, hiddenConvAllSteps!.workspaceBytes,
                hiddenConvLaterSteps?.workspaceBytes ?? 0].max()!
    }

    /// Copies the current parameter value into the x and h halves (once per forward: the optimizer moves it).
    func splitWeights() {
        let row = (inputChannels + hiddenChannels) * kk, xRow = inputChannels * kk, hRow = hiddenChannels * kk
        let w = parameter.value.floatPointer
        let wx = inputWeights.ensure(max(outputChannels * xRow, 1)), wh = hiddenWeights.ensure(outputChannels * hRow)
        for o in 0..<outputChannels {
            if xRow > 0 { (wx + o * xRow).update(from: w + o * row, count: xRow) }
            (wh + o * hRow).update(from: w + o * row + xRow, count: hRow)
        }
    }

    /// y [T·B, Cout, HW] = conv(x, w_x) + bias for all steps, or the bias alone when the layer has no input.
    func inputProjection(_ x: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, images: Int, pixels: Int,
                         workspace: UnsafeMutableRawPointer) {
        if let x, let inputConv {
            inputConv.forward(x, inputWeights.pointer, bias: bias.value.floatPointer, y, accumulate: false,
                              workspace: workspace)
            return
        }
        let b = bias.value.floatPointer
        for n in 0..<images {
            for o in 0..<outputChannels {
                (y + (n * outputChannels + o) * pixels).update(repeating: b[o], count: pixels)
            }
        }
    }

    /// y [B, Cout, HW] += conv(h [B, Ch, HW], w_h): step t's recurrent contribution (nothing at t = 0 from a zero
    /// initial state).
    func addRecurrent(_ t: Int, _ h: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                      workspace: UnsafeMutableRawPointer) {
        if t == 0 && zeroInitialState { return }
        hiddenConv!.forward(h, hiddenWeights.pointer, bias: nil, y, accumulate: true, workspace: workspace)
    }

    /// dh [B, Ch, HW] (+)= w_hᵀ · dy [B, Cout, HW].
    func recurrentInputGradient(_ dy: UnsafePointer<Float>, _ dh: UnsafeMutablePointer<Float>, accumulate: Bool,
                                workspace: UnsafeMutableRawPointer) {
        hiddenConv!.backwardData(dy, hiddenWeights.pointer, dh, accumulate: accumulate, workspace: workspace)
    }

    /// Zeroes the half-weight gradients before a backward pass.
    func beginBackward() {
        inputWeightGradient.zero(max(outputChannels * inputChannels * kk, 1))
        hiddenWeightGradient.zero(outputChannels * hiddenChannels * kk)
        biasGradient.zero(outputChannels)
    }

    /// After the time loop: the weight and bias gradients of all steps at once, dx if asked, and the halves merged
    /// into `parameter.gradient`. x [T·B, Cin, HW], hPrev [T·B, Ch, HW] (h_{t-1} of every step), dy [T·B, Cout, HW].
    func finishBackward(x: UnsafePointer<Float>?, hPrev: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                        dx: UnsafeMutablePointer<Float>?, accumulateDx: Bool, workspace: UnsafeMutableRawPointer) {
        let dbias = biasGradient.pointer
        if let x, let inputConv {
            inputConv.backwardWeights(x, dy, inputWeightGradient.pointer, dbias: dbias, workspace: workspace)
            if let dx {
                inputConv.backwardData(dy, inputWeights.pointer, dx, accumulate: accumulateDx, workspace: workspace)
            }
            if !zeroInitialState {
                hiddenConvAllSteps!.backwardWeights(hPrev, dy, hiddenWeightGradient.pointer, dbias: nil,
                                                    workspace: workspace)
            } else if let later = hiddenConvLaterSteps {
                // Step 0 read h_{-1} = 0: only steps 1..<T contribute.
                let (hStep, dyStep) = (batch * hiddenChannels * pixels, batch * outputChannels * pixels)
                later.backwardWeights(hPrev + hStep, dy + dyStep, hiddenWeightGradient.pointer, dbias: nil,
                                      workspace: workspace)
            }
        } else {
            // Without an input part the bias gradient rides on this pass, which must then see every step.
            hiddenConvAllSteps!.backwardWeights(hPrev, dy, hiddenWeightGradient.pointer, dbias: dbias,
                                                workspace: workspace)
        }
        let row = (inputChannels + hiddenChannels) * kk, xRow = inputChannels * kk, hRow = hiddenChannels * kk
        let gx = inputWeightGradient.pointer, gh = hiddenWeightGradient.pointer
        parameter.gradient.withMutableFloats { g in
            for o in 0..<outputChannels {
                for j in 0..<xRow { g[o * row + j] += gx[o * xRow + j] }
                for j in 0..<hRow { g[o * row + xRow + j] += gh[o * hRow + j] }
            }
        }
        bias.gradient.withMutableFloats { g in for o in 0..<outputChannels { g[o] += dbias[o] } }
    }
}
