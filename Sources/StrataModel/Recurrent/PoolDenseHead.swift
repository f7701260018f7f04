import StrataCore

/// Global average pooling over the valid pixels, then a dense layer: one value per image (yield per patch).
/// `head.weight` `[O, C]`, `head.bias` `[O]`.
///
///     p[n, c] = Σ_valid f[n, c, q] / count_n          (p = 0 when an image has no valid pixel)
///     y[n, o] = Σ_c W[o, c]·p[n, c] + b[o]
final class PoolDenseHead: ModelHead {
    let weight: Parameter, bias: Parameter
    private var pooled: [Float] = [], inverseCount: [Float] = []
    private let output = FloatBuffer(), featureGradient = FloatBuffer()
    private var images = 0, pixels = 0
    private var validity: UnsafePointer<UInt8>?

    init(weight: Parameter, bias: Parameter) {
        self.weight = weight
        self.bias = bias
    }

    private var outputs: Int { weight.shape[0] }
    private var channels: Int { weight.shape[1] }

    func outputCount(pixels: Int) -> Int { outputs }

    func forward(features: UnsafePointer<Float>, images: Int, height: Int, width: Int,
                 validity: UnsafePointer<UInt8>?) -> UnsafePointer<Float> {
        let hw = height * width, c = channels
        self.images = images
        pixels = hw
        self.validity = validity
        pooled = [Float](repeating: 0, count: images * c)
        inverseCount = [Float](repeating: 0, count: images)
        for n in 0..<images {
            var count = 0
            for q in 0..<hw where validity == nil || validity![n * hw + q] != 0 { count += 1 }
            inverseCount[n] = count == 0 ? 0 : 1 / Float(count)
            for ch in 0..<c {
                let f = features + (n * c + ch) * hw
                var sum: Float = 0
                for q in 0..<hw where validity == nil || validity![n * hw + q] != 0 { sum += f[q] }
                pooled[n * c + ch] = sum * inverseCount[n]
            }
        }
        let y = output.ensure(images * outputs)
        let w = weight.value.floatPointer, b = bias.value.floatPointer
        for n in 0..<images {
            for o in 0..<outputs {
                var sum = b[o]
                for ch in 0..<c { sum += w[o * c + ch] * pooled[n * c + ch] }
                y[n * outputs + o] = sum
            }
        }
        return UnsafePointer(y)
    }

    func backward(outputGradient dy: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let c = channels, hw = pixels
        let w = weight.value.floatPointer
        weight.gradient.withMutableFloats { dw in
            bias.gradient.withMutableFloats { db in
                for n in 0..<images {
                    for o in 0..<outputs {
                        db[o] += dy[n * outputs + o]
                        for ch in 0..<c { dw[o * c + ch] += dy[n * outputs + o] * pooled[n * c + ch] }
                    }
                }
            }
        }
        let dx = featureGradient.ensure(images * c * hw)
        for n in 0..<images {
            for ch in 0..<c {
                var dp: Float = 0
                for o in 0..<outputs { dp += w[o * c + ch] * dy[n * outputs + o] }
                let value = dp * inverseCount[n], f = dx + (n * c + ch) * hw
                for q in 0..<hw { f[q] = validity == nil || validity![n * hw + q] != 0 ? value : 0 }
            }
        }
        return UnsafePointer(dx)
    }
}
