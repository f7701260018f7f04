import StrataCore

/// Spatially correlated noise in [0, 1): random values on a coarse lattice, bilinearly interpolated.
///
/// `scale` is the lattice spacing in pixels (the correlation length); octaves add finer detail at half the scale and
/// half the weight each. Deterministic for a given generator state.
struct ValueNoise {
    let width: Int
    let height: Int
    /// Row-major `[height, width]`, values in [0, 1).
    private(set) var values: [Float]

    init(width: Int, height: Int, scale: Double, octaves: Int = 2, rng: inout SeededGenerator) {
        self.width = width
        self.height = height
        values = [Float](repeating: 0, count: width * height)
        var weight: Float = 1, total: Float = 0
        var s = scale
        for _ in 0..<max(1, octaves) {
            addOctave(scale: max(s, 1), weight: weight, rng: &rng)
            total += weight
            weight *= 0.5
            s *= 0.5
        }
        for i in values.indices { values[i] /= total }
    }

    private mutating func addOctave(scale: Double, weight: Float, rng: inout SeededGenerator) {
        let cols = Int((Double(width) / scale).rounded(.up)) + 2
        let rows = Int((Double(height) / scale).rounded(.up)) + 2
        let lattice = (0..<(cols * rows)).map { _ in Float(rng.uniform()) }
        for y in 0..<height {
            let fy = Double(y) / scale
            let y0 = Int(fy), ty = Float(fy - Double(y0))
            let sy = ty * ty * (3 - 2 * ty)  // smoothstep: no visible lattice lines
            for x in 0..<width {
                let fx = Double(x) / scale
                let x0 = Int(fx), tx = Float(fx - Double(x0))
                let sx = tx * tx * (3 - 2 * tx)
                let a = lattice[y0 * cols + x0], b = lattice[y0 * cols + x0 + 1]
                let c = lattice[(y0 + 1) * cols + x0], d = lattice[(y0 + 1) * cols + x0 + 1]
                let top = a + (b - a) * sx, bottom = c + (d - c) * sx
                values[y * width + x] += weight * (top + (bottom - top) * sy)
            }
        }
    }

    subscript(x: Int, y: Int) -> Float { values[y * width + x] }
}
