/// A coordinate reference system, as WKT plus its EPSG code when it has one.
public struct CRS: Equatable, Sendable, Codable {
    /// OGC WKT (WKT2 where GDAL writes it).
    public var wkt: String
    /// The EPSG code identifying this CRS, or `nil` when it has none.
    public var epsg: Int?

    public init(wkt: String, epsg: Int?) {
        self.wkt = wkt
        self.epsg = epsg
    }

    enum CodingKeys: String, CodingKey { case wkt, epsg }

    // `epsg` is always present in JSON, as null when the CRS has no code.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(wkt, forKey: .wkt)
        try c.encode(epsg, forKey: .epsg)
    }
}

/// The pixel grid of a raster: size, affine geotransform and CRS.
///
/// The geotransform follows GDAL: `x = gt[0] + col*gt[1] + row*gt[2]`, `y = gt[3] + col*gt[4] + row*gt[5]`,
/// in CRS units (metres for UTM) at the pixel's top-left corner.
///
/// ```swift
/// let grid = Grid(width: 349, height: 352, geoTransform: [288776.3, 28.5, 0, 9120761.3, 0, -28.5], crs: nil)
/// grid.pixelSize  // (28.5, 28.5)
/// ```
public struct Grid: Equatable, Sendable, Codable {
    public var width: Int
    public var height: Int
    /// Six affine coefficients, GDAL order.
    public var geoTransform: [Double]
    public var crs: CRS?

    public init(width: Int, height: Int, geoTransform: [Double], crs: CRS?) {
        self.width = width
        self.height = height
        self.geoTransform = geoTransform
        self.crs = crs
    }

    /// Pixel width and height in CRS units (both positive).
    public var pixelSize: (x: Double, y: Double) {
        (abs(geoTransform[1]), abs(geoTransform[5]))
    }

    /// The whole grid as a window.
    public var fullWindow: Window { Window(x: 0, y: 0, width: width, height: height) }
}

/// A rectangle of pixels: column `x`, row `y`, `width` columns, `height` rows.
///
/// Windows may reach outside the raster (boundless reads): the part outside is filled with nodata and masked.
public struct Window: Equatable, Hashable, Sendable, Codable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// Number of pixels covered.
    public var pixelCount: Int { width * height }

    /// The part of this window that lies inside `0..<width, 0..<height`, or `nil` when none does.
    public func clipped(toWidth gridWidth: Int, height gridHeight: Int) -> Window? {
        let x0 = max(x, 0), y0 = max(y, 0)
        let x1 = min(x + width, gridWidth), y1 = min(y + height, gridHeight)
        guard x1 > x0, y1 > y0 else { return nil }
        return Window(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}

/// Voxel spacing of a volume, in millimetres, and the position of voxel (0,0,0) in scanner space (mm).
public struct Spacing: Equatable, Sendable, Codable {
    /// Spacing along x (columns), y (rows), z (slices), in mm.
    public var x: Double
    public var y: Double
    public var z: Double

    public init(x: Double, y: Double, z: Double) {
        self.x = x
        self.y = y
        self.z = z
    }

    /// Volume of one voxel in mm³.
    public var voxelVolumeMM3: Double { x * y * z }
}
