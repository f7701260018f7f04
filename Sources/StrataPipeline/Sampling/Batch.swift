import StrataCore

/// Samples stacked along a leading batch axis, ready for the model.
///
/// Shapes (B samples of h × w; p × p for patches, 1 × 1 for pixel series):
/// - `values` float32 `[B, T, C, h, w]`; `mask` uint8 `[B, T, h, w]`;
/// - `target` float32 `[B, K, h, w]` or `[B, T, K, h, w]`; `targetMask` uint8 `[B, h, w]` or `[B, T, h, w]`;
/// - `positions[b]` says where sample b came from (its top-left pixel and plane).
///
/// ```swift
/// let batch = try Batch(stacking: [a, b], positions: [pa, pb])
/// batch.values.shape   // [2, T, C, 32, 32]
/// ```
public struct Batch: Sendable {
    public var values: Tensor
    public var mask: Tensor
    public var target: Tensor?
    public var targetMask: Tensor?
    public var positions: [SamplePosition]

    /// Number of samples, B.
    public var count: Int { positions.count }

    public init(values: Tensor, mask: Tensor, target: Tensor?, targetMask: Tensor?, positions: [SamplePosition]) {
        self.values = values
        self.mask = mask
        self.target = target
        self.targetMask = targetMask
        self.positions = positions
    }

    /// Stacks samples of equal shapes (all with a target, or none).
    public init(stacking samples: [Sample], positions: [SamplePosition]) throws {
        guard let first = samples.first, samples.count == positions.count else {
            throw StrataError.invalidArgument(
                name: "batch", reason: "\(samples.count) samples for \(positions.count) positions; need at least one")
        }
        values = try Self.stack(samples.map(\.values))
        mask = try Self.stack(samples.map(\.mask))
        if first.target != nil {
            target = try Self.stack(samples.map { $0.target ?? Tensor(zeros: [0]) })
            targetMask = try Self.stack(samples.map { $0.targetMask ?? Tensor(zeros: [0], dtype: .uint8) })
        }
        self.positions = positions
    }

    /// `[S...]` tensors of one dtype → `[B, S...]`.
    static func stack(_ parts: [Tensor]) throws -> Tensor {
        let shape = parts[0].shape, dtype = parts[0].dtype
        guard parts.allSatisfy({ $0.shape == shape && $0.dtype == dtype }) else {
            throw StrataError.internalError("samples of different shapes in one batch: \(parts.map(\.shape))")
        }
        var out = Tensor(zeros: [parts.count] + shape, dtype: dtype)
        let size = parts[0].byteCount
        out.withMutableRawBytes { destination in
            for (index, part) in parts.enumerated() {
                part.withRawBytes { source in
                    if size > 0 {
                        (destination.baseAddress! + index * size).copyMemory(from: source.baseAddress!, byteCount: size)
                    }
                }
            }
        }
        return out
    }
}
