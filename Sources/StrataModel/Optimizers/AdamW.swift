import StrataCore

/// Adam with decoupled weight decay (Loshchilov & Hutter 2019), following `torch.optim.AdamW`.
///
/// Each step first shrinks the parameter, then takes a plain Adam step (see ``Adam``, with λ = 0 there):
///
///     θ ← θ − γ·λ·θ                                (computed as θ·(1 − γ·λ), as torch does)
///     m, v, m̂, v̂ as in Adam
///     θ ← θ − γ·m̂ / (√v̂ + ε)
///
/// Unlike Adam's L2 term, the decay is not divided by √v̂, so every weight decays at the same relative rate γ·λ.
/// The decay follows the learning rate the schedule sets. State: as ``Adam``.
///
/// ```swift
/// let adamw = AdamW(parameters: parameters, learningRate: 1e-3, weightDecay: 1e-2)
/// adamw.step()
/// ```
public final class AdamW: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    /// Decoupled decay λ (per unit learning rate).
    public let weightDecay: Double
    private var moments: AdamMoments

    public var stepCount: Int { moments.stepCount }

    public init(
        parameters: [Parameter], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, weightDecay: Double = 1e-2
    ) {
        precondition(learningRate >= 0 && epsilon >= 0 && weightDecay >= 0, "AdamW: negative hyperparameter")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "AdamW: betas must be in [0, 1)")
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
        if weightDecay != 0 {
            let shrink = Float(1 - learningRate * weightDecay)
            for parameter in parameters {
                parameter.value.withMutableFloats { theta in for i in 0..<theta.count { theta[i] *= shrink } }
            }
        }
        moments.step(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2,
                     epsilon: epsilon, l2: 0)
    }

    public func state() -> OptimizerState { moments.state(parameters: parameters) }

    public func restore(_ state: OptimizerState) throws { try moments.restore(state, parameters: parameters) }
}
