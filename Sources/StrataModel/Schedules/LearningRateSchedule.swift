import Foundation

/// The learning rate as a pure function of the step number: optional linear warm-up, then constant, cosine or step
/// decay. Being a function of the step (not a stateful object) is what makes a resumed run take the same rates.
///
/// Steps count optimizer updates from 0 (the first update is step 0). With base rate η, W warm-up steps and
/// s' = s − W the steps since warm-up ended:
///
///     warm-up (s < W):   η·(s + 1)/W                       (never 0, reaches η at the last warm-up step)
///     constant:          η
///     cosine:            η_min + (η − η_min)·½·(1 + cos(π·min(s', D)/D)),   D = total − W   (η_min after total)
///     step:              η·γ^⌊s'/N⌋
///
/// ```swift
/// let schedule = LearningRateSchedule(baseRate: 1e-3, warmupSteps: 500,
///                                     decay: .cosine(totalSteps: 20_000, floor: 1e-5))
/// optimizer.learningRate = schedule.learningRate(atStep: step)
/// ```
public struct LearningRateSchedule: Sendable, Equatable {
    /// What happens after warm-up.
    public enum Decay: Sendable, Equatable {
        /// Stay at the base rate.
        case constant
        /// Half a cosine from the base rate down to `floor`, reached at step `totalSteps` (counted from 0,
        /// including warm-up) and held after.
        case cosine(totalSteps: Int, floor: Double)
        /// Multiply by `gamma` every `every` steps after warm-up.
        case step(every: Int, gamma: Double)
    }

    /// η, the rate after warm-up and before decay.
    public var baseRate: Double
    /// W, the number of linear warm-up steps (0 for none).
    public var warmupSteps: Int
    public var decay: Decay

    public init(baseRate: Double, warmupSteps: Int = 0, decay: Decay = .constant) {
        precondition(baseRate >= 0 && warmupSteps >= 0, "LearningRateSchedule: negative base rate or warm-up")
        switch decay {
        case .constant: break
        case .cosine(let total, let floor):
            precondition(total > warmupSteps, "cosine decay needs totalSteps (\(total)) > warmupSteps (\(warmupSteps))")
            precondition(floor >= 0 && floor <= baseRate, "cosine floor must be in [0, baseRate]")
        case .step(let every, let gamma):
            precondition(every > 0 && gamma > 0, "step decay needs every > 0 and gamma > 0")
        }
        self.baseRate = baseRate
        self.warmupSteps = warmupSteps
        self.decay = decay
    }

    /// The learning rate for update number `step` (from 0).
    public func learningRate(atStep step: Int) -> Double {
        precondition(step >= 0, "step must be ≥ 0, got \(step)")
        if step < warmupSteps { return baseRate * Double(step + 1) / Double(warmupSteps) }
        let sinceWarmup = step - warmupSteps
        switch decay {
        case .constant:
            return baseRate
        case .cosine(let total, let floor):
            let length = total - warmupSteps
            let progress = Double(min(sinceWarmup, length)) / Double(length)
            return floor + (baseRate - floor) * 0.5 * (1 + cos(Double.pi * progress))
        case .step(let every, let gamma):
            return baseRate * pow(gamma, Double(sinceWarmup / every))
        }
    }
}
