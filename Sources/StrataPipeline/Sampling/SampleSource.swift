import StrataCore
import StrataIO

/// Where one patch lies: which source of a sampler, which plane (0 for rasters, the slice for volumes) and the
/// top-left pixel of the `p × p` patch.
public struct SamplePosition: Hashable, Sendable, Codable {
    /// Index into the sampler's sources.
    public var source: Int
    /// Plane (volume slice), 0 for rasters.
    public var plane: Int
    /// Column and row of the patch's top-left pixel.
    public var x: Int
    public var y: Int

    public init(source: Int = 0, plane: Int = 0, x: Int, y: Int) {
        self.source = source
        self.plane = plane
        self.x = x
        self.y = y
    }
}

/// One training sample: a window of the input and, when the source has one, of the target.
///
/// Shapes (h × w is the window, p × p for patches):
/// - `values` float32 `[T, C, h, w]`, normalised when the source has statistics; 0 wherever `mask` is 0;
/// - `mask` uint8 `[T, h, w]`;
/// - `target` float32 `[K, h, w]` (one target step) or `[T, K, h, w]` (a target per step); 0 where invalid;
/// - `targetMask` uint8 `[h, w]` or `[T, h, w]`.
public struct Sample: Sendable {
    public var window: Window
    public var plane: Int
    public var values: Tensor
    public var mask: Tensor
    public var target: Tensor?
    public var targetMask: Tensor?

    public init(window: Window, plane: Int = 0, values: Tensor, mask: Tensor, target: Tensor? = nil,
                targetMask: Tensor? = nil) {
        self.window = window
        self.plane = plane
        self.values = values
        self.mask = mask
        self.target = target
        self.targetMask = targetMask
    }
}

/// One stack (and optionally its target) prepared for sampling: patch size, the region patches may come from (the
/// whole plane or one side of a ``SpatialSplit``) and the normalisation applied on read.
///
/// Targets: a label stack on the same grid (change mask, lesion labels, yield), K bands, read with the same
/// windows. With one step it is one target per sample `[K, p, p]`; with T steps (as many as the input) a target per
/// step `[T, K, p, p]`. Target values are not normalised.
///
/// Invalid positions: values and targets hold 0 wherever their mask is 0, whether or not statistics are given (see
/// ``NormalizationStats/apply(to:mask:)``), so NaN or nodata never reaches the model or the loss.
///
/// ```swift
/// let source = try SampleSource(input: RasterPlanes(stack), target: RasterPlanes(labels), patchSize: 32,
///                               split: SpatialSplit(blockSize: 256, validationFraction: 0.2, seed: 1),
///                               role: .training, normalization: stats)
/// let sample = try source.sample(at: SamplePosition(x: 64, y: 96))   // values [T, C, 32, 32]
/// ```
public final class SampleSource {
    public let input: any PlaneStack
    public let target: (any PlaneStack)?
    /// Patch side p, pixels.
    public let patchSize: Int
    /// Rectangles patches lie wholly inside: the whole plane, or the blocks of one split (each at least p × p).
    public let regions: [Window]
    public let normalization: NormalizationStats?

    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` when the target's grid, planes or steps do not fit the
    ///   input, the statistics' channels differ from the input's, the patch is larger than the plane or a split
    ///   block, or the chosen split side has no block.
    public init(input: any PlaneStack, target: (any PlaneStack)? = nil, patchSize: Int, split: SpatialSplit? = nil,
                role: SplitRole = .training, normalization: NormalizationStats? = nil) throws {
        guard patchSize >= 1, patchSize <= input.width, patchSize <= input.height else {
            throw StrataError.invalidArgument(
                name: "patch",
                reason: "\(patchSize) must be between 1 and the plane size \(input.width)×\(input.height)")
        }
        if let target {
            guard target.width == input.width, target.height == input.height, target.planes == input.planes else {
                throw StrataError.invalidArgument(
                    name: "target", reason: "\(target.width)×\(target.height)×\(target.planes) planes does not match "
                        + "the input's \(input.width)×\(input.height)×\(input.planes)")
            }
            guard target.steps == 1 || target.steps == input.steps else {
                throw StrataError.invalidArgument(
                    name: "target", reason: "has \(target.steps) steps; expected 1 or the input's \(input.steps)")
            }
        }
        if let normalization, normalization.channels != input.channels {
            throw StrataError.invalidArgument(
                name: "normalization", reason: "\(normalization.channels) channels for an input of \(input.channels)")
        }
        if let split {
            guard patchSize <= split.blockSize else {
                throw StrataError.invalidArgument(
                    name: "patch", reason: "\(patchSize) is larger than the split block \(split.blockSize)")
            }
            regions = try split.regions(role, width: input.width, height: input.height)
            guard !regions.isEmpty else {
                throw StrataError.invalidArgument(name: "split", reason: "no \(role.rawValue) block in the plane")
            }
        } else {
            regions = [Window(x: 0, y: 0, width: input.width, height: input.height)]
        }
        self.input = input
        self.target = target
        self.patchSize = patchSize
        self.normalization = normalization
    }

    /// True when the target has one step per input step.
    public var perStepTarget: Bool { (target?.steps ?? 1) > 1 }

    /// Patches each plane offers by the grid rule: in every region, rows and columns of patches every p pixels from
    /// the region's corner, the last row and column shifted back to end exactly at the region's edge, so every pixel
    /// of the region is in at least one patch and patches overlap only at the far edges.
    ///
    /// ```swift
    /// SampleSource.gridStarts(length: 70, patch: 32)   // [0, 32, 38]
    /// ```
    public func gridPositions(source index: Int = 0) -> [SamplePosition] {
        var result: [SamplePosition] = []
        for plane in 0..<input.planes {
            for region in regions {
                for y in Self.gridStarts(length: region.height, patch: patchSize) {
                    for x in Self.gridStarts(length: region.width, patch: patchSize) {
                        result.append(SamplePosition(source: index, plane: plane, x: region.x + x, y: region.y + y))
                    }
                }
            }
        }
        return result
    }

    /// Offsets of patches along one axis of `length` pixels: `0, p, 2p, …` and a last one at `length - p`.
    public static func gridStarts(length: Int, patch: Int) -> [Int] {
        var starts = Array(stride(from: 0, through: length - patch, by: patch))
        if let last = starts.last, last + patch < length { starts.append(length - patch) }
        return starts
    }

    /// Number of distinct patch positions in each region of one plane (for area-weighted random sampling).
    var positionsPerRegion: [Int] {
        regions.map { ($0.width - patchSize + 1) * ($0.height - patchSize + 1) }
    }

    /// Reads the patch at `position` (its `source` field is ignored).
    public func sample(at position: SamplePosition) throws -> Sample {
        try read(window: Window(x: position.x, y: position.y, width: patchSize, height: patchSize),
                 plane: position.plane)
    }

    /// Reads any window of one plane as a sample: values normalised (if statistics were given) and 0 where invalid,
    /// target and target mask when the source has a target.
    public func read(window: Window, plane: Int) throws -> Sample {
        var tile = try input.read(window: window, plane: plane)
        if let normalization {
            normalization.apply(to: &tile.values, mask: tile.mask)
        } else {
            Self.zeroInvalid(&tile.values, mask: tile.mask)
        }
        var sample = Sample(window: window, plane: plane, values: tile.values, mask: tile.mask)
        if let target {
            var labels = try target.read(window: window, plane: plane)
            Self.zeroInvalid(&labels.values, mask: labels.mask)
            if perStepTarget {
                sample.target = labels.values
                sample.targetMask = labels.mask
            } else {
                let (k, h, w) = (labels.values.shape[1], window.height, window.width)
                sample.target = labels.values.reshaped([k, h, w])
                sample.targetMask = labels.mask.reshaped([h, w])
            }
        }
        return sample
    }

    /// Sets values `[T, C, h, w]` to 0 where the mask `[T, h, w]` is 0.
    static func zeroInvalid(_ values: inout Tensor, mask: Tensor) {
        let (t, c, area) = (values.shape[0], values.shape[1], values.shape[2] * values.shape[3])
        values.withMutableFloats { v in
            mask.withRawBytes { m in
                for step in 0..<t {
                    for k in 0..<area where m[step * area + k] == 0 {
                        for channel in 0..<c { v[(step * c + channel) * area + k] = 0 }
                    }
                }
            }
        }
    }

    /// The region containing pixel (x, y), if any.
    func region(containing x: Int, _ y: Int) -> Window? {
        regions.first { x >= $0.x && x < $0.x + $0.width && y >= $0.y && y < $0.y + $0.height }
    }
}
