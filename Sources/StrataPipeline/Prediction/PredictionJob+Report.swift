import Foundation

extension PredictionJob.Result {
    /// The result as one JSON object with sorted snake_case keys (`summary.megapixels_per_second` …), what
    /// `strata predict --json` prints.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        // Non-finite numbers cannot occur in a summary; encoding fails only on a programming error.
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// A few lines for people: the files, the outputs, the size and the speed.
    public var text: String {
        var lines = ["\(task) prediction with \(URL(fileURLWithPath: checkpoint).lastPathComponent): "
                     + summary.outputs.joined(separator: ", ")]
        lines.append("  outputs: " + summary.outputNames.joined(separator: ", "))
        lines.append("  input: \(summary.width)x\(summary.height) px, \(summary.planes) plane(s), \(steps) step(s), "
                     + "\(channels) channel(s)" + (timeLabels.isEmpty ? "" : ", \(timeLabels.first!) to "
                                                    + timeLabels.last!))
        lines.append("  tiles: \(summary.tiles) of \(summary.tile) px, overlap \(summary.overlap) px "
                     + "(receptive radius \(receptiveRadius) px), \(summary.tilesWithoutData) without data")
        lines.append(String(format: "  %.2f s, %.3f megapixels/s, %d nodata pixel(s)", summary.seconds,
                            summary.megapixelsPerSecond, summary.nodataPixels))
        return lines.joined(separator: "\n")
    }
}
