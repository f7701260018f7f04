import StrataCore

/// Gradient clipping by global norm (as `torch.nn.utils.clip_grad_norm_` with the L2 norm).
///
/// The global norm is ‖g‖ = √(Σ over all parameters and elements of g²), summed in Double. If it exceeds `maxNorm`,
/// every gradient is multiplied by maxNorm / ‖g‖, so the clipped global norm is `maxNorm` up to float32 rounding.
/// This differs from PyTorch, which divides by ‖g‖ + 1e-6 and so lands slightly below `maxNorm`.
///
/// A non-finite norm (an inf or NaN gradient) leaves the gradients untouched: scaling would only spread NaN into
/// every parameter. Callers check the returned norm (or use ``DynamicLossScaler``) and skip that step.
///
/// ```swift
/// let norm = GradientClipping.clipGlobalNorm(of: model.parameters, maxNorm: 1)
/// if norm.isFinite { optimizer.step() }
/// log("grad norm \(norm)")   // the norm before clipping
/// ```
public enum GradientClipping {
    /// √(Σ g²) over every gradient element of `parameters`, accumulated in Double.
    public static func globalNorm(of parameters: [Parameter]) -> Double {
        var sumOfSquares = 0.0
        for parameter in parameters {
            parameter.gradient.withFloats { g in
                // Short blocks summed separately keep the dependency chain short; every sum is Double.
                var i = 0
                while i < g.count {
                    let end = min(i + 256, g.count)
                    var block = 0.0
                    for j in i..<end { block += Double(g[j]) * Double(g[j]) }
                    sumOfSquares += block
                    i = end
                }
            }
        }
        return sumOfSquares.squareRoot()
    }

    /// Scales all gradients down so their global norm is at most `maxNorm` and returns the norm before clipping.
    @discardableResult
    public static func clipGlobalNorm(of parameters: [Parameter], maxNorm: Double) -> Double {
        precondition(maxNorm > 0, "maxNorm must be > 0, got \(maxNorm)")
        let norm = globalNorm(of: parameters)
        guard norm.isFinite, norm > maxNorm else { return norm }
        let scale = Float(maxNorm / norm)
        for parameter in parameters {
            parameter.gradient.withMutableFloats { g in for i in 0..<g.count { g[i] *= scale } }
        }
        return norm
    }
}
