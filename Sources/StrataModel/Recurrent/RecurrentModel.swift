import StrataCore

/// A recurrent model built from a ``ModelConfig``: ConvLSTM / ConvGRU / ConvRNN layers (stacked, optionally
/// bidirectional, or the encoder–forecaster of Shi et al. 2015) and a head, trained by hand-written
/// backpropagation through time on Strata's CPU kernels.
///
/// Legend: B batch, T time steps, K forecast steps, Cin input channels, Ch hidden channels, O head outputs,
/// H height, W width.
///
/// Layouts at the API (batch-major, as the data arrives):
/// - input `[B, T, Cin, H, W]` float32; mask `[B, T, H, W]` uint8 (nonzero = valid); lengths: B counts in 0...T
///   (steps at or beyond a sample's length are masked for all its pixels).
/// - logits: 1×1 head `[B, T, O, H, W]` for `output: sequence`, `[B, O, H, W]` for `last`; pool_dense head
///   `[B, T, O]` / `[B, O]`. The encoder–forecaster has K steps in place of T.
///
/// Inside, sequences are time-major (`[T, B, C, HW]`) so one step of the whole batch is contiguous for the kernels.
///
/// ```swift
/// let config = ModelConfig(cell: .convLSTM, inputChannels: 1, hidden: [16], kernel: [3], output: .last,
///                          head: HeadConfig(kind: .conv1x1, outputs: 1, activation: .sigmoid))
/// let model = try RecurrentModel(config: config, seed: 1)
/// let optimizer = Adam(parameters: model.parameters, learningRate: 1e-3)
/// let loss = try model.trainStep(input: x, target: y, loss: BinaryCrossEntropyLoss(), optimizer: optimizer)
/// let probability = try model.predict(x)        // sigmoid applied
/// ```
public final class RecurrentModel {
    /// What ``forward(_:mask:lengths:initialState:)`` returns.
    public struct Output {
        /// Raw head outputs (no activation), layout in the type's documentation.
        public var logits: Tensor
        /// The recurrent state after the last step (of the encoder, for the encoder–forecaster).
        public var finalState: RecurrentState
    }

    /// What ``backward(outputGradient:finalStateGradient:computeInputGradient:)`` returns besides the parameter
    /// gradients it accumulates.
    public struct Gradients {
        /// ∂L/∂input `[B, T, Cin, H, W]` when asked for.
        public var input: Tensor?
        /// ∂L/∂ the initial state, laid out as ``RecurrentState``.
        public var initialState: RecurrentState
    }

    public let config: ModelConfig
    /// Every parameter, exactly `config.parameterShapes()` in that order.
    public let parameters: [Parameter]
    /// Operand precision of the recurrent convolutions (runtime only; master weights stay float32).
    public var precision: ComputePrecision = .fp32
    /// Loss scaling used by ``trainStep(input:mask:lengths:target:targetMask:loss:optimizer:clipNorm:)`` when
    /// ``precision`` is `.fp16`.
    public var lossScaler = DynamicLossScaler()

    /// The stack (or the encoder), bottom first; the forecaster's layers (empty for a stack).
    let encoder: [BidirectionalLayer]
    let forecaster: [BidirectionalLayer]
    let head: ModelHead
    let workspace = FloatBuffer()

    /// What the last forward pass did, for backward.
    struct Pass {
        var geometry: SequenceGeometry
        var topGeometry: SequenceGeometry
        var masked: Bool
        var sequenceHead: Bool
        var logitsShape: [Int]
    }
    var pass: Pass?
    /// The folding of the last forward pass (nil when ``ModelConfig/spaceToDepth`` is 1) and its input mask, whose
    /// masked values were zeroed (their gradient is 0).
    var fold: SpaceToDepth?
    var foldInputMask: Tensor?
    let inputBuffer = FloatBuffer(), maskBuffer = ByteBuffer(), poolValidity = ByteBuffer()
    let lastFeatures = FloatBuffer(), logitsGradient = FloatBuffer(), inputGradientBuffer = FloatBuffer()
    /// Per layer: the gradient reaching the layer's input (the output of the layer below).
    let levelInputGradient: [FloatBuffer]
    /// Per layer and direction: gradients reaching the final h and c.
    let finalHiddenGradient: [[FloatBuffer]], finalCellGradient: [[FloatBuffer]]

    /// A new model with parameters drawn from `seed`.
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` if the configuration is invalid.
    public init(config: ModelConfig, seed: UInt64, initialization: ParameterInitialization = .pytorchUniform) throws {
        try config.validate()
        self.config = config
        parameters = initialization.parameters(for: config, seed: seed)
        var byName: [String: Parameter] = [:]
        for p in parameters { byName[p.name] = p }
        let space = workspace
        func level(_ prefix: String, _ i: Int, inputChannels: Int) -> BidirectionalLayer {
            let layers = (0..<config.directions).map { d -> RecurrentLayer in
                let name = "\(prefix)layers.\(i)" + (d == 1 ? ".reverse" : "")
                let ch = config.hidden[i]
                let cell: RecurrentCell
                switch config.cell {
                case .convLSTM:
                    let peepholes = config.peephole == .none ? []
                        : ["w_ci", "w_cf", "w_co"].map { byName["\(name).\($0)"]! }
                    cell = ConvLSTMCell(weight: byName["\(name).weight"]!, bias: byName["\(name).bias"]!,
                                        peepholes: peepholes, inputChannels: inputChannels, hiddenChannels: ch)
                case .convGRU:
                    cell = ConvGRUCell(weightGates: byName["\(name).weight_gates"]!,
                                       biasGates: byName["\(name).bias_gates"]!,
                                       weightCandidate: byName["\(name).weight_candidate"]!,
                                       biasCandidate: byName["\(name).bias_candidate"]!,
                                       inputChannels: inputChannels, hiddenChannels: ch)
                case .convRNN:
                    cell = ConvRNNCell(weight: byName["\(name).weight"]!, bias: byName["\(name).bias"]!,
                                       inputChannels: inputChannels, hiddenChannels: ch)
                }
                return RecurrentLayer(cell: cell, workspace: space)
            }
            return BidirectionalLayer(directions: layers)
        }
        func levels(_ prefix: String, firstInput: Int) -> [BidirectionalLayer] {
            config.hidden.indices.map { i in
                level(prefix, i, inputChannels: i == 0 ? firstInput : config.hidden[i - 1] * config.directions)
            }
        }
        switch config.architecture {
        case .stack:
            encoder = levels("", firstInput: config.foldedInputChannels)
            forecaster = []
        case .encoderForecaster:
            encoder = levels("encoder.", firstInput: config.foldedInputChannels)
            forecaster = levels("forecaster.", firstInput: 0)
        }
        switch config.head.kind {
        case .conv1x1: head = ConvHead(weight: byName["head.weight"]!, bias: byName["head.bias"]!)
        case .poolDense: head = PoolDenseHead(weight: byName["head.weight"]!, bias: byName["head.bias"]!)
        }
        // One input-gradient buffer per layer of the stack, or of the encoder and the forecaster; the forecaster's
        // first layer has no input, so its slot carries the last-state head's gradient instead.
        let layerCount = config.hidden.count * (forecaster.isEmpty ? 1 : 2)
        levelInputGradient = (0..<layerCount).map { _ in FloatBuffer() }
        finalHiddenGradient = config.hidden.map { _ in (0..<config.directions).map { _ in FloatBuffer() } }
        finalCellGradient = config.hidden.map { _ in (0..<config.directions).map { _ in FloatBuffer() } }
    }

    /// The parameter with state-dict key `name`, if any.
    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// Runs the model and keeps what ``backward(outputGradient:finalStateGradient:computeInputGradient:)`` needs.
    ///
    /// - Parameters:
    ///   - input: `[B, T, Cin, H, W]` float32.
    ///   - mask: `[B, T, H, W]` uint8 or nil; a 0 leaves that pixel's state (h and c) bit-identical through the step
    ///     (with folding: the state of a block none of whose pixels is valid; masked pixels of a block enter as 0).
    ///   - lengths: valid steps per sample (B values in 0...T) or nil; later steps are masked.
    ///   - initialState: the state to start from (nil: zeros), e.g. the previous chunk's final state.
    ///
    /// With ``ModelConfig/spaceToDepth`` s > 1 the input and mask are folded (``SpaceToDepth``) before the layers
    /// and a 1×1 head's logits unfolded after them, so input, mask and logits keep their full-resolution shapes
    /// while states are `[B, Ch, ⌈H/s⌉, ⌈W/s⌉]`.
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` naming the argument whose shape or type is wrong.
    public func forward(_ input: Tensor, mask: Tensor? = nil, lengths: [Int]? = nil,
                        initialState: RecurrentState? = nil) throws -> Output {
        try run(input, mask: mask, lengths: lengths, initialState: initialState, encoderOnly: false)
    }

    /// ``forward(_:mask:lengths:initialState:)``, or with `encoderOnly` just the stack (encoder): the final state,
    /// empty logits, no forecaster or head (a chunk of ``infer(_:mask:lengths:initialState:chunkSteps:)`` before the
    /// last one).
    func run(_ input: Tensor, mask: Tensor?, lengths: [Int]?, initialState: RecurrentState?,
             encoderOnly: Bool) throws -> Output {
        guard config.spaceToDepth > 1 else {
            fold = nil
            return try forwardFolded(input, mask: mask, lengths: lengths, initialState: initialState,
                                     encoderOnly: encoderOnly)
        }
        let g = try checkInput(input, channels: config.inputChannels)
        let fold = SpaceToDepth(factor: config.spaceToDepth, height: g.height, width: g.width)
        var foldedInput: Tensor, foldedMask: Tensor?
        if let mask {
            try checkMask(mask, geometry: g)
            foldedInput = fold.fold(input, masking: mask)
            foldedMask = fold.foldMask(mask)
        } else {
            foldedInput = fold.fold(input)
        }
        var output = try forwardFolded(foldedInput, mask: foldedMask, lengths: lengths, initialState: initialState,
                                       encoderOnly: encoderOnly)
        if config.head.kind == .conv1x1, !encoderOnly { output.logits = fold.unfold(output.logits) }
        self.fold = fold
        foldInputMask = mask
        return output
    }

    /// ``forward(_:mask:lengths:initialState:)`` on folded input `[B, T, Cin·s², h, w]` (the input itself when s = 1).
    private func forwardFolded(_ input: Tensor, mask: Tensor?, lengths: [Int]?, initialState: RecurrentState?,
                               encoderOnly: Bool) throws -> Output {
        let g = try checkInput(input, channels: config.foldedInputChannels)
        let layout = InputLayout(geometry: g, channels: config.foldedInputChannels)
        let x = inputBuffer.ensure(layout.count)
        input.withFloats {
            Vector.swapLeadingAxes($0.baseAddress!, x, outer: g.batch, inner: g.steps, block: layout.block)
        }
        let m = try effectiveMask(mask, lengths: lengths, geometry: g)
        try checkState(initialState, geometry: g, name: "initialState")

        var levelInput: UnsafePointer<Float>? = UnsafePointer(x)
        var channels = config.foldedInputChannels
        for (i, level) in encoder.enumerated() {
            let initial = (0..<config.directions).map { d -> (h: UnsafePointer<Float>?, c: UnsafePointer<Float>?) in
                guard let s = initialState?.layers[i][d] else { return (nil, nil) }
                return (s.hidden.floatPointer, s.cell?.floatPointer)
            }
            level.forward(x: levelInput, inputChannels: channels, geometry: g, mask: m, initial: initial,
                          precision: precision)
            levelInput = level.outputs
            channels = level.outputChannels
        }
        if encoderOnly {
            pass = nil
            return Output(logits: Tensor(zeros: [0]), finalState: finalState(geometry: g))
        }
        var top = encoder.last!, topGeometry = g, topMask = m
        if !forecaster.isEmpty {
            // Shi et al.: the forecaster starts from the encoder's states and sees no input.
            topGeometry.steps = config.forecastSteps!
            topMask = nil
            var forecastInput: UnsafePointer<Float>?
            var forecastChannels = 0
            for (i, level) in forecaster.enumerated() {
                let e = encoder[i].directions[0]
                level.forward(x: forecastInput, inputChannels: forecastChannels, geometry: topGeometry, mask: nil,
                              initial: [(e.finalHidden, e.finalCell)], precision: precision)
                forecastInput = level.outputs
                forecastChannels = level.outputChannels
            }
            top = forecaster.last!
        }
        let logits = runHead(top: top, geometry: topGeometry, mask: topMask)
        pass = Pass(geometry: g, topGeometry: topGeometry, masked: m != nil, sequenceHead: config.output == .sequence,
                    logitsShape: logits.shape)
        return Output(logits: logits, finalState: finalState(geometry: g))
    }

    /// Feeds the top layer's h sequence or last state to the head and returns batch-major logits.
    private func runHead(top: BidirectionalLayer, geometry g: SequenceGeometry,
                         mask: UnsafePointer<UInt8>?) -> Tensor {
        let hw = g.pixels, outShape = config.head.kind == .conv1x1 ? [config.headOutputChannels, g.height, g.width]
            : [config.headOutputChannels]
        let perImage = head.outputCount(pixels: hw)
        if config.output == .sequence {
            let y = head.forward(features: top.outputs, images: g.steps * g.batch, height: g.height, width: g.width,
                                 validity: mask)
            var logits = Tensor(zeros: [g.batch, g.steps] + outShape)
            logits.withMutableFloats {
                Vector.swapLeadingAxes(y, $0.baseAddress!, outer: g.steps, inner: g.batch, block: perImage)
            }
            return logits
        }
        // The last state: [B, dirs·Ch, HW], forward direction's h_T then the reverse direction's h after time 0.
        let item = top.hiddenChannels * hw
        var features = top.directions[0].finalHidden
        if top.directions.count == 2 {
            let f = lastFeatures.ensure(g.batch * 2 * item)
            for b in 0..<g.batch {
                (f + 2 * b * item).update(from: top.directions[0].finalHidden + b * item, count: item)
                (f + (2 * b + 1) * item).update(from: top.directions[1].finalHidden + b * item, count: item)
            }
            features = UnsafePointer(f)
        }
        // Pooling over the pixels valid at some step: the others still hold the initial state.
        var validity: UnsafePointer<UInt8>?
        if let mask {
            let v = poolValidity.ensure(g.batch * hw)
            v.update(repeating: 0, count: g.batch * hw)
            for t in 0..<g.steps { for i in 0..<(g.batch * hw) where mask[t * g.batch * hw + i] != 0 { v[i] = 1 } }
            validity = UnsafePointer(v)
        }
        let y = head.forward(features: features, images: g.batch, height: g.height, width: g.width,
                             validity: validity)
        var logits = Tensor(zeros: [g.batch] + outShape)
        logits.withMutableFloats { $0.baseAddress!.update(from: y, count: g.batch * perImage) }
        return logits
    }

    /// Copies every layer's final h (and c) into a ``RecurrentState``.
    private func finalState(geometry g: SequenceGeometry) -> RecurrentState {
        RecurrentState(layers: encoder.map { level in
            level.directions.map { layer in
                let shape = [g.batch, layer.hiddenChannels, g.height, g.width]
                var h = Tensor(zeros: shape)
                h.withMutableFloats { $0.baseAddress!.update(from: layer.finalHidden, count: layer.stateCount) }
                var c: Tensor?
                if let cell = layer.finalCell {
                    var t = Tensor(zeros: shape)
                    t.withMutableFloats { $0.baseAddress!.update(from: cell, count: layer.stateCount) }
                    c = t
                }
                return RecurrentState.LayerState(hidden: h, cell: c)
            }
        })
    }
}

/// Element counts of a `[T, B, C, HW]` sequence.
struct InputLayout {
    var geometry: SequenceGeometry
    var channels: Int
    /// One sample's one step: C·HW.
    var block: Int { channels * geometry.pixels }
    var count: Int { geometry.steps * geometry.batch * block }
}
