import Foundation

/// A fast, seeded, reproducible random number generator (SplitMix64), so that runs with the same seed give the
/// same numbers on every machine. Not for cryptography.
///
/// ```swift
/// var rng = SeededGenerator(seed: 42)
/// let u = rng.uniform()          // Double in [0, 1)
/// let z = rng.normal()           // standard normal
/// let k = Int.random(in: 0..<10, using: &rng)
/// ```
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// Standard normal by Box–Muller (one value per call; the second is discarded for simplicity of state).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 0x1p-53), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// An independent generator derived from this one's seed and a stream number (e.g. one per tile or per date).
    public static func stream(seed: UInt64, _ stream: UInt64) -> SeededGenerator {
        var g = SeededGenerator(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        _ = g.next()
        return g
    }
}
