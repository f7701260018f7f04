import StrataCore

/// Windows that tile a grid without overlap, row by row, the last row and column clipped to the edge.
///
/// ```swift
/// EvaluationTiles.windows(width: 7, height: 5, tileSize: 3)   // 3 × 2 windows; the right column is 1 pixel wide
/// ```
public enum EvaluationTiles {
    public static func windows(width: Int, height: Int, tileSize: Int) -> [Window] {
        precondition(tileSize > 0, "tileSize must be positive")
        var result: [Window] = []
        for y in stride(from: 0, to: height, by: tileSize) {
            for x in stride(from: 0, to: width, by: tileSize) {
                result.append(Window(x: x, y: y, width: min(tileSize, width - x), height: min(tileSize, height - y)))
            }
        }
        return result
    }
}
