/// One level of a stack: a forward-in-time layer, and for a bidirectional model a second layer that reads the
/// sequence backwards. Outputs are concatenated on channels, `[fwd, rev]`, as Keras' `Bidirectional(merge='concat')`.
///
/// The reverse layer is an ordinary forward layer run on a time-reversed copy of x and of the mask, so the layer's
/// states stay in processing order (slot 0 is its initial state, the last slot the state after reading time 0)
/// and the batched weight-gradient calls still see h_{t-1} next to dz_t. Its outputs are flipped back into time
/// order when concatenated. Layouts: x `[T, B, Cin, HW]`, output `[T, B, dirs·Ch, HW]`.
final class BidirectionalLayer {
    let directions: [RecurrentLayer]
    private var geometry = SequenceGeometry(steps: 0, batch: 0, height: 0, width: 0)
    private var inputChannels = 0
    private let reversedInput = FloatBuffer(), reversedMask = ByteBuffer()
    /// Concatenated outputs [T, B, 2Ch, HW] and their split gradients [T, B, Ch, HW] (reverse one time-flipped).
    private let concatenated = FloatBuffer(), forwardGradient = FloatBuffer(), reverseGradient = FloatBuffer()
    private let reverseInputGradient = FloatBuffer()

    init(directions: [RecurrentLayer]) {
        precondition(directions.count == 1 || directions.count == 2)
        self.directions = directions
    }

    var hiddenChannels: Int { directions[0].hiddenChannels }
    var outputChannels: Int { hiddenChannels * directions.count }

    /// x `[T, B, Cin, HW]` or nil (Cin = 0); initial states per direction `[B, Ch, HW]` (nil: zeros).
    func forward(x: UnsafePointer<Float>?, inputChannels: Int, geometry: SequenceGeometry,
                 mask: UnsafePointer<UInt8>?, initial: [(h: UnsafePointer<Float>?, c: UnsafePointer<Float>?)],
                 precision: ComputePrecision) {
        self.geometry = geometry
        self.inputChannels = inputChannels
        directions[0].forward(x: x, geometry: geometry, mask: mask, h0: initial[0].h, c0: initial[0].c,
                              precision: precision)
        guard directions.count == 2 else { return }
        let t = geometry.steps, plane = geometry.batch * geometry.pixels
        var rx: UnsafePointer<Float>?
        if let x {
            let block = geometry.batch * inputChannels * geometry.pixels
            Vector.reverseSteps(x, reversedInput.ensure(t * block), steps: t, block: block, accumulate: false)
            rx = UnsafePointer(reversedInput.pointer)
        }
        var rm: UnsafePointer<UInt8>?
        if let mask {
            let m = reversedMask.ensure(t * plane)
            for step in 0..<t { (m + step * plane).update(from: mask + (t - 1 - step) * plane, count: plane) }
            rm = UnsafePointer(m)
        }
        directions[1].forward(x: rx, geometry: geometry, mask: rm, h0: initial[1].h, c0: initial[1].c,
                              precision: precision)
        // Concatenate on channels in time order: [fwd h_t, rev h at time t].
        let item = hiddenChannels * geometry.pixels
        let out = concatenated.ensure(t * geometry.batch * 2 * item)
        let fwd = directions[0].outputs, rev = directions[1].outputs
        for step in 0..<t {
            for b in 0..<geometry.batch {
                let dst = out + (step * geometry.batch + b) * 2 * item
                dst.update(from: fwd + (step * geometry.batch + b) * item, count: item)
                (dst + item).update(from: rev + ((t - 1 - step) * geometry.batch + b) * item, count: item)
            }
        }
    }

    /// h of every step, `[T, B, dirs·Ch, HW]`.
    var outputs: UnsafePointer<Float> {
        directions.count == 1 ? directions[0].outputs : UnsafePointer(concatenated.pointer)
    }

    /// dOut: ∂L/∂output (`[T, B, dirs·Ch, HW]` for a sequence; per step only with one direction); final-state
    /// gradients per direction; dx `[T, B, Cin, HW]` or nil.
    func backward(dOut: OutputGradient, final: [(h: UnsafePointer<Float>?, c: UnsafePointer<Float>?)],
                  dx: UnsafeMutablePointer<Float>?, accumulateDx: Bool) {
        guard directions.count == 2 else {
            directions[0].backward(dOut: dOut, dhFinal: final[0].h, dcFinal: final[0].c, dx: dx,
                                   accumulateDx: accumulateDx)
            return
        }
        let t = geometry.steps, item = hiddenChannels * geometry.pixels, n = t * geometry.batch * item
        var fwdOut = OutputGradient.none, revOut = OutputGradient.none
        switch dOut {
        case .none: break
        case .perStep: preconditionFailure("a bidirectional level takes its output gradient as a whole sequence")
        case .sequence(let dOut):
            let f = forwardGradient.ensure(n), r = reverseGradient.ensure(n)
            for step in 0..<t {
                for b in 0..<geometry.batch {
                    let src = dOut + (step * geometry.batch + b) * 2 * item
                    (f + (step * geometry.batch + b) * item).update(from: src, count: item)
                    (r + ((t - 1 - step) * geometry.batch + b) * item).update(from: src + item, count: item)
                }
            }
            fwdOut = .sequence(UnsafePointer(f))
            revOut = .sequence(UnsafePointer(r))
        }
        directions[0].backward(dOut: fwdOut, dhFinal: final[0].h, dcFinal: final[0].c, dx: dx,
                               accumulateDx: accumulateDx)
        let block = geometry.batch * inputChannels * geometry.pixels
        let rdx = dx == nil ? nil : reverseInputGradient.ensure(t * block)
        directions[1].backward(dOut: revOut, dhFinal: final[1].h, dcFinal: final[1].c, dx: rdx, accumulateDx: false)
        if let dx, let rdx { Vector.reverseSteps(rdx, dx, steps: t, block: block, accumulate: true) }
    }
}
