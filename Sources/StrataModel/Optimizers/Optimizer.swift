import StrataCore

/// Updates a fixed list of ``Parameter``s from their gradients, one step per call.
///
/// The learning rate is a property the training loop sets before each step from a ``LearningRateSchedule``, as a
/// PyTorch scheduler writes `param_groups[0]["lr"]`. All state (moments, step count) is float32 / integer and can be
/// exported with ``state()`` and put back with ``restore(_:)``; a restored optimizer takes a next step bit-identical
/// to the one the original would have taken.
///
/// ```swift
/// let optimizer = AdamW(parameters: model.parameters, learningRate: 1e-3, weightDecay: 1e-2)
/// for step in 0..<steps {
///     optimizer.zeroGrad()
///     // forward, loss, backward: fills parameter.gradient
///     optimizer.learningRate = schedule.learningRate(atStep: step)
///     optimizer.step()
/// }
/// let saved = optimizer.state()        // tensors "optimizer.<param>.exp_avg" ..., scalars "optimizer.step"
/// ```
public protocol Optimizer: AnyObject {
    /// The parameters this optimizer updates, in a fixed order; names are unique.
    var parameters: [Parameter] { get }
    /// Learning rate used by the next ``step()``.
    var learningRate: Double { get set }
    /// Number of steps taken so far (PyTorch's `state["step"]`).
    var stepCount: Int { get }
    /// Applies one update to every parameter from its current gradient.
    func step()
    /// The state needed to resume: named float32 tensors and scalars.
    func state() -> OptimizerState
    /// Replaces the state with a saved one.
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` naming the key that is missing, of the wrong shape
    ///   or out of range; the optimizer is unchanged when it throws.
    func restore(_ state: OptimizerState) throws
}

extension Optimizer {
    /// Zeroes every parameter's gradient.
    public func zeroGrad() {
        for parameter in parameters { parameter.zeroGrad() }
    }
}

/// An optimizer's resumable state, keyed for a checkpoint.
///
/// Tensor keys are `optimizer.<parameter name>.<buffer>` with PyTorch's buffer names (`exp_avg`, `exp_avg_sq`,
/// `momentum_buffer`); scalar keys are `optimizer.<name>` (`optimizer.step`). Scalars are Double so that a step
/// count survives a round trip through JSON or safetensors metadata exactly (integers up to 2^53).
///
/// ```swift
/// let saved = optimizer.state()
/// let resumed = Adam(parameters: reloadedParameters)
/// try resumed.restore(saved)
/// ```
public struct OptimizerState: Sendable {
    public var tensors: [String: Tensor]
    public var scalars: [String: Double]

    public init(tensors: [String: Tensor] = [:], scalars: [String: Double] = [:]) {
        self.tensors = tensors
        self.scalars = scalars
    }

    /// The key of a per-parameter buffer.
    public static func key(parameter: String, buffer: String) -> String { "optimizer.\(parameter).\(buffer)" }

    /// The step count stored under `optimizer.step`, checked to be a whole number ≥ 0.
    func stepCount() throws -> Int {
        guard let step = scalars["optimizer.step"] else {
            throw StrataError.invalidArgument(name: "optimizer.step", reason: "missing from the optimizer state")
        }
        guard step >= 0, step == step.rounded(), step < 0x1p53 else {
            throw StrataError.invalidArgument(name: "optimizer.step", reason: "\(step) is not a step count")
        }
        return Int(step)
    }

    /// One buffer per parameter, each float32 with its parameter's shape.
    func buffers(_ buffer: String, for parameters: [Parameter]) throws -> [Tensor] {
        try parameters.map { parameter in
            let key = Self.key(parameter: parameter.name, buffer: buffer)
            guard let tensor = tensors[key] else {
                throw StrataError.invalidArgument(name: key, reason: "missing from the optimizer state")
            }
            guard tensor.dtype == .float32, tensor.shape == parameter.shape else {
                throw StrataError.invalidArgument(
                    name: key, reason: "\(tensor.dtype) \(tensor.shape), expected float32 \(parameter.shape)")
            }
            return tensor
        }
    }
}

/// Checks shared by every optimizer's initializer and step.
enum OptimizerChecks {
    static func uniqueNames(_ parameters: [Parameter]) {
        var seen = Set<String>()
        for p in parameters { precondition(seen.insert(p.name).inserted, "parameter name '\(p.name)' appears twice") }
    }

    static func gradientShapes(_ parameters: [Parameter]) {
        for p in parameters {
            precondition(p.gradient.dtype == .float32 && p.gradient.shape == p.shape,
                         "\(p.name): gradient \(p.gradient.dtype) \(p.gradient.shape), expected float32 \(p.shape)")
        }
    }
}
