/// What a model was trained to do and on what inputs: what `strata predict` needs beyond the weights to read the
/// right bands, cut patches of the right size and name its outputs.
///
/// Stored as JSON under the `task` key of a checkpoint's `__metadata__` (docs/formats-checkpoint.md). Every field
/// is optional so that an imported model (whose source file knows nothing of bands) still loads; `kind` is free
/// text because the set of tasks grows with the pipelines (`segmentation`, `regression`, `change_detection`,
/// `forecast`, `classification` are the ones the docs name).
///
/// ```swift
/// let task = TaskInfo(kind: "segmentation", bandNames: ["red", "nir"], targetNames: ["burned"],
///                     patchSize: [64, 64], minimumInputSteps: 4)
/// ```
public struct TaskInfo: Codable, Equatable, Sendable {
    /// What the head predicts, in words a script can switch on.
    public var kind: String?
    /// Input bands in channel order (`config.input_channels` of them).
    public var bandNames: [String]?
    /// Output channels in order (`config.head.outputs` of them): class or variable names.
    public var targetNames: [String]?
    /// `[H, W]` of the training patches, pixels.
    public var patchSize: [Int]?
    /// The fewest time steps an input stack must have for a prediction.
    public var minimumInputSteps: Int?
    /// `nowcast` only: what the forecast frames are relative to (``ForecastBase``, `last_frame` or `zero`);
    /// absent means `zero` (checkpoints from before the key existed forecast the frames themselves).
    public var forecastBase: String?
    /// Statistics the targets were standardised with for training (`yield`): the model's outputs are
    /// `(y − mean) / std` and prediction maps them back; absent means targets in their own units.
    public var targetNormalization: NormalizationStats?

    public init(kind: String? = nil, bandNames: [String]? = nil, targetNames: [String]? = nil,
                patchSize: [Int]? = nil, minimumInputSteps: Int? = nil, forecastBase: String? = nil,
                targetNormalization: NormalizationStats? = nil) {
        self.kind = kind
        self.bandNames = bandNames
        self.targetNames = targetNames
        self.patchSize = patchSize
        self.minimumInputSteps = minimumInputSteps
        self.forecastBase = forecastBase
        self.targetNormalization = targetNormalization
    }

    enum CodingKeys: String, CodingKey {
        case kind
        case bandNames = "band_names"
        case targetNames = "target_names"
        case patchSize = "patch_size"
        case minimumInputSteps = "min_input_steps"
        case forecastBase = "forecast_base"
        case targetNormalization = "target_normalization"
    }
}
