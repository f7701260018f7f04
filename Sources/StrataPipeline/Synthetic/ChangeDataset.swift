import Foundation
import StrataCore
import StrataIO

extension ChangeScene {
    /// Writes the scene as dated GeoTIFFs and truth rasters into `directory` (created when missing).
    ///
    /// Layout (datasets/README.md, scenario `change`):
    /// - `scene_YYYYMMDD.tif`: uint16 blue, green, red, NIR surface reflectance × 10000, nodata 0 under clouds and
    ///   shadows, EPSG:32633, `TIFFTAG_DATETIME` and `ACQUISITIONDATETIME` of the acquisition;
    /// - `truth/change.tif` uint8 (1 changed, 0 not), `truth/change_step.tif` int16 (first step showing the new
    ///   cover, -1 none), `truth/land_cover_before.tif` and `truth/land_cover_after.tif` uint8 ``LandCover`` codes.
    ///
    /// Each acquisition is generated and written in strips of 256 rows, so memory holds one strip of one date
    /// plus the land-cover truth (3 bytes per pixel).
    ///
    /// ```swift
    /// var config = ChangeSceneConfig(); config.width = 64; config.height = 48; config.steps = 6
    /// let summary = try ChangeScene(config: config).writeDataset(to: "/tmp/change")
    /// summary.files.first   // "scene_20210110.tif"
    /// ```
    public func writeDataset(to directory: String) throws -> SynthSummary {
        let root = try SynthSupport.makeDirectory(directory)
        _ = try SynthSupport.makeDirectory(root + "/truth")
        let grid = SynthSupport.utm33Grid(width: config.width, height: config.height,
                                          pixelSizeMetres: config.pixelSizeMetres)
        let strips = SynthSupport.tiles(width: config.width, height: config.height, tile: 256)
            .filter { $0.x == 0 }.map { Window(x: 0, y: $0.y, width: config.width, height: $0.height) }
        var files: [String] = []
        var cloudy = 0

        for t in 0..<config.steps {
            let name = "scene_\(SynthCalendar.compactDate(stepSeconds[t])).tif"
            let writer = try GeoTIFFWriter(
                path: root + "/" + name, grid: grid, bands: 4, sampleType: .uint16, nodata: 0,
                bandDescriptions: Self.bandNames.map { "\($0) surface reflectance x 10000" },
                metadata: ["TIFFTAG_DATETIME": SynthCalendar.tiffDateTime(stepSeconds[t]),
                           "ACQUISITIONDATETIME": SynthCalendar.isoDateTime(stepSeconds[t]),
                           "REFLECTANCE_SCALE": "0.0001", "SYNTH_SCENARIO": "change", "SYNTH_STEP": String(t)])
            for strip in strips {
                let acquired = acquisition(step: t, window: strip)
                var reflectance = acquired.reflectance
                let valid = acquired.valid
                let plane = strip.pixelCount
                for i in 0..<plane {
                    if valid[i] == 0 { cloudy += 1 }
                    for b in 0..<4 {
                        // NaN is stored as the nodata value 0 by the writer.
                        reflectance[b * plane + i] = valid[i] == 0 ? .nan : reflectance[b * plane + i] * 10_000
                    }
                }
                try writer.write(window: strip, values: SynthSupport.tensor(bands: 4, window: strip, values: reflectance))
            }
            try writer.finish()
            files.append(name)
        }

        let classes = LandCover.allCases.map { "\($0.rawValue)=\($0)" }.joined(separator: ",")
        let truth: [(name: String, type: SampleType, nodata: Double?, description: String,
                     value: (Int) -> Float)] = [
            ("truth/change.tif", .uint8, nil, "changed (1) or not (0) between the first and last step",
             { Float(changeStep[$0] >= 0 ? 1 : 0) }),
            ("truth/change_step.tif", .int16, nil, "index of the first step showing the new cover, -1 none",
             { Float(changeStep[$0]) }),
            ("truth/land_cover_before.tif", .uint8, 0, "land cover at the first step (\(classes))",
             { Float(coverBefore[$0].rawValue) }),
            ("truth/land_cover_after.tif", .uint8, 0, "land cover at the last step (\(classes))",
             { Float(coverAfter[$0].rawValue) }),
        ]
        for layer in truth {
            let writer = try GeoTIFFWriter(
                path: root + "/" + layer.name, grid: grid, bands: 1, sampleType: layer.type, nodata: layer.nodata,
                bandDescriptions: [layer.description],
                metadata: ["TIME_LABELS": dates.joined(separator: ","), "LAND_COVER_CLASSES": classes,
                           "SYNTH_SCENARIO": "change"])
            for strip in strips {
                var values = [Float](repeating: 0, count: strip.pixelCount)
                for row in 0..<strip.height {
                    for x in 0..<strip.width { values[row * strip.width + x] = layer.value((strip.y + row) * config.width + x) }
                }
                try writer.write(window: strip, values: SynthSupport.tensor(bands: 1, window: strip, values: values))
            }
            try writer.finish()
            files.append(layer.name)
        }
        let pixels = Double(config.width * config.height)
        return SynthSummary(scenario: .change, outputDirectory: root, seed: config.seed, files: files,
                            counts: ["changed_pixels": Double(changedPixelCount), "steps": Double(config.steps),
                                     "pixels": pixels,
                                     "cloud_fraction": Double(cloudy) / (pixels * Double(config.steps))])
    }
}
