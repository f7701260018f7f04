/// Event counts at one threshold, and the critical success index (threat score) they give.
///
/// An event is a value **at or above** the threshold (rain rate ≥ 2 mm/h). Per pixel:
/// hit = forecast and observed event; miss = observed, not forecast; false alarm = forecast, not observed.
/// CSI = hits / (hits + misses + false alarms); correct negatives do not enter it.
///
/// ```swift
/// var csi = CriticalSuccessIndex(threshold: 2)
/// csi.add(forecast: 3.1, observed: 2.5)   // hit
/// csi.add(forecast: 0.0, observed: 4.0)   // miss
/// csi.score                               // 0.5
/// ```
public struct CriticalSuccessIndex: Equatable, Sendable {
    /// Event threshold in the units of the values (mm/h for rain rate).
    public let threshold: Float
    public private(set) var hits = 0
    public private(set) var misses = 0
    public private(set) var falseAlarms = 0

    public init(threshold: Float) {
        self.threshold = threshold
    }

    /// Counts one valid pixel.
    @inline(__always)
    public mutating func add(forecast: Float, observed: Float) {
        let forecastEvent = forecast >= threshold, observedEvent = observed >= threshold
        if forecastEvent && observedEvent {
            hits += 1
        } else if observedEvent {
            misses += 1
        } else if forecastEvent {
            falseAlarms += 1
        }
    }

    /// Adds the counts of another window at the same threshold.
    public mutating func merge(_ other: CriticalSuccessIndex) {
        precondition(other.threshold == threshold, "merging CSI counts of different thresholds")
        hits += other.hits
        misses += other.misses
        falseAlarms += other.falseAlarms
    }

    /// hits / (hits + misses + false alarms), or `nil` when no event was forecast or observed.
    public var score: Double? { BinaryConfusion.ratio(hits, hits + misses + falseAlarms) }
}
