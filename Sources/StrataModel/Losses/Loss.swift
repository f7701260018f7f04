import Foundation
import StrataCore

/// A training objective: the mean loss over valid elements and its gradient with respect to the prediction.
///
/// Every loss follows the same masking contract, so a training loop can swap them freely:
/// - `mask` is a uint8 tensor with one entry per prediction element (per pixel for ``CrossEntropyLoss``); a nonzero
///   entry marks a valid element, 0 an element to ignore (cloud, nodata, outside the field). `nil` means all valid.
/// - Masked elements contribute nothing to the loss and get a gradient of exactly 0; their target is never read for
///   anything but its position, so any value (even NaN) may sit there.
/// - The mean divides by the number of valid elements. With no valid element the loss is 0 and the gradient is all
///   zeros (never NaN), so a fully clouded batch is a no-op step rather than a poisoned one.
///
/// Sums are accumulated in Double and per-element terms are computed in Double from the float32 inputs, so the loss
/// of a large batch does not lose digits; the returned gradient is float32 with the prediction's shape.
///
/// Shape mismatches are programming errors and stop with a message naming the shapes.
///
/// ```swift
/// let loss: any Loss = BinaryCrossEntropyLoss(positiveWeight: 3)
/// let logits = Tensor(shape: [2, 1, 2, 2], values: [0, 1, -2, 4, 0.5, -1, 3, 0])  // [B, C, H, W]
/// let labels = Tensor(shape: [2, 1, 2, 2], values: [0, 1, 0, 1, 1, 0, 1, 0])
/// let (value, dLogits) = loss.evaluate(prediction: logits, target: labels, mask: nil)
/// ```
public protocol Loss {
    /// Mean loss over the valid elements of `prediction` and d loss / d prediction (float32, prediction's shape).
    func evaluate(prediction: Tensor, target: Tensor, mask: Tensor?) -> (loss: Double, gradient: Tensor)
}

/// Shared plumbing for losses whose value is a mean of independent per-element terms.
enum ElementwiseLoss {
    /// Runs `term(x, y)` -> (loss, d loss / d x) over every valid element and returns the mean and its gradient.
    ///
    /// `prediction`, `target` and `mask` must hold the same number of elements (any shapes, compared by count, so a
    /// `[B, 1, H, W]` prediction may carry a `[B, H, W]` mask). Targets may be float32 or uint8 (0/1 labels).
    @inline(__always)
    static func evaluate(
        prediction: Tensor, target: Tensor, mask: Tensor?, name: String,
        term: (_ x: Double, _ y: Double) -> (loss: Double, gradient: Double)
    ) -> (loss: Double, gradient: Tensor) {
        let x = prediction.converted(to: .float32)
        let y = target.converted(to: .float32)
        precondition(x.count == y.count, "\(name): prediction \(prediction.shape) and target \(target.shape) differ in size")
        let valid = LossMask.validity(mask, count: x.count, name: name)
        var gradient = Tensor(zeros: prediction.shape)
        if valid.count == 0 { return (0, gradient) }
        // The valid count is known before the pass, so the gradient of the mean is written in the same pass.
        let inverseCount = 1 / Double(valid.count)
        var sum = 0.0
        x.withFloats { xs in
            y.withFloats { ys in
                gradient.withMutableFloats { g in
                    for i in 0..<xs.count where valid.bytes[i] != 0 {
                        let (l, d) = term(Double(xs[i]), Double(ys[i]))
                        sum += l
                        g[i] = Float(d * inverseCount)
                    }
                }
            }
        }
        return (sum * inverseCount, gradient)
    }
}

/// A validity mask expanded to one byte per element (nonzero = valid), with its count of valid entries.
struct LossMask {
    /// One entry per element; all 1 when the caller passed no mask.
    let bytes: [UInt8]
    /// Number of valid entries.
    let count: Int

    /// Validates `mask` (uint8, `count` entries) and counts its nonzero entries; `nil` means all `count` valid.
    static func validity(_ mask: Tensor?, count: Int, name: String) -> LossMask {
        guard let mask else { return LossMask(bytes: [UInt8](repeating: 1, count: count), count: count) }
        precondition(mask.dtype == .uint8, "\(name): mask must be uint8 (1 valid, 0 ignored), got \(mask.dtype)")
        precondition(mask.count == count, "\(name): mask \(mask.shape) has \(mask.count) entries, expected \(count)")
        let bytes = mask.withRawBytes { Array($0) }
        var valid = 0
        for b in bytes where b != 0 { valid += 1 }
        return LossMask(bytes: bytes, count: valid)
    }
}

/// σ(±x) and softplus(±x) of one logit from a single exp and log1p, without overflow at any magnitude.
///
/// With e = exp(−|x|) ∈ (0, 1]: softplus(z) = max(z, 0) + log(1 + e) for z = ±x, and σ(x) = 1/(1 + e) or e/(1 + e)
/// depending on the sign, σ(−x) being the other one. Computing σ(−x) directly (not as 1 − σ(x)) keeps its
/// digits when it is tiny.
struct Logistic {
    /// σ(x)
    let sigmoid: Double
    /// σ(−x) = 1 − σ(x)
    let sigmoidOfNegative: Double
    /// softplus(x) = log(1 + eˣ) = −log(1 − σ(x))
    let softplus: Double
    /// softplus(−x) = log(1 + e⁻ˣ) = −log σ(x)
    let softplusOfNegative: Double

    @inline(__always)
    init(_ x: Double) {
        let e = exp(-abs(x)), logTerm = log1p(e), large = 1 / (1 + e), small = e / (1 + e)
        sigmoid = x >= 0 ? large : small
        sigmoidOfNegative = x >= 0 ? small : large
        softplus = max(x, 0) + logTerm
        softplusOfNegative = max(-x, 0) + logTerm
    }

    /// σ(x) alone (no logarithm), for losses that need only the probability.
    @inline(__always)
    static func sigmoid(_ x: Double) -> Double {
        let e = exp(-abs(x))
        return x >= 0 ? 1 / (1 + e) : e / (1 + e)
    }
}
