import StrataCore

/// The rearrangements between frameworks' ConvLSTM weight layouts and Strata's `[4·Ch, Cin+Ch, K, K]`.
enum ConvLSTMLayout {
    /// Swaps gate blocks 2 and 3 along the first axis of a `[4·Ch, ...]` tensor: i, f, o, g <-> i, f, g, o (the
    /// swap is its own inverse, so import and export share it).
    static func swapLastTwoGates(_ values: [Float], hidden ch: Int) -> [Float] {
        let block = values.count / 4
        precondition(values.count == 4 * block && block % ch == 0, "not a [4·Ch, ...] tensor")
        var out = values
        out.replaceSubrange((2 * block)..<(3 * block), with: values[(3 * block)..<(4 * block)])
        out.replaceSubrange((3 * block)..<(4 * block), with: values[(2 * block)..<(3 * block)])
        return out
    }

    /// Keras' channels-last input kernel `[K, K, Cin, 4·Ch]` and recurrent kernel `[K, K, Ch, 4·Ch]` as one
    /// Strata gate convolution `[4·Ch, Cin+Ch, K, K]` (input channels x first, then h). Both use gate order
    /// i, f, c, o, Strata's i, f, g, o, so no block moves.
    static func strataWeight(kernel: [Float], recurrent: [Float], k: Int, cin: Int, ch: Int) -> [Float] {
        let gates = 4 * ch, cinTotal = cin + ch
        var out = [Float](repeating: 0, count: gates * cinTotal * k * k)
        for ky in 0..<k {
            for kx in 0..<k {
                for c in 0..<cinTotal {
                    let source = c < cin ? kernel : recurrent
                    let sourceChannels = c < cin ? cin : ch
                    let sourceChannel = c < cin ? c : c - cin
                    let row = ((ky * k + kx) * sourceChannels + sourceChannel) * gates
                    for o in 0..<gates { out[((o * cinTotal + c) * k + ky) * k + kx] = source[row + o] }
                }
            }
        }
        return out
    }

    /// A zero head (`conv1x1`, `[O, Ch, 1, 1]` and `[O]`) for a source without one.
    static func zeroHead(outputs: Int, channels: Int) -> (weight: Tensor, bias: Tensor) {
        (Tensor(zeros: [outputs, channels, 1, 1]), Tensor(zeros: [outputs]))
    }
}
