import StrataCore

/// Binary cross-entropy on logits with a weight on the positive class (PyTorch's `BCEWithLogitsLoss(pos_weight:)`).
///
/// Per valid element, with logit x, target y ∈ [0, 1] (soft labels allowed) and positive weight w:
///
///     ℓ = w·y·softplus(−x) + (1 − y)·softplus(x)          (= −[w·y·log σ(x) + (1 − y)·log(1 − σ(x))])
///     ∂ℓ/∂x = w·y·(σ(x) − 1) + (1 − y)·σ(x)
///
/// softplus(z) = max(z, 0) + log(1 + e^−|z|) never overflows, so logits of ±1000 give finite values. The loss is
/// the mean of ℓ over valid elements (see ``Loss``).
///
/// Shapes: prediction (logits) any shape, e.g. `[B, 1, H, W]`; target the same count (float32 or uint8 0/1);
/// mask uint8 with the same count.
///
/// ```swift
/// // Changes are rare (1 pixel in 20): weigh each positive like 19 negatives.
/// let bce = BinaryCrossEntropyLoss(positiveWeight: 19)
/// let (loss, dLogits) = bce.evaluate(prediction: logits, target: changed, mask: clear)
/// ```
public struct BinaryCrossEntropyLoss: Loss, Sendable {
    /// Multiplier of the positive term (PyTorch `pos_weight`); 1 is plain binary cross-entropy.
    public var positiveWeight: Double

    public init(positiveWeight: Double = 1) {
        precondition(positiveWeight >= 0, "positiveWeight must be ≥ 0, got \(positiveWeight)")
        self.positiveWeight = positiveWeight
    }

    public func evaluate(prediction: Tensor, target: Tensor, mask: Tensor?) -> (loss: Double, gradient: Tensor) {
        let w = positiveWeight
        return ElementwiseLoss.evaluate(prediction: prediction, target: target, mask: mask, name: "BinaryCrossEntropyLoss") { x, y in
            let l = Logistic(x)
            // σ(x) − 1 written as −σ(−x), so a large negative logit keeps its precision.
            return (w * y * l.softplusOfNegative + (1 - y) * l.softplus, -w * y * l.sigmoidOfNegative + (1 - y) * l.sigmoid)
        }
    }
}
