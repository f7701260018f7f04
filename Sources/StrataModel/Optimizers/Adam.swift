import StrataCore

/// Adam (Kingma & Ba 2015) with optional L2 weight decay added to the gradient, following `torch.optim.Adam`.
///
/// With learning rate γ, betas (β1, β2), ε, weight decay λ, at step t (from 1):
///
///     g ← g + λ·θ                                  (if λ ≠ 0: L2 penalty, coupled with the adaptive scaling)
///     m ← β1·m + (1 − β1)·g
///     v ← β2·v + (1 − β2)·g²
///     m̂ = m / (1 − β1^t),   v̂ = v / (1 − β2^t)
///     θ ← θ − γ·m̂ / (√v̂ + ε)
///
/// For weight decay that is not rescaled by √v̂, use ``AdamW``. State: `optimizer.<param>.exp_avg` (m),
/// `optimizer.<param>.exp_avg_sq` (v), `optimizer.step` (t).
///
/// ```swift
/// let adam = Adam(parameters: parameters, learningRate: 1e-3)
/// adam.step()
/// ```
public final class Adam: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    /// L2 penalty λ added to the gradient.
    public let weightDecay: Double
    private var moments: AdamMoments

    public var stepCount: Int { moments.stepCount }

    public init(
        parameters: [Parameter], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, weightDecay: Double = 0
    ) {
        precondition(learningRate >= 0 && epsilon >= 0 && weightDecay >= 0, "Adam: negative hyperparameter")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: betas must be in [0, 1)")
        OptimizerChecks.uniqueNames(parameters)
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        moments = AdamMoments(parameters: parameters)
    }

    public func step() {
        OptimizerChecks.gradientShapes(parameters)
        moments.step(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2,
                     epsilon: epsilon, l2: weightDecay)
    }

    public func state() -> OptimizerState { moments.state(parameters: parameters) }

    public func restore(_ state: OptimizerState) throws { try moments.restore(state, parameters: parameters) }
}
