import StrataKernels

/// The backward passes with the output gradient dy already in bf16 (`strata_conv2d_backward_*_bf16`): a cell under
/// precision bf16 keeps every step's dz in bf16, which the GEMMs read in place. Same shapes as the fp32-dy methods.
extension ConvOperator {
    /// dx (+)= ∂L/∂x from a bf16 dy.
    func backwardData(bf16 dy: UnsafePointer<UInt16>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                      accumulate: Bool, workspace: UnsafeMutableRawPointer) {
        run("strata_conv2d_backward_data_bf16") {
            strata_conv2d_backward_data_bf16($0, dy, w, dx, accumulate ? 1 : 0, workspace)
        }
    }

    /// dw += ∂L/∂w, dbias += ∂L/∂bias (if given) from a bf16 dy.
    func backwardWeights(_ x: UnsafePointer<Float>, bf16 dy: UnsafePointer<UInt16>, _ dw: UnsafeMutablePointer<Float>,
                         dbias: UnsafeMutablePointer<Float>?, workspace: UnsafeMutableRawPointer) {
        run("strata_conv2d_backward_weights_bf16") {
            strata_conv2d_backward_weights_bf16($0, x, dy, dw, dbias, workspace)
        }
    }

    /// ``backwardWeightsConcat(_:inputChannels:_:_:_:dbias:workspace:)`` from a bf16 dy.
    func backwardWeightsConcat(_ x1: UnsafePointer<Float>, inputChannels: Int, _ x2: UnsafePointer<Float>,
                               bf16 dy: UnsafePointer<UInt16>, _ dw: UnsafeMutablePointer<Float>,
                               dbias: UnsafeMutablePointer<Float>?, workspace: UnsafeMutableRawPointer) {
        run("strata_conv2d_backward_weights_concat_bf16") {
            strata_conv2d_backward_weights_concat_bf16($0, Int32(inputChannels), x1, x2, dy, dw, dbias, workspace)
        }
    }
}

/// The split gate convolution one step at a time and with bf16 gate gradients: how a cell under precision bf16 runs
/// without a `[T, B, G·Ch, HW]` fp32 buffer (its x projection goes step by step, its dz stays in bf16).
extension SplitConvolution {
    /// y [S·B, Cout, HW] = conv(x [S·B, Cin, HW], w_x) + bias for S = `steps` consecutive steps, or the bias alone
    /// without an input.
    func inputProjection(steps: Int, _ x: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, batch: Int,
                         pixels: Int, workspace: UnsafeMutableRawPointer) {
        if let x, var block = inputConvFirstStep {
            // The workspace does not depend on the image count, so step 0's operator serves S·B images.
            block.desc.N = Int32(steps * batch)
            block.forward(x, inputWeights.pointer, bias: bias.value.floatPointer, y, accumulate: false,
                          workspace: workspace)
        } else {
            inputProjection(nil, y, images: steps * batch, pixels: pixels, workspace: workspace)
        }
    }

    /// dh [B, Ch, HW] = w_hᵀ · dy, dy [B, Cout, HW] in bf16.
    func recurrentInputGradient(bf16 dy: UnsafePointer<UInt16>, _ dh: UnsafeMutablePointer<Float>,
                                workspace: UnsafeMutableRawPointer) {
        hiddenConv!.backwardData(bf16: dy, hiddenWeights.pointer, dh, accumulate: false, workspace: workspace)
    }

    /// ``finishBackward(x:hPrev:dy:dx:accumulateDx:workspace:)`` with dy [T·B, Cout, HW] in bf16; `batch` and
    /// `pixels` as prepared.
    func finishBackward(x: UnsafePointer<Float>?, hPrev: UnsafePointer<Float>, bf16 dy: UnsafePointer<UInt16>,
                        dx: UnsafeMutablePointer<Float>?, accumulateDx: Bool, batch: Int, pixels: Int,
                        workspace: UnsafeMutableRawPointer) {
        let dbias = biasGradient.pointer, dw = weightGradient.pointer
        if let x, let inputConv {
            if let dx { inputConv.backwardData(bf16: dy, inputWeights.pointer, dx, accumulate: accumulateDx,
                                               workspace: workspace) }
            if zeroInitialState {
                let (xStep, hStep, dyStep) = (batch * inputChannels * pixels, batch * hiddenChannels * pixels,
                                              batch * outputChannels * pixels)
                inputConvFirstStep!.backwardWeights(x, bf16: dy, firstStepInputWeightGradient.pointer, dbias: dbias,
                                                    workspace: workspace)
                gateConvLaterSteps?.backwardWeightsConcat(x + xStep, inputChannels: inputChannels, hPrev + hStep,
                                                          bf16: dy + dyStep, dw, dbias: dbias, workspace: workspace)
            } else {
                gateConvAllSteps!.backwardWeightsConcat(x, inputChannels: inputChannels, hPrev, bf16: dy, dw,
                                                        dbias: dbias, workspace: workspace)
            }
        } else {
            hiddenConvAllSteps!.backwardWeights(hPrev, bf16: dy, dw, dbias: dbias, workspace: workspace)
        }
        addPassGradients()
    }

    /// parameter.gradient += this pass's weight gradient (x half plus step 0's x-only share), bias likewise.
    private func addPassGradients() {
        let dw = weightGradient.pointer, gx = firstStepInputWeightGradient.pointer, dbias = biasGradient.pointer
        let kk = kernel * kernel, xRow = inputChannels * kk, row = xRow + hiddenChannels * kk
        parameter.gradient.withMutableFloats { g in
            for o in 0..<outputChannels {
                for j in 0..<xRow { g[o * row + j] += dw[o * row + j] + gx[o * xRow + j] }
                for j in xRow..<row { g[o * row + j] += dw[o * row + j] }
            }
        }
        bias.gradient.withMutableFloats { g in for o in 0..<outputChannels { g[o] += dbias[o] } }
    }
}
