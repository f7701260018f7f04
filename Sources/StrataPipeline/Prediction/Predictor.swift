import StrataCore

/// One output channel of a ``Predictor``: what it is and how it may be stored.
///
/// ```swift
/// let output = PredictionOutput(name: "change_probability", kind: .probability)
/// let date = PredictionOutput(name: "change_date", kind: .value, unit: "days since 1970-01-01")
/// ```
public struct PredictionOutput: Equatable, Sendable, Codable {
    /// What the values of an output mean; decides how integer output types store them.
    public enum Kind: String, Equatable, Sendable, Codable {
        /// A probability in 0...1: change, lesion or class probability. Storable as uint8 (×250) and int16 (×10000).
        case probability
        /// Any other real value (yield in t/ha, a forecast frame): stored as is, int16 rounds it.
        case value
        /// An integer-valued output such as a step index (`change_date`): blended across overlapping tiles like a
        /// value, then rounded to the nearest integer, so the file holds whole numbers (never 2.9999998 for 3).
        case index
    }

    /// The band description, HDF5 band name or NIfTI file suffix, e.g. `change_probability`, `yield`.
    public var name: String
    public var kind: Kind
    /// The physical unit, recorded in the output's metadata when given (e.g. `t/ha`).
    public var unit: String?
    /// Further band metadata items, e.g. `STEP_DATES` (the input steps' dates) on `change_date`, whose values are
    /// step indices.
    public var metadata: [String: String]?

    public init(name: String, kind: Kind, unit: String? = nil, metadata: [String: String]? = nil) {
        self.name = name
        self.kind = kind
        self.unit = unit
        self.metadata = metadata
    }
}

/// A model as the tiled inference sees it: one window of a time stack in, K output channels out.
///
/// The ConvLSTM engine implements this protocol; ``TiledPrediction`` cuts an image of any size into windows,
/// normalises them, calls ``predict(values:mask:)`` once per window and blends the results.
///
/// Legend: T time steps, C channels, h × w the window's rows × columns, K outputs.
///
/// Contract:
/// - `values` are float32 `[T, C, h, w]`, normalised (or raw physical values when the job has no statistics);
///   every invalid position (mask 0) holds 0, never a fill value or NaN.
/// - `mask` is uint8 `[T, h, w]`: 1 where step t of the pixel is valid. Positions outside the image are 0.
/// - The result is float32 `[K, h, w]` with `K == outputs.count`, in physical units (probabilities in 0...1).
/// - The prediction at a pixel may depend only on the input within ``receptiveRadius`` pixels of it. Tiles overlap
///   by at least that much, so tiled and whole-image predictions agree; a model whose true receptive field is
///   larger (a deep ConvLSTM) should report the radius beyond which its output changes negligibly.
/// - Each call is independent of the calls before it (no state carried between windows).
///
/// ```swift
/// struct TemporalMean: Predictor {
///     var outputs: [PredictionOutput] { [PredictionOutput(name: "mean", kind: .value)] }
///     var receptiveRadius: Int { 0 }
///     var minimumSteps: Int { 1 }
///     var name: String { "temporal-mean" }
///     func predict(values: Tensor, mask: Tensor) throws -> Tensor { ... }   // [1, h, w]
/// }
/// ```
public protocol Predictor {
    /// The K outputs, in the order of the prediction's first axis.
    var outputs: [PredictionOutput] { get }
    /// Pixels on each side of a pixel that its prediction may depend on (0 for a per-pixel model; a ConvLSTM with
    /// L layers of k × k kernels over T steps can reach `L · T · (k / 2)`, times s plus s − 1 when it folds s × s
    /// blocks).
    var receptiveRadius: Int { get }
    /// The fewest time steps the model can predict from.
    var minimumSteps: Int { get }
    /// Model or checkpoint name, recorded in the output's metadata.
    var name: String { get }
    /// Window starts (and the tile size) must be multiples of this many pixels, so that a model which folds pixel
    /// blocks into channels (``StrataModel/ModelConfig/spaceToDepth``) folds the same blocks in every tile.
    var alignment: Int { get }
    /// Predicts one window: values float32 `[T, C, h, w]`, mask uint8 `[T, h, w]` → float32 `[K, h, w]`.
    func predict(values: Tensor, mask: Tensor) throws -> Tensor
}

extension Predictor {
    /// Any window start: the prediction does not depend on where the window begins.
    public var alignment: Int { 1 }
}
