import StrataCore

extension NormalizationStats {
    /// Normalises values in place, `(x - mean[c]) / std[c]`, and sets every invalid position to 0 afterwards.
    ///
    /// Nodata is never treated as data: an invalid position (mask 0) holds 0 after this call, whatever it held
    /// (the fill value, NaN, a neighbour's value), so no fill value or NaN can reach the model even by `0 · NaN`.
    /// Zero is the channel mean after normalisation, the least informative input; the mask still says the
    /// position is invalid, and the model uses it: the ConvLSTM masks state updates at invalid steps and the loss
    /// masks invalid targets.
    ///
    /// - Parameters:
    ///   - values: float32 `[..., C, h, w]`: a window `[T, C, h, w]`, a batch `[B, T, C, h, w]`, or pixel series
    ///     `[N, T, C, 1, 1]`.
    ///   - mask: uint8 with the shape of `values` without its C axis (`[T, h, w]`, `[B, T, h, w]`, `[N, T, 1, 1]`).
    ///
    /// ```swift
    /// var tile = try stack.read(window: window)
    /// stats.apply(to: &tile.values, mask: tile.mask)   // [T, C, h, w], invalid pixels 0
    /// ```
    public func apply(to values: inout Tensor, mask: Tensor) {
        let shape = values.shape
        precondition(shape.count >= 3 && shape[shape.count - 3] == channels,
                     "values \(shape) do not end in [C = \(channels), h, w]")
        var maskShape = shape
        maskShape.remove(at: shape.count - 3)
        precondition(mask.shape == maskShape && mask.dtype == .uint8, "mask \(mask.shape) does not fit values \(shape)")
        let area = shape[shape.count - 2] * shape[shape.count - 1]
        let leading = shape.dropLast(3).reduce(1, *)
        let c = channels
        // Float scale and shift per channel: one multiply-add per value, computed once in Double.
        let scale = std.map { Float(1 / $0) }
        let shift = (0..<c).map { Float(-mean[$0] / std[$0]) }
        values.withMutableFloats { v in
            mask.withRawBytes { m in
                for i in 0..<leading {
                    for channel in 0..<c {
                        let base = (i * c + channel) * area
                        let (a, b) = (scale[channel], shift[channel])
                        for k in 0..<area {
                            v[base + k] = m[i * area + k] != 0 ? v[base + k] * a + b : 0
                        }
                    }
                }
            }
        }
    }
}
