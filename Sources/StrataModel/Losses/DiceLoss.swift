import StrataCore

/// Soft Dice loss on logits: 1 − Dice overlap between σ(logits) and the target, for segmentation of small objects
/// where per-pixel losses are swamped by the background.
///
/// Over a set of valid elements with probabilities p = σ(x) and targets t ∈ [0, 1]:
///
///     I = Σ p·t,   S = Σ p + Σ t,   D = (2·I + ε) / (S + ε),   ℓ = 1 − D
///     ∂ℓ/∂x_i = −[2·t_i·(S + ε) − (2·I + ε)] / (S + ε)² · p_i·(1 − p_i)
///
/// ε (`smooth`) keeps D defined when both sums are 0 (an empty target predicted empty scores D = 1, ℓ = 0) and
/// softens the gradient of nearly empty samples.
///
/// Reduction (Dice is a ratio of sums, not a mean of per-element terms, so "which elements share one ratio" must be
/// chosen):
/// - ``Reduction/global`` (default): one ratio over every valid element of the batch. Stable when many samples have
///   empty targets, the usual choice for rare changes.
/// - ``Reduction/perSample``: one ratio per sample along axis 0 (`[N, ...]`), then the mean over the samples that have
///   at least one valid element. Each sample counts equally, whatever the size of its object.
///
/// Masked elements enter neither sum and get gradient 0; with no valid element at all the loss is 0.
///
/// Shapes: prediction (logits) `[N, ...]` e.g. `[B, 1, H, W]`; target and mask the same count.
///
/// ```swift
/// let dice = DiceLoss(smooth: 1, reduction: .perSample)
/// let (loss, dLogits) = dice.evaluate(prediction: logits, target: lesions, mask: brain)
/// ```
public struct DiceLoss: Loss, Sendable {
    /// Which elements share one Dice ratio.
    public enum Reduction: String, Sendable, CaseIterable {
        /// One ratio over all valid elements of the batch.
        case global
        /// One ratio per sample along axis 0, averaged over samples with a valid element.
        case perSample
    }

    /// Smoothing ε > 0 added to numerator and denominator.
    public var smooth: Double
    public var reduction: Reduction

    public init(smooth: Double = 1, reduction: Reduction = .global) {
        precondition(smooth > 0, "smooth must be > 0, got \(smooth)")
        self.smooth = smooth
        self.reduction = reduction
    }

    public func evaluate(prediction: Tensor, target: Tensor, mask: Tensor?) -> (loss: Double, gradient: Tensor) {
        let x = prediction.converted(to: .float32), y = target.converted(to: .float32)
        precondition(x.count == y.count, "DiceLoss: prediction \(prediction.shape) and target \(target.shape) differ in size")
        let valid = LossMask.validity(mask, count: x.count, name: "DiceLoss")
        var gradient = Tensor(zeros: prediction.shape)
        let groups = reduction == .global ? 1 : (prediction.shape.first ?? 1)
        guard valid.count > 0, groups > 0 else { return (0, gradient) }
        let groupSize = x.count / groups
        var probabilities = [Double](repeating: 0, count: groupSize)
        var lossSum = 0.0, counted = 0
        x.withFloats { xs in
            y.withFloats { ys in
                gradient.withMutableFloats { g in
                    for group in 0..<groups {
                        let base = group * groupSize
                        var intersection = 0.0, sum = 0.0, any = false
                        for j in 0..<groupSize where valid.bytes[base + j] != 0 {
                            let p = Logistic.sigmoid(Double(xs[base + j]))
                            probabilities[j] = p
                            intersection += p * Double(ys[base + j])
                            sum += p + Double(ys[base + j])
                            any = true
                        }
                        guard any else { continue }
                        counted += 1
                        let numerator = 2 * intersection + smooth, denominator = sum + smooth
                        lossSum += 1 - numerator / denominator
                        let denominatorSquared = denominator * denominator
                        for j in 0..<groupSize where valid.bytes[base + j] != 0 {
                            let p = probabilities[j], t = Double(ys[base + j])
                            let dLossdP = -(2 * t * denominator - numerator) / denominatorSquared
                            // Stored unscaled; divided by the number of contributing groups below.
                            g[base + j] = Float(dLossdP * p * (1 - p))
                        }
                    }
                }
            }
        }
        if counted > 1 {
            let inverse = Float(1 / Double(counted))
            gradient.withMutableFloats { g in for i in 0..<g.count { g[i] *= inverse } }
        }
        return (lossSum / Double(counted), gradient)
    }
}
