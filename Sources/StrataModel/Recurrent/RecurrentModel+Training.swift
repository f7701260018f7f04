import Foundation
import StrataCore

/// Prediction (with the head's activation) and one training step.
extension RecurrentModel {
    /// The model's outputs with the configured activation applied: sigmoid per value, or softmax over the O
    /// outputs (axis 1 of `[B, O, H, W]` / `[B, O]`, axis 2 of the sequence layouts). Training uses logits instead.
    /// Runs ``infer(_:mask:lengths:initialState:chunkSteps:)``: no backward can follow.
    ///
    /// ```swift
    /// // [B, 1, H, W] for a sigmoid 1×1 head on the last state
    /// let probability = try model.predict(x, mask: clear)
    /// ```
    public func predict(_ input: Tensor, mask: Tensor? = nil, lengths: [Int]? = nil,
                        initialState: RecurrentState? = nil) throws -> Tensor {
        var y = try infer(input, mask: mask, lengths: lengths, initialState: initialState).logits
        let shape = y.shape
        switch config.head.activation {
        case .none:
            break
        case .sigmoid:
            y.withMutableFloats { v in
                for i in 0..<v.count { v[i] = Float(Logistic.sigmoid(Double(v[i]))) }
            }
        case .softmax:
            // Outputs axis: 1 for [B, O, ...], 2 for [B, T, O, ...]; inner = product of the axes after it.
            let axis = config.output == .sequence ? 2 : 1
            let classes = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
            let outer = shape[..<axis].reduce(1, *)
            y.withMutableFloats { v in
                for o in 0..<outer {
                    for q in 0..<inner {
                        let base = o * classes * inner + q
                        var m = -Float.infinity
                        for k in 0..<classes { m = max(m, v[base + k * inner]) }
                        var sum: Float = 0
                        for k in 0..<classes {
                            let e = exp(v[base + k * inner] - m)
                            v[base + k * inner] = e
                            sum += e
                        }
                        for k in 0..<classes { v[base + k * inner] /= sum }
                    }
                }
            }
        }
        return y
    }

    /// One optimisation step: zero the gradients, forward, loss on the logits, backward, clip, step.
    ///
    /// With ``precision`` `.fp16` the loss gradient is multiplied by ``lossScaler``'s scale before the backward pass
    /// and the scaler unscales, clips, steps (or skips an overflowing step) and adapts the scale.
    /// ``CrossEntropyLoss`` receives the logits reshaped to `[N, O, P]` (N = B or B·T, P = H·W or 1).
    ///
    /// - Returns: the loss of this batch (before the step).
    ///
    /// ```swift
    /// for _ in 0..<100 {
    ///     let loss = try model.trainStep(input: x, target: y, loss: MeanSquaredErrorLoss(), optimizer: adam,
    ///                                    clipNorm: 1)
    /// }
    /// ```
    @discardableResult
    public func trainStep(input: Tensor, mask: Tensor? = nil, lengths: [Int]? = nil, target: Tensor,
                          targetMask: Tensor? = nil, loss: any Loss, optimizer: any Optimizer,
                          clipNorm: Double? = nil) throws -> Double {
        optimizer.zeroGrad()
        let logits = try forward(input, mask: mask, lengths: lengths).logits
        let (value, lossGradient) = evaluate(loss, logits: logits, target: target, targetMask: targetMask)
        var gradient = lossGradient
        if precision == .fp16 {
            lossScaler.scaleGradient(&gradient)
            try backward(outputGradient: gradient)
            lossScaler.step(optimizer, maxGradientNorm: clipNorm)
            return value
        }
        try backward(outputGradient: gradient)
        if let clipNorm {
            let norm = GradientClipping.clipGlobalNorm(of: optimizer.parameters, maxNorm: clipNorm)
            guard norm.isFinite else { return value }
        }
        optimizer.step()
        return value
    }

    /// The loss and its gradient in the logits' shape; cross-entropy gets the `[N, O, P]` layout it expects.
    private func evaluate(_ loss: any Loss, logits: Tensor, target: Tensor,
                          targetMask: Tensor?) -> (Double, Tensor) {
        guard loss is CrossEntropyLoss else {
            return loss.evaluate(prediction: logits, target: target, mask: targetMask)
        }
        let shape = logits.shape
        let axis = config.output == .sequence ? 2 : 1
        let classes = shape[axis], pixels = shape[(axis + 1)...].reduce(1, *)
        let items = logits.count / (classes * pixels)
        let (value, gradient) = loss.evaluate(prediction: logits.reshaped([items, classes, pixels]),
                                              target: target, mask: targetMask)
        return (value, gradient.reshaped(shape))
    }
}
