import StrataCore
import StrataIO
@testable import StrataPipeline

/// A raster held in arrays, read with the same boundless window rules as ``RasterStack`` (outside: mask 0).
struct InMemoryRaster: EvaluationRaster {
    let sourceName: String
    let grid: Grid
    let steps: Int
    let bands: Int
    /// `[T, C, H, W]`.
    let values: [Float]
    /// `[T, H, W]`, 1 valid.
    let mask: [UInt8]

    init(_ name: String, width: Int, height: Int, steps: Int = 1, bands: Int = 1, values: [Float],
         mask: [UInt8]? = nil, geoTransform: [Double] = [0, 1, 0, 0, 0, -1], crs: CRS? = nil) {
        precondition(values.count == steps * bands * width * height)
        sourceName = name
        grid = Grid(width: width, height: height, geoTransform: geoTransform, crs: crs)
        self.steps = steps
        self.bands = bands
        self.values = values
        self.mask = mask ?? [UInt8](repeating: 1, count: steps * width * height)
    }

    func read(window: Window) throws -> StackWindow {
        var v = [Float](repeating: .nan, count: steps * bands * window.width * window.height)
        var m = [UInt8](repeating: 0, count: steps * window.width * window.height)
        let plane = grid.width * grid.height, windowPlane = window.width * window.height
        for t in 0..<steps {
            for y in 0..<window.height {
                for x in 0..<window.width {
                    let gx = window.x + x, gy = window.y + y
                    guard gx >= 0, gy >= 0, gx < grid.width, gy < grid.height else { continue }
                    let source = gy * grid.width + gx, target = y * window.width + x
                    m[t * windowPlane + target] = mask[t * plane + source]
                    for c in 0..<bands {
                        v[(t * bands + c) * windowPlane + target] = values[(t * bands + c) * plane + source]
                    }
                }
            }
        }
        var maskTensor = Tensor(zeros: [steps, window.height, window.width], dtype: .uint8)
        maskTensor.withMutableRawBytes { raw in for i in m.indices { raw[i] = m[i] } }
        return StackWindow(window: window, values: Tensor(shape: [steps, bands, window.height, window.width], values: v),
                           mask: maskTensor)
    }
}

/// A volume time stack held in arrays, `[T, 1, D, H, W]`.
struct InMemoryVolume: EvaluationVolume {
    let sourceName: String
    let shape: VolumeShape
    let voxelSpacing: Spacing
    let values: [Float]
    let mask: [UInt8]

    init(_ name: String, steps: Int, depth: Int, height: Int, width: Int, values: [Float], mask: [UInt8]? = nil,
         spacing: Spacing = Spacing(x: 1, y: 1, z: 1)) {
        sourceName = name
        shape = VolumeShape(steps: steps, channels: 1, depth: depth, height: height, width: width)
        voxelSpacing = spacing
        precondition(values.count == steps * depth * height * width)
        self.values = values
        self.mask = mask ?? [UInt8](repeating: 1, count: values.count)
    }

    func read(region: VolumeRegion, steps: Range<Int>?) throws -> VolumeWindow {
        precondition(region == shape.fullRegion, "the evaluator reads whole volumes")
        let steps = steps ?? 0..<shape.steps
        let volume = region.voxelCount
        let slice = steps.lowerBound * volume..<steps.upperBound * volume
        var maskTensor = Tensor(zeros: [steps.count, region.depth, region.height, region.width], dtype: .uint8)
        maskTensor.withMutableRawBytes { raw in for (i, value) in mask[slice].enumerated() { raw[i] = value } }
        return VolumeWindow(values: Tensor(shape: [steps.count, 1, region.depth, region.height, region.width],
                                           values: Array(values[slice])), mask: maskTensor)
    }
}

/// Deterministic pseudo-random floats in 0..<1 (a linear congruential generator; tests need repeatable noise).
func noise(count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24)
    }
}
