import StrataCore

/// Backpropagation through the head, the forecaster and the stack, in that order.
extension RecurrentModel {
    /// Adds ∂L/∂parameter into every ``Parameter/gradient`` for the last ``forward(_:mask:lengths:initialState:)``.
    ///
    /// - Parameters:
    ///   - outputGradient: ∂L/∂logits, the shape of the last forward's logits (full resolution with
    ///     ``ModelConfig/spaceToDepth``; the input gradient is too).
    ///   - finalStateGradient: ∂L/∂ the returned final state (nil: the loss does not depend on it).
    ///   - computeInputGradient: also return ∂L/∂input (one more convolution pass; off for training).
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` without a forward pass (backward runs once per
    ///   forward) or on a shape mismatch.
    ///
    /// ```swift
    /// let out = try model.forward(x)
    /// let (loss, dLogits) = BinaryCrossEntropyLoss().evaluate(prediction: out.logits, target: y, mask: nil)
    /// try model.backward(outputGradient: dLogits)
    /// ```
    @discardableResult
    public func backward(outputGradient: Tensor, finalStateGradient: RecurrentState? = nil,
                         computeInputGradient: Bool = false) throws -> Gradients {
        guard let fold, let pass else {
            return try backwardFolded(outputGradient: outputGradient, finalStateGradient: finalStateGradient,
                                      computeInputGradient: computeInputGradient)
        }
        // Folding only moves values, so its gradient is the unfold of the folded gradient and the other way round.
        var foldedGradient = outputGradient
        if config.head.kind == .conv1x1 {
            let logits = pass.logitsShape, expected = Array(logits.dropLast(3))
                + [logits[logits.count - 3] / (fold.factor * fold.factor), fold.height, fold.width]
            guard outputGradient.dtype == .float32, outputGradient.shape == expected else {
                throw StrataError.invalidArgument(name: "outputGradient", reason: "\(outputGradient.dtype.rawValue) "
                    + "\(outputGradient.shape), expected float32 \(expected) like the logits")
            }
            foldedGradient = fold.fold(outputGradient)
        }
        var gradients = try backwardFolded(outputGradient: foldedGradient, finalStateGradient: finalStateGradient,
                                           computeInputGradient: computeInputGradient)
        gradients.input = gradients.input.map { folded in
            var input = fold.unfold(folded)
            // Masked values were replaced by 0 before folding: the loss does not depend on them.
            if let mask = foldInputMask { SpaceToDepth.zeroMasked(&input, mask: mask) }
            return input
        }
        return gradients
    }

    /// ``backward(outputGradient:finalStateGradient:computeInputGradient:)`` at the folded resolution.
    private func backwardFolded(outputGradient: Tensor, finalStateGradient: RecurrentState?,
                                computeInputGradient: Bool) throws -> Gradients {
        guard let pass else {
            throw StrataError.invalidArgument(name: "backward", reason: "needs a forward pass first (one backward "
                + "per forward: it turns the stored gates into their gradients in place)")
        }
        guard outputGradient.dtype == .float32, outputGradient.shape == pass.logitsShape else {
            throw StrataError.invalidArgument(name: "outputGradient", reason: "\(outputGradient.dtype.rawValue) "
                + "\(outputGradient.shape), expected float32 \(pass.logitsShape) like the logits")
        }
        // The cells overwrite the forward's gates with dz, so a second backward would read gradients as gates.
        self.pass = nil
        let g = pass.geometry, top = pass.topGeometry
        try checkState(finalStateGradient, geometry: g, name: "finalStateGradient")

        // Head: batch-major logits gradient to the head's time-major images.
        let perImage = head.outputCount(pixels: top.pixels)
        let images = pass.sequenceHead ? top.steps * top.batch : top.batch
        let dLogits = logitsGradient.ensure(images * perImage)
        outputGradient.withFloats { src in
            if pass.sequenceHead {
                Vector.swapLeadingAxes(src.baseAddress!, dLogits, outer: top.batch, inner: top.steps, block: perImage)
            } else {
                dLogits.update(from: src.baseAddress!, count: images * perImage)
            }
        }
        let topLevel = forecaster.last ?? encoder.last!
        var topOut = OutputGradient.none
        // The last-state head's gradient, split per direction of the top layer: [B, Ch, HW] each.
        var headFinal: [UnsafePointer<Float>?] = Array(repeating: nil, count: config.directions)
        if pass.sequenceHead, let convHead = head as? ConvHead, topLevel.directions.count == 1 {
            // A 1×1 head over every step: the time loop takes each step's feature gradient when it needs it.
            convHead.backwardWeights(outputGradient: UnsafePointer(dLogits), imagesPerStep: top.batch)
            topOut = .perStep { step, dh in
                convHead.addFeatureGradient(outputGradient: UnsafePointer(dLogits), step: step, into: dh)
            }
        } else if pass.sequenceHead {
            topOut = .sequence(head.backward(outputGradient: UnsafePointer(dLogits)))
        } else {
            let dFeatures = head.backward(outputGradient: UnsafePointer(dLogits))
            let item = topLevel.hiddenChannels * top.pixels, dirs = topLevel.directions.count
            for d in 0..<dirs {
                let buffer = forecaster.isEmpty ? finalHiddenGradient[encoder.count - 1][d]
                    : levelInputGradient[levelInputGradient.count - 1]
                let dst = buffer.ensure(top.batch * item)
                for b in 0..<top.batch { (dst + b * item).update(from: dFeatures + (b * dirs + d) * item, count: item) }
                headFinal[d] = UnsafePointer(dst)
            }
        }

        // Forecaster (top down); its initial-state gradients become the encoder's final-state gradients.
        var encoderFinal: [[(h: UnsafePointer<Float>?, c: UnsafePointer<Float>?)]] =
            encoder.map { _ in Array(repeating: (nil, nil), count: config.directions) }
        if !forecaster.isEmpty {
            var dOut = topOut
            for i in stride(from: forecaster.count - 1, through: 0, by: -1) {
                let level = forecaster[i]
                let final: [(h: UnsafePointer<Float>?, c: UnsafePointer<Float>?)] =
                    [(i == forecaster.count - 1 ? headFinal[0] : nil, nil)]
                let dx = i > 0 ? levelInputGradient[encoder.count + i - 1]
                    .ensure(top.steps * top.batch * forecaster[i - 1].outputChannels * top.pixels) : nil
                level.backward(dOut: dOut, final: final, dx: dx, accumulateDx: false)
                dOut = dx.map { .sequence(UnsafePointer($0)) } ?? .none
                let layer = level.directions[0]
                encoderFinal[i][0] = (layer.initialHiddenGradient, layer.initialCellGradient)
            }
        } else {
            for d in 0..<config.directions { encoderFinal[encoder.count - 1][d].h = headFinal[d] }
        }
        // Add the caller's final-state gradient.
        if let finalStateGradient {
            for i in encoder.indices {
                for d in 0..<config.directions {
                    let s = finalStateGradient.layers[i][d], n = encoder[i].directions[d].stateCount
                    encoderFinal[i][d].h = merge(encoderFinal[i][d].h, s.hidden.floatPointer, n,
                                                 into: finalHiddenGradient[i][d])
                    if let c = s.cell {
                        encoderFinal[i][d].c = merge(encoderFinal[i][d].c, c.floatPointer, n,
                                                     into: finalCellGradient[i][d])
                    }
                }
            }
        }

        // The stack or encoder, top down.
        var dOut = forecaster.isEmpty ? topOut : .none
        let layout = InputLayout(geometry: g, channels: config.foldedInputChannels)
        for i in stride(from: encoder.count - 1, through: 0, by: -1) {
            var dx: UnsafeMutablePointer<Float>?
            if i > 0 {
                dx = levelInputGradient[i - 1].ensure(g.steps * g.batch * encoder[i - 1].outputChannels * g.pixels)
            } else if computeInputGradient {
                dx = inputGradientBuffer.ensure(layout.count)
            }
            encoder[i].backward(dOut: dOut, final: encoderFinal[i], dx: dx, accumulateDx: false)
            dOut = dx.map { .sequence(UnsafePointer($0)) } ?? .none
        }

        var input: Tensor?
        if computeInputGradient {
            var t = Tensor(zeros: [g.batch, g.steps, config.foldedInputChannels, g.height, g.width])
            t.withMutableFloats {
                Vector.swapLeadingAxes(inputGradientBuffer.pointer, $0.baseAddress!, outer: g.steps, inner: g.batch,
                                       block: layout.block)
            }
            input = t
        }
        let initial = RecurrentState(layers: encoder.map { level in
            level.directions.map { layer in
                let shape = [g.batch, layer.hiddenChannels, g.height, g.width]
                var h = Tensor(zeros: shape)
                h.withMutableFloats {
                    $0.baseAddress!.update(from: layer.initialHiddenGradient, count: layer.stateCount)
                }
                var c: Tensor?
                if let dc = layer.initialCellGradient {
                    var t = Tensor(zeros: shape)
                    t.withMutableFloats { $0.baseAddress!.update(from: dc, count: layer.stateCount) }
                    c = t
                }
                return RecurrentState.LayerState(hidden: h, cell: c)
            }
        })
        return Gradients(input: input, initialState: initial)
    }

    /// a + b into `buffer` (a may be nil, or already live in `buffer`).
    private func merge(_ a: UnsafePointer<Float>?, _ b: UnsafePointer<Float>, _ count: Int,
                       into buffer: FloatBuffer) -> UnsafePointer<Float> {
        if let a, a == UnsafePointer(buffer.pointer) {
            Vector.add(b, into: buffer.pointer, count: count)
        } else {
            let dst = buffer.ensure(count)
            dst.update(from: b, count: count)
            if let a { Vector.add(a, into: dst, count: count) }
        }
        return UnsafePointer(buffer.pointer)
    }
}
