import Foundation
import StrataCore
import StrataIO

/// What a composite run produced.
public struct CompositeSummary: Codable, Sendable {
    public var output: String
    public var width: Int
    public var height: Int
    public var bands: [String]
    /// Pixels with no valid acquisition at all (written as nodata).
    public var pixelsWithoutData: Int
    /// Mean number of valid acquisitions per pixel.
    public var meanValidAcquisitions: Double
    public var seconds: Double
}

/// Streams a time stack tile by tile through ``MedianComposite`` into a GeoTIFF or COG with the stack's grid.
///
/// Memory is bounded by one tile of the stack (`T·C·tile²` floats), never the image.
///
/// ```swift
/// let stack = try RasterStack(files: paths)
/// let summary = try CompositeJob(tileSize: 256).run(stack: stack, output: "composite.tif")
/// ```
public struct CompositeJob: Sendable {
    public var tileSize: Int
    public var format: RasterFormat
    public var nodata: Float

    public init(tileSize: Int = 256, format: RasterFormat = .cog, nodata: Float = -9999) {
        self.tileSize = tileSize
        self.format = format
        self.nodata = nodata
    }

    public func run(stack: RasterStack, output: String) throws -> CompositeSummary {
        let started = Date()
        let names = stack.info.bandNames.enumerated().map { $0.element.isEmpty ? "band\($0.offset + 1)" : $0.element }
        let lower = names.map { $0.lowercased() }
        let composite = MedianComposite(redBand: lower.firstIndex(of: "red"), nirBand: lower.firstIndex(of: "nir"),
                                        nodata: nodata)
        let outputNames = composite.outputBandNames(inputBands: names)
        let labels = stack.info.dates.compactMap { $0 }
        let writer = try GeoTIFFWriter(
            path: output, grid: stack.grid, bands: outputNames.count, sampleType: .float32, nodata: Double(nodata),
            bandDescriptions: outputNames,
            metadata: ["STRATA_PRODUCT": "median composite", "STRATA_TIME_LABELS": labels.joined(separator: ",")],
            format: format)
        var empty = 0
        var validSum = 0.0
        let countBand = names.count
        for tile in stack.windows(tileSize: tileSize) {
            guard let window = tile.clipped(toWidth: stack.grid.width, height: stack.grid.height) else { continue }
            let read = try stack.read(window: window)
            let result = composite.apply(values: read.values, mask: read.mask)
            result.withFloats { v in
                let plane = window.pixelCount
                for p in 0..<plane {
                    let count = v[countBand * plane + p]
                    validSum += Double(count)
                    if count == 0 { empty += 1 }
                }
            }
            try writer.write(window: window, values: result)
        }
        try writer.finish()
        let pixels = Double(stack.grid.width * stack.grid.height)
        return CompositeSummary(output: output, width: stack.grid.width, height: stack.grid.height,
                                bands: outputNames, pixelsWithoutData: empty, meanValidAcquisitions: validSum / pixels,
                                seconds: Date().timeIntervalSince(started))
    }
}
