import Foundation
import StrataCore

/// A view of bands of rasters on one grid, as a GDAL VRT file: no pixel is copied.
///
/// `strata evaluate` compares every band of a prediction with the truth's, so a two-band change prediction
/// (`change_probability`, `change_date`) is scored through one-band views of it, and a nowcast's truth frames
/// (one file per frame) through one view holding them as bands.
///
/// ```swift
/// try BandView(source: "out/change.tif", band: 1).write(to: "out/change_probability.vrt")
/// try BandView(source: "out/change.tif", band: 2).write(to: "out/change_date.vrt")
/// try BandView(sources: frames.map { .init(path: $0, band: 1) }).write(to: "truth_frames.vrt")
/// ```
public struct BandView: Sendable {
    /// One band of one raster.
    public struct Source: Sendable, Equatable {
        public var path: String
        /// 1-based band of `path`.
        public var band: Int

        public init(path: String, band: Int) {
            self.path = path
            self.band = band
        }
    }

    /// The view's bands in order; the view keeps the first source's grid (size, geotransform, CRS).
    public var sources: [Source]
    public init(sources: [Source]) {
        self.sources = sources
    }

    /// A one-band view of band `band` of `source`.
    public init(source: String, band: Int) {
        self.init(sources: [Source(path: source, band: band)])
    }

    /// Writes the VRT to `path` and returns `path`.
    ///
    /// - Throws: ``StrataError`` when a source cannot be opened, has no such band or another grid than the first,
    ///   or the file cannot be written.
    @discardableResult
    public func write(to path: String) throws -> String {
        guard let first = sources.first else {
            throw StrataError.invalidArgument(name: path, reason: "a band view needs at least one source band")
        }
        let grid = try RasterStack(files: [first.path], keepOrder: true).grid
        var bands: [String] = []
        for (index, source) in sources.enumerated() {
            let stack = try RasterStack(files: [source.path], keepOrder: true)
            guard (1...stack.info.bands).contains(source.band) else {
                throw StrataError.invalidArgument(name: source.path,
                                                  reason: "has \(stack.info.bands) band(s), no band \(source.band)")
            }
            guard stack.grid.width == grid.width, stack.grid.height == grid.height,
                  stack.grid.geoTransform == grid.geoTransform else {
                throw StrataError.gridMismatch(file: source.path, reference: first.path, property: "grid",
                                               expected: "\(grid.width)x\(grid.height) \(grid.geoTransform)",
                                               found: "\(stack.grid.width)x\(stack.grid.height) "
                                                   + "\(stack.grid.geoTransform)")
            }
            let nodata = stack.info.nodata.map { "    <NoDataValue>\($0)</NoDataValue>\n" } ?? ""
            let sourceNodata = stack.info.nodata.map { "      <NODATA>\($0)</NODATA>\n" } ?? ""
            let absolute = URL(fileURLWithPath: source.path).standardizedFileURL.path
            // The band's name travels with it: `strata evaluate` tells the task from names such as change_probability.
            let name = stack.info.bandNames.indices.contains(source.band - 1) ? stack.info.bandNames[source.band - 1] : ""
            let description = name.isEmpty ? "" : "    <Description>\(Self.escape(name))</Description>\n"
            bands.append("""
                  <VRTRasterBand dataType="Float32" band="\(index + 1)">
                \(description)\(nodata)    <ComplexSource>
                      <SourceFilename relativeToVRT="0">\(Self.escape(absolute))</SourceFilename>
                      <SourceBand>\(source.band)</SourceBand>
                \(sourceNodata)    </ComplexSource>
                  </VRTRasterBand>

                """)
        }
        let transform = grid.geoTransform.map { String($0) }.joined(separator: ", ")
        let srs = grid.crs.map { "  <SRS>\(Self.escape($0.wkt))</SRS>\n" } ?? ""
        let text = "<VRTDataset rasterXSize=\"\(grid.width)\" rasterYSize=\"\(grid.height)\">\n" + srs
            + "  <GeoTransform>\(transform)</GeoTransform>\n" + bands.joined() + "</VRTDataset>\n"
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw StrataError.outputNotWritable(path: path, reason: error.localizedDescription)
        }
        return path
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
