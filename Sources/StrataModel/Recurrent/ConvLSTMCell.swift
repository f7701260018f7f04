import StrataKernels

/// ConvLSTM cell (Shi et al. 2015), gate blocks i, f, g, o, optional peepholes:
///
///     z = W_x * x_t + W_h * h_{t-1} + b                       W = [W_x | W_h]: [4Ch, Cin + Ch, K, K]
///     i = σ(z_i + w_ci⊙c_{t-1})   f = σ(z_f + w_cf⊙c_{t-1})   g = tanh(z_g)
///     c_t = f⊙c_{t-1} + i⊙g       o = σ(z_o + w_co⊙c_t)       h_t = o⊙tanh(c_t)
///
/// Peepholes are `[Ch, H, W]` per pixel, or `[Ch, 1, 1]` per channel (broadcast over the pixels into a
/// `[Ch, HW]` buffer before each pass, because the gate kernel reads one weight per pixel).
///
/// Under precision bf16 the per-step store is bf16 instead of fp32 (half the cell's memory): each step's
/// pre-activations are formed in an fp32 buffer of a few steps (x projected for a block of steps in one call, the
/// recurrent convolution added step by step, both summed in fp32), and the gate kernels keep the activated gates,
/// later dz, rounded to bf16 (`strata_lstm_cell_*_bf16`), which is what the bf16 convolutions read anyway. The states
/// h and c stay fp32, so the forward pass and the recurrence are exactly those of the fp32 store; only backward sees
/// the gates rounded to 8 significant bits.
final class ConvLSTMCell: RecurrentCell {
    let inputChannels: Int, hiddenChannels: Int
    var hasCellState: Bool { true }
    let conv: SplitConvolution
    /// w_ci, w_cf, w_co, or empty.
    let peepholes: [Parameter]
    let peepholePerChannel: Bool

    private var geometry = SequenceGeometry(steps: 0, batch: 0, height: 0, width: 0)
    /// fp32 and fp16: every step's pre-activations z, turned into the activated gates i, f, g, o by the forward step and into dz
    /// by the backward step, in place: [T, B, 4Ch, HW]. The gates and c_{t-1} are all the backward step needs
    /// (it recomputes c_t and tanh c_t), so nothing else per step is kept.
    private let z = FloatBuffer()
    /// Precision bf16: the gates, then dz, of every step in bf16 [T, B, 4Ch, HW] (in place of `z`), and the fp32
    /// pre-activations of a block of `blockSteps` steps [S, B, 4Ch, HW] (the convolutions sum into it, the gate
    /// kernel reads it): as many steps as fit in `blockBytes`, at least one, so small layers project x in a few
    /// calls instead of one per step (each call over few images pays a pool hand-off).
    private let gates16 = BF16Buffer(), blockPreActivations = FloatBuffer()
    private var storesBF16 = false, blockSteps = 1
    private static let blockBytes = 8 << 20
    /// x [T, B, Cin, HW] of the current pass (bf16 store: projected a block of steps at a time).
    private var input: UnsafePointer<Float>?
    /// Broadcast per-channel peepholes and per-pixel peephole gradients: 3 × [Ch, HW] each.
    private let expanded = [FloatBuffer(), FloatBuffer(), FloatBuffer()]
    private let peepholeGradient = [FloatBuffer(), FloatBuffer(), FloatBuffer()]

    init(weight: Parameter, bias: Parameter, peepholes: [Parameter], inputChannels: Int, hiddenChannels: Int) {
        self.inputChannels = inputChannels
        self.hiddenChannels = hiddenChannels
        conv = SplitConvolution(parameter: weight, bias: bias, inputChannels: inputChannels,
                                hiddenChannels: hiddenChannels)
        self.peepholes = peepholes
        peepholePerChannel = peepholes.first.map { $0.count == hiddenChannels } ?? false
    }

    private var stepCount: Int { geometry.batch * hiddenChannels * geometry.pixels }

    func prepare(_ geometry: SequenceGeometry, precision: ComputePrecision) -> Int {
        self.geometry = geometry
        storesBF16 = precision == .bf16
        if storesBF16 {
            gates16.ensure(geometry.steps * 4 * stepCount)
            blockSteps = min(geometry.steps, max(1, Self.blockBytes / (4 * stepCount * 4)))
            blockPreActivations.ensure(blockSteps * 4 * stepCount)
        } else {
            z.ensure(geometry.steps * 4 * stepCount)
        }
        if !peepholes.isEmpty {
            for i in 0..<3 {
                expanded[i].ensure(hiddenChannels * geometry.pixels)
                peepholeGradient[i].ensure(hiddenChannels * geometry.pixels)
            }
        }
        return conv.prepare(steps: geometry.steps, batch: geometry.batch, height: geometry.height,
                            width: geometry.width, precision: precision)
    }

    /// The peephole weights [Ch, HW] the gate kernels read and their gradient accumulators (nil without
    /// peepholes), set once per pass so the time loop does not build arrays.
    private var wci: UnsafePointer<Float>?, wcf: UnsafePointer<Float>?, wco: UnsafePointer<Float>?
    private var dwci: UnsafeMutablePointer<Float>?, dwcf: UnsafeMutablePointer<Float>?
    private var dwco: UnsafeMutablePointer<Float>?

    func beginForward(x: UnsafePointer<Float>?, zeroInitialState: Bool, workspace: UnsafeMutableRawPointer) {
        conv.splitWeights()
        conv.zeroInitialState = zeroInitialState
        if peepholePerChannel {
            let hw = geometry.pixels
            for (i, p) in peepholes.enumerated() {
                let w = p.value.floatPointer, e = expanded[i].pointer
                for c in 0..<hiddenChannels { (e + c * hw).update(repeating: w[c], count: hw) }
            }
        }
        if !peepholes.isEmpty {
            let p = peepholePerChannel ? expanded.map { UnsafePointer($0.pointer) }
                : peepholes.map { $0.value.floatPointer }
            (wci, wcf, wco) = (p[0], p[1], p[2])
        } else {
            (wci, wcf, wco) = (nil, nil, nil)
        }
        input = x
        if !storesBF16 {
            conv.inputProjection(x, z.pointer, images: geometry.steps * geometry.batch, pixels: geometry.pixels,
                                 workspace: workspace)
        }
    }

    func forwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?,
                     h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
                     workspace: UnsafeMutableRawPointer) {
        let n = 4 * stepCount
        let zt = storesBF16 ? blockPreActivations.pointer + t % blockSteps * n : z.pointer + t * n
        if storesBF16 && t % blockSteps == 0 {
            conv.inputProjection(steps: min(blockSteps, geometry.steps - t),
                                 input.map { $0 + t * geometry.batch * inputChannels * geometry.pixels }, zt,
                                 batch: geometry.batch, pixels: geometry.pixels, workspace: workspace)
        }
        conv.addRecurrent(t, hPrev, zt, workspace: workspace)
        let (b, ch, hw) = (Int32(geometry.batch), Int32(hiddenChannels), Int32(geometry.pixels))
        if storesBF16 {
            strata_lstm_cell_forward_bf16(b, ch, hw, zt, wci, wcf, wco, cPrev!, h, c!, gates16.pointer + t * n)
        } else {
            strata_lstm_cell_forward(b, ch, hw, zt, wci, wcf, wco, cPrev!, h, c!, zt)
        }
    }

    func beginBackward() {
        conv.beginBackward()
        if !peepholes.isEmpty {
            for g in peepholeGradient { g.zero(hiddenChannels * geometry.pixels) }
            (dwci, dwcf, dwco) = (peepholeGradient[0].pointer, peepholeGradient[1].pointer, peepholeGradient[2].pointer)
        } else {
            (dwci, dwcf, dwco) = (nil, nil, nil)
        }
    }

    func backwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?, h: UnsafePointer<Float>,
                      dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>?,
                      dhPrev: UnsafeMutablePointer<Float>, workspace: UnsafeMutableRawPointer) {
        // Step t's slot holds its gates; the kernel overwrites them with dz (bf16 store: rounded to bf16, which the
        // convolutions read as it is).
        let n = 4 * stepCount
        let (b, ch, hw) = (Int32(geometry.batch), Int32(hiddenChannels), Int32(geometry.pixels))
        if storesBF16 {
            let dz = gates16.pointer + t * n
            strata_lstm_cell_backward_bf16(b, ch, hw, dh, dc!, cPrev!, dz, wci, wcf, wco, dz, dc!, dwci, dwcf, dwco)
            conv.recurrentInputGradient(bf16: dz, dhPrev, workspace: workspace)
        } else {
            let dz = z.pointer + t * n
            strata_lstm_cell_backward(b, ch, hw, dh, dc!, cPrev!, dz, wci, wcf, wco, dz, dc!, dwci, dwcf, dwco)
            conv.recurrentInputGradient(dz, dhPrev, accumulate: false, workspace: workspace)
        }
    }

    func finishBackward(x: UnsafePointer<Float>?, hPrevAll: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                        accumulateDx: Bool, workspace: UnsafeMutableRawPointer) {
        if storesBF16 {
            conv.finishBackward(x: x, hPrev: hPrevAll, bf16: gates16.pointer, dx: dx, accumulateDx: accumulateDx,
                                batch: geometry.batch, pixels: geometry.pixels, workspace: workspace)
        } else {
            conv.finishBackward(x: x, hPrev: hPrevAll, dy: z.pointer, dx: dx, accumulateDx: accumulateDx,
                                workspace: workspace)
        }
        let hw = geometry.pixels
        for (i, p) in peepholes.enumerated() {
            let src = peepholeGradient[i].pointer
            p.gradient.withMutableFloats { g in
                if peepholePerChannel {
                    for c in 0..<hiddenChannels {
                        var sum: Float = 0
                        for q in 0..<hw { sum += src[c * hw + q] }
                        g[c] += sum
                    }
                } else {
                    for q in 0..<(hiddenChannels * hw) { g[q] += src[q] }
                }
            }
        }
    }
}
