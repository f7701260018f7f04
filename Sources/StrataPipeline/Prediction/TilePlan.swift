import StrataCore

/// One window of a ``TilePlan``: where it reads and which of its sides lie on the image edge.
public struct PredictionTile: Equatable, Hashable, Sendable {
    /// Position in the plan's deterministic order (row by row, left to right).
    public var index: Int
    /// Tile row and column in the plan's grid of tiles.
    public var row: Int
    public var column: Int
    /// The pixels read and predicted, `tile × tile`. Inside the image, except along an axis where the image is
    /// smaller than a tile: there the window starts at 0 and reaches past the edge (boundless read, mask 0).
    public var window: Window
    /// Whether the left, top, right, bottom side of the window lies on (or beyond) the image edge. Such a side
    /// gets full blending weight: no other tile covers the pixels along it.
    public var edges: Edges

    /// Which sides of a window lie on the image edge.
    public struct Edges: Equatable, Hashable, Sendable {
        public var left: Bool
        public var top: Bool
        public var right: Bool
        public var bottom: Bool
    }
}

/// Windows that cover an image of any size for tiled inference.
///
/// Every window is `tile × tile` pixels. Neighbouring windows share `2 · overlap` pixels (the window is a core
/// grown by `overlap` on each side), so windows start every `stride = tile − 2 · overlap` pixels from 0. The last
/// row and column are shifted back to end exactly at the image edge, so tiles reach every edge without reading
/// outside the image; a shifted tile overlaps its neighbour by more than `2 · overlap`, which blending handles.
/// Along an axis where the image is not larger than a tile there is one window starting at 0, reaching past the
/// edge (an outside read: fill value, mask 0; the other is an aligned last window, below).
///
/// With an `alignment` a > 1 (a model that folds a × a pixel blocks, ``StrataModel/ModelConfig/spaceToDepth``)
/// every start is a multiple of a, so each tile folds the same blocks as a single window over the whole image would:
/// the stride is rounded down to a multiple of a, and the last window starts at the first multiple of a that
/// reaches the edge (reading up to a − 1 pixels past it, masked).
///
/// Order is deterministic (row by row, left to right) and tiles are independent, so a run can be sharded across
/// processes with ``tiles(shard:of:)``.
///
/// ```swift
/// let plan = try TilePlan(width: 1000, height: 600, tile: 256, overlap: 16)
/// plan.columnStarts   // [0, 224, 448, 672, 744]: stride 224, the last shifted back to end at 1000
/// plan.tiles.count    // 5 × 3
/// try TilePlan(width: 1000, height: 600, tile: 256, overlap: 18, alignment: 4).columnStarts
///                     // [0, 220, 440, 660, 744]: stride 220, 744 is a multiple of 4
/// ```
public struct TilePlan: Equatable, Sendable {
    /// Image size in pixels, W × H.
    public let width: Int
    public let height: Int
    /// Window side in pixels.
    public let tile: Int
    /// Pixels each window extends beyond its core on every side.
    public let overlap: Int
    /// Left columns of the tile columns, ascending; the last ends at the image edge (or past it when W ≤ tile).
    public let columnStarts: [Int]
    /// Top rows of the tile rows, ascending.
    public let rowStarts: [Int]
    /// Every start is a multiple of this many pixels.
    public let alignment: Int

    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` for an empty image, `tile < 1`, a negative
    ///   overlap, `2 · overlap ≥ tile` (windows would not advance), or a tile or stride that is not a multiple of
    ///   `alignment`.
    public init(width: Int, height: Int, tile: Int, overlap: Int, alignment: Int = 1) throws {
        guard width >= 1, height >= 1 else {
            throw StrataError.invalidArgument(name: "image", reason: "\(width)x\(height) pixels is empty")
        }
        guard tile >= 1 else {
            throw StrataError.invalidArgument(name: "--tile", reason: "must be at least 1 pixel, got \(tile)")
        }
        guard overlap >= 0, 2 * overlap < tile else {
            throw StrataError.invalidArgument(
                name: "--overlap", reason: "must be in 0..<\((tile + 1) / 2) (less than half of --tile \(tile)), "
                    + "got \(overlap)")
        }
        precondition(alignment >= 1, "alignment \(alignment)")
        guard tile % alignment == 0 else {
            throw StrataError.invalidArgument(
                name: "--tile", reason: "\(tile) px is not a multiple of \(alignment): the model folds \(alignment) × "
                    + "\(alignment) pixel blocks (space_to_depth) and every tile must hold whole blocks")
        }
        guard tile - 2 * overlap >= alignment else {
            throw StrataError.invalidArgument(
                name: "--overlap", reason: "\(overlap) px leaves tiles of \(tile) px advancing by less than one "
                    + "\(alignment) px block of the model (space_to_depth); at most \((tile - alignment) / 2)")
        }
        self.width = width
        self.height = height
        self.tile = tile
        self.overlap = overlap
        self.alignment = alignment
        let stride = (tile - 2 * overlap) / alignment * alignment
        columnStarts = Self.starts(length: width, tile: tile, stride: stride, alignment: alignment)
        rowStarts = Self.starts(length: height, tile: tile, stride: stride, alignment: alignment)
    }

    /// Window starts along one axis of `length` pixels.
    static func starts(length: Int, tile: Int, stride: Int, alignment: Int) -> [Int] {
        guard length > tile else { return [0] }
        // The first multiple of the alignment from which a window reaches the edge.
        let last = (length - tile + alignment - 1) / alignment * alignment
        var starts = [0]
        while starts[starts.count - 1] + tile < length {
            let next = starts[starts.count - 1] + stride
            starts.append(min(next, last))
        }
        return starts
    }

    /// Distance between window starts (except before a shifted last tile): `tile − 2 · overlap`, rounded down to a
    /// multiple of ``alignment``.
    public var stride: Int { (tile - 2 * overlap) / alignment * alignment }

    /// Number of tiles.
    public var count: Int { rowStarts.count * columnStarts.count }

    /// Tile `index` in plan order (row-major).
    public func tile(_ index: Int) -> PredictionTile {
        precondition((0..<count).contains(index), "tile \(index) outside 0..<\(count)")
        let row = index / columnStarts.count, column = index % columnStarts.count
        let x = columnStarts[column], y = rowStarts[row]
        return PredictionTile(
            index: index, row: row, column: column, window: Window(x: x, y: y, width: tile, height: tile),
            edges: PredictionTile.Edges(left: x == 0, top: y == 0, right: x + tile >= width,
                                        bottom: y + tile >= height))
    }

    /// Every tile in plan order.
    public var tiles: [PredictionTile] { (0..<count).map(tile) }

    /// The tiles of shard `shard` out of `count` shards: a contiguous run of plan order,
    /// `shard · N / count ..< (shard + 1) · N / count` for N tiles (integer division), so shard sizes differ by at
    /// most one and each shard covers a compact band of rows. The shards of `0..<count` cover every tile exactly
    /// once. (Overlapping tiles of neighbouring shards must be blended by whoever merges the shards.)
    ///
    /// ```swift
    /// let mine = plan.tiles(shard: Int(env["SLURM_ARRAY_TASK_ID"]!)!, of: 8)
    /// ```
    public func tiles(shard: Int, of count: Int) -> [PredictionTile] {
        precondition(count >= 1 && (0..<count).contains(shard), "shard \(shard) of \(count)")
        let n = self.count
        return (shard * n / count..<(shard + 1) * n / count).map(tile)
    }

    /// Image rows `0..<row` that no tile row after `tileRow` touches: final once `tileRow` has been predicted.
    func finishedRows(after tileRow: Int) -> Int {
        tileRow + 1 < rowStarts.count ? rowStarts[tileRow + 1] : height
    }
}
