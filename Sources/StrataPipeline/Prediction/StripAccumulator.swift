import StrataCore

/// The rows of one plane that tiles still write to: weighted sums of predictions, their weights, and whether any
/// step of the input was valid, for a band of at most `capacity` rows across the whole image width.
///
/// Tiles are added row of tiles by row of tiles. Once a tile row is done, the rows above the next tile row are
/// final: ``takeRows(upTo:)`` divides them by their weights and hands them out, and the band slides down. Memory
/// is therefore `capacity · W · (4 · (K + 1) + 1)` bytes — K float sums, one float weight and one validity byte
/// per pixel — with `capacity = min(tile, H)`: bounded by the tile size and the image width, never the image area.
///
/// Legend: K outputs, W image width, H image height, h × w a window.
struct StripAccumulator {
    let width: Int
    let outputs: Int
    let capacity: Int
    /// First image row held (row 0 of the buffers).
    private(set) var firstRow = 0
    /// `[K, capacity, W]` weighted sums.
    private var sums: [Float]
    /// `[capacity, W]` accumulated weights.
    private var weights: [Float]
    /// `[capacity, W]`: 1 where some step of the input pixel is valid.
    private var valid: [UInt8]

    /// Per output: round the blended value to the nearest integer (``PredictionOutput/Kind/index``).
    let rounded: [Bool]

    init(width: Int, outputs: Int, capacity: Int, rounded: [Bool]? = nil) {
        self.width = width
        self.outputs = outputs
        self.capacity = capacity
        self.rounded = rounded ?? [Bool](repeating: false, count: outputs)
        precondition(self.rounded.count == outputs, "one rounding flag per output")
        sums = [Float](repeating: 0, count: outputs * capacity * width)
        weights = [Float](repeating: 0, count: capacity * width)
        valid = [UInt8](repeating: 0, count: capacity * width)
    }

    /// Bytes held by the buffers: `capacity · W · (4 · (K + 1) + 1)`.
    var byteCount: Int { sums.count * 4 + weights.count * 4 + valid.count }

    /// Starts a new plane at row 0 with empty buffers.
    mutating func reset() {
        firstRow = 0
        for i in sums.indices { sums[i] = 0 }
        for i in weights.indices { weights[i] = 0 }
        for i in valid.indices { valid[i] = 0 }
    }

    /// Adds one tile's prediction.
    ///
    /// - Parameters:
    ///   - prediction: float32 `[K, h, w]` for `window`.
    ///   - mask: uint8 `[T, h, w]`, the input mask of `window`.
    ///   - window: where the tile lies; the part outside `0..<W` and the image height (`rows`) is ignored.
    ///   - profileX, profileY: blending weights along the window's columns (w) and rows (h).
    mutating func add(prediction: Tensor, mask: Tensor, window: Window, rows imageHeight: Int, steps: Int,
                      profileX: [Float], profileY: [Float]) throws {
        let h = window.height, w = window.width, area = h * w
        let y0 = max(window.y, 0), y1 = min(window.y + h, imageHeight)
        let x0 = max(window.x, 0), x1 = min(window.x + w, width)
        guard y0 >= firstRow, y1 <= firstRow + capacity else {
            throw StrataError.internalError("tile rows \(y0)..<\(y1) outside the strip \(firstRow)..<"
                                            + "\(firstRow + capacity)")
        }
        let k = outputs, plane = capacity * width
        prediction.withFloats { p in
            mask.withRawBytes { m in
                sums.withUnsafeMutableBufferPointer { sums in
                    weights.withUnsafeMutableBufferPointer { weights in
                        valid.withUnsafeMutableBufferPointer { valid in
                            for y in y0..<y1 {
                                let ty = y - window.y, row = (y - firstRow) * width
                                for x in x0..<x1 {
                                    let tx = x - window.x, at = ty * w + tx
                                    var anyValid = false
                                    for t in 0..<steps where m[t * area + at] != 0 {
                                        anyValid = true
                                        break
                                    }
                                    // A pixel without any valid step is nodata: its prediction is never summed.
                                    guard anyValid else { continue }
                                    valid[row + x] = 1
                                    let weight = profileX[tx] * profileY[ty]
                                    guard weight > 0 else { continue }
                                    weights[row + x] += weight
                                    for c in 0..<k { sums[c * plane + row + x] += weight * p[c * area + at] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Finishes rows `firstRow..<row`: returns float32 `[K, row − firstRow, W]` with `Σ w·pred / Σ w` (rounded for
    /// the outputs flagged in ``rounded``; NaN where no step of the input is valid) and the count of such nodata pixels, then slides the band down to `row`.
    ///
    /// - Throws: ``StrataError/internalError(_:)`` when a pixel with valid input got no weight (a tiling bug:
    ///   the pixel would otherwise be written as fill).
    mutating func takeRows(upTo row: Int) throws -> (values: Tensor, nodata: Int) {
        let n = row - firstRow
        precondition(n > 0 && n <= capacity, "rows \(firstRow)..<\(row) with a strip of \(capacity)")
        let k = outputs, plane = capacity * width, count = n * width
        var out = Tensor(zeros: [k, n, width])
        var nodata = 0
        var unweighted: Int?
        out.withMutableFloats { o in
            for i in 0..<count {
                if valid[i] == 0 {
                    nodata += 1
                    for c in 0..<k { o[c * count + i] = .nan }
                } else if weights[i] > 0 {
                    let scale = 1 / weights[i]
                    for c in 0..<k {
                        let value = sums[c * plane + i] * scale
                        o[c * count + i] = rounded[c] ? value.rounded() : value
                    }
                } else {
                    unweighted = unweighted ?? i
                }
            }
        }
        if let i = unweighted {
            throw StrataError.internalError("pixel (\(i % width), \(firstRow + i / width)) has valid input but no "
                                            + "tile weight")
        }
        // Slide the unfinished rows to the top and clear the rest.
        let keep = capacity - n
        for c in 0..<k {
            let base = c * plane
            for i in 0..<keep * width { sums[base + i] = sums[base + count + i] }
            for i in keep * width..<plane { sums[base + i] = 0 }
        }
        for i in 0..<keep * width {
            weights[i] = weights[count + i]
            valid[i] = valid[count + i]
        }
        for i in keep * width..<plane {
            weights[i] = 0
            valid[i] = 0
        }
        firstRow = row
        return (out, nodata)
    }
}
