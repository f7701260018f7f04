import StrataCore

/// Which part of a split a sampler draws from.
public enum SplitRole: String, Sendable, CaseIterable {
    case training, validation
}

/// Train/validation split of a plane by square spatial blocks, so that no training pixel is a validation pixel.
///
/// Why blocks and never random pixels: neighbouring pixels are strongly correlated, so a validation pixel next to a
/// training pixel measures memorisation, not generalisation.
///
/// Rule (also in docs/sampling.md):
/// - The plane is cut into columns and rows of `blockSize` pixels starting at (0, 0); a remainder narrower than a
///   block is merged into the last block, so every block is between `blockSize` and `2·blockSize - 1` pixels on a
///   side (or the whole plane when it is smaller than one block). Every block is therefore at least as large as a
///   patch whenever `patchSize ≤ blockSize` and the plane is at least a patch in size.
/// - Each block gets a seeded 64-bit hash of (seed, column, row); the `round(fraction · blocks)` blocks with the
///   smallest hashes are validation, the rest training. With at least two blocks and `0 < fraction < 1`, each split
///   gets at least one block. The assignment depends only on the plane size, block size, fraction and seed.
/// - Samplers draw every patch wholly inside one block of their split (``SampleSource``), so a training patch never
///   shares a pixel with a validation block, and vice versa. Volume planes share the blocks of their (x, y).
///
/// ```swift
/// let split = SpatialSplit(blockSize: 256, validationFraction: 0.2, seed: 1)
/// let training = split.regions(.training, width: 2000, height: 1500)   // blocks as windows
/// ```
public struct SpatialSplit: Sendable, Equatable {
    /// Block side in pixels.
    public var blockSize: Int
    /// Fraction of blocks assigned to validation, in [0, 1].
    public var validationFraction: Double
    /// Chooses which blocks are validation.
    public var seed: UInt64

    public init(blockSize: Int = 256, validationFraction: Double = 0.2, seed: UInt64 = 0) {
        self.blockSize = blockSize
        self.validationFraction = validationFraction
        self.seed = seed
    }

    /// Every block of a `width × height` plane, row by row, with its role.
    public func blocks(width: Int, height: Int) throws -> [(window: Window, role: SplitRole)] {
        guard blockSize > 0, (0...1).contains(validationFraction) else {
            throw StrataError.invalidArgument(
                name: "split", reason: "block size \(blockSize) must be positive and validation fraction "
                    + "\(validationFraction) in 0...1")
        }
        let xs = Self.cuts(width, blockSize), ys = Self.cuts(height, blockSize)
        var windows: [Window] = []
        var keys: [UInt64] = []
        for (row, y) in ys.enumerated() {
            for (column, x) in xs.enumerated() {
                windows.append(Window(x: x.start, y: y.start, width: x.size, height: y.size))
                keys.append(Self.hash(seed, UInt64(column), UInt64(row)))
            }
        }
        var validationCount = Int((validationFraction * Double(windows.count)).rounded())
        if windows.count >= 2, validationFraction > 0, validationFraction < 1 {
            validationCount = min(max(validationCount, 1), windows.count - 1)
        }
        let ranked = windows.indices.sorted { (keys[$0], $0) < (keys[$1], $1) }
        var roles = [SplitRole](repeating: .training, count: windows.count)
        for index in ranked.prefix(validationCount) { roles[index] = .validation }
        return windows.indices.map { (windows[$0], roles[$0]) }
    }

    /// The blocks of one role, as windows inside the plane.
    public func regions(_ role: SplitRole, width: Int, height: Int) throws -> [Window] {
        try blocks(width: width, height: height).filter { $0.role == role }.map(\.window)
    }

    /// Block starts and sizes along one axis: full blocks, the remainder merged into the last one.
    static func cuts(_ length: Int, _ block: Int) -> [(start: Int, size: Int)] {
        let count = max(1, length / block)
        return (0..<count).map { i in (i * block, i == count - 1 ? length - i * block : block) }
    }

    /// SplitMix64 finaliser over the seed and two indices: well mixed, identical on every machine.
    static func hash(_ seed: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
        var g = SeededGenerator.stream(seed: seed ^ (a &* 0x9E37_79B9_7F4A_7C15), b &+ 1)
        return g.next()
    }
}

/// Train/validation split of a volume collection by patient (or by file): all scans of one patient land in the same
/// split, so the model is never validated on a patient it was trained on.
///
/// Rule: the patient key of each item (by default the item itself) gets a seeded FNV-1a/SplitMix hash; the
/// `round(fraction · patients)` patients with the smallest hashes are validation (at least one of each when there
/// are two or more patients and `0 < fraction < 1`). Adding a patient never moves another between splits unless it
/// changes the rounded count.
///
/// ```swift
/// let files = ["p01_t0.h5:/scan", "p01_t1.h5:/scan", "p02_t0.h5:/scan", "p03_t0.h5:/scan"]
/// let split = PatientSplit(validationFraction: 0.34, seed: 3)
/// let (train, validation) = split.split(files) { String($0.prefix(3)) }   // p01's scans stay together
/// ```
public struct PatientSplit: Sendable, Equatable {
    /// Fraction of patients assigned to validation, in [0, 1].
    public var validationFraction: Double
    public var seed: UInt64

    public init(validationFraction: Double = 0.2, seed: UInt64 = 0) {
        self.validationFraction = validationFraction
        self.seed = seed
    }

    /// The validation patients among `patients` (duplicates ignored).
    public func validationPatients(_ patients: [String]) -> Set<String> {
        let unique = Array(Set(patients))
        var count = Int((validationFraction * Double(unique.count)).rounded())
        if unique.count >= 2, validationFraction > 0, validationFraction < 1 {
            count = min(max(count, 1), unique.count - 1)
        }
        let ranked = unique.sorted { (hash($0), $0) < (hash($1), $1) }
        return Set(ranked.prefix(count))
    }

    /// Splits `items` (files, dataset addresses) keeping each patient's items together; order is kept.
    public func split(_ items: [String], patient: (String) -> String = { $0 }) -> (training: [String],
                                                                                  validation: [String]) {
        let validation = validationPatients(items.map(patient))
        return (items.filter { !validation.contains(patient($0)) }, items.filter { validation.contains(patient($0)) })
    }

    /// FNV-1a over the UTF-8 bytes, then mixed with the seed (Swift's `hashValue` is randomised per process).
    func hash(_ key: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return SpatialSplit.hash(seed, h, 0)
    }
}
