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
    /// z_ru, then dz_ru: [T, B, 2Ch, HW]; z_n, then dz_n: [T, B, Ch, HW].
    private let zGates = FloatBuffer(), zCandidate = FloatBuffer()
    /// Activated r, u [T, B, 2Ch, HW]; candidate n [T, B, Ch, HW]; r⊙h_{t-1} [T, B, Ch, HW] (input of W_n's h half).
    private let gates = FloatBuffer(), candidate = FloatBuffer(), resetHidden = FloatBuffer()
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
        zGates.ensure(2 * all)
        gates.ensure(2 * all)
        zCandidate.ensure(all)
        candidate.ensure(all)
        resetHidden.ensure(all)
        dResetHidden.ensure(stepCount)
        let (t, b, h, w) = (geometry.steps, geometry.batch, geometry.height, geometry.width)
        return max(gatesConv.prepare(steps: t, batch: b, height: h, width: w, precision: precision),
                   candidateConv.prepare(steps: t, batch: b, height: h, width: w, precision: precision))
    }

    func beginForward(x: UnsafePointer<Float>?, workspace: UnsafeMutableRawPointer) {
        gatesConv.splitWeights()
        candidateConv.splitWeights()
        let images = geometry.steps * geometry.batch
        gatesConv.inputProjection(x, zGates.pointer, images: images, pixels: geometry.pixels, workspace: workspace)
        candidateConv.inputProjection(x, zCandidate.pointer, images: images, pixels: geometry.pixels,
                                      workspace: workspace)
    }

    func forwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?,
                     h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
                     workspace: UnsafeMutableRawPointer) {
        let (b, ch, hw) = (Int32(geometry.batch), Int32(hiddenChannels), Int32(geometry.pixels))
        let zru = zGates.pointer + t * 2 * stepCount, gt = gates.pointer + t * 2 * stepCount
        let zn = zCandidate.pointer + t * stepCount, nt = candidate.pointer + t * stepCount
        let rh = resetHidden.pointer + t * stepCount
        gatesConv.addRecurrent(hPrev, zru, workspace: workspace)
        strata_gru_reset_forward(b, ch, hw, zru, hPrev, gt, rh)
        candidateConv.addRecurrent(rh, zn, workspace: workspace)
        strata_gru_output_forward(b, ch, hw, zn, gt, hPrev, nt, h)
    }

    func beginBackward() {
        gatesConv.beginBackward()
        candidateConv.beginBackward()
    }

    func backwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?, h: UnsafePointer<Float>,
                      dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>?,
                      dhPrev: UnsafeMutablePointer<Float>, workspace: UnsafeMutableRawPointer) {
        let (b, ch, hw) = (Int32(geometry.batch), Int32(hiddenChannels), Int32(geometry.pixels))
        let dzru = zGates.pointer + t * 2 * stepCount, gt = gates.pointer + t * 2 * stepCount
        let dzn = zCandidate.pointer + t * stepCount, nt = candidate.pointer + t * stepCount
        // dz_n, the u block of dz_ru, and dh_prev = dh⊙u.
        strata_gru_output_backward(b, ch, hw, dh, hPrev, gt, nt, dzn, dzru, dhPrev)
        // Through the candidate's recurrent half to r⊙h_{t-1}, then the r block and dh_prev += drh⊙r.
        candidateConv.recurrentInputGradient(dzn, dResetHidden.pointer, accumulate: false, workspace: workspace)
        strata_gru_reset_backward(b, ch, hw, dResetHidden.pointer, hPrev, gt, dzru, dhPrev)
        gatesConv.recurrentInputGradient(dzru, dhPrev, accumulate: true, workspace: workspace)
    }

    func finishBackward(x: UnsafePointer<Float>?, hPrevAll: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                        accumulateDx: Bool, workspace: UnsafeMutableRawPointer) {
        gatesConv.finishBackward(x: x, hPrev: hPrevAll, dy: zGates.pointer, dx: dx, accumulateDx: accumulateDx,
                                 workspace: workspace)
        candidateConv.finishBackward(x: x, hPrev: resetHidden.pointer, dy: zCandidate.pointer, dx: dx,
                                     accumulateDx: true, workspace: workspace)
    }
}
