import StrataCore

extension ModelConfig {

    /// Directions per layer: 1, or 2 when bidirectional.
    public var directions: Int { bidirectional ? 2 : 1 }

    /// Channels the head sees: the last layer's hidden channels times the directions.
    public var headInputChannels: Int { hidden.last! * directions }

    /// Channels the first recurrent layer reads per step: `input_channels · s²` after ``spaceToDepth`` folding.
    public var foldedInputChannels: Int { inputChannels * spaceToDepth * spaceToDepth }

    /// Channels the head writes per folded pixel: a 1×1 head writes `O · s²` (one per output and position in the
    /// s × s block, unfolded afterwards); a pooled head `O`.
    public var headOutputChannels: Int {
        head.kind == .conv1x1 ? head.outputs * spaceToDepth * spaceToDepth : head.outputs
    }

    /// Checks the configuration as a user would write it, naming the key at fault.
    public func validate() throws {
        func fail(_ key: String, _ reason: String) -> StrataError { .invalidArgument(name: "model.\(key)", reason: reason) }
        guard inputChannels >= 1 else { throw fail("input_channels", "must be at least 1, got \(inputChannels)") }
        guard !hidden.isEmpty else { throw fail("hidden", "needs at least one layer") }
        guard hidden.allSatisfy({ $0 >= 1 }) else { throw fail("hidden", "every layer needs at least 1 channel: \(hidden)") }
        guard kernel.count == hidden.count else {
            throw fail("kernel", "needs one size per layer: \(hidden.count) layers, \(kernel.count) kernel sizes")
        }
        guard kernel.allSatisfy({ $0 >= 1 && $0 % 2 == 1 }) else { throw fail("kernel", "sizes must be odd: \(kernel)") }
        if peephole != .none, cell != .convLSTM { throw fail("peephole", "only a ConvLSTM has peepholes") }
        if peephole == .perPixel {
            guard let size = peepholeSize, size.count == 2, size.allSatisfy({ $0 >= 1 }) else {
                throw fail("peephole_size", "per_pixel peepholes need [H, W]")
            }
        }
        guard spaceToDepth >= 1 else { throw fail("space_to_depth", "must be at least 1, got \(spaceToDepth)") }
        if spaceToDepth > 1, peephole == .perPixel {
            throw fail("space_to_depth", "per_pixel peepholes tie the model to one window size; with space_to_depth "
                       + "\(spaceToDepth) use per_channel peepholes")
        }
        guard head.outputs >= 1 else { throw fail("head.outputs", "must be at least 1, got \(head.outputs)") }
        if architecture == .encoderForecaster {
            guard let k = forecastSteps, k >= 1 else {
                throw fail("forecast_steps", "the encoder-forecaster needs forecast_steps >= 1")
            }
            if bidirectional { throw fail("bidirectional", "the encoder-forecaster runs forward in time only") }
        }
    }

    /// Every parameter tensor of the model with its shape, in a stable order: the checkpoint's tensor names.
    ///
    /// Layout follows PyTorch: a recurrent layer's gate convolution is `[G·Ch, Cin + Ch, k, k]` with the input
    /// channels `x` first and `h` second, LSTM gate blocks in the order i, f, g, o.
    ///
    /// | name | shape |
    /// |---|---|
    /// | `<layer>.weight`, `<layer>.bias` (LSTM, RNN) | `[G·Ch, Cin+Ch, k, k]`, `[G·Ch]` |
    /// | `<layer>.w_ci`, `w_cf`, `w_co` (LSTM peepholes) | `[Ch, 1, 1]` per channel, `[Ch, H, W]` per pixel |
    /// | `<layer>.weight_gates`, `bias_gates` (GRU: r, u) | `[2·Ch, Cin+Ch, k, k]`, `[2·Ch]` |
    /// | `<layer>.weight_candidate`, `bias_candidate` (GRU) | `[Ch, Cin+Ch, k, k]`, `[Ch]` |
    /// | `head.weight`, `head.bias` (conv1x1) | `[O·s², Ch_last·dirs, 1, 1]`, `[O·s²]` |
    /// | `head.weight`, `head.bias` (pool_dense) | `[O, Ch_last·dirs]`, `[O]` |
    ///
    /// `<layer>` is `layers.<i>` for the forward direction of a stack, `layers.<i>.reverse` for the backward
    /// direction of a bidirectional layer, and `encoder.layers.<i>` / `forecaster.layers.<i>` for the
    /// encoder–forecaster, whose forecaster has no input (`Cin = 0` for its first layer: Shi et al. 2015).
    /// Layer `i > 0` takes `Cin = hidden[i-1] · dirs`; the first layer `Cin = input_channels · s²` and s = 1 unless
    /// ``spaceToDepth`` folds pixel blocks into channels (a 1×1 head's output `c·s² + dy·s + dx` is output c at
    /// offset (dy, dx) of the block, as PyTorch's `pixel_shuffle`).
    public func parameterShapes() -> [(name: String, shape: [Int])] {
        var shapes: [(name: String, shape: [Int])] = []
        func addLayers(prefix: String, firstInput: Int) {
            for (i, ch) in hidden.enumerated() {
                let cin = i == 0 ? firstInput : hidden[i - 1] * directions
                let k = kernel[i]
                for direction in 0..<directions {
                    let name = "\(prefix)layers.\(i)" + (direction == 1 ? ".reverse" : "")
                    switch cell {
                    case .convLSTM, .convRNN:
                        let g = cell == .convLSTM ? 4 : 1
                        shapes.append(("\(name).weight", [g * ch, cin + ch, k, k]))
                        shapes.append(("\(name).bias", [g * ch]))
                        if cell == .convLSTM, peephole != .none {
                            let spatial = peephole == .perPixel ? peepholeSize! : [1, 1]
                            for gate in ["w_ci", "w_cf", "w_co"] { shapes.append(("\(name).\(gate)", [ch] + spatial)) }
                        }
                    case .convGRU:
                        shapes.append(("\(name).weight_gates", [2 * ch, cin + ch, k, k]))
                        shapes.append(("\(name).bias_gates", [2 * ch]))
                        shapes.append(("\(name).weight_candidate", [ch, cin + ch, k, k]))
                        shapes.append(("\(name).bias_candidate", [ch]))
                    }
                }
            }
        }
        switch architecture {
        case .stack:
            addLayers(prefix: "", firstInput: foldedInputChannels)
        case .encoderForecaster:
            addLayers(prefix: "encoder.", firstInput: foldedInputChannels)
            addLayers(prefix: "forecaster.", firstInput: 0)
        }
        switch head.kind {
        case .conv1x1: shapes.append(("head.weight", [headOutputChannels, headInputChannels, 1, 1]))
        case .poolDense: shapes.append(("head.weight", [headOutputChannels, headInputChannels]))
        }
        shapes.append(("head.bias", [headOutputChannels]))
        return shapes
    }
}
