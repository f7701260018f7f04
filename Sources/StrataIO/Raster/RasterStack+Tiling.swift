import StrataCore

extension RasterStack {
    /// Equal-sized windows covering the whole grid, for tiled training or streaming inference.
    ///
    /// Core tiles of `tileSize × tileSize` pixels start at multiples of `tileSize` from the top-left corner, so the
    /// last row and column of tiles reach (and may pass) the bottom and right edges; each window is its core grown
    /// by `overlap` pixels on every side. Every window has size `tileSize + 2 * overlap`; the parts outside the grid
    /// are read boundless (fill value, mask 0). With `tileSize` a multiple of ``blockSize`` the cores are aligned
    /// to the file's blocks, so each block is decoded once per pass.
    ///
    /// ```swift
    /// stack.windows(tileSize: 128, overlap: 8)  // 300×200 grid: 3×2 windows of 144×144, first at (-8, -8)
    /// ```
    public func windows(tileSize: Int, overlap: Int = 0) -> [Window] {
        precondition(tileSize > 0 && overlap >= 0, "tileSize must be positive and overlap non-negative")
        var result: [Window] = []
        for y in stride(from: 0, to: grid.height, by: tileSize) {
            for x in stride(from: 0, to: grid.width, by: tileSize) {
                result.append(Window(x: x - overlap, y: y - overlap, width: tileSize + 2 * overlap,
                                     height: tileSize + 2 * overlap))
            }
        }
        return result
    }

    /// The file's own block grid: one window per native block (edge blocks clipped to the grid), row by row.
    ///
    /// ```swift
    /// for window in stack.blockWindows() { let tile = try stack.read(window: window) }
    /// ```
    public func blockWindows() -> [Window] {
        var result: [Window] = []
        for y in stride(from: 0, to: grid.height, by: blockSize.height) {
            for x in stride(from: 0, to: grid.width, by: blockSize.width) {
                result.append(Window(x: x, y: y, width: min(blockSize.width, grid.width - x),
                                     height: min(blockSize.height, grid.height - y)))
            }
        }
        return result
    }
}
