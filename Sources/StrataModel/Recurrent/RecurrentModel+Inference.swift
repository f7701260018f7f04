import StrataCore

/// Inference in chunks of time steps: the same outputs as ``RecurrentModel/forward(_:mask:lengths:initialState:)``
/// with a fraction of its memory.
///
/// Training keeps every step's gates and states for backward: per layer `[T, B, 4·Ch, HW]` pre-activations and
/// `[T + 1, B, Ch, HW]` states, about 250 MB for one 256 × 256 prediction tile of 12 steps and 16 channels. A
/// unidirectional model can instead read the series in chunks, each continuing from the previous chunk's final state
/// (stateful continuation, bit-identical to one pass), so the buffers hold one chunk of steps.
extension RecurrentModel {
    /// Steps per chunk of ``infer(_:mask:lengths:initialState:chunkSteps:)``: a chunk's input projection is still one
    /// convolution over `chunk · B` images, large enough for the GEMM, while the buffers shrink by T / chunk.
    public static let inferenceChunkSteps = 4

    /// The outputs of ``forward(_:mask:lengths:initialState:)`` (same logits and final state, bit for bit) without
    /// keeping what backward needs, reading the series `chunkSteps` steps at a time when the model allows it.
    ///
    /// A bidirectional model needs the whole series in both directions, and a `pool_dense` head on the last state
    /// with a mask or lengths pools over the pixels valid at some step of the whole series: those run in one pass.
    /// The encoder–forecaster runs its forecaster and head once, after the last chunk. ``backward(outputGradient:
    /// finalStateGradient:computeInputGradient:)`` cannot follow.
    ///
    /// ```swift
    /// let logits = try model.infer(tile, mask: valid).logits     // [1, T, O, H, W] for a sequence head
    /// ```
    ///
    /// - Throws: as ``forward(_:mask:lengths:initialState:)``.
    public func infer(_ input: Tensor, mask: Tensor? = nil, lengths: [Int]? = nil,
                      initialState: RecurrentState? = nil,
                      chunkSteps: Int = RecurrentModel.inferenceChunkSteps) throws -> Output {
        defer { pass = nil }
        let steps = input.shape.count == 5 ? input.shape[1] : 0
        let pooledOverSeries = config.head.kind == .poolDense && config.output == .last
            && (mask != nil || lengths != nil)
        guard config.directions == 1, !pooledOverSeries, chunkSteps >= 1, steps > chunkSteps else {
            return try forward(input, mask: mask, lengths: lengths, initialState: initialState)
        }
        // A stack with a sequence head emits logits every step; otherwise only the last chunk's head counts.
        let everyStep = forecaster.isEmpty && config.output == .sequence
        var state = initialState
        var pieces: [Tensor] = []
        for start in stride(from: 0, to: steps, by: chunkSteps) {
            let range = start..<min(start + chunkSteps, steps), last = range.upperBound == steps
            let chunkLengths = lengths?.map { max(0, min(range.count, $0 - start)) }
            let output = try run(Self.steps(range, of: input), mask: mask.map { Self.steps(range, of: $0) },
                                 lengths: chunkLengths, initialState: state, encoderOnly: !last && !everyStep)
            if everyStep { pieces.append(output.logits) }
            if last {
                return Output(logits: everyStep ? Self.concatenateSteps(pieces) : output.logits,
                              finalState: output.finalState)
            }
            state = output.finalState
        }
        preconditionFailure("the last chunk returns")
    }

    /// Steps `range` of a batch-major `[B, T, ...]` tensor (any dtype): `[B, range.count, ...]`.
    static func steps(_ range: Range<Int>, of tensor: Tensor) -> Tensor {
        let s = tensor.shape, batch = s[0], steps = s[1]
        let stepBytes = s[2...].reduce(1, *) * tensor.dtype.size
        var out = Tensor(zeros: [batch, range.count] + s[2...], dtype: tensor.dtype)
        tensor.withRawBytes { src in
            out.withMutableRawBytes { dst in
                for b in 0..<batch {
                    dst.baseAddress!.advanced(by: b * range.count * stepBytes).copyMemory(
                        from: src.baseAddress!.advanced(by: (b * steps + range.lowerBound) * stepBytes),
                        byteCount: range.count * stepBytes)
                }
            }
        }
        return out
    }

    /// Float32 `[B, T_i, ...]` pieces joined along the steps: `[B, ΣT_i, ...]`.
    static func concatenateSteps(_ pieces: [Tensor]) -> Tensor {
        let s = pieces[0].shape, batch = s[0], step = s[2...].reduce(1, *)
        let total = pieces.reduce(0) { $0 + $1.shape[1] }
        var out = Tensor(zeros: [batch, total] + s[2...])
        out.withMutableFloats { dst in
            var offset = 0
            for piece in pieces {
                let n = piece.shape[1]
                piece.withFloats { src in
                    for b in 0..<batch {
                        (dst.baseAddress! + (b * total + offset) * step)
                            .update(from: src.baseAddress! + b * n * step, count: n * step)
                    }
                }
                offset += n
            }
        }
        return out
    }
}
