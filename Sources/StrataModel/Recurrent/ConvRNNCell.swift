import StrataKernels

/// Plain convolutional RNN cell: h_t = tanh(W * [x_t, h_{t-1}] + b), W: [Ch, Cin + Ch, K, K].
final class ConvRNNCell: RecurrentCell {
    let inputChannels: Int, hiddenChannels: Int
    var hasCellState: Bool { false }
    let conv: SplitConvolution

    private var geometry = SequenceGeometry(steps: 0, batch: 0, height: 0, width: 0)
    /// Pre-activations, then their gradients: [T, B, Ch, HW].
    private let z = FloatBuffer()

    init(weight: Parameter, bias: Parameter, inputChannels: Int, hiddenChannels: Int) {
        self.inputChannels = inputChannels
        self.hiddenChannels = hiddenChannels
        conv = SplitConvolution(parameter: weight, bias: bias, inputChannels: inputChannels,
                                hiddenChannels: hiddenChannels)
    }

    private var stepCount: Int { geometry.batch * hiddenChannels * geometry.pixels }

    func prepare(_ geometry: SequenceGeometry, precision: ComputePrecision) -> Int {
        self.geometry = geometry
        z.ensure(geometry.steps * stepCount)
        return conv.prepare(steps: geometry.steps, batch: geometry.batch, height: geometry.height,
                            width: geometry.width, precision: precision)
    }

    func beginForward(x: UnsafePointer<Float>?, zeroInitialState: Bool, workspace: UnsafeMutableRawPointer) {
        conv.splitWeights()
        conv.zeroInitialState = zeroInitialState
        conv.inputProjection(x, z.pointer, images: geometry.steps * geometry.batch, pixels: geometry.pixels,
                             workspace: workspace)
    }

    func forwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?,
                     h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
                     workspace: UnsafeMutableRawPointer) {
        let zt = z.pointer + t * stepCount
        conv.addRecurrent(t, hPrev, zt, workspace: workspace)
        strata_rnn_cell_forward(stepCount, zt, h)
    }

    func beginBackward() { conv.beginBackward() }

    func backwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?, h: UnsafePointer<Float>,
                      dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>?,
                      dhPrev: UnsafeMutablePointer<Float>, workspace: UnsafeMutableRawPointer) {
        // h is the kept state; where a mask held the old state, dh was zeroed there, so dz is 0 whatever h holds.
        let dz = z.pointer + t * stepCount
        strata_rnn_cell_backward(stepCount, dh, h, dz)
        conv.recurrentInputGradient(dz, dhPrev, accumulate: false, workspace: workspace)
    }

    func finishBackward(x: UnsafePointer<Float>?, hPrevAll: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                        accumulateDx: Bool, workspace: UnsafeMutableRawPointer) {
        conv.finishBackward(x: x, hPrev: hPrevAll, dy: z.pointer, dx: dx, accumulateDx: accumulateDx,
                            workspace: workspace)
    }
}
