import Foundation
import StrataCore

/// Multi-class cross-entropy on logits (PyTorch's `CrossEntropyLoss` with integer targets), for land-cover or
/// tissue classes.
///
/// Layout: logits `[N, K, P]` (N items, K classes on axis 1, P pixels, e.g. a `[B, K, H, W]` map reshaped to
/// `[B, K, H·W]`); target `[N, P]` holding class indices 0..<K as float32 whole numbers or uint8; mask `[N, P]` uint8
/// (0 = ignore, PyTorch's `ignore_index` expressed as a mask). Per valid pixel with target class c:
///
///     m  = max_k x_k
///     ℓ  = m + log Σ_k exp(x_k − m) − x_c                       (stable log-softmax)
///     ∂ℓ/∂x_k = softmax(x)_k − [k = c]
///
/// The loss is the mean of ℓ over valid pixels. A valid pixel whose target is not a class index in 0..<K is a
/// programming error (labels are checked when they are loaded) and stops with a message naming the pixel.
///
/// ```swift
/// let ce = CrossEntropyLoss(classCount: 5)
/// let (loss, dLogits) = ce.evaluate(prediction: logits.reshaped([b, 5, h * w]),
///                                   target: labels.reshaped([b, h * w]), mask: labelled.reshaped([b, h * w]))
/// ```
public struct CrossEntropyLoss: Loss, Sendable {
    /// K, the number of classes (size of axis 1 of the logits).
    public var classCount: Int

    public init(classCount: Int) {
        precondition(classCount >= 1, "classCount must be ≥ 1, got \(classCount)")
        self.classCount = classCount
    }

    public func evaluate(prediction: Tensor, target: Tensor, mask: Tensor?) -> (loss: Double, gradient: Tensor) {
        let k = classCount
        precondition(prediction.shape.count == 3 && prediction.shape[1] == k,
                     "CrossEntropyLoss: logits must be [N, \(k), P], got \(prediction.shape)")
        let n = prediction.shape[0], pixels = prediction.shape[2]
        let x = prediction.converted(to: .float32), y = target.converted(to: .float32)
        precondition(y.count == n * pixels, "CrossEntropyLoss: target \(target.shape) must hold N·P = \(n * pixels) labels")
        let valid = LossMask.validity(mask, count: n * pixels, name: "CrossEntropyLoss")
        var gradient = Tensor(zeros: prediction.shape)
        guard valid.count > 0 else { return (0, gradient) }
        let inverseCount = 1 / Double(valid.count)
        // Per-pixel scratch, so every pass over the logits walks one contiguous class plane [P].
        var maximum = [Double](repeating: 0, count: pixels), sumExp = [Double](repeating: 0, count: pixels)
        var lossSum = 0.0
        x.withFloats { xs in
            y.withFloats { ys in
                gradient.withMutableFloats { g in
                    for item in 0..<n {
                        let labels = item * pixels, logits = item * k * pixels
                        for p in 0..<pixels { maximum[p] = -.infinity; sumExp[p] = 0 }
                        for c in 0..<k {
                            let plane = logits + c * pixels
                            for p in 0..<pixels { maximum[p] = max(maximum[p], Double(xs[plane + p])) }
                        }
                        for c in 0..<k {
                            let plane = logits + c * pixels
                            for p in 0..<pixels { sumExp[p] += exp(Double(xs[plane + p]) - maximum[p]) }
                        }
                        for p in 0..<pixels where valid.bytes[labels + p] != 0 {
                            let label = ys[labels + p]
                            guard label >= 0, label < Float(k), label == label.rounded() else {
                                preconditionFailure("CrossEntropyLoss: item \(item) pixel \(p) has target \(label), not a class in 0..<\(k)")
                            }
                            let c = Int(label)
                            lossSum += maximum[p] + log(sumExp[p]) - Double(xs[logits + c * pixels + p])
                        }
                        for c in 0..<k {
                            let plane = logits + c * pixels
                            for p in 0..<pixels where valid.bytes[labels + p] != 0 {
                                let softmax = exp(Double(xs[plane + p]) - maximum[p]) / sumExp[p]
                                let hit: Double = Int(ys[labels + p]) == c ? 1 : 0
                                g[plane + p] = Float((softmax - hit) * inverseCount)
                            }
                        }
                    }
                }
            }
        }
        return (lossSum * inverseCount, gradient)
    }
}
