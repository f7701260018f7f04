import Foundation
import StrataCore

/// The Adam moment update shared by ``Adam`` and ``AdamW``: first and second moments, bias correction and the step.
///
/// Arranged as `torch.optim.Adam`'s single-tensor path (the one used on CPU) so float32 results match it to the last
/// bits wherever the operations are the same:
///
///     m ← lerp(m, g, 1 − β1)                   = m + (1 − β1)·(g − m)
///     v ← β2·v + (1 − β2)·g²
///     c1 = 1 − β1^t,  c2 = 1 − β2^t            (Double, as Python floats)
///     θ ← θ − (γ / c1) · m / (√v / √c2 + ε)
///
/// which is the documented m̂ = m / c1, v̂ = v / c2, θ ← θ − γ·m̂ / (√v̂ + ε).
struct AdamMoments {
    var firstMoments: [Tensor]
    var secondMoments: [Tensor]
    var stepCount = 0

    init(parameters: [Parameter]) {
        firstMoments = parameters.map { Tensor(zeros: $0.shape) }
        secondMoments = parameters.map { Tensor(zeros: $0.shape) }
    }

    /// One Adam step; `l2` ≠ 0 adds l2·θ to the gradient first (torch.optim.Adam's coupled weight decay).
    mutating func step(parameters: [Parameter], learningRate: Double, beta1: Double, beta2: Double, epsilon: Double, l2: Double) {
        stepCount += 1
        let t = Double(stepCount)
        let correction1 = 1 - pow(beta1, t), correction2Root = (1 - pow(beta2, t)).squareRoot()
        let stepSize = Float(learningRate / correction1), root2 = Float(correction2Root)
        let weight1 = Float(1 - beta1), b2 = Float(beta2), weight2 = Float(1 - beta2)
        let eps = Float(epsilon), decay = Float(l2)
        for (index, parameter) in parameters.enumerated() {
            let gradient = parameter.gradient
            gradient.withFloats { g in
                parameter.value.withMutableFloats { theta in
                    firstMoments[index].withMutableFloats { m in
                        secondMoments[index].withMutableFloats { v in
                            for i in 0..<theta.count {
                                let d = decay == 0 ? g[i] : g[i] + decay * theta[i]
                                // torch's lerp picks this form for weights below one half.
                                m[i] = weight1 < 0.5 ? m[i] + weight1 * (d - m[i]) : d - (d - m[i]) * (1 - weight1)
                                v[i] = b2 * v[i] + weight2 * (d * d)
                                let denominator = v[i].squareRoot() / root2 + eps
                                theta[i] -= stepSize * (m[i] / denominator)
                            }
                        }
                    }
                }
            }
        }
    }

    func state(parameters: [Parameter]) -> OptimizerState {
        var state = OptimizerState(scalars: ["optimizer.step": Double(stepCount)])
        for (index, parameter) in parameters.enumerated() {
            state.tensors[OptimizerState.key(parameter: parameter.name, buffer: "exp_avg")] = firstMoments[index]
            state.tensors[OptimizerState.key(parameter: parameter.name, buffer: "exp_avg_sq")] = secondMoments[index]
        }
        return state
    }

    mutating func restore(_ state: OptimizerState, parameters: [Parameter]) throws {
        let step = try state.stepCount()
        let first = try state.buffers("exp_avg", for: parameters)
        let second = try state.buffers("exp_avg_sq", for: parameters)
        stepCount = step
        firstMoments = first
        secondMoments = second
    }
}
