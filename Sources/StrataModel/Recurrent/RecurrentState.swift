import StrataCore

/// The recurrent state of a model between two calls: h (and c for a ConvLSTM) of every layer and direction.
///
/// Feeding a long series in chunks, each starting from the previous chunk's ``RecurrentModel/Output/finalState``,
/// gives the same hidden states as one pass over the whole series (for unidirectional models; a reverse direction
/// would need the future).
///
/// ```swift
/// let first = try model.forward(chunk1)
/// let second = try model.forward(chunk2, initialState: first.finalState)   // continues where chunk1 stopped
/// ```
public struct RecurrentState: Sendable {
    /// One layer direction's state: hidden `[B, Ch, H, W]`, and for a ConvLSTM the cell state of the same shape.
    public struct LayerState: Sendable {
        public var hidden: Tensor
        public var cell: Tensor?

        public init(hidden: Tensor, cell: Tensor?) {
            self.hidden = hidden
            self.cell = cell
        }
    }

    /// `layers[i][d]`: layer i (bottom first), direction d (0 forward, 1 reverse).
    public var layers: [[LayerState]]

    public init(layers: [[LayerState]]) { self.layers = layers }
}
