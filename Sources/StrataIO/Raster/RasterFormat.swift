/// The file layout a ``GeoTIFFWriter`` produces.
public enum RasterFormat: String, Sendable, Codable, CaseIterable {
    /// Tiled GeoTIFF: 256 × 256 blocks, DEFLATE with a predictor (2 for integers, 3 for floats).
    case geotiff
    /// Cloud-optimised GeoTIFF (GDAL's COG driver): DEFLATE, 256 × 256 blocks, overviews, header first.
    case cog
}
