import StrataKernels

/// ConvGRU cell (Ballas et al. 2016; the fixture's variant: the reset gate multiplies h before the candidate
/// convolution), gate blocks r, u:
///
///     [z_r, z_u] = W_g * [x_t, h_{t-1}] + b_g          W_g: [2Ch, Cin + Ch, K, K]
///     r = σ(z_r)   u = σ(z_u)
///     n = tanh(W_n * [x_t, r⊙h_{t-1}] + b_n)           W_n: [Ch, Cin + Ch, K, K]
///     h_t = (1 − u)⊙n + u⊙h_{t-1}
///
/// Both convolutions split into an x half (all steps at once) and a recurrent half (per step), as in the LSTM.
final class ConvGRUCell: RecurrentCell {
    let inputChannels: Int, hiddenChannels: Int
    var hasCellState: Bool { false }
    let gatesConv: SplitConvolution, candidateConv: SplitConvolution

    private var geometry = SequenceGeometry(steps: 0, batch: 0, height: 0, width: 0)
    /// z_ru, then the activated r, u (forward step), then dz_ru (backward step), in place: [T, B, 2Ch, HW]; likewise
    /// z_n, then the candidate n, then dz_n: [T, B, Ch, HW].
    private let gates = FloatBuffer(), candidate = FloatBuffer()
    /// r⊙h_{t-1} [T, B, Ch, HW] (input of W_n's h half, kept for its weight gradient).
    private let resetHidden = FloatBuffer()
    /// ∂L/∂(r⊙h_{t-1}) of one step [B, Ch, HW].
    private let dResetHidden = FloatBuffer()

    init(weightGates: Parameter, biasGates: Parameter, weightCandidate: Parameter, biasCandidate: Parameter,
         inputChannels: Int, hiddenChannels: Int) {
        self.inputChannels = inputChannels
        self.hiddenChannels = hiddenChannels
        gatesConv = SplitConvolution(parameter: weightGates, bias: biasGates, inputChannels: inputChannels,
                                     hiddenChannels: hiddenChannels)
        candidateConv = SplitConvolution(parameter: weightCandidate, bias: biasCandidate,
                                         inputChannels: inputChannels, hiddenChannels: hiddenChannels)
    }

    private var stepCount: Int { geometry.batch * hiddenChannels * geometry.pixels }

    func prepare(_ geometry: SequenceGeometry, precision: ComputePrecision) -> Int {
        self.geometry = geometry
        let all = geometry.steps * stepCount
        gates.ensure(2 * all)
        candidate.ensure(all)
        resetHidden.ensure(all)
        dResetHidden.ensure(stepCount)
        let (t, b, h, w) = (geometry.steps, geometry.batch, geometry.height, geometry.width)
        return max(gatesConv.prepare(steps: t, batch: b, height: h, width: w, precision: precision),
                   candidateConv.prepare(steps: t, batch: b, height: h, width: w, precision: precision))
    }

    func beginForward(x: UnsafePointer<Float>?, zeroInitialState: Bool, workspace: UnsafeMutableRawPointer) {
        gatesConv.splitWeights()
        candidateConv.splitWeights()
        // r⊙h_{-1} is zero as well when h_{-1} is.
        gatesConv.zeroInitialState = zeroInitialState
        candidateConv.zeroInitialState = zeroInitialState
        let images = geometry.steps * geometry.batch
        gatesConv.inputProjection(x, gates.pointer, images: images, pixels: geometry.pixels, workspace: workspace)
        candidateConv.inputProjection(x, candidate.pointer, images: images, pixels: geometry.pixels,
                                      workspace: workspace)
    }

    func forwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?,
                     h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
                     workspace: UnsafeMutableRawPointer) {
        let (b, ch, hw) = (Int32(geometry.batch), Int32(hiddenChannels), Int32(geometry.pixels))
        let gt = gates.pointer + t * 2 * stepCount, nt = candidate.pointer + t * stepCount
        let rh = resetHidden.pointer + t * stepCount
        gatesConv.addRecurrent(t, hPrev, gt, workspace: workspace)
        strata_gru_reset_forward(b, ch, hw, gt, hPrev, gt, rh)
        candidateConv.addRecurrent(t, rh, nt, workspace: workspace)
        strata_gru_output_forward(b, ch, hw, nt, gt, hPrev, nt, h)
    }

    func beginBackward() {
        gatesConv.beginBackward()
        candidateConv.beginBackward()
    }

    func backwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?, h: UnsafePointer<Float>,
                      dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>?,
                      dhPrev: UnsafeMutablePointer<Float>, workspace: UnsafeMutableRawPointer) {
        let (b, ch, hw) = (Int32(geometry.batch), Int32(hiddenChannels), Int32(geometry.pixels))
        // Step t's slots hold r, u and n; the kernels overwrite them with dz_ru and dz_n.
        let gt = gates.pointer + t * 2 * stepCount, nt = candidate.pointer + t * stepCount
        // dz_n, the u block of dz_ru, and dh_prev = dh⊙u.
        strata_gru_output_backward(b, ch, hw, dh, hPrev, gt, nt, nt, gt, dhPrev)
        // Through the candidate's recurrent half to r⊙h_{t-1}, then the r block and dh_prev += drh⊙r.
        candidateConv.recurrentInputGradient(nt, dResetHidden.pointer, accumulate: false, workspace: workspace)
        strata_gru_reset_backward(b, ch, hw, dResetHidden.pointer, hPrev, gt, gt, dhPrev)
        gatesConv.recurrentInputGradient(gt, dhPrev, accumulate: true, workspace: workspace)
    }

    func finishBackward(x: UnsafePointer<Float>?, hPrevAll: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                        accumulateDx: Bool, workspace: UnsafeMutableRawPointer) {
        gatesConv.finishBackward(x: x, hPrev: hPrevAll, dy: gates.pointer, dx: dx, accumulateDx: accumulateDx,
                                 workspace: workspace)
        candidateConv.finishBackward(x: x, hPrev: resetHidden.pointer, dy: candidate.pointer, dx: dx,
                                     accumulateDx: true, workspace: workspace)
    }
}
