/// Per-channel statistics that normalise model inputs: `(x - mean[c]) / std[c]`, over valid pixels only.
///
/// Computed in one streaming pass over the training stack and stored in the checkpoint (`normalization` in its
/// `__metadata__`, docs/formats.md), so prediction normalises exactly as training did.
///
/// ```swift
/// let stats = NormalizationStats(mean: [0.05, 0.08], std: [0.02, 0.03], count: [10_000, 10_000])
/// stats.normalize(0.07, channel: 0)   // 1.0
/// ```
public struct NormalizationStats: Codable, Equatable, Sendable {
    /// Mean of each input channel, in the stack's physical units.
    public var mean: [Double]
    /// Standard deviation of each input channel (never 0: constant channels get 1).
    public var std: [Double]
    /// Valid samples each statistic was computed from.
    public var count: [Int]

    public init(mean: [Double], std: [Double], count: [Int]) {
        precondition(mean.count == std.count && std.count == count.count, "one mean, std and count per channel")
        self.mean = mean
        self.std = std.map { $0 > 0 && $0.isFinite ? $0 : 1 }
        self.count = count
    }

    /// Channels described.
    public var channels: Int { mean.count }

    /// The normalised value of `x` in `channel`.
    @inline(__always)
    public func normalize(_ x: Float, channel: Int) -> Float {
        Float((Double(x) - mean[channel]) / std[channel])
    }
}
