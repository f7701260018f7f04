import StrataCore

/// Huber loss (PyTorch's `HuberLoss(delta:)`): quadratic near the target, linear beyond δ, so outliers (a missed
/// cloud, a saturated pixel) pull with a bounded force.
///
/// Per valid element, with d = x − y:
///
///     ℓ = ½·d²               if |d| ≤ δ
///     ℓ = δ·(|d| − ½·δ)      otherwise
///     ∂ℓ/∂x = clamp(d, −δ, δ)
///
/// The loss is the mean of ℓ over valid elements. Shapes: prediction any shape; target and mask the same count.
///
/// ```swift
/// let huber = HuberLoss(delta: 0.1)   // reflectance units
/// let (loss, dPrediction) = huber.evaluate(prediction: forecast, target: observed, mask: clear)
/// ```
public struct HuberLoss: Loss, Sendable {
    /// Where the loss turns from quadratic to linear, in the prediction's units (> 0).
    public var delta: Double

    public init(delta: Double = 1) {
        precondition(delta > 0, "delta must be > 0, got \(delta)")
        self.delta = delta
    }

    public func evaluate(prediction: Tensor, target: Tensor, mask: Tensor?) -> (loss: Double, gradient: Tensor) {
        let delta = self.delta
        return ElementwiseLoss.evaluate(prediction: prediction, target: target, mask: mask, name: "HuberLoss") { x, y in
            let d = x - y
            if abs(d) <= delta { return (0.5 * d * d, d) }
            return (delta * (abs(d) - 0.5 * delta), d > 0 ? delta : -delta)
        }
    }
}
