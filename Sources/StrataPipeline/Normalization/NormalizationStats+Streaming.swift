import StrataCore
import StrataIO

extension NormalizationStats {
    /// Per-channel mean and standard deviation over the valid pixels of a stack, in one streaming pass.
    ///
    /// The planes are read window by window (``statisticsWindows(width:height:blockSize:windowSize:regions:)``:
    /// block-aligned, so memory is bounded by one window `[T, C, h, w]` and each file block is decoded once).
    /// Every valid (step, pixel) contributes one value per channel; invalid ones (mask 0: nodata, NaN, outside the
    /// grid) contribute nothing, whatever they hold. Each window is accumulated with Welford's update in Double and
    /// the windows are combined with Chan's parallel formula (``RunningMoments``). The standard deviation is the
    /// population one (divided by the count); a channel with no valid pixel gets mean 0 and std 1.
    ///
    /// - Parameters:
    ///   - stack: the input planes (for volumes read as slabs, compute on `slab: 1` and use
    ///     ``repeatingChannels(_:)``, so each channel is counted once).
    ///   - windowSize: target window side in pixels, rounded up to a multiple of the block size.
    ///   - regions: where to compute (e.g. only the training blocks of a ``SpatialSplit``, so validation pixels never
    ///     leak into the statistics); the whole plane when `nil`.
    ///   - maxWindows: read at most this many windows, chosen at random without replacement from `seed` (for huge
    ///     rasters); all windows when `nil`.
    ///   - seed: chooses the windows when `maxWindows` is set.
    ///
    /// ```swift
    /// let stats = try NormalizationStats.compute(RasterPlanes(stack), windowSize: 512, maxWindows: 200, seed: 7)
    /// stats.mean   // one per band, physical units
    /// ```
    public static func compute(_ stack: any PlaneStack, windowSize: Int = 512, regions: [Window]? = nil,
                               maxWindows: Int? = nil, seed: UInt64 = 0) throws -> NormalizationStats {
        guard windowSize > 0 else {
            throw StrataError.invalidArgument(name: "windowSize", reason: "must be positive, got \(windowSize)")
        }
        if let maxWindows, maxWindows < 1 {
            throw StrataError.invalidArgument(name: "maxWindows", reason: "must be at least 1, got \(maxWindows)")
        }
        let windows = statisticsWindows(width: stack.width, height: stack.height, blockSize: stack.blockSize,
                                        windowSize: windowSize, regions: regions)
        var jobs: [(plane: Int, window: Window)] = []
        for plane in 0..<stack.planes { for window in windows { jobs.append((plane, window)) } }
        if let maxWindows, maxWindows < jobs.count {
            // Partial Fisher–Yates: a uniform subset; then back to file order so reads stay sequential.
            var rng = SeededGenerator(seed: seed)
            var order = Array(jobs.indices)
            for i in 0..<maxWindows { order.swapAt(i, Int.random(in: i..<order.count, using: &rng)) }
            jobs = order.prefix(maxWindows).sorted().map { jobs[$0] }
        }
        var total = [RunningMoments](repeating: RunningMoments(), count: stack.channels)
        for job in jobs {
            let tile = try stack.read(window: job.window, plane: job.plane)
            let partial = moments(values: tile.values, mask: tile.mask)
            for channel in 0..<stack.channels { total[channel].merge(partial[channel]) }
        }
        return NormalizationStats(mean: total.map(\.mean), std: total.map { $0.variance.squareRoot() },
                                  count: total.map(\.count))
    }

    /// Moments of each channel over the valid pixels of one window.
    ///
    /// - Parameters:
    ///   - values: float32 `[T, C, h, w]`.
    ///   - mask: uint8 `[T, h, w]`.
    /// - Returns: C moments.
    static func moments(values: Tensor, mask: Tensor) -> [RunningMoments] {
        let (t, c) = (values.shape[0], values.shape[1])
        let area = values.shape[2] * values.shape[3]
        var result = [RunningMoments](repeating: RunningMoments(), count: c)
        values.withFloats { v in
            mask.withRawBytes { m in
                for channel in 0..<c {
                    var moments = RunningMoments()
                    for step in 0..<t {
                        let base = (step * c + channel) * area
                        for k in 0..<area where m[step * area + k] != 0 { moments.add(Double(v[base + k])) }
                    }
                    result[channel] = moments
                }
            }
        }
        return result
    }

    /// The windows a statistics pass reads: a grid of tiles of `windowSize` rounded up to a multiple of the block
    /// size (per axis), anchored at (0, 0) so tiles follow the file's blocks, each intersected with the grid and with
    /// every region (regions must not overlap, so no pixel is read twice). Windows never reach outside the plane.
    ///
    /// ```swift
    /// statisticsWindows(width: 300, height: 200, blockSize: (64, 64), windowSize: 100)
    /// // tiles of 128 × 128: x 0, 128, 256 (last 44 wide), y 0, 128 (last 72 high)
    /// ```
    public static func statisticsWindows(width: Int, height: Int, blockSize: (width: Int, height: Int),
                                         windowSize: Int, regions: [Window]? = nil) -> [Window] {
        let block = (max(blockSize.width, 1), max(blockSize.height, 1))
        let tileWidth = (windowSize + block.0 - 1) / block.0 * block.0
        let tileHeight = (windowSize + block.1 - 1) / block.1 * block.1
        let regions = regions ?? [Window(x: 0, y: 0, width: width, height: height)]
        var result: [Window] = []
        for y in stride(from: 0, to: height, by: tileHeight) {
            for x in stride(from: 0, to: width, by: tileWidth) {
                let tile = Window(x: x, y: y, width: min(tileWidth, width - x), height: min(tileHeight, height - y))
                for region in regions {
                    if let part = intersection(tile, region) { result.append(part) }
                }
            }
        }
        return result
    }

    static func intersection(_ a: Window, _ b: Window) -> Window? {
        let x0 = max(a.x, b.x), y0 = max(a.y, b.y)
        let x1 = min(a.x + a.width, b.x + b.width), y1 = min(a.y + a.height, b.y + b.height)
        guard x1 > x0, y1 > y0 else { return nil }
        return Window(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// The same statistics with each channel repeated `times` times in place (`[a, b]` → `[a, a, a, b, b, b]`), to
    /// normalise volume slabs whose channel `c·s + j` is channel `c` of slice `j` (``VolumePlanes``).
    ///
    /// ```swift
    /// let slabStats = try NormalizationStats.compute(VolumePlanes(stack)).repeatingChannels(3)
    /// ```
    public func repeatingChannels(_ times: Int) -> NormalizationStats {
        precondition(times >= 1, "repeat at least once")
        func repeated<E>(_ a: [E]) -> [E] { a.flatMap { Array(repeating: $0, count: times) } }
        return NormalizationStats(mean: repeated(mean), std: repeated(std), count: repeated(count))
    }
}
