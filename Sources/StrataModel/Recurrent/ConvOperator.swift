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

    /// Calls kernel entry point `name` on a copy of the descriptor; a rejection is a bug, the descriptor was checked.
    func run(_ name: StaticString, _ call: (UnsafePointer<strata_conv2d_desc>) -> Int32) {
        var d = desc
        let status = call(&d)
        precondition(status == 0, "\(name) rejected a checked descriptor")
    }

    /// Workspace bytes the three passes need.
    var workspaceBytes: Int {
        var d = desc
        return strata_conv2d_workspace_size(&d)
    }

    /// y (+)= conv(x, w) + bias.
    func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 _ y: UnsafeMutablePointer<Float>, accumulate: Bool, workspace: UnsafeMutableRawPointer) {
        run("strata_conv2d_forward") { strata_conv2d_forward($0, x, w, bias, y, accumulate ? 1 : 0, workspace) }
    }

    /// dx (+)= ∂L/∂x from dy.
    func backwardData(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                      accumulate: Bool, workspace: UnsafeMutableRawPointer) {
        run("strata_conv2d_backward_data") { strata_conv2d_backward_data($0, dy, w, dx, accumulate ? 1 : 0, workspace) }
    }

    /// dw += ∂L/∂w, dbias += ∂L/∂bias (if given).
    func backwardWeights(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                         dbias: UnsafeMutablePointer<Float>?, workspace: UnsafeMutableRawPointer) {
        run("strata_conv2d_backward_weights") { strata_conv2d_backward_weights($0, x, dy, dw, dbias, workspace) }
    }

    /// As ``backwardWeights(_:_:_:dbias:workspace:)`` for an input of two parts that are never concatenated:
    /// x1 `[N, inputChannels, HW]` then x2 `[N, Cin - inputChannels, HW]` (dw `[Cout, Cin, K, K]` covers both).
    func backwardWeightsConcat(_ x1: UnsafePointer<Float>, inputChannels: Int, _ x2: UnsafePointer<Float>,
                               _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                               dbias: UnsafeMutablePointer<Float>?, workspace: UnsafeMutableRawPointer) {
        run("strata_conv2d_backward_weights_concat") {
            strata_conv2d_backward_weights_concat($0, Int32(inputChannels), x1, x2, dy, dw, dbias, workspace)
        }
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
    /// The weight gradient `[Cout, Cin + Ch, K, K]` of one backward pass (x and h halves from one pass over dz), and
    /// the x half's `[Cout, Cin, K, K]` from step 0 alone when that step skipped its h half; both then added into
    /// `parameter.gradient`.
    let weightGradient = FloatBuffer(), firstStepInputWeightGradient = FloatBuffer()
    /// The bias gradient of one backward pass [Cout].
    let biasGradient = FloatBuffer()
    private(set) var inputConv: ConvOperator?
    private(set) var hiddenConv: ConvOperator?
    /// Weight gradients: with an input part, over [x_t, h_{t-1}] of every step, or of steps 1..<T (nil when T = 1)
    /// plus the x part of step 0 when the pass started from a zero state; without one, over h_{t-1} of every step.
    private(set) var gateConvAllSteps: ConvOperator?, gateConvLaterSteps: ConvOperator?
    private(set) var inputConvFirstStep: ConvOperator?
    private(set) var hiddenConvAllSteps: ConvOperator?
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
        func op(_ images: Int, _ channels: Int) -> ConvOperator? {
            images > 0 && channels > 0
                ? ConvOperator(images: images, inputChannels: channels, outputChannels: outputChannels,
                               height: height, width: width, kernel: kernel, precision: precision)
                : nil
        }
        let all = steps * batch, both = inputChannels + hiddenChannels
        inputConv = op(all, inputChannels)
        hiddenConv = op(batch, hiddenChannels)
        if inputChannels > 0 {
            (gateConvAllSteps, gateConvLaterSteps) = (op(all, both), op(all - batch, both))
            inputConvFirstStep = op(batch, inputChannels)
            hiddenConvAllSteps = nil
        } else {
            (gateConvAllSteps, gateConvLaterSteps, inputConvFirstStep) = (nil, nil, nil)
            hiddenConvAllSteps = op(all, hiddenChannels)
        }
        (self.batch, pixels) = (batch, height * width)
        let ops = [inputConv, hiddenConv, gateConvAllSteps, gateConvLaterSteps, inputConvFirstStep, hiddenConvAllSteps]
        return ops.map { $0?.workspaceBytes ?? 0 }.max()!
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

    /// Zeroes the weight and bias gradients of the pass before a backward pass.
    func beginBackward() {
        weightGradient.zero(outputChannels * (inputChannels + hiddenChannels) * kk)
        firstStepInputWeightGradient.zero(max(outputChannels * inputChannels * kk, 1))
        biasGradient.zero(outputChannels)
    }

    /// After the time loop: the weight and bias gradients of all steps at once, dx if asked, and the halves merged
    /// into `parameter.gradient`. x [T·B, Cin, HW], hPrev [T·B, Ch, HW] (h_{t-1} of every step), dy [T·B, Cout, HW].
    func finishBackward(x: UnsafePointer<Float>?, hPrev: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                        dx: UnsafeMutablePointer<Float>?, accumulateDx: Bool, workspace: UnsafeMutableRawPointer) {
        let dbias = biasGradient.pointer, dw = weightGradient.pointer
        let xRow = inputChannels * kk, row = xRow + hiddenChannels * kk
        if let x, let inputConv {
            if let dx {
                inputConv.backwardData(dy, inputWeights.pointer, dx, accumulate: accumulateDx, workspace: workspace)
            }
            if zeroInitialState {
                // Step 0 read h_{-1} = 0: its images feed the x half only; steps 1..<T feed both halves at once.
                let (xStep, hStep, dyStep) = (batch * inputChannels * pixels, batch * hiddenChannels * pixels,
                                              batch * outputChannels * pixels)
                inputConvFirstStep!.backwardWeights(x, dy, firstStepInputWeightGradient.pointer, dbias: dbias,
                                                    workspace: workspace)
                gateConvLaterSteps?.backwardWeightsConcat(x + xStep, inputChannels: inputChannels, hPrev + hStep,
                                                          dy + dyStep, dw, dbias: dbias, workspace: workspace)
            } else {
                gateConvAllSteps!.backwardWeightsConcat(x, inputChannels: inputChannels, hPrev, dy, dw, dbias: dbias,
                                                        workspace: workspace)
            }
        } else {
            // Without an input part the weights are the h half alone ([Cout, Ch, K, K] = the full layout), and the
            // bias gradient rides on this pass, which must then see every step.
            hiddenConvAllSteps!.backwardWeights(hPrev, dy, dw, dbias: dbias, workspace: workspace)
        }
        let gx = firstStepInputWeightGradient.pointer
        parameter.gradient.withMutableFloats { g in
            for o in 0..<outputChannels {
                for j in 0..<xRow { g[o * row + j] += dw[o * row + j] + gx[o * xRow + j] }
                for j in xRow..<row { g[o * row + j] += dw[o * row + j] }
            }
        }
        bias.gradient.withMutableFloats { g in for o in 0..<outputChannels { g[o] += dbias[o] } }
    }
}
