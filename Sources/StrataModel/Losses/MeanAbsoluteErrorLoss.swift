import StrataCore

/// Mean absolute error: ℓ = |x − y|, averaged over valid elements.
///
/// The gradient is sign(x − y), with the subgradient 0 where x = y (as PyTorch's `L1Loss`), so an exact prediction
/// is not pushed either way.
///
/// Shapes: prediction any shape; target and mask the same count.
///
/// ```swift
/// let (loss, dPrediction) = MeanAbsoluteErrorLoss().evaluate(prediction: forecast, target: observed, mask: nil)
/// ```
public struct MeanAbsoluteErrorLoss: Loss, Sendable {
    public init() {}

    public func evaluate(prediction: Tensor, target: Tensor, mask: Tensor?) -> (loss: Double, gradient: Tensor) {
        ElementwiseLoss.evaluate(prediction: prediction, target: target, mask: mask, name: "MeanAbsoluteErrorLoss") { x, y in
            let d = x - y
            return (abs(d), d > 0 ? 1 : (d < 0 ? -1 : 0))
        }
    }
}
