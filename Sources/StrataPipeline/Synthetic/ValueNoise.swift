import StrataCore

/// Spatially correlated noise in [0, 1): random values on a coarse lattice, bilinearly interpolated.
///
/// `scale` is the lattice spacing in pixels (the correlation length); octaves add finer detail at half the scale and
/// half the weight each. Deterministic for a given generator state.
///
/// Only the lattices are stored (about `width · height / scale²` numbers), and a value is interpolated when asked
/// for, so a 4000 × 4000 scene can be generated window by window without holding a full-size noise plane.
struct ValueNoise {
    let width: Int
    let height: Int

    private struct Octave {
        let scale: Double
        let weight: Float
        let cols: Int
        let lattice: [Float]
    }
    private var octaves: [Octave] = []
    private var totalWeight: Float = 0

    init(width: Int, height: Int, scale: Double, octaves: Int = 2, rng: inout SeededGenerator) {
        self.width = width
        self.height = height
        var weight: Float = 1
        var s = scale
        for _ in 0..<max(1, octaves) {
            let octaveScale = max(s, 1)
            let cols = Int((Double(width) / octaveScale).rounded(.up)) + 2
            let rows = Int((Double(height) / octaveScale).rounded(.up)) + 2
            let lattice = (0..<(cols * rows)).map { _ in Float(rng.uniform()) }
            self.octaves.append(Octave(scale: octaveScale, weight: weight, cols: cols, lattice: lattice))
            totalWeight += weight
            weight *= 0.5
            s *= 0.5
        }
    }

    /// The noise at pixel (x, y), `0 ≤ x < width`, `0 ≤ y < height`.
    subscript(x: Int, y: Int) -> Float {
        var sum: Float = 0
        for octave in octaves {
            let fy = Double(y) / octave.scale, fx = Double(x) / octave.scale
            let y0 = Int(fy), x0 = Int(fx)
            let ty = Float(fy - Double(y0)), tx = Float(fx - Double(x0))
            // Smoothstep weights: no visible lattice lines.
            let sy = ty * ty * (3 - 2 * ty), sx = tx * tx * (3 - 2 * tx)
            let cols = octave.cols, lattice = octave.lattice
            let a = lattice[y0 * cols + x0], b = lattice[y0 * cols + x0 + 1]
            let c = lattice[(y0 + 1) * cols + x0], d = lattice[(y0 + 1) * cols + x0 + 1]
            let top = a + (b - a) * sx, bottom = c + (d - c) * sx
            sum += octave.weight * (top + (bottom - top) * sy)
        }
        return sum / totalWeight
    }

    /// Every value, row-major `[height, width]` (for small grids and tests).
    var values: [Float] {
        var out = [Float](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width { out[y * width + x] = self[x, y] } }
        return out
    }
}
