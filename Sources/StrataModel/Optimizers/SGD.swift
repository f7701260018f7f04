import StrataCore

/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay, following
/// `torch.optim.SGD`'s documented update.
///
/// With learning rate γ, weight decay λ, momentum μ, dampening τ, per parameter θ and gradient g at step t (from 1):
///
///     g ← g + λ·θ                                   (if λ ≠ 0)
///     b ← g                                         (t = 1)
///     b ← μ·b + (1 − τ)·g                           (t > 1)          (if μ ≠ 0)
///     g ← g + μ·b   (Nesterov)   or   g ← b          (if μ ≠ 0)
///     θ ← θ − γ·g
///
/// All arithmetic is float32, scalars rounded to float32 first, as PyTorch does for float32 parameters.
/// State: `optimizer.<param>.momentum_buffer` (when μ ≠ 0) and `optimizer.step`.
///
/// ```swift
/// let sgd = SGD(parameters: parameters, learningRate: 0.1, momentum: 0.9, nesterov: true)
/// sgd.step()
/// ```
public final class SGD: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Double
    public let momentum: Double
    public let dampening: Double
    public let nesterov: Bool
    public let weightDecay: Double
    public private(set) var stepCount = 0
    /// One per parameter when momentum ≠ 0, else empty.
    private var momentumBuffers: [Tensor]

    public init(
        parameters: [Parameter], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
        nesterov: Bool = false, weightDecay: Double = 0
    ) {
        precondition(learningRate >= 0 && momentum >= 0 && weightDecay >= 0, "SGD: negative hyperparameter")
        precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and dampening 0")
        OptimizerChecks.uniqueNames(parameters)
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        momentumBuffers = momentum == 0 ? [] : parameters.map { Tensor(zeros: $0.shape) }
    }

    public func step() {
        OptimizerChecks.gradientShapes(parameters)
        stepCount += 1
        let lr = Float(learningRate), wd = Float(weightDecay), mu = Float(momentum)
        let keep = Float(1 - dampening), first = stepCount == 1, nesterov = self.nesterov
        for (index, parameter) in parameters.enumerated() {
            let gradient = parameter.gradient
            gradient.withFloats { g in
                parameter.value.withMutableFloats { theta in
                    if mu == 0 {
                        for i in 0..<theta.count {
                            let d = wd == 0 ? g[i] : g[i] + wd * theta[i]
                            theta[i] -= lr * d
                        }
                        return
                    }
                    momentumBuffers[index].withMutableFloats { b in
                        for i in 0..<theta.count {
                            let d = wd == 0 ? g[i] : g[i] + wd * theta[i]
                            b[i] = first ? d : mu * b[i] + keep * d
                            theta[i] -= lr * (nesterov ? d + mu * b[i] : b[i])
                        }
                    }
                }
            }
        }
    }

    public func state() -> OptimizerState {
        var state = OptimizerState(scalars: ["optimizer.step": Double(stepCount)])
        for (parameter, buffer) in zip(parameters, momentumBuffers) {
            state.tensors[OptimizerState.key(parameter: parameter.name, buffer: "momentum_buffer")] = buffer
        }
        return state
    }

    public func restore(_ state: OptimizerState) throws {
        let step = try state.stepCount()
        let buffers = momentum == 0 ? [] : try state.buffers("momentum_buffer", for: parameters)
        stepCount = step
        momentumBuffers = buffers
    }
}
