import StrataCore

/// Mean squared error: ℓ = (x − y)², ∂ℓ/∂x = 2·(x − y), averaged over valid elements.
///
/// Shapes: prediction any shape (e.g. a reflectance forecast `[B, C, H, W]`); target and mask the same count.
///
/// ```swift
/// let (loss, dPrediction) = MeanSquaredErrorLoss().evaluate(prediction: forecast, target: observed, mask: clear)
/// ```
public struct MeanSquaredErrorLoss: Loss, Sendable {
    public init() {}

    public func evaluate(prediction: Tensor, target: Tensor, mask: Tensor?) -> (loss: Double, gradient: Tensor) {
        ElementwiseLoss.evaluate(prediction: prediction, target: target, mask: mask, name: "MeanSquaredErrorLoss") { x, y in
            let d = x - y
            return (d * d, 2 * d)
        }
    }
}
