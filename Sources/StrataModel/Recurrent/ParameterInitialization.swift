import StrataCore

/// How a new model's parameters are drawn, from a seed (``SeededGenerator``), so the same seed always gives the
/// same model.
///
/// - ``pytorchUniform``: weights uniform in ±1/√fan_in, fan_in = C_in·K·K of the convolution (`[G·Ch, Cin + Ch,
///   K, K]` → (Cin + Ch)·K²), PyTorch's `Conv2d` default (its `kaiming_uniform_(a=√5)`).
/// - ``glorotUniform``: weights uniform in ±√(6/(fan_in + fan_out)), fan_out = G·Ch·K² (Keras' default).
///
/// Either way biases start at 0 except a ConvLSTM's forget block (rows Ch..<2Ch), which starts at 1 so that a new
/// cell keeps its memory (Jozefowicz et al. 2015), and peepholes start at 0. Values are drawn parameter by
/// parameter in ``ModelConfig/parameterShapes()`` order, element by element.
///
/// ```swift
/// let model = try RecurrentModel(config: config, seed: 42, initialization: .glorotUniform)
/// ```
public enum ParameterInitialization: String, Sendable, Codable, CaseIterable {
    case pytorchUniform = "pytorch_uniform"
    case glorotUniform = "glorot_uniform"

    /// Every parameter of `config`, named and shaped as `config.parameterShapes()`, initialised from `seed`.
    func parameters(for config: ModelConfig, seed: UInt64) -> [Parameter] {
        var rng = SeededGenerator(seed: seed)
        return config.parameterShapes().map { name, shape in
            var values = [Float](repeating: 0, count: shape.reduce(1, *))
            let leaf = name.split(separator: ".").last.map(String.init) ?? name
            if leaf.hasPrefix("weight") {
                let receptive = shape.count == 4 ? shape[2] * shape[3] : 1
                let fanIn = Double(shape[1] * receptive), fanOut = Double(shape[0] * receptive)
                let bound = self == .pytorchUniform ? 1 / fanIn.squareRoot() : (6 / (fanIn + fanOut)).squareRoot()
                for i in values.indices { values[i] = Float(rng.uniform(-bound, bound)) }
            } else if leaf == "bias", config.cell == .convLSTM, !name.hasPrefix("head.") {
                let ch = shape[0] / 4
                for i in ch..<(2 * ch) { values[i] = 1 }
            }
            return Parameter(name: name, value: Tensor(shape: shape, values: values))
        }
    }
}
