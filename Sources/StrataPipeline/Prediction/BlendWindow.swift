import Foundation

/// How overlapping tile predictions are weighted before they are averaged.
///
/// A tile's weight is a product of one profile per axis, `w(x, y) = p(x) · p(y)`, and each profile is the product
/// of a ramp from each side of the window. Along a side that lies inside the image the ramp is
///
/// - **0 over the first `margin = min(overlap, receptiveRadius)` pixels**: there the model saw the tile's cut
///   instead of the image, so those predictions are never used;
/// - **a smooth rise over the next `2 · (overlap − margin)` pixels** (the part of the shared band the neighbour
///   also predicts with full context), raised cosine for ``hann`` or a half Gaussian for ``gaussian``;
/// - **1 beyond**.
///
/// A side on the image edge has weight 1 all along: no other tile covers its pixels, and a weight near 0 would
/// divide them by ~0. Overlapping predictions are combined as `Σ wᵢ·predᵢ / Σ wᵢ`; the plan guarantees
/// `Σ wᵢ > 0` at every pixel (a neighbour's ramp is 1 wherever this tile's margin is 0). With
/// `overlap ≥ receptiveRadius` every prediction that gets weight saw its full receptive field, so the blend equals
/// the whole-image prediction; the smooth rise only matters for models whose output drifts slowly with distance
/// to the tile edge.
///
/// ```swift
/// let ramp = BlendWindow.hann.ramp(margin: 4, transition: 8)   // [0, 0, 0, 0, 0.038, 0.31, …, 0.96]
/// ```
public enum BlendWindow: String, Sendable, Codable, CaseIterable {
    /// Raised cosine `sin²(π/2 · (t + ½) / L)` across the transition of L pixels (reaches 0 at its start).
    case hann
    /// Half Gaussian `exp(−(L − t − ½)² / (2σ²))`, σ = L / 3, across the transition (≈ 0.01 at its start).
    case gaussian

    /// Weights for the pixels at distance `0, 1, …` from an inner side: `margin` zeros, then `transition` rising
    /// values in (0, 1); pixels farther in have weight 1.
    public func ramp(margin: Int, transition: Int) -> [Float] {
        let zeros = [Float](repeating: 0, count: margin)
        guard transition > 0 else { return zeros }
        let length = Double(transition)
        let rise = (0..<transition).map { t -> Float in
            let u = Double(t) + 0.5
            switch self {
            case .hann:
                let s = sin(Double.pi / 2 * u / length)
                return Float(s * s)
            case .gaussian:
                let sigma = length / 3, d = length - u
                return Float(exp(-d * d / (2 * sigma * sigma)))
            }
        }
        return zeros + rise
    }

    /// Profile along one axis of a window of `tile` pixels: the product of the ramps from the sides that lie
    /// inside the image (`startIsEdge`/`endIsEdge` false).
    func profile(tile: Int, ramp: [Float], startIsEdge: Bool, endIsEdge: Bool) -> [Float] {
        (0..<tile).map { i in
            let fromStart = startIsEdge || i >= ramp.count ? 1 : ramp[i]
            let fromEnd = endIsEdge || tile - 1 - i >= ramp.count ? 1 : ramp[tile - 1 - i]
            return fromStart * fromEnd
        }
    }
}
