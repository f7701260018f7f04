import Foundation
import StrataCore
import StrataIO

/// The input of `strata bench predict`: a SIZE × SIZE pixel stack of 12 dates × 4 bands that takes a few MB on disk.
///
/// A full 20 000² × 4 × 12 float32 stack would be ~77 GB. Instead each date is a small float32 GeoTIFF
/// (`seed_MM.tif`, ``seedSide``² px, DEFLATE) and, per size, a VRT (`SIZE/scene_2021-MM-15.vrt`) that upsamples it
/// with nearest neighbour onto a 10 m grid in UTM 33N (EPSG:32633). Every window the prediction reads is real GDAL
/// I/O through the VRT, and the values vary from pixel to pixel (smooth waves plus hashed noise), so models and
/// compression do real work. The dates are in the file names (`scene_2021-MM-15`), as a user's scenes would be.
///
/// ```swift
/// let stack = PredictBenchStack(folder: "/tmp/bench")
/// let paths = try stack.prepare(size: 2000)   // 12 VRT paths, oldest first
/// ```
public struct PredictBenchStack: Sendable {
    /// Time steps and bands per step.
    public static let dates = 12
    public static let bands = 4
    /// Side of the seed rasters, pixels.
    public static let seedSide = 256
    /// Upper-left corner of the grid (UTM 33N, metres) and the pixel size (metres).
    static let originX = 399_960.0, originY = 5_000_040.0, pixelMetres = 10.0

    /// Where seeds and VRTs live; reused by later runs.
    public let folder: String

    public init(folder: String) { self.folder = folder }

    /// Writes the seeds (once) and the VRTs of `size` (once) and returns the 12 VRT paths, oldest first.
    public func prepare(size: Int) throws -> [String] {
        guard size >= 1 else { throw StrataError.invalidArgument(name: "--size", reason: "\(size) is not >= 1") }
        let sizeFolder = folder + "/\(size)"
        try FileManager.default.createDirectory(atPath: sizeFolder, withIntermediateDirectories: true)
        return try (1...Self.dates).map { date in
            let month = date < 10 ? "0\(date)" : "\(date)"
            let seed = folder + "/seed_\(month).tif"
            if !FileManager.default.fileExists(atPath: seed) { try writeSeed(step: date - 1, to: seed) }
            let vrt = sizeFolder + "/scene_2021-\(month)-15.vrt"
            if !FileManager.default.fileExists(atPath: vrt) {
                try vrtText(seed: "../seed_\(month).tif", size: size).write(toFile: vrt, atomically: true,
                                                                            encoding: .utf8)
            }
            return vrt
        }
    }

    /// The value of seed pixel (x, y) of band `band` at step `step`: a reflectance-like number in [0.05, 0.6].
    /// Waves that drift with the step (so the model sees change over time) plus ±0.05 of hashed noise.
    public static func value(step: Int, band: Int, x: Int, y: Int) -> Float {
        let phase = Double(step) / Double(dates) + Double(band) / Double(bands)
        let wave = 0.5 + 0.5 * sin(2 * Double.pi * (Double(x) / 37 + phase))
        let ripple = 0.5 + 0.5 * cos(2 * Double.pi * (Double(y) / 23 - phase))
        var hash = UInt64(truncatingIfNeeded: ((step * bands + band) * seedSide + y) * seedSide + x) &+ 0x9E37
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        let noise = Double(hash >> 40) / Double(1 << 24) - 0.5
        return Float(0.1 + 0.05 * Double(band) + 0.25 * wave * ripple + 0.1 * noise)
    }

    private func writeSeed(step: Int, to path: String) throws {
        let side = Self.seedSide
        var values = Tensor(zeros: [Self.bands, side, side])
        values.withMutableFloats { v in
            for band in 0..<Self.bands {
                for y in 0..<side {
                    for x in 0..<side { v[(band * side + y) * side + x] = Self.value(step: step, band: band, x: x, y: y) }
                }
            }
        }
        // The seed's own georeference is not used: each VRT places it on the grid of its size.
        let grid = Grid(width: side, height: side, geoTransform: [Self.originX, 1, 0, Self.originY, 0, -1],
                        crs: CRS(wkt: "", epsg: 32633))
        let writer = try GeoTIFFWriter(path: path, grid: grid, bands: Self.bands, sampleType: .float32,
                                       nodata: -9999)
        try writer.write(window: Window(x: 0, y: 0, width: side, height: side), values: values)
        try writer.finish()
    }

    /// A VRT of `size` × `size` pixels whose every band reads the whole seed band, upsampled by nearest neighbour.
    func vrtText(seed: String, size: Int) -> String {
        let side = Self.seedSide
        let bands = (1...Self.bands).map { band in
            """
              <VRTRasterBand dataType="Float32" band="\(band)">
                <NoDataValue>-9999</NoDataValue>
                <SimpleSource resampling="nearest">
                  <SourceFilename relativeToVRT="1">\(seed)</SourceFilename>
                  <SourceBand>\(band)</SourceBand>
                  <SrcRect xOff="0" yOff="0" xSize="\(side)" ySize="\(side)"/>
                  <DstRect xOff="0" yOff="0" xSize="\(size)" ySize="\(size)"/>
                </SimpleSource>
              </VRTRasterBand>
            """
        }
        return """
            <VRTDataset rasterXSize="\(size)" rasterYSize="\(size)">
              <SRS>EPSG:32633</SRS>
              <GeoTransform>\(Self.originX), \(Self.pixelMetres), 0, \(Self.originY), 0, \(-Self.pixelMetres)</GeoTransform>
            \(bands.joined(separator: "\n"))
            </VRTDataset>

            """
    }
}
