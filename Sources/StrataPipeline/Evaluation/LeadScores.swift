/// Scores of one lead time: forecast and persistence errors, CSI per threshold.
public struct LeadScores: Equatable, Sendable {
    /// Forecast vs observed (``RegressionAccumulator/mse``).
    public private(set) var forecast = RegressionAccumulator()
    /// Persistence vs observed, when a last input frame exists.
    public private(set) var persistence: RegressionAccumulator?
    /// One per threshold, in the order given.
    public private(set) var csi: [CriticalSuccessIndex]

    public init(thresholds: [Float], hasPersistence: Bool) {
        csi = thresholds.map { CriticalSuccessIndex(threshold: $0) }
        persistence = hasPersistence ? RegressionAccumulator() : nil
    }

    /// Adds one pixel valid on every side.
    @inline(__always)
    public mutating func add(forecast value: Float, observed: Float, persistence last: Float?) {
        forecast.add(predicted: Double(value), truth: Double(observed))
        if let last { persistence?.add(predicted: Double(last), truth: Double(observed)) }
        for index in csi.indices { csi[index].add(forecast: value, observed: observed) }
    }

    /// Adds another lead's (or window's) counts.
    public mutating func merge(_ other: LeadScores) {
        forecast.merge(other.forecast)
        if let other = other.persistence { persistence?.merge(other) }
        for index in csi.indices { csi[index].merge(other.csi[index]) }
    }
}
