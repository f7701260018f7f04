import StrataCore

/// A uniform random sample of the positive target pixels of some sources, found in one streaming pass with bounded
/// memory, for class-balanced sampling of rare change or lesion pixels.
///
/// A pixel is positive when its target is valid and some target channel (of some step, for per-step targets) is
/// above `threshold`. The targets are read window by window inside each source's regions (so a training sampler
/// only ever sees training positives); positives are kept by reservoir sampling (Vitter's algorithm R): the first
/// `capacity` are kept, then the n-th replaces a random kept one with probability `capacity / n`. Every positive
/// thus has the same chance to be kept, whatever the raster size, and memory is `capacity` positions.
///
/// ```swift
/// let positives = try PositiveReservoir(sources: [source], threshold: 0.5, capacity: 100_000, seed: 1)
/// positives.seen        // all positives met
/// positives.positions   // at most 100 000 of them (pixel positions, x/y of the pixel itself)
/// ```
public struct PositiveReservoir: Sendable {
    /// The kept positive pixels (`x`, `y` of the pixel, with source and plane).
    public private(set) var positions: [SamplePosition] = []
    /// Positive pixels met in the pass.
    public private(set) var seen: Int = 0
    /// Target valid pixels met in the pass.
    public private(set) var validTargets: Int = 0

    public init(sources: [SampleSource], threshold: Float = 0.5, capacity: Int = 100_000, seed: UInt64 = 0,
                windowSize: Int = 512) throws {
        guard capacity >= 1 else {
            throw StrataError.invalidArgument(name: "capacity", reason: "must be at least 1, got \(capacity)")
        }
        var rng = SeededGenerator(seed: seed)
        for (index, source) in sources.enumerated() {
            guard let target = source.target else {
                throw StrataError.invalidArgument(name: "target", reason: "class balancing needs a target raster")
            }
            let windows = NormalizationStats.statisticsWindows(
                width: target.width, height: target.height, blockSize: target.blockSize, windowSize: windowSize,
                regions: source.regions)
            for plane in 0..<target.planes {
                for window in windows {
                    let tile = try target.read(window: window, plane: plane)
                    let flags = Self.positiveFlags(values: tile.values, mask: tile.mask, threshold: threshold)
                    for (k, flag) in flags.enumerated() where flag == 1 {
                        seen += 1
                        let position = SamplePosition(source: index, plane: plane, x: window.x + k % window.width,
                                                      y: window.y + k / window.width)
                        if positions.count < capacity {
                            positions.append(position)
                        } else {
                            let j = Int.random(in: 0..<seen, using: &rng)
                            if j < capacity { positions[j] = position }
                        }
                    }
                    validTargets += flags.lazy.filter { $0 != 0 }.count
                }
            }
        }
    }

    /// Per pixel of a target window (values `[Tt, K, h, w]`, mask `[Tt, h, w]`): 0 no valid target step,
    /// 1 positive, 2 valid but not positive.
    static func positiveFlags(values: Tensor, mask: Tensor, threshold: Float) -> [UInt8] {
        let (t, k, area) = (values.shape[0], values.shape[1], values.shape[2] * values.shape[3])
        var flags = [UInt8](repeating: 0, count: area)
        values.withFloats { v in
            mask.withRawBytes { m in
                for step in 0..<t {
                    for pixel in 0..<area where m[step * area + pixel] != 0 {
                        if flags[pixel] == 0 { flags[pixel] = 2 }
                        for channel in 0..<k where v[(step * k + channel) * area + pixel] > threshold {
                            flags[pixel] = 1
                        }
                    }
                }
            }
        }
        return flags
    }

    /// True when any valid target pixel of a sample (`target` `[K, h, w]` or `[T, K, h, w]`, mask `[h, w]` or
    /// `[T, h, w]`) is positive.
    static func containsPositive(_ sample: Sample, threshold: Float) -> Bool {
        guard let target = sample.target, let mask = sample.targetMask else { return false }
        let shape = target.shape
        let values = shape.count == 3 ? target.reshaped([1] + shape) : target
        let flags = positiveFlags(values: values, mask: mask.reshaped([values.shape[0], shape[shape.count - 2],
                                                                       shape[shape.count - 1]]),
                                  threshold: threshold)
        return flags.contains(1)
    }
}
