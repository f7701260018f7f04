import Foundation
import StrataCore

/// Focal loss on logits (Lin et al. 2017, as torchvision's `sigmoid_focal_loss`): cross-entropy damped on the easy
/// elements so that the rare, hard ones (a thin change boundary, a small lesion) drive the gradient.
///
/// Per valid element, with logit x, target y ∈ [0, 1], p = σ(x):
///
///     ce   = y·softplus(−x) + (1 − y)·softplus(x)                 (binary cross-entropy, stable form)
///     q    = 1 − p_t = y·σ(−x) + (1 − y)·σ(x)                      (probability given to the wrong answer)
///     α_t  = α·y + (1 − α)·(1 − y)          (or 1 when α is nil)
///     ℓ    = α_t · q^γ · ce
///     ∂ℓ/∂x = α_t · [ q^γ·(σ(x) − y) + γ·q^(γ−1)·ce·σ(x)·σ(−x)·(1 − 2y) ]
///
/// The second term is taken as 0 where q = 0 or γ = 0 (its limit there, since ce → 0 as fast as q), so no 0·∞
/// appears. γ = 0 with α nil is exactly ``BinaryCrossEntropyLoss``. The loss is the mean of ℓ over valid elements.
///
/// Shapes: prediction (logits) any shape, e.g. `[B, 1, H, W]`; target and mask the same count.
///
/// ```swift
/// let focal = FocalLoss(gamma: 2, alpha: 0.25)   // the paper's defaults
/// let (loss, dLogits) = focal.evaluate(prediction: logits, target: labels, mask: nil)
/// ```
public struct FocalLoss: Loss, Sendable {
    /// Focusing exponent γ ≥ 0; larger values ignore easy elements more.
    public var gamma: Double
    /// Weight α ∈ [0, 1] of the positive class (1 − α for the negative); nil weighs both classes 1.
    public var alpha: Double?

    public init(gamma: Double = 2, alpha: Double? = 0.25) {
        precondition(gamma >= 0, "gamma must be ≥ 0, got \(gamma)")
        if let alpha { precondition((0...1).contains(alpha), "alpha must be in [0, 1], got \(alpha)") }
        self.gamma = gamma
        self.alpha = alpha
    }

    public func evaluate(prediction: Tensor, target: Tensor, mask: Tensor?) -> (loss: Double, gradient: Tensor) {
        let gamma = self.gamma, alpha = self.alpha
        return ElementwiseLoss.evaluate(prediction: prediction, target: target, mask: mask, name: "FocalLoss") { x, y in
            let l = Logistic(x)
            let p = l.sigmoid, oneMinusP = l.sigmoidOfNegative
            let ce = y * l.softplusOfNegative + (1 - y) * l.softplus
            let q = y * oneMinusP + (1 - y) * p
            let weight = alpha.map { $0 * y + (1 - $0) * (1 - y) } ?? 1
            // q^γ as q·q^(γ−1): one pow per element instead of two. q^(γ−1) is only needed (and only finite)
            // for q > 0 and γ ≠ 0; elsewhere the second gradient term is 0 and q^γ is 1 (γ = 0) or 0 (q = 0).
            let lowerPower = q > 0 && gamma != 0 ? pow(q, gamma - 1) : 0
            let modulation = gamma == 0 ? 1 : q * lowerPower
            let gradient = modulation * (p - y) + gamma * lowerPower * ce * p * oneMinusP * (1 - 2 * y)
            return (weight * modulation * ce, weight * gradient)
        }
    }
}
