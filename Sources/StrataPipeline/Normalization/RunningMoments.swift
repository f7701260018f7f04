/// Count, mean and sum of squared deviations of a stream of numbers, in Double, numerically stable.
///
/// Values are added one at a time with Welford's update, and partial results (one per window) are combined with
/// Chan et al.'s parallel formula, so neither step subtracts two large, nearly equal sums (the naive
/// `Σx² / n − mean²` loses every digit when the mean is large compared with the spread, e.g. reflectances stored
/// as 10 000 ± 5).
///
/// ```swift
/// var a = RunningMoments(), b = RunningMoments()
/// for x in [1.0, 2.0] { a.add(x) }
/// for x in [3.0, 4.0] { b.add(x) }
/// a.merge(b)
/// a.mean              // 2.5
/// a.variance          // 1.25 (population: divided by n)
/// ```
public struct RunningMoments: Sendable, Equatable {
    /// Values seen.
    public private(set) var count: Int = 0
    /// Their mean.
    public private(set) var mean: Double = 0
    /// Sum of squared deviations from the mean.
    public private(set) var m2: Double = 0

    public init() {}

    /// Adds one value (Welford).
    @inline(__always)
    public mutating func add(_ x: Double) {
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
    }

    /// Combines another partial result into this one (Chan, Golub and LeVeque's pairwise update).
    public mutating func merge(_ other: RunningMoments) {
        guard other.count > 0 else { return }
        guard count > 0 else {
            self = other
            return
        }
        let n = Double(count + other.count)
        let delta = other.mean - mean
        mean += delta * Double(other.count) / n
        m2 += other.m2 + delta * delta * Double(count) * Double(other.count) / n
        count += other.count
    }

    /// Population variance (divided by the count); 0 when empty.
    public var variance: Double { count > 0 ? m2 / Double(count) : 0 }
}
