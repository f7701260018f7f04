import StrataCore

/// Argument checks and the validity mask the layers read.
extension RecurrentModel {
    private func fail(_ name: String, _ reason: String) -> StrataError { .invalidArgument(name: name, reason: reason) }

    /// Checks input `[B, T, channels, H, W]` float32 (and the per-pixel peephole size) and returns its geometry;
    /// `channels` is `Cin` at the API, `Cin·s²` once folded (``SpaceToDepth``).
    func checkInput(_ input: Tensor, channels: Int) throws -> SequenceGeometry {
        guard input.dtype == .float32 else { throw fail("input", "must be float32, got \(input.dtype.rawValue)") }
        let s = input.shape
        guard s.count == 5, s[2] == channels, s.allSatisfy({ $0 >= 1 }) else {
            throw fail("input", "shape \(s), expected [B, T, \(channels), H, W] with every size >= 1")
        }
        if config.peephole == .perPixel, let size = config.peepholeSize, size != [s[3], s[4]] {
            throw fail("input", "per-pixel peepholes tie the model to \(size[0])×\(size[1]) pixels, "
                + "got \(s[3])×\(s[4])")
        }
        return SequenceGeometry(steps: s[1], batch: s[0], height: s[3], width: s[4])
    }

    /// The mask the layers read, `[T, B, HW]` (1 valid, 0 masked), from a `[B, T, H, W]` mask and per-sample
    /// lengths; nil when neither is given or every step of every pixel is valid.
    func effectiveMask(_ mask: Tensor?, lengths: [Int]?, geometry g: SequenceGeometry) throws -> UnsafePointer<UInt8>? {
        if mask == nil && lengths == nil { return nil }
        let hw = g.pixels
        if let mask { try checkMask(mask, geometry: g) }
        if let lengths {
            guard lengths.count == g.batch else {
                throw fail("lengths", "\(lengths.count) values for a batch of \(g.batch)")
            }
            if let bad = lengths.first(where: { $0 < 0 || $0 > g.steps }) {
                throw fail("lengths", "\(bad) is outside 0...\(g.steps) (the number of time steps)")
            }
        }
        let out = maskBuffer.ensure(g.steps * g.batch * hw)
        var masked = 0
        for t in 0..<g.steps {
            for b in 0..<g.batch {
                let dst = out + (t * g.batch + b) * hw
                if let lengths, t >= lengths[b] {
                    dst.update(repeating: 0, count: hw)
                    masked += hw
                } else if let mask {
                    mask.withRawBytes { raw in
                        let src = raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + (b * g.steps + t) * hw
                        for q in 0..<hw { dst[q] = src[q] != 0 ? 1 : 0 }
                    }
                    for q in 0..<hw { masked &+= Int(1 &- dst[q]) }
                } else {
                    dst.update(repeating: 1, count: hw)
                }
            }
        }
        // Every pixel valid at every step (a prediction tile inside the data, a batch without nodata): the masked
        // state update would copy each state onto itself, so run the unmasked path, bit-identical and without
        // that pass over the states (13 % of a prediction's time in `perf`).
        return masked == 0 ? nil : UnsafePointer(out)
    }

    /// Checks a mask is uint8 `[B, T, H, W]` for input of geometry `g`.
    func checkMask(_ mask: Tensor, geometry g: SequenceGeometry) throws {
        guard mask.dtype == .uint8 else {
            throw fail("mask", "must be uint8 (nonzero valid), got \(mask.dtype.rawValue)")
        }
        guard mask.shape == [g.batch, g.steps, g.height, g.width] else {
            throw fail("mask", "shape \(mask.shape), expected [B, T, H, W] = \([g.batch, g.steps, g.height, g.width])")
        }
    }

    /// Checks a state (or state gradient) has one `[B, Ch, H, W]` float32 entry per layer and direction, with c
    /// exactly for a ConvLSTM.
    func checkState(_ state: RecurrentState?, geometry g: SequenceGeometry, name: String) throws {
        guard let state else { return }
        guard state.layers.count == config.hidden.count else {
            throw fail(name, "\(state.layers.count) layers, the model has \(config.hidden.count)")
        }
        for (i, layer) in state.layers.enumerated() {
            guard layer.count == config.directions else {
                throw fail("\(name).layers[\(i)]", "\(layer.count) directions, the model has \(config.directions)")
            }
            let shape = [g.batch, config.hidden[i], g.height, g.width]
            for (d, s) in layer.enumerated() {
                let at = "\(name).layers[\(i)][\(d)]"
                guard s.hidden.dtype == .float32, s.hidden.shape == shape else {
                    throw fail(at, "hidden is \(s.hidden.dtype.rawValue) \(s.hidden.shape), expected float32 \(shape)")
                }
                if config.cell == .convLSTM {
                    guard let c = s.cell, c.dtype == .float32, c.shape == shape else {
                        throw fail(at, "a ConvLSTM state needs a float32 cell state \(shape)")
                    }
                } else if s.cell != nil {
                    throw fail(at, "only a ConvLSTM has a cell state")
                }
            }
        }
    }
}
