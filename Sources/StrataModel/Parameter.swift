import StrataCore

/// One trainable tensor of a model: a named float32 value and the float32 gradient of the loss with respect to it.
///
/// Cells own their parameters; optimizers, gradient clipping and the loss scaler work on arrays of them. Names follow
/// PyTorch state-dict style (`layers.0.cell.weight`, `head.bias`) so checkpoints map one to one onto
/// `model.state_dict()` keys, and optimizer state is keyed by the same name (`optimizer.<name>.exp_avg`).
///
/// A reference type on purpose: the cell that uses the value in its forward pass, the backward pass that accumulates
/// into the gradient and the optimizer that updates the value all share one object.
///
/// ```swift
/// let w = Parameter(name: "layers.0.cell.weight", value: Tensor(zeros: [16, 8, 3, 3]))
/// w.gradient.withMutableFloats { $0[0] += 0.5 }   // a backward pass accumulates
/// w.zeroGrad()                                      // before the next batch
/// ```
public final class Parameter {
    /// State-dict key, unique within a model.
    public let name: String
    /// The trained value (float32, ``shape``). Written in place by optimizers; from outside the model layer
    /// (checkpoint loading) through ``load(_:)``, which checks the shape.
    public internal(set) var value: Tensor
    /// d loss / d value, float32, same shape as ``value``. Backward passes add into it in place, so it must keep
    /// that shape and dtype (optimizers check). No property observer on purpose: one would turn every in-place
    /// update into a copy of the tensor.
    public var gradient: Tensor
    /// The shape of ``value`` and ``gradient``.
    public let shape: [Int]

    /// A parameter holding `value` (converted to float32 if needed) with a zero gradient.
    public init(name: String, value: Tensor) {
        self.name = name
        self.shape = value.shape
        self.value = value.converted(to: .float32)
        self.gradient = Tensor(zeros: value.shape)
    }

    /// Number of scalar elements.
    public var count: Int { value.count }

    /// Replaces the value with `tensor` (converted to float32), e.g. from a checkpoint.
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` naming the parameter if the shape differs.
    public func load(_ tensor: Tensor) throws {
        guard tensor.shape == shape else {
            throw StrataError.invalidArgument(name: name, reason: "shape \(tensor.shape) does not match the model's \(shape)")
        }
        value = tensor.converted(to: .float32)
    }

    /// Sets every gradient element to 0 (call before each backward pass, since backward passes accumulate).
    public func zeroGrad() {
        gradient.withMutableFloats { $0.update(repeating: 0) }
    }
}
