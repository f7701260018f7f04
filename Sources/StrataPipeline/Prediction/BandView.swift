import Foundation
import StrataCore
import StrataIO

/// A one-band view of a band of a raster, as a GDAL VRT file beside it: no pixel is copied.
///
/// `strata evaluate` compares every band of a prediction with the truth's, so a two-band change prediction
/// (`change_probability`, `change_date`) is scored through views of its bands. An `offset` turns the 0-based step
/// indices that `change_date` and the synthetic `change_step.tif` hold (−1 = no change) into the 1-based steps
/// with 0 = unchanged that evaluation reads (`offset: 1`).
///
/// ```swift
/// let probability = try BandView(source: "out/change.tif", band: 1).write(to: "out/change_probability.vrt")
/// let date = try BandView(source: "out/change.tif", band: 2, offset: 1).write(to: "out/change_date_1based.vrt")
/// ```
public struct BandView: Sendable {
    /// The raster the view reads; the view keeps its grid (size, geotransform, CRS).
    public var source: String
    /// 1-based band of `source`.
    public var band: Int
    /// Added to every valid value (nodata stays nodata).
    public var offset: Double

    public init(source: String, band: Int, offset: Double = 0) {
        self.source = source
        self.band = band
        self.offset = offset
    }

    /// Writes the VRT to `path` and returns `path`.
    ///
    /// - Throws: ``StrataError`` when `source` cannot be opened or has no band `band`, or the file cannot be
    ///   written.
    @discardableResult
    public func write(to path: String) throws -> String {
        let stack = try RasterStack(files: [source], keepOrder: true)
        let grid = stack.grid
        guard (1...stack.info.bands).contains(band) else {
            throw StrataError.invalidArgument(name: source, reason: "has \(stack.info.bands) band(s), no band \(band)")
        }
        let transform = grid.geoTransform.map { String($0) }.joined(separator: ", ")
        let srs = grid.crs.map { "  <SRS>\(Self.escape($0.wkt))</SRS>\n" } ?? ""
        let nodata = stack.info.nodata.map { "    <NoDataValue>\($0)</NoDataValue>\n" } ?? ""
        let sourceNodata = stack.info.nodata.map { "      <NODATA>\($0)</NODATA>\n" } ?? ""
        let absolute = URL(fileURLWithPath: source).standardizedFileURL.path
        let text = """
            <VRTDataset rasterXSize="\(grid.width)" rasterYSize="\(grid.height)">
            \(srs)  <GeoTransform>\(transform)</GeoTransform>
              <VRTRasterBand dataType="Float32" band="1">
            \(nodata)    <ComplexSource>
                  <SourceFilename relativeToVRT="0">\(Self.escape(absolute))</SourceFilename>
                  <SourceBand>\(band)</SourceBand>
                  <ScaleOffset>\(offset)</ScaleOffset>
                  <ScaleRatio>1</ScaleRatio>
            \(sourceNodata)    </ComplexSource>
              </VRTRasterBand>
            </VRTDataset>

            """
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
