import StrataCore

/// Batches of per-pixel time series for the kernel-1 model, read window by window.
///
/// A batch of N pixels is `values` `[N, T, C, 1, 1]`, `mask` `[N, T, 1, 1]`, and with a target `[N, K, 1, 1]` or
/// `[N, T, K, 1, 1]` with `targetMask` `[N, 1, 1]` or `[N, T, 1, 1]`: the ConvLSTM with 1 × 1 kernels sees N
/// independent sequences as a batch of B = N images of H = W = 1, so the per-pixel model is the same code as the
/// patch model.
///
/// Which pixels: every pixel inside the sources' regions (one side of a ``SpatialSplit``, or the whole plane) that
/// is **valid in at least one step**; a pixel never observed carries no information. Its invalid steps hold 0 with
/// mask 0, like patches. Each such pixel appears exactly once per epoch. Targets are passed with their mask; pixels
/// whose target is invalid are kept (the loss masks them).
///
/// Order: the windows (block-aligned tiles of `windowSize`, cut by the regions, over every source and plane) are
/// shuffled with `SeededGenerator.stream(seed:epoch)`, and the valid pixels of each window are shuffled with the same
/// generator; batches are consecutive runs of that order, the last one possibly smaller. Memory is one window plus
/// less than one batch. Same (seed, epoch) → same batches.
///
/// ```swift
/// let pixels = try PixelSampler(sources: [source], batchSize: 1024, seed: 7)
/// let epoch = pixels.batches(epoch: 0)
/// while let batch = try epoch.next() { batch.values.shape }   // [1024, T, C, 1, 1]
/// ```
public final class PixelSampler {
    public let sources: [SampleSource]
    /// Pixels per batch, N.
    public let batchSize: Int
    public let seed: UInt64
    /// Side of the windows read, rounded up to the block size.
    public let windowSize: Int

    public init(sources: [SampleSource], batchSize: Int, seed: UInt64, windowSize: Int = 256) throws {
        guard !sources.isEmpty, batchSize >= 1, windowSize >= 1 else {
            throw StrataError.invalidArgument(
                name: "pixel sampler", reason: "needs sources, batch size ≥ 1 and window size ≥ 1")
        }
        let first = sources[0]
        guard sources.allSatisfy({ $0.input.steps == first.input.steps && $0.input.channels == first.input.channels
                                   && $0.target?.steps == first.target?.steps
                                   && $0.target?.channels == first.target?.channels }) else {
            throw StrataError.invalidArgument(
                name: "sources", reason: "all sources need the same steps, channels and target layout")
        }
        self.sources = sources
        self.batchSize = batchSize
        self.seed = seed
        self.windowSize = windowSize
    }

    /// The windows of one epoch, in reading order.
    public func windows(epoch: Int) -> [(source: Int, plane: Int, window: Window)] {
        var all: [(source: Int, plane: Int, window: Window)] = []
        for (index, source) in sources.enumerated() {
            let windows = NormalizationStats.statisticsWindows(
                width: source.input.width, height: source.input.height, blockSize: source.input.blockSize,
                windowSize: windowSize, regions: source.regions)
            for plane in 0..<source.input.planes { all += windows.map { (index, plane, $0) } }
        }
        var rng = SeededGenerator.stream(seed: seed, UInt64(truncatingIfNeeded: epoch))
        all.shuffle(using: &rng)
        return all
    }

    /// An iterator over the batches of `epoch`.
    public func batches(epoch: Int) -> PixelBatches {
        PixelBatches(sampler: self, windows: windows(epoch: epoch),
                     rng: SeededGenerator.stream(seed: seed ^ 0x5049_5845_4C53, UInt64(truncatingIfNeeded: epoch)))
    }
}

/// The batches of one epoch of a ``PixelSampler``, read as they are asked for.
public final class PixelBatches {
    private let sampler: PixelSampler
    private let windows: [(source: Int, plane: Int, window: Window)]
    private var rng: SeededGenerator
    private var nextWindow = 0
    // Pixels read but not yet batched, flattened per pixel.
    private var values: [Float] = []
    private var mask: [UInt8] = []
    private var target: [Float] = []
    private var targetMask: [UInt8] = []
    private var positions: [SamplePosition] = []

    init(sampler: PixelSampler, windows: [(source: Int, plane: Int, window: Window)], rng: SeededGenerator) {
        self.sampler = sampler
        self.windows = windows
        self.rng = rng
    }

    /// The next batch (`batchSize` pixels, fewer for the last one), or `nil` at the end of the epoch.
    public func next() throws -> Batch? {
        while positions.count < sampler.batchSize, nextWindow < windows.count {
            try gather(windows[nextWindow])
            nextWindow += 1
        }
        guard !positions.isEmpty else { return nil }
        return take(min(sampler.batchSize, positions.count))
    }

    /// Reads one window and appends its pixels valid in at least one step, in shuffled order.
    private func gather(_ job: (source: Int, plane: Int, window: Window)) throws {
        let source = sampler.sources[job.source]
        let sample = try source.read(window: job.window, plane: job.plane)
        let (t, c) = (sample.values.shape[0], sample.values.shape[1])
        let area = job.window.width * job.window.height
        var pixels: [Int] = []
        sample.mask.withRawBytes { m in
            for k in 0..<area where (0..<t).contains(where: { m[$0 * area + k] != 0 }) { pixels.append(k) }
        }
        pixels.shuffle(using: &rng)
        sample.values.withFloats { v in
            sample.mask.withRawBytes { m in
                for k in pixels {
                    for step in 0..<t {
                        for channel in 0..<c { values.append(v[(step * c + channel) * area + k]) }
                        mask.append(m[step * area + k])
                    }
                }
            }
        }
        if let labels = sample.target, let labelMask = sample.targetMask {
            // [K, h, w] or [Tt, K, h, w]: Tt·K values and Tt mask entries per pixel.
            let k = labels.shape[labels.shape.count - 3], steps = labels.count / (k * area)
            labels.withFloats { v in
                labelMask.withRawBytes { m in
                    for pixel in pixels {
                        for step in 0..<steps {
                            for channel in 0..<k { target.append(v[(step * k + channel) * area + pixel]) }
                            targetMask.append(m[step * area + pixel])
                        }
                    }
                }
            }
        }
        positions += pixels.map {
            SamplePosition(source: job.source, plane: job.plane, x: job.window.x + $0 % job.window.width,
                           y: job.window.y + $0 / job.window.width)
        }
    }

    /// Removes the first `n` pending pixels as a batch.
    private func take(_ n: Int) -> Batch {
        let source = sampler.sources[0]
        let (t, c) = (source.input.steps, source.input.channels)
        let batchValues = Tensor(shape: [n, t, c, 1, 1], values: Array(values.prefix(n * t * c)))
        var batchMask = Tensor(zeros: [n, t, 1, 1], dtype: .uint8)
        batchMask.withMutableRawBytes { $0.copyBytes(from: mask.prefix(n * t)) }
        values.removeFirst(n * t * c)
        mask.removeFirst(n * t)
        var batch = Batch(values: batchValues, mask: batchMask, target: nil, targetMask: nil,
                          positions: Array(positions.prefix(n)))
        positions.removeFirst(n)
        if let labels = source.target {
            let steps = labels.steps, k = labels.channels
            let shape = steps > 1 ? [n, steps, k, 1, 1] : [n, k, 1, 1]
            batch.target = Tensor(shape: shape, values: Array(target.prefix(n * steps * k)))
            var labelMask = Tensor(zeros: steps > 1 ? [n, steps, 1, 1] : [n, 1, 1], dtype: .uint8)
            labelMask.withMutableRawBytes { $0.copyBytes(from: targetMask.prefix(n * steps)) }
            batch.targetMask = labelMask
            target.removeFirst(n * steps * k)
            targetMask.removeFirst(n * steps)
        }
        return batch
    }
}
