import StrataCore

/// Per-pixel cloud-free composite of a time stack: the median of each band over the valid acquisitions, the number
/// of valid acquisitions, and the maximum NDVI when the stack has red and near-infrared bands.
///
/// Works on one window at a time, so memory is bounded by the window, never the image.
///
/// ```swift
/// let composite = MedianComposite(redBand: 2, nirBand: 3)
/// let out = composite.apply(values: window.values, mask: window.mask)   // [C + 2, h, w]
/// ```
public struct MedianComposite: Sendable {
    /// Zero-based band indices of red and NIR, or nil to skip NDVI.
    public var redBand: Int?
    public var nirBand: Int?
    /// Value written where a pixel has no valid acquisition.
    public var nodata: Float

    public init(redBand: Int? = nil, nirBand: Int? = nil, nodata: Float = -9999) {
        self.redBand = redBand
        self.nirBand = nirBand
        self.nodata = nodata
    }

    /// Names of the output bands for input bands `names`.
    public func outputBandNames(inputBands names: [String]) -> [String] {
        names.map { "median_\($0)" } + ["valid_count"] + (hasNDVI ? ["max_ndvi"] : [])
    }

    var hasNDVI: Bool { redBand != nil && nirBand != nil }

    /// - Parameters:
    ///   - values: float32 `[T, C, h, w]`.
    ///   - mask: uint8 `[T, h, w]`, 1 where the acquisition is valid.
    /// - Returns: float32 `[C + 1 (+1 with NDVI), h, w]`: medians, valid count, max NDVI.
    public func apply(values: Tensor, mask: Tensor) -> Tensor {
        precondition(values.shape.count == 4 && mask.shape.count == 3, "values [T,C,h,w], mask [T,h,w]")
        let (t, c, h, w) = (values.shape[0], values.shape[1], values.shape[2], values.shape[3])
        precondition(mask.shape == [t, h, w], "mask \(mask.shape) does not fit values \(values.shape)")
        let plane = h * w
        let outBands = c + 1 + (hasNDVI ? 1 : 0)
        var out = Tensor(zeros: [outBands, h, w])
        mask.withRawBytes { maskBytes in
            values.withFloats { v in
                out.withMutableFloats { o in
                    var series = [Float]()
                    series.reserveCapacity(t)
                    for p in 0..<plane {
                        let validSteps = (0..<t).filter { maskBytes[$0 * plane + p] != 0 }
                        o[c * plane + p] = Float(validSteps.count)
                        for b in 0..<c {
                            series.removeAll(keepingCapacity: true)
                            for s in validSteps { series.append(v[(s * c + b) * plane + p]) }
                            o[b * plane + p] = Self.median(&series) ?? nodata
                        }
                        if let red = redBand, let nir = nirBand {
                            var best = -Float.infinity
                            for s in validSteps {
                                let r = v[(s * c + red) * plane + p], n = v[(s * c + nir) * plane + p]
                                if r + n > 0 { best = max(best, (n - r) / (n + r)) }
                            }
                            o[(c + 1) * plane + p] = best.isFinite ? best : nodata
                        }
                    }
                }
            }
        }
        return out
    }

    /// Median of `values` (mean of the middle two for an even count); nil when empty. Reorders `values`.
    static func median(_ values: inout [Float]) -> Float? {
        guard !values.isEmpty else { return nil }
        values.sort()
        let m = values.count / 2
        return values.count % 2 == 1 ? values[m] : 0.5 * (values[m - 1] + values[m])
    }
}
