import Foundation
import StrataCore
import StrataIO

extension YieldSeason {
    /// Nodata of the season rasters and of `truth/yield.tif`.
    public static let nodata = -9999.0

    /// Writes the season and its truth into `directory` (created when missing).
    ///
    /// Layout (datasets/README.md, scenario `yield`): `fields.geojson`, `season_YYYYMMDD.tif` (float32 bands
    /// ``bandNames``, nodata −9999 under clouds), `truth/yield.tif` (float32 t/ha, nodata outside fields),
    /// `truth/fields.tif` (int32 field id, 0 outside), `truth/field_yield.csv` (field_id, crop, yield_t_ha,
    /// area_ha) and `truth/yield_model.json` (coefficients and each field's noise term).
    ///
    /// Work goes tile by tile (256 × 256, every date of a tile at once, since a pixel's yield needs its whole
    /// season), with one open writer per output file.
    ///
    /// ```swift
    /// let summary = try YieldSeason(config: YieldSeasonConfig()).write(to: "/tmp/yield")
    /// summary.counts["mean_yield_t_ha"]
    /// ```
    public func write(to directory: String) throws -> SynthSummary {
        let root = try SynthSupport.makeDirectory(directory)
        _ = try SynthSupport.makeDirectory(root + "/truth")
        let grid = SynthSupport.utm33Grid(width: config.width, height: config.height,
                                          pixelSizeMetres: config.pixelSizeMetres)
        let names = stepSeconds.map { "season_\(SynthCalendar.compactDate($0)).tif" }
        let seasonWriters = try (0..<config.steps).map { t in
            try GeoTIFFWriter(
                path: root + "/" + names[t], grid: grid, bands: 6, sampleType: .float32, nodata: Self.nodata,
                bandDescriptions: Self.bandNames,
                metadata: ["TIFFTAG_DATETIME": SynthCalendar.tiffDateTime(stepSeconds[t]),
                           "ACQUISITIONDATETIME": SynthCalendar.isoDateTime(stepSeconds[t]),
                           "SYNTH_SCENARIO": "yield", "SYNTH_STEP": String(t)])
        }
        let dates = stepSeconds.map(SynthCalendar.isoDate).joined(separator: ",")
        let yieldWriter = try GeoTIFFWriter(
            path: root + "/truth/yield.tif", grid: grid, bands: 1, sampleType: .float32, nodata: Self.nodata,
            bandDescriptions: ["yield (t/ha)"], metadata: ["TIME_LABELS": dates, "UNITS": "t/ha"])
        let fieldWriter = try GeoTIFFWriter(
            path: root + "/truth/fields.tif", grid: grid, bands: 1, sampleType: .int32,
            bandDescriptions: ["field id (0 outside fields)"], metadata: ["TIME_LABELS": dates])

        var sums = [Double](repeating: 0, count: fields.count + 1)
        var pixels = [Int](repeating: 0, count: fields.count + 1)
        for tile in SynthSupport.tiles(width: config.width, height: config.height) {
            let (bands, valid) = season(window: tile)
            let plane = tile.pixelCount
            for t in 0..<config.steps {
                var values = [Float](repeating: 0, count: 6 * plane)
                for b in 0..<6 {
                    for o in 0..<plane { values[b * plane + o] = valid[t][o] == 0 ? .nan : bands[t][b][o] }
                }
                try seasonWriters[t].write(window: tile, values: SynthSupport.tensor(bands: 6, window: tile, values: values))
            }
            var yields = [Float](repeating: .nan, count: plane), ids = [Float](repeating: 0, count: plane)
            for o in 0..<plane {
                let id = fieldID(x: tile.x + o % tile.width, y: tile.y + o / tile.width)
                guard id > 0 else { continue }
                let field = fields[id - 1]
                let y = Float(modelYield(crop: field.crop, bands: bands, pixel: o) + field.noiseTonnesPerHectare)
                yields[o] = y
                ids[o] = Float(id)
                sums[id] += Double(y)
                pixels[id] += 1
            }
            try yieldWriter.write(window: tile, values: SynthSupport.tensor(bands: 1, window: tile, values: yields))
            try fieldWriter.write(window: tile, values: SynthSupport.tensor(bands: 1, window: tile, values: ids))
        }
        for writer in seasonWriters { try writer.finish() }
        try yieldWriter.finish()
        try fieldWriter.finish()

        // Area from the rasterised field (pixel count × pixel area), so it matches truth/fields.tif exactly.
        let hectaresPerPixel = config.pixelSizeMetres * config.pixelSizeMetres / 10_000
        var csv = "field_id,crop,yield_t_ha,area_ha\n"
        var weighted = 0.0, fieldPixels = 0
        for field in fields {
            let n = pixels[field.id]
            let mean = n > 0 ? sums[field.id] / Double(n) : .nan
            csv += "\(field.id),\(field.crop.rawValue),\(String(format: "%.4f", mean)),"
                + "\(String(format: "%.4f", Double(n) * hectaresPerPixel))\n"
            if n > 0 { weighted += sums[field.id]; fieldPixels += n }
        }
        try SynthSupport.writeFile(Data(csv.utf8), to: root + "/truth/field_yield.csv")
        try SynthSupport.writeFile(try SynthSupport.json(geoJSON(grid: grid)), to: root + "/fields.geojson")
        let model = YieldModelRecord(
            function: "yield(p) = a_c * I(p) * (1 + b_c * (GDD_end(p) - G_ref) / G_ref) + noise_field; "
                + "I = trapezoid of NDVI over days since the first acquisition",
            referenceGdd: YieldCrop.referenceGDD, stepDays: stepDays,
            crops: YieldCrop.allCases.map { CropRecord(crop: $0.rawValue, tonnesPerNdviDay: $0.tonnesPerNDVIDay,
                                                       heatSensitivity: $0.heatSensitivity,
                                                       fieldNoiseSigmaTHa: $0.fieldNoiseTonnesPerHectare) },
            fields: fields.map { FieldRecord(fieldId: $0.id, crop: $0.crop.rawValue, noiseTHa: $0.noiseTonnesPerHectare,
                                             vigour: $0.vigour, sowingShiftDays: $0.sowingShiftDays,
                                             pixels: pixels[$0.id]) })
        try SynthSupport.writeFile(try SynthSupport.json(model), to: root + "/truth/yield_model.json")
        return SynthSummary(
            scenario: .yield, outputDirectory: root, seed: config.seed,
            files: ["fields.geojson"] + names + ["truth/yield.tif", "truth/fields.tif", "truth/field_yield.csv",
                                                 "truth/yield_model.json"],
            counts: ["fields": Double(fields.count), "steps": Double(config.steps),
                     "mean_yield_t_ha": fieldPixels > 0 ? weighted / Double(fieldPixels) : 0,
                     "field_area_ha": Double(fieldPixels) * hectaresPerPixel])
    }

    /// The fields as a GeoJSON FeatureCollection in EPSG:32633 metres, rings closed and counter-clockwise.
    private func geoJSON(grid: Grid) -> FieldCollection {
        let gt = grid.geoTransform
        return FieldCollection(features: fields.map { field in
            var ring = field.corners.map { [gt[0] + $0.x * gt[1], gt[3] + $0.y * gt[5]] }
            ring.append(ring[0])
            return FieldFeature(properties: FieldProperties(fieldId: field.id, crop: field.crop.rawValue),
                                geometry: PolygonGeometry(coordinates: [ring]))
        })
    }
}

/// GeoJSON with the 2008-style `crs` member GDAL reads (RFC 7946 allows only WGS 84; the grid is UTM 33N).
struct FieldCollection: Encodable {
    var type = "FeatureCollection"
    var name = "fields"
    var crs = NamedCRS()
    var features: [FieldFeature]
}

struct NamedCRS: Encodable {
    var type = "name"
    var properties = ["name": "urn:ogc:def:crs:EPSG::32633"]
}

struct FieldFeature: Encodable {
    var type = "Feature"
    var properties: FieldProperties
    var geometry: PolygonGeometry
}

struct FieldProperties: Encodable {
    var fieldId: Int
    var crop: String
}

struct PolygonGeometry: Encodable {
    var type = "Polygon"
    var coordinates: [[[Double]]]
}

/// `truth/yield_model.json`: the yield function's coefficients and every field's draws.
struct YieldModelRecord: Encodable {
    var function: String
    var referenceGdd: Double
    var stepDays: [Double]
    var crops: [CropRecord]
    var fields: [FieldRecord]
}

struct CropRecord: Encodable {
    var crop: String
    var tonnesPerNdviDay: Double
    var heatSensitivity: Double
    var fieldNoiseSigmaTHa: Double
}

struct FieldRecord: Encodable {
    var fieldId: Int
    var crop: String
    var noiseTHa: Double
    var vigour: Double
    var sowingShiftDays: Double
    var pixels: Int
}
