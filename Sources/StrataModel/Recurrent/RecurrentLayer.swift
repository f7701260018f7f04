import StrataKernels

/// ∂L/∂h_t reaching a layer's output sequence from above, in the form the backward time loop consumes it.
enum OutputGradient {
    /// Nothing from above (a last-state head reaches only the final state).
    case none
    /// Every step's at once: `[T, B, Ch, HW]` (the layer above's input gradient).
    case sequence(UnsafePointer<Float>)
    /// One step at a time: the closure adds ∂L/∂h_t `[B, Ch, HW]` of step t (first argument) into its second
    /// argument, so no `[T, B, Ch, HW]` buffer of it is kept (a 1×1 head's data gradient).
    case perStep((Int, UnsafeMutablePointer<Float>) -> Void)
}

/// One recurrent layer running forward in time over a time-major sequence: the time loop, the states of every
/// step, validity masking, and backpropagation through time. The cell does the convolutions and gate math.
///
/// Layouts (time-major inside the engine, so one step of the whole batch is contiguous):
/// x `[T, B, Cin, HW]`, mask `[T, B, HW]` (uint8, nonzero = valid), states `[T + 1, B, Ch, HW]` with slot 0 the
/// initial state and slot t + 1 the state after step t (after masking), so slots 1...T are the output sequence
/// and slots 0..<T are every step's h_{t-1}, which lets the recurrent weight gradient run once over all steps.
///
/// Masking: where the mask is 0, `strata_masked_state_update` keeps h and c bit-identical to the previous step;
/// the backward pass routes that pixel's gradient straight to the previous state (`strata_masked_state_backward`).
final class RecurrentLayer {
    let cell: RecurrentCell
    private let workspace: FloatBuffer
    private(set) var geometry = SequenceGeometry(steps: 0, batch: 0, height: 0, width: 0)
    /// h and c of every step: [T + 1, B, Ch, HW].
    private let hidden = FloatBuffer(), cellState = FloatBuffer()
    /// Gradient carries [B, Ch, HW]: ∂L/∂h_t and ∂L/∂h_{t-1}, ∂L/∂c_t, and the parts masked steps pass
    /// through.
    private var dh = FloatBuffer(), dhPrev = FloatBuffer()
    private let dc = FloatBuffer(), dhPass = FloatBuffer(), dcPass = FloatBuffer()
    /// What the forward pass read, kept for backward (owned by the caller, alive until the next forward).
    private var input: UnsafePointer<Float>?
    private var mask: UnsafePointer<UInt8>?
    private var workspaceBytes = 0

    init(cell: RecurrentCell, workspace: FloatBuffer) {
        self.cell = cell
        self.workspace = workspace
    }

    var hiddenChannels: Int { cell.hiddenChannels }
    /// Floats in one state [B, Ch, HW].
    var stateCount: Int { geometry.batch * cell.hiddenChannels * geometry.pixels }

    /// h_1 … h_T: [T, B, Ch, HW].
    var outputs: UnsafePointer<Float> { UnsafePointer(hidden.pointer + stateCount) }
    /// h_T and (LSTM) c_T: [B, Ch, HW].
    var finalHidden: UnsafePointer<Float> { UnsafePointer(hidden.pointer + geometry.steps * stateCount) }
    var finalCell: UnsafePointer<Float>? {
        cell.hasCellState ? UnsafePointer(cellState.pointer + geometry.steps * stateCount) : nil
    }
    /// ∂L/∂h_0 and ∂L/∂c_0 after ``backward``: [B, Ch, HW].
    var initialHiddenGradient: UnsafePointer<Float> { UnsafePointer(dh.pointer) }
    var initialCellGradient: UnsafePointer<Float>? { cell.hasCellState ? UnsafePointer(dc.pointer) : nil }

    /// Runs the layer. x `[T, B, Cin, HW]` (nil when Cin = 0), mask `[T, B, HW]` or nil, h0 / c0 `[B, Ch, HW]`
    /// or nil for zeros. x and mask must stay valid until ``backward`` has run.
    func forward(x: UnsafePointer<Float>?, geometry: SequenceGeometry, mask: UnsafePointer<UInt8>?,
                 h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?, precision: ComputePrecision) {
        self.geometry = geometry
        input = x
        self.mask = mask
        workspaceBytes = cell.prepare(geometry, precision: precision)
        let ws = workspace.raw(atLeast: workspaceBytes)
        let s = stateCount, t = geometry.steps
        let h = hidden.ensure((t + 1) * s)
        if let h0 { h.update(from: h0, count: s) } else { h.update(repeating: 0, count: s) }
        var c: UnsafeMutablePointer<Float>?
        if cell.hasCellState {
            c = cellState.ensure((t + 1) * s)
            if let c0 { c!.update(from: c0, count: s) } else { c!.update(repeating: 0, count: s) }
        }
        for buffer in [dh, dhPrev, dc, dhPass, dcPass] { buffer.ensure(s) }
        cell.beginForward(x: x, zeroInitialState: h0 == nil, workspace: ws)
        let (b, ch, hw) = (Int32(geometry.batch), Int32(cell.hiddenChannels), Int32(geometry.pixels))
        for step in 0..<t {
            let hp = h + step * s, hn = hp + s
            let cp = c.map { $0 + step * s }, cn = cp.map { $0 + s }
            cell.forwardStep(step, hPrev: hp, cPrev: cp, h: hn, c: cn, workspace: ws)
            if let mask {
                strata_masked_state_update(b, ch, hw, mask + step * geometry.batch * geometry.pixels, hn, hp, hn,
                                           cn, cp, cn)
            }
        }
    }

    /// Backpropagation through time. dOut is ∂L/∂h_t from above, dhFinal / dcFinal
    /// `[B, Ch, HW]` the gradient reaching the final state (nil: none). Adds the parameter gradients; writes dx
    /// `[T, B, Cin, HW]` (or adds to it with `accumulateDx`) if dx is not nil. Afterwards
    /// ``initialHiddenGradient`` / ``initialCellGradient`` hold ∂L/∂h_0, ∂L/∂c_0.
    func backward(dOut: OutputGradient, dhFinal: UnsafePointer<Float>?, dcFinal: UnsafePointer<Float>?,
                  dx: UnsafeMutablePointer<Float>?, accumulateDx: Bool) {
        let s = stateCount, t = geometry.steps
        let ws = workspace.raw(atLeast: workspaceBytes)
        if let dhFinal { dh.pointer.update(from: dhFinal, count: s) } else { dh.zero(s) }
        let lstm = cell.hasCellState
        if lstm { if let dcFinal { dc.pointer.update(from: dcFinal, count: s) } else { dc.zero(s) } }
        let h = hidden.pointer, c = lstm ? cellState.pointer : nil
        let (b, ch, hw) = (Int32(geometry.batch), Int32(cell.hiddenChannels), Int32(geometry.pixels))
        cell.beginBackward()
        for step in stride(from: t - 1, through: 0, by: -1) {
            switch dOut {
            case .none: break
            case .sequence(let d): Vector.add(d + step * s, into: dh.pointer, count: s)
            case .perStep(let add): add(step, dh.pointer)
            }
            let stepMask = mask.map { $0 + step * geometry.batch * geometry.pixels }
            if let stepMask {
                // Masked pixels: the new state's gradient is 0, the whole gradient goes to the previous state.
                dhPass.zero(s)
                strata_masked_state_backward(b, ch, hw, stepMask, dh.pointer, dh.pointer, dhPass.pointer)
                if lstm {
                    dcPass.zero(s)
                    strata_masked_state_backward(b, ch, hw, stepMask, dc.pointer, dc.pointer, dcPass.pointer)
                }
            }
            cell.backwardStep(step, hPrev: h + step * s, cPrev: c.map { $0 + step * s }, h: h + (step + 1) * s,
                              dh: dh.pointer, dc: lstm ? dc.pointer : nil, dhPrev: dhPrev.pointer, workspace: ws)
            if stepMask != nil {
                Vector.add(dhPass.pointer, into: dhPrev.pointer, count: s)
                if lstm { Vector.add(dcPass.pointer, into: dc.pointer, count: s) }
            }
            swap(&dh, &dhPrev)
        }
        cell.finishBackward(x: input, hPrevAll: h, dx: dx, accumulateDx: accumulateDx, workspace: ws)
    }
}
