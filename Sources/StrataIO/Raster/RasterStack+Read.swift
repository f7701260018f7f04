import CGDAL
import Foundation
import StrataCore

extension RasterStack {
    /// Reads one window of every step: values float32 `[T, C, h, w]` in physical units and mask uint8 `[T, h, w]`.
    ///
    /// Boundless: the window may reach outside the grid (or lie wholly outside it); that part holds ``fillValue``
    /// and mask 0. Only the part inside the grid is read from the files (`GDALRasterIO` on the clipped window).
    /// A pixel is valid (mask 1) when every band of its step is valid: not the band's nodata value, not NaN, and
    /// set in the band's mask (per-dataset mask, alpha band, or explicit mask band).
    ///
    /// ```swift
    /// let tile = try stack.read(window: Window(x: -8, y: -8, width: 80, height: 80))  // 8-pixel margin outside
    /// ```
    public func read(window: Window) throws -> StackWindow {
        guard window.width > 0, window.height > 0 else {
            throw StrataError.invalidArgument(name: "window", reason: "\(window.width)x\(window.height) is empty")
        }
        let plane = window.width * window.height
        var values = Tensor(zeros: [steps, bands, window.height, window.width])
        if fillValue != 0 { values.withMutableFloats { $0.update(repeating: fillValue) } }
        var mask = Tensor(zeros: [steps, window.height, window.width], dtype: .uint8)
        guard let region = window.clipped(toWidth: grid.width, height: grid.height) else {
            return StackWindow(window: window, values: values, mask: mask)
        }
        let start = (region.y - window.y) * window.width + (region.x - window.x)
        lock.lock()
        defer { lock.unlock() }
        try values.withMutableFloats { floats in
            try mask.withMutableRawBytes { bytes in
                let maskBase = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                for step in 0..<steps {
                    try fill(step: step, region: region, bufferWidth: region.width, bufferHeight: region.height,
                             values: floats.baseAddress! + step * bands * plane + start, lineStride: window.width,
                             bandStride: plane, mask: maskBase + step * plane + start)
                }
            }
        }
        return StackWindow(window: window, values: values, mask: mask)
    }

    /// Reads `region` (inside the grid) of one step into caller memory, resampled to `bufferWidth × bufferHeight`
    /// (equal to the region for exact reads; smaller for a nearest-neighbour sample). Band `c` starts at
    /// `values + c * bandStride`; rows of values and mask are `lineStride` elements apart. Invalid pixels get
    /// ``fillValue`` in every band, valid ones are scaled to physical units.
    func fill(step: Int, region: Window, bufferWidth: Int, bufferHeight: Int, values: UnsafeMutablePointer<Float>,
              lineStride: Int, bandStride: Int, mask: UnsafeMutablePointer<UInt8>) throws {
        let (sourceIndex, bandIndices) = layout[step]
        let source = sources[sourceIndex]
        for row in 0..<bufferHeight { (mask + row * lineStride).update(repeating: 1, count: bufferWidth) }
        var scratch = [UInt8](repeating: 0, count: bufferWidth * bufferHeight)

        // Clears mask pixels where a mask/alpha band reads 0.
        func applyMask(_ maskBand: GDALRasterBandH) throws {
            try scratch.withUnsafeMutableBufferPointer { buffer in
                try source.readMask(band: maskBand, region: region, bufferWidth: bufferWidth,
                                    bufferHeight: bufferHeight, into: buffer.baseAddress!, lineStride: bufferWidth)
                for row in 0..<bufferHeight {
                    for column in 0..<bufferWidth where buffer[row * bufferWidth + column] == 0 {
                        mask[row * lineStride + column] = 0
                    }
                }
            }
        }

        if let alpha = source.alphaBand { try applyMask(alpha) }
        var datasetMaskApplied = false
        for (channel, bandIndex) in bandIndices.enumerated() {
            let band = source.bands[bandIndex]
            let out = values + channel * bandStride
            try source.read(band: band.handle, region: region, bufferWidth: bufferWidth, bufferHeight: bufferHeight,
                            into: out, lineStride: lineStride)
            let nodata = band.nodata.map { Float($0) }
            for row in 0..<bufferHeight {
                for column in 0..<bufferWidth {
                    let value = out[row * lineStride + column]
                    if value.isNaN || value == nodata { mask[row * lineStride + column] = 0 }
                }
            }
            // Nodata masks are handled above; alpha was read once; a per-dataset mask is the same for every band.
            let flags = band.maskFlags
            let alphaDone = flags & GMF_ALPHA != 0 && source.alphaBand != nil
            let datasetDone = flags & GMF_PER_DATASET != 0 && datasetMaskApplied
            if flags & (GMF_ALL_VALID | GMF_NODATA) == 0, !alphaDone, !datasetDone,
                let maskBand = GDALGetMaskBand(band.handle)
            {
                try applyMask(maskBand)
                if flags & GMF_PER_DATASET != 0 { datasetMaskApplied = true }
            }
        }
        for (channel, bandIndex) in bandIndices.enumerated() {
            let band = source.bands[bandIndex]
            let out = values + channel * bandStride
            let rescale = band.scale != 1 || band.offset != 0
            for row in 0..<bufferHeight {
                for column in 0..<bufferWidth {
                    let at = row * lineStride + column
                    if mask[at] == 0 {
                        out[at] = fillValue
                    } else if rescale {
                        out[at] = Float(Double(out[at]) * band.scale + band.offset)
                    }
                }
            }
        }
    }

    /// Minimum and maximum valid value of the first step, from a bounded sample so opening a large raster stays
    /// cheap: a nearest-neighbour read of at most 256 × 256 pixels per band when the file has overviews (GDAL reads
    /// the overview), else the whole step when it has at most 256 × 256 pixels, else 8 × 8 windows of 32 × 32
    /// pixels spread evenly over the grid (a decimated read without overviews would decode every block).
    func sampledValueRange() throws -> [Double]? {
        let source = sources[layout[0].source]
        let hasOverviews = GDALGetOverviewCount(source.bands[layout[0].bands[0]].handle) > 0
        var samples: [(region: Window, width: Int, height: Int)] = []
        if hasOverviews || grid.width * grid.height <= 256 * 256 {
            samples = [(grid.fullWindow, min(grid.width, 256), min(grid.height, 256))]
        } else {
            let side = 32, count = 8
            let xs = (0..<count).map { max(0, grid.width - side) * $0 / (count - 1) }
            let ys = (0..<count).map { max(0, grid.height - side) * $0 / (count - 1) }
            for y in Set(ys).sorted() {
                for x in Set(xs).sorted() {
                    let region = Window(x: x, y: y, width: min(side, grid.width), height: min(side, grid.height))
                    samples.append((region, region.width, region.height))
                }
            }
        }
        var low = Float.infinity, high = -Float.infinity
        for (region, width, height) in samples {
            let plane = width * height
            var values = [Float](repeating: 0, count: bands * plane)
            var mask = [UInt8](repeating: 0, count: plane)
            try values.withUnsafeMutableBufferPointer { floats in
                try mask.withUnsafeMutableBufferPointer { bytes in
                    try fill(step: 0, region: region, bufferWidth: width, bufferHeight: height,
                             values: floats.baseAddress!, lineStride: width, bandStride: plane,
                             mask: bytes.baseAddress!)
                }
            }
            for channel in 0..<bands {
                for pixel in 0..<plane where mask[pixel] != 0 {
                    let value = values[channel * plane + pixel]
                    low = min(low, value)
                    high = max(high, value)
                }
            }
        }
        return low <= high ? [Double(low), Double(high)] : nil
    }
}
