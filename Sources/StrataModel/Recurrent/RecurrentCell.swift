/// Sizes of one pass over a sequence. Legend: T steps, B batch, H height, W width, HW = H·W pixels.
struct SequenceGeometry: Equatable {
    var steps: Int, batch: Int, height: Int, width: Int
    var pixels: Int { height * width }
}

/// The per-cell part of a recurrent layer: gate convolutions and gate math for one direction.
///
/// The layer (``RecurrentLayer``) owns the states and the time loop; a cell owns its parameters, the
/// pre-activations of every step (z, `[T, B, G·Ch, HW]`, turned into dz in place by the backward pass; the LSTM under
/// precision bf16 keeps them in bf16, see ``ConvLSTMCell``) and the gate caches the backward pass needs. All buffers live across calls and grow only when a larger shape arrives.
///
/// Step order: `beginForward` (x projection of all T·B images), then `forwardStep(0..<T)`; backward runs
/// `beginBackward`, `backwardStep(T-1 ... 0)`, `finishBackward`.
protocol RecurrentCell: AnyObject {
    var inputChannels: Int { get }
    var hiddenChannels: Int { get }
    /// true for the LSTM (h and c), false for GRU / RNN (h only).
    var hasCellState: Bool { get }

    /// Sizes the buffers and operators for `geometry`; returns the conv workspace bytes this cell needs.
    func prepare(_ geometry: SequenceGeometry, precision: ComputePrecision) -> Int

    /// Splits the weights and computes every step's input contribution: x `[T, B, Cin, HW]` (nil when Cin = 0).
    /// `zeroInitialState`: h_{-1} is all zeros, so step 0's recurrent convolutions and their weight-gradient share
    /// may be skipped.
    func beginForward(x: UnsafePointer<Float>?, zeroInitialState: Bool, workspace: UnsafeMutableRawPointer)

    /// Step t: reads h_{t-1} (and c_{t-1}) `[B, Ch, HW]`, writes the new h (and c) into `h`, `c`.
    func forwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?,
                     h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?,
                     workspace: UnsafeMutableRawPointer)

    /// Zeroes the cell's gradient accumulators.
    func beginBackward()

    /// Step t backward. `dh` is ∂L/∂h_t (may be clobbered); `dc` holds ∂L/∂c_t on entry and ∂L/∂c_{t-1} on
    /// return (LSTM only); `dhPrev` receives ∂L/∂h_{t-1} (overwritten). `h` is the step's output h_t.
    func backwardStep(_ t: Int, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?, h: UnsafePointer<Float>,
                      dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>?,
                      dhPrev: UnsafeMutablePointer<Float>, workspace: UnsafeMutableRawPointer)

    /// After the loop: weight gradients of all steps in one call per convolution, and dx `[T, B, Cin, HW]`
    /// (written, or added when `accumulateDx`) if asked. `hPrevAll` `[T, B, Ch, HW]` is h_{t-1} of every step.
    func finishBackward(x: UnsafePointer<Float>?, hPrevAll: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                        accumulateDx: Bool, workspace: UnsafeMutableRawPointer)
}
