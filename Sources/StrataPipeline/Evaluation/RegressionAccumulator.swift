/// Streaming RMSE, MAE and R² of predictions against truth, in the units of the values (t/ha for yield).
///
/// Sums are kept in double precision; the spread of the truth around its mean (needed for R²) is accumulated
/// with Welford's update and merged with Chan's formula, so adding window after window gives the same result as
/// one pass over all pixels (up to rounding) without the cancellation of Σt² − (Σt)²/n.
///
/// R² = 1 − SS_res / SS_tot with SS_res = Σ(p − t)² and SS_tot = Σ(t − mean t)². When the truth is constant
/// (SS_tot = 0) R² is undefined and ``r2`` is `nil` (JSON `null`), whether or not the prediction is perfect.
///
/// ```swift
/// var scores = RegressionAccumulator()
/// scores.add(predicted: 2.5, truth: 3)
/// scores.add(predicted: 0, truth: -0.5)
/// scores.rmse   // 0.5
/// ```
public struct RegressionAccumulator: Equatable, Sendable {
    /// Number of value pairs.
    public private(set) var count = 0
    /// Σ (p − t)².
    public private(set) var sumSquaredError = 0.0
    /// Σ |p − t|.
    public private(set) var sumAbsoluteError = 0.0
    /// Running mean of the truth.
    public private(set) var truthMean = 0.0
    /// Σ (t − mean t)², Welford's M2.
    public private(set) var truthSpread = 0.0

    public init() {}

    /// Adds one pair.
    @inline(__always)
    public mutating func add(predicted: Double, truth: Double) {
        let error = predicted - truth
        count += 1
        sumSquaredError += error * error
        sumAbsoluteError += abs(error)
        let delta = truth - truthMean
        truthMean += delta / Double(count)
        truthSpread += delta * (truth - truthMean)
    }

    /// Adds the pairs another accumulator has seen (another window).
    public mutating func merge(_ other: RegressionAccumulator) {
        guard other.count > 0 else { return }
        guard count > 0 else {
            self = other
            return
        }
        let n = Double(count), m = Double(other.count)
        let delta = other.truthMean - truthMean
        truthSpread += other.truthSpread + delta * delta * n * m / (n + m)
        truthMean += delta * m / (n + m)
        count += other.count
        sumSquaredError += other.sumSquaredError
        sumAbsoluteError += other.sumAbsoluteError
    }

    /// Mean squared error, or `nil` without pairs.
    public var mse: Double? { count == 0 ? nil : sumSquaredError / Double(count) }

    /// Root mean squared error, or `nil` without pairs.
    public var rmse: Double? { mse.map { $0.squareRoot() } }

    /// Mean absolute error, or `nil` without pairs.
    public var mae: Double? { count == 0 ? nil : sumAbsoluteError / Double(count) }

    /// Coefficient of determination; `nil` without pairs or when the truth is constant (SS_tot = 0).
    public var r2: Double? {
        guard count > 0, truthSpread > 0 else { return nil }
        return 1 - sumSquaredError / truthSpread
    }
}
