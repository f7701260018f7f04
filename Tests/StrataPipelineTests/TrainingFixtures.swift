import Foundation
import StrataCore
import StrataIO
import StrataTestSupport
import XCTest
@testable import StrataPipeline

/// A small synthetic change scene (``ChangeScene``) written to real files in a fresh temporary folder: one dated
/// 4-band GeoTIFF per step (nodata under clouds), the 0/1 change mask and the change-step raster (0-based, −1 where
/// nothing changes), plus a job file that trains on them.
struct TrainingFixture {
    let folder: URL
    let scene: ChangeScene

    init(size: Int = 64, steps: Int = 6, events: Int = 8, seed: UInt64 = 5) throws {
        folder = try TestFolder(prefix: "strata-train").url
        var config = ChangeSceneConfig()
        config.width = size
        config.height = size
        config.steps = steps
        config.changeEvents = events
        config.seed = seed
        scene = ChangeScene(config: config)
        try writeScene()
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    var grid: Grid {
        Grid(width: scene.config.width, height: scene.config.height, geoTransform: scene.geoTransform,
             crs: CRS(wkt: "", epsg: ChangeScene.epsg))
    }

    private func writeScene() throws {
        let (w, h) = (scene.config.width, scene.config.height)
        let window = Window(x: 0, y: 0, width: w, height: h)
        for t in 0..<scene.config.steps {
            let (reflectance, valid) = scene.acquisition(step: t)
            var values = reflectance
            for i in 0..<(w * h) where valid[i] == 0 { for b in 0..<4 { values[b * w * h + i] = -9999 } }
            let name = "scene_" + scene.dates[t].replacingOccurrences(of: "-", with: "") + ".tif"
            let writer = try GeoTIFFWriter(path: path(name), grid: grid, bands: 4, nodata: -9999)
            try writer.write(window: window, values: Tensor(shape: [4, h, w], values: values))
            try writer.finish()
        }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("truth"),
                                                withIntermediateDirectories: true)
        for (name, values) in [("truth/change.tif", scene.changeStep.map { Float($0 >= 0 ? 1 : 0) }),
                               ("truth/change_step.tif", scene.changeStep.map { Float($0) })] {
            let writer = try GeoTIFFWriter(path: path(name), grid: grid, bands: 1, nodata: -9999)
            try writer.write(window: window, values: Tensor(shape: [1, h, w], values: values))
            try writer.finish()
        }
    }

    /// A job file training a small ConvLSTM on the scene; `extra` lines are appended at the top level.
    @discardableResult
    func writeJob(_ name: String = "job.yaml", output: String = "run", epochs: Int = 4, samples: Int = 128,
                  extra: String = "") throws
        -> String
    {
        let text = """
            task: change
            inputs:
              paths: scene_*.tif
            targets:
              paths: truth/change.tif
              change_step: truth/change_step.tif
            model:
              hidden: [8]
              kernel: 3
            optimizer:
              name: adam
              lr: 0.01
            epochs: \(epochs)
            batch: 8
            patch: 12
            samples_per_epoch: \(samples)
            sampling:
              mode: random
            validation:
              fraction: 0.25
              block_size: 16
            loss:
              name: bce
              positive_weight: 1
            seed: 5
            output: \(output)
            \(extra)
            """
        let target = path(name)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }
}
