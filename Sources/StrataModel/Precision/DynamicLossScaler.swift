import StrataCore

/// Dynamic loss scaling for float16 training, with the policy of `torch.cuda.amp.GradScaler`.
///
/// float16 gradients underflow to 0 below about 6e-8; multiplying the loss (in practice: the loss gradient that
/// seeds the backward pass) by a large scale S keeps them representable. Before the optimizer step the gradients
/// are divided by S again. S adapts:
///
/// - it starts at 2^16;
/// - a step whose gradients hold an inf or NaN is an overflow: the step is skipped and S ← S·½ (`backoffFactor`);
/// - after `growthInterval` (2000) consecutive good steps S ← S·2 (`growthFactor`) and the count restarts.
///
/// S stays a power of two with the default factors, so scaling and unscaling are exact in float32.
///
/// ```swift
/// var scaler = DynamicLossScaler()
/// var (loss, dOutput) = lossFunction.evaluate(prediction: output, target: target, mask: mask)
/// scaler.scaleGradient(&dOutput)                   // seed the fp16 backward pass with S·dLoss
/// // backward pass fills parameter.gradient
/// let stepped = scaler.step(optimizer, maxGradientNorm: 1)   // unscale, clip, step or skip, adapt S
/// ```
public struct DynamicLossScaler: Sendable, Equatable {
    /// S, the current scale.
    public private(set) var scale: Float
    /// Consecutive steps without overflow since the last change of S (torch's `_growth_tracker`).
    public private(set) var goodSteps: Int
    public let growthFactor: Float
    public let backoffFactor: Float
    public let growthInterval: Int

    public init(initialScale: Float = 65536, growthFactor: Float = 2, backoffFactor: Float = 0.5, growthInterval: Int = 2000) {
        precondition(initialScale > 0 && initialScale.isFinite, "initialScale must be finite and > 0")
        precondition(growthFactor > 1 && backoffFactor > 0 && backoffFactor < 1 && growthInterval > 0,
                     "DynamicLossScaler needs growthFactor > 1, backoffFactor in (0, 1), growthInterval > 0")
        scale = initialScale
        goodSteps = 0
        self.growthFactor = growthFactor
        self.backoffFactor = backoffFactor
        self.growthInterval = growthInterval
    }

    /// Multiplies a loss gradient (the seed of the backward pass) by S.
    public func scaleGradient(_ gradient: inout Tensor) {
        let s = scale
        gradient.withMutableFloats { g in for i in 0..<g.count { g[i] *= s } }
    }

    /// Divides every parameter gradient by S and reports whether any result is inf or NaN (an overflow).
    ///
    /// All gradients are unscaled even after an overflow is found, as torch does; after an overflow they are
    /// meaningless and the step must be skipped.
    public func unscale(_ parameters: [Parameter]) -> Bool {
        // 1/S in Double then rounded: exact for powers of two, and the closest float otherwise.
        let inverse = Float(1 / Double(scale))
        var overflow = false
        for parameter in parameters {
            parameter.gradient.withMutableFloats { g in
                // inf and NaN are the floats whose exponent bits are all ones; adding one exponent step to the
                // exponent field carries into bit 31 exactly for those. An OR of integers vectorizes, a Bool chain
                // does not.
                var carry: UInt32 = 0
                for i in 0..<g.count {
                    g[i] *= inverse
                    carry |= (g[i].bitPattern & 0x7F80_0000) &+ 0x0080_0000
                }
                if carry & 0x8000_0000 != 0 { overflow = true }
            }
        }
        return overflow
    }

    /// Adapts S after a step: halve on overflow (and restart the count), double after `growthInterval` good steps.
    public mutating func update(foundOverflow: Bool) {
        if foundOverflow {
            scale *= backoffFactor
            goodSteps = 0
            return
        }
        goodSteps += 1
        if goodSteps == growthInterval {
            scale *= growthFactor
            goodSteps = 0
        }
    }

    /// Unscales the gradients, optionally clips them, steps the optimizer unless they overflowed, and adapts S.
    ///
    /// - Returns: true if the optimizer stepped, false if the step was skipped for an overflow.
    @discardableResult
    public mutating func step(_ optimizer: any Optimizer, maxGradientNorm: Double? = nil) -> Bool {
        let overflow = unscale(optimizer.parameters)
        if !overflow {
            if let maxGradientNorm { GradientClipping.clipGlobalNorm(of: optimizer.parameters, maxNorm: maxGradientNorm) }
            optimizer.step()
        }
        update(foundOverflow: overflow)
        return !overflow
    }

    /// The resumable state: `scaler.scale` and `scaler.growth_tracker`.
    public func state() -> [String: Double] {
        ["scaler.scale": Double(scale), "scaler.growth_tracker": Double(goodSteps)]
    }

    /// Puts back a state saved by ``state()``.
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` naming a missing or out-of-range key; the scaler is
    ///   unchanged when it throws.
    public mutating func restore(_ state: [String: Double]) throws {
        guard let savedScale = state["scaler.scale"] else {
            throw StrataError.invalidArgument(name: "scaler.scale", reason: "missing from the scaler state")
        }
        guard savedScale > 0, savedScale.isFinite, Double(Float(savedScale)) == savedScale else {
            throw StrataError.invalidArgument(name: "scaler.scale", reason: "\(savedScale) is not a finite float32 > 0")
        }
        guard let tracker = state["scaler.growth_tracker"] else {
            throw StrataError.invalidArgument(name: "scaler.growth_tracker", reason: "missing from the scaler state")
        }
        guard tracker >= 0, tracker == tracker.rounded(), tracker < Double(growthInterval) else {
            throw StrataError.invalidArgument(
                name: "scaler.growth_tracker", reason: "\(tracker) is not a count in 0..<\(growthInterval)")
        }
        scale = Float(savedScale)
        goodSteps = Int(tracker)
    }
}
