import Foundation

// A deliberately naive float64 ConvLSTM / ConvGRU / ConvRNN, written from the formulas in
// scripts/reference/README.md and nothing else. It exists to prove that the PyTorch fixtures mean what the README
// says (gate order, channel order, padding, peepholes), and to give the engine a second, readable reference.
// No speed tricks: plain loops over flat row-major [Double] arrays.
//
// Legend: B batch, T time steps, Cin input channels, Ch hidden channels, H height, W width, K kernel size.

/// Sizes of one recurrent layer over a sequence.
struct LayerShape {
    var batch: Int, time: Int, inputChannels: Int, hiddenChannels: Int, height: Int, width: Int, kernelSize: Int

    var pixels: Int { height * width }
}

/// "Same" 2-D cross-correlation with zero padding K/2 (odd K), as PyTorch's `conv2d(padding=K//2)`.
///
/// input [C, H, W]; weight [Cout, C, K, K]; bias [Cout]; returns [Cout, H, W].
func convolveSame(_ input: [Double], channels: Int, height: Int, width: Int,
                  weight: [Double], bias: [Double], outChannels: Int, kernelSize k: Int) -> [Double] {
    precondition(input.count == channels * height * width && weight.count == outChannels * channels * k * k)
    let half = k / 2
    var out = [Double](repeating: 0, count: outChannels * height * width)
    for o in 0..<outChannels {
        for y in 0..<height {
            for x in 0..<width {
                var sum = bias[o]
                for c in 0..<channels {
                    for ky in 0..<k {
                        let sy = y + ky - half
                        if sy < 0 || sy >= height { continue }
                        for kx in 0..<k {
                            let sx = x + kx - half
                            if sx < 0 || sx >= width { continue }
                            sum += weight[((o * channels + c) * k + ky) * k + kx] * input[(c * height + sy) * width + sx]
                        }
                    }
                }
                out[(o * height + y) * width + x] = sum
            }
        }
    }
    return out
}

func sigmoid(_ z: Double) -> Double { 1 / (1 + exp(-z)) }

/// Time step t of batch item b of a sequence [B, T, C, H, W], as [C, H, W].
func frame(_ sequence: [Double], b: Int, t: Int, time: Int, channels: Int, pixels: Int) -> ArraySlice<Double> {
    let start = ((b * time + t) * channels) * pixels
    return sequence[start..<(start + channels * pixels)]
}

/// Batch item b of a state [B, C, H, W], as [C, H, W].
func item(_ state: [Double], b: Int, channels: Int, pixels: Int) -> ArraySlice<Double> {
    state[(b * channels * pixels)..<((b + 1) * channels * pixels)]
}

/// Shi et al. peephole weights, each [Ch, H, W].
struct Peepholes {
    var inputGate: [Double], forgetGate: [Double], outputGate: [Double]
}

/// One ConvLSTM layer over a sequence.
///
/// x [B, T, Cin, H, W]; weight [4Ch, Cin+Ch, K, K] (input channels x then h; output blocks i, f, g, o); bias [4Ch];
/// h0, c0 [B, Ch, H, W]. Returns hidden [B, T, Ch, H, W] and the last cell state [B, Ch, H, W].
func convLSTMLayer(x: [Double], h0: [Double], c0: [Double], weight: [Double], bias: [Double],
                   peepholes: Peepholes?, shape s: LayerShape) -> (hidden: [Double], cellLast: [Double]) {
    let ch = s.hiddenChannels, n = s.pixels
    var hidden = [Double](repeating: 0, count: s.batch * s.time * ch * n)
    var cellLast = [Double](repeating: 0, count: s.batch * ch * n)
    for b in 0..<s.batch {
        var h = Array(item(h0, b: b, channels: ch, pixels: n))
        var c = Array(item(c0, b: b, channels: ch, pixels: n))
        for t in 0..<s.time {
            let input = Array(frame(x, b: b, t: t, time: s.time, channels: s.inputChannels, pixels: n)) + h
            let z = convolveSame(input, channels: s.inputChannels + ch, height: s.height, width: s.width,
                                 weight: weight, bias: bias, outChannels: 4 * ch, kernelSize: s.kernelSize)
            for q in 0..<(ch * n) {
                var zi = z[q], zf = z[ch * n + q]
                let zg = z[2 * ch * n + q]
                var zo = z[3 * ch * n + q]
                if let p = peepholes {
                    zi += p.inputGate[q] * c[q]        // c_{t-1}
                    zf += p.forgetGate[q] * c[q]
                }
                c[q] = sigmoid(zf) * c[q] + sigmoid(zi) * tanh(zg)
                if let p = peepholes { zo += p.outputGate[q] * c[q] }   // c_t
                h[q] = sigmoid(zo) * tanh(c[q])
            }
            let start = ((b * s.time + t) * ch) * n
            hidden.replaceSubrange(start..<(start + ch * n), with: h)
        }
        cellLast.replaceSubrange((b * ch * n)..<((b + 1) * ch * n), with: c)
    }
    return (hidden, cellLast)
}

/// One ConvGRU layer: [r, z] = σ(conv(cat(x, h), weightGates [2Ch, Cin+Ch, K, K]) + biasGates),
/// n = tanh(conv(cat(x, r·h), weightCandidate [Ch, Cin+Ch, K, K]) + biasCandidate), h = (1 − z)·n + z·h.
/// Returns hidden [B, T, Ch, H, W].
func convGRULayer(x: [Double], h0: [Double], weightGates: [Double], biasGates: [Double],
                  weightCandidate: [Double], biasCandidate: [Double], shape s: LayerShape) -> [Double] {
    let ch = s.hiddenChannels, n = s.pixels
    var hidden = [Double](repeating: 0, count: s.batch * s.time * ch * n)
    for b in 0..<s.batch {
        var h = Array(item(h0, b: b, channels: ch, pixels: n))
        for t in 0..<s.time {
            let xt = Array(frame(x, b: b, t: t, time: s.time, channels: s.inputChannels, pixels: n))
            let gates = convolveSame(xt + h, channels: s.inputChannels + ch, height: s.height, width: s.width,
                                     weight: weightGates, bias: biasGates, outChannels: 2 * ch, kernelSize: s.kernelSize)
            let r = (0..<(ch * n)).map { sigmoid(gates[$0]) }
            let z = (0..<(ch * n)).map { sigmoid(gates[ch * n + $0]) }
            let resetHidden = (0..<(ch * n)).map { r[$0] * h[$0] }
            let candidate = convolveSame(xt + resetHidden, channels: s.inputChannels + ch, height: s.height,
                                         width: s.width, weight: weightCandidate, bias: biasCandidate,
                                         outChannels: ch, kernelSize: s.kernelSize)
            for q in 0..<(ch * n) { h[q] = (1 - z[q]) * tanh(candidate[q]) + z[q] * h[q] }
            let start = ((b * s.time + t) * ch) * n
            hidden.replaceSubrange(start..<(start + ch * n), with: h)
        }
    }
    return hidden
}

/// One ConvRNN layer: h = tanh(conv(cat(x, h), weight [Ch, Cin+Ch, K, K]) + bias). Returns hidden [B, T, Ch, H, W].
func convRNNLayer(x: [Double], h0: [Double], weight: [Double], bias: [Double], shape s: LayerShape) -> [Double] {
    let ch = s.hiddenChannels, n = s.pixels
    var hidden = [Double](repeating: 0, count: s.batch * s.time * ch * n)
    for b in 0..<s.batch {
        var h = Array(item(h0, b: b, channels: ch, pixels: n))
        for t in 0..<s.time {
            let input = Array(frame(x, b: b, t: t, time: s.time, channels: s.inputChannels, pixels: n)) + h
            h = convolveSame(input, channels: s.inputChannels + ch, height: s.height, width: s.width,
                             weight: weight, bias: bias, outChannels: ch, kernelSize: s.kernelSize).map(tanh)
            let start = ((b * s.time + t) * ch) * n
            hidden.replaceSubrange(start..<(start + ch * n), with: h)
        }
    }
    return hidden
}

/// Stacked ConvLSTM layers (zero initial state), then a 1×1 conv head on the last layer's h_T and a sigmoid.
///
/// x [B, T, Cin, H, W]; layers[i] = (weight [4Ch_i, C_{i-1}+Ch_i, K, K], bias [4Ch_i]); headWeight [1, Ch_last, 1, 1];
/// headBias [1]. Returns every layer's hidden sequence and the probability [B, 1, H, W].
func convLSTMStackWithHead(x: [Double], layers: [(weight: [Double], bias: [Double])], hiddenChannels: [Int],
                           headWeight: [Double], headBias: [Double], shape s: LayerShape)
    -> (hidden: [[Double]], probability: [Double]) {
    var sequence = x
    var channelsIn = s.inputChannels
    var hiddens: [[Double]] = []
    for (index, ch) in hiddenChannels.enumerated() {
        var layerShape = s
        layerShape.inputChannels = channelsIn
        layerShape.hiddenChannels = ch
        let zeros = [Double](repeating: 0, count: s.batch * ch * s.pixels)
        sequence = convLSTMLayer(x: sequence, h0: zeros, c0: zeros, weight: layers[index].weight,
                                 bias: layers[index].bias, peepholes: nil, shape: layerShape).hidden
        hiddens.append(sequence)
        channelsIn = ch
    }
    var probability = [Double](repeating: 0, count: s.batch * s.pixels)
    for b in 0..<s.batch {
        let last = frame(sequence, b: b, t: s.time - 1, time: s.time, channels: channelsIn, pixels: s.pixels)
        for p in 0..<s.pixels {
            var logit = headBias[0]
            for c in 0..<channelsIn { logit += headWeight[c] * last[last.startIndex + c * s.pixels + p] }
            probability[b * s.pixels + p] = sigmoid(logit)
        }
    }
    return (hiddens, probability)
}

/// Binary cross-entropy, mean over all elements: −mean(y·log p + (1 − y)·log(1 − p)).
func binaryCrossEntropy(probability: [Double], target: [Double]) -> Double {
    var sum = 0.0
    for (p, y) in zip(probability, target) { sum += y * log(p) + (1 - y) * log(1 - p) }
    return -sum / Double(probability.count)
}

/// Σ a·b over all elements (the fixtures' loss `sum(hidden * upstream)`).
func dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var sum = 0.0
    for i in a.indices { sum += a[i] * b[i] }
    return sum
}

/// A 1×1 convolution head on one state [B, C, H, W]: weight [O, C] (or [O, C, 1, 1], same numbers), bias [O].
/// Returns logits [B, O, H, W] (no activation).
func conv1x1Head(_ state: [Double], batch: Int, channels: Int, pixels: Int, weight: [Double], bias: [Double],
                 outputs: Int) -> [Double] {
    precondition(state.count == batch * channels * pixels && weight.count == outputs * channels)
    var logits = [Double](repeating: 0, count: batch * outputs * pixels)
    for b in 0..<batch {
        for o in 0..<outputs {
            for p in 0..<pixels {
                var sum = bias[o]
                for c in 0..<channels { sum += weight[o * channels + c] * state[(b * channels + c) * pixels + p] }
                logits[(b * outputs + o) * pixels + p] = sum
            }
        }
    }
    return logits
}

/// The last step of a sequence [B, T, C, H, W], as a state [B, C, H, W].
func lastStep(_ sequence: [Double], batch: Int, time: Int, channels: Int, pixels: Int) -> [Double] {
    (0..<batch).flatMap { b in frame(sequence, b: b, t: time - 1, time: time, channels: channels, pixels: pixels) }
}
