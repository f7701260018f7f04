import StrataCore

/// How a ``PatchSampler`` chooses patch positions in an epoch.
public enum PatchSampling: Sendable, Equatable {
    /// `count` patches at positions drawn uniformly (with replacement) among all positions wholly inside a region:
    /// each (source, plane, region) is weighted by how many positions it offers.
    case random(count: Int)
    /// Every grid patch once (``SampleSource/gridPositions(source:)``: edges reached, the last row and column
    /// shifted to end at the region's edge), in an order shuffled per epoch.
    case grid
    /// `count` patches of which `round(positiveFraction · count)` are placed to contain a positive target pixel (a
    /// uniformly chosen pixel of the ``PositiveReservoir``, at a uniformly chosen offset inside the patch and the
    /// patch inside that pixel's region); the others are random patches that contain no positive (up to 64 draws,
    /// after which the last draw is kept). The order of positive and negative patches is shuffled.
    case balanced(count: Int, positiveFraction: Double)
}

/// Chooses patch positions per epoch and reads them as ``Batch``es.
///
/// Determinism: the positions of epoch `e` come from `SeededGenerator.stream(seed:e)` alone, so the same
/// (seed, epoch) always gives the same batches, in the same order, on every machine; a resumed run asks for the
/// epoch it stopped in with `startingAt:` the next batch index and replays it identically.
///
/// ```swift
/// let sampler = try PatchSampler(sources: [source], sampling: .random(count: 4096), seed: 42)
/// let loader = try sampler.batches(epoch: 3, batchSize: 16, prefetch: true)
/// while let batch = try loader.next() {
///     batch.values.shape   // [16, T, C, 32, 32]; the last batch may be smaller
/// }
/// ```
///
/// Thread safety: `@unchecked Sendable` because a loader with `prefetch` reads on one background thread; reads of
/// one loader never overlap (it waits for the read in flight before starting another), and the stacks serialise
/// their own reads (``RasterStack`` has a lock). Do not read the same volume stacks from another thread meanwhile:
/// HDF5 is not thread-safe.
public final class PatchSampler: @unchecked Sendable {
    public let sources: [SampleSource]
    public let sampling: PatchSampling
    public let seed: UInt64
    /// A target value above this is positive (class balancing).
    public let positiveThreshold: Float
    /// Positive pixels found on creation, for ``PatchSampling/balanced(count:positiveFraction:)`` only.
    public let positives: PositiveReservoir?

    /// Draws of a negative patch before the last draw is kept anyway.
    static let negativeAttempts = 64

    /// - Parameters:
    ///   - sources: one or more sources with the same patch size, steps, channels and target layout (e.g. the
    ///     training volumes of a ``PatientSplit``).
    ///   - reservoirCapacity: positives kept for class balancing (memory: 32 bytes each).
    public init(sources: [SampleSource], sampling: PatchSampling, seed: UInt64, positiveThreshold: Float = 0.5,
                reservoirCapacity: Int = 100_000) throws {
        guard let first = sources.first else {
            throw StrataError.invalidArgument(name: "sources", reason: "need at least one sample source")
        }
        for source in sources {
            guard source.patchSize == first.patchSize, source.input.steps == first.input.steps,
                  source.input.channels == first.input.channels, source.target?.steps == first.target?.steps,
                  source.target?.channels == first.target?.channels else {
                throw StrataError.invalidArgument(
                    name: "sources", reason: "all sources need the same patch size, steps, channels and target layout")
            }
        }
        switch sampling {
        case .random(let count) where count < 1, .balanced(let count, _) where count < 1:
            throw StrataError.invalidArgument(name: "count", reason: "must be at least 1, got \(count)")
        case .balanced(_, let fraction) where !(0...1).contains(fraction):
            throw StrataError.invalidArgument(name: "positiveFraction", reason: "\(fraction) is not in 0...1")
        default: break
        }
        self.sources = sources
        self.sampling = sampling
        self.seed = seed
        self.positiveThreshold = positiveThreshold
        if case .balanced(_, let fraction) = sampling {
            let found = try PositiveReservoir(sources: sources, threshold: positiveThreshold,
                                              capacity: reservoirCapacity, seed: seed)
            if found.positions.isEmpty, fraction > 0 {
                throw StrataError.invalidArgument(
                    name: "target", reason: "no positive pixel (target > \(positiveThreshold)) to balance on")
            }
            positives = found
        } else {
            positives = nil
        }
    }

    /// The patch positions of `epoch`, in the order they are batched.
    public func positions(epoch: Int) throws -> [SamplePosition] {
        var rng = SeededGenerator.stream(seed: seed, UInt64(truncatingIfNeeded: epoch))
        switch sampling {
        case .grid:
            var all = sources.indices.flatMap { sources[$0].gridPositions(source: $0) }
            all.shuffle(using: &rng)
            return all
        case .random(let count):
            let table = RandomPositions(sources)
            return (0..<count).map { _ in table.draw(using: &rng) }
        case .balanced(let count, let fraction):
            let table = RandomPositions(sources)
            let positiveCount = Int((fraction * Double(count)).rounded())
            var kinds = (0..<count).map { $0 < positiveCount }
            kinds.shuffle(using: &rng)
            return try kinds.map { positive in
                positive ? positivePatch(using: &rng) : try negativePatch(table, using: &rng)
            }
        }
    }

    /// A patch containing a kept positive pixel, wholly inside that pixel's region.
    func positivePatch(using rng: inout SeededGenerator) -> SamplePosition {
        let pixels = positives!.positions
        let pixel = pixels[Int.random(in: 0..<pixels.count, using: &rng)]
        let source = sources[pixel.source]
        let p = source.patchSize
        // The reservoir only holds pixels of the sources' regions, so a region always contains the pixel.
        let region = source.region(containing: pixel.x, pixel.y)!
        let x = Int.random(in: max(region.x, pixel.x - p + 1)...min(pixel.x, region.x + region.width - p), using: &rng)
        let y = Int.random(in: max(region.y, pixel.y - p + 1)...min(pixel.y, region.y + region.height - p),
                           using: &rng)
        return SamplePosition(source: pixel.source, plane: pixel.plane, x: x, y: y)
    }

    /// A random patch without a positive target pixel (the last of `negativeAttempts` draws if none is found).
    func negativePatch(_ table: RandomPositions, using rng: inout SeededGenerator) throws -> SamplePosition {
        var position = table.draw(using: &rng)
        for _ in 0..<Self.negativeAttempts {
            let source = sources[position.source]
            let p = source.patchSize
            let labels = try source.target!.read(window: Window(x: position.x, y: position.y, width: p, height: p),
                                                 plane: position.plane)
            let flags = PositiveReservoir.positiveFlags(values: labels.values, mask: labels.mask,
                                                        threshold: positiveThreshold)
            if !flags.contains(1) { return position }
            position = table.draw(using: &rng)
        }
        return position
    }

    /// Reads the patches at `positions` into one batch.
    public func batch(_ positions: [SamplePosition]) throws -> Batch {
        let samples = try positions.map { try sources[$0.source].sample(at: $0) }
        return try Batch(stacking: samples, positions: positions)
    }

    /// The batches of `epoch`: consecutive groups of `batchSize` positions of ``positions(epoch:)`` (the last group
    /// may be smaller), from batch index `startingAt` (to resume inside an epoch).
    ///
    /// - Parameter prefetch: read the next batch on a background thread while the caller uses the current one.
    public func batches(epoch: Int, batchSize: Int, startingAt: Int = 0, prefetch: Bool = false) throws
        -> BatchLoader
    {
        guard batchSize >= 1 else {
            throw StrataError.invalidArgument(name: "batchSize", reason: "must be at least 1, got \(batchSize)")
        }
        let all = try positions(epoch: epoch)
        let groups = stride(from: 0, to: all.count, by: batchSize).map {
            Array(all[$0..<min($0 + batchSize, all.count)])
        }
        return BatchLoader(groups: Array(groups.dropFirst(startingAt)), prefetch: prefetch) { [self] in
            try batch($0)
        }
    }
}

/// Uniform draws among every patch position wholly inside a region, over all sources, planes and regions.
struct RandomPositions {
    /// (source, plane, region) and the cumulative count of positions up to and including it.
    private var cells: [(source: Int, plane: Int, region: Window)] = []
    private var cumulative: [Int] = []
    private let patch: Int

    init(_ sources: [SampleSource]) {
        patch = sources[0].patchSize
        var total = 0
        for (index, source) in sources.enumerated() {
            let counts = source.positionsPerRegion
            for plane in 0..<source.input.planes {
                for (region, count) in zip(source.regions, counts) {
                    total += count
                    cells.append((index, plane, region))
                    cumulative.append(total)
                }
            }
        }
    }

    func draw(using rng: inout SeededGenerator) -> SamplePosition {
        let r = Int.random(in: 0..<cumulative.last!, using: &rng)
        // First cell whose cumulative count exceeds r (binary search).
        var low = 0, high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] > r { high = mid } else { low = mid + 1 }
        }
        let offset = r - (low > 0 ? cumulative[low - 1] : 0)
        let cell = cells[low]
        let across = cell.region.width - patch + 1
        return SamplePosition(source: cell.source, plane: cell.plane, x: cell.region.x + offset % across,
                              y: cell.region.y + offset / across)
    }
}
