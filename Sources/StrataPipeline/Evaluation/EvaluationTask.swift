import StrataCore

/// What a prediction predicts, which decides the metrics `strata evaluate` computes.
public enum EvaluationTask: String, CaseIterable, Sendable {
    /// Change maps: F1, precision, recall, IoU, kappa; change-date accuracy.
    case change
    /// Lesion volumes: Dice, lesion-wise F1, volume error.
    case lesions
    /// Yield maps: RMSE, MAE, R² per pixel and per field.
    case yield
    /// Precipitation nowcasts: MSE vs persistence, CSI per lead time.
    case nowcast

    /// What the inputs say about the task, for ``infer(from:)``.
    public struct Clues: Sendable {
        /// The prediction is a volume (NIfTI, HDF5 dataset).
        public var predictionIsVolume = false
        /// Field ids were given, or the truth is a per-field table.
        public var hasFields = false
        /// Change-step rasters were given.
        public var hasChangeSteps = false
        /// A last input frame (persistence) was given.
        public var hasLastInput = false
        /// Band names (descriptions, netCDF variable names) of the prediction.
        public var bandNames: [String] = []

        public init(predictionIsVolume: Bool = false, hasFields: Bool = false, hasChangeSteps: Bool = false,
                    hasLastInput: Bool = false, bandNames: [String] = []) {
            self.predictionIsVolume = predictionIsVolume
            self.hasFields = hasFields
            self.hasChangeSteps = hasChangeSteps
            self.hasLastInput = hasLastInput
            self.bandNames = bandNames
        }
    }

    /// Infers the task when `--task` is not given. Rules, first match wins:
    /// 1. a volume prediction → `lesions` (the only volume task);
    /// 2. field ids or a per-field truth table → `yield`;
    /// 3. change-step rasters → `change`; a last input frame → `nowcast`;
    /// 4. the prediction's band names: words containing `change` → `change`; `yield` → `yield`; `forecast`
    ///    (what `strata predict` names a nowcast's bands: `forecast_t+1` …), `precip`, `rain`, `nowcast`, or a band
    ///    named exactly `pr` → `nowcast`. Exactly one task must match.
    ///
    /// ```swift
    /// try EvaluationTask.infer(from: .init(bandNames: ["change probability"]))   // .change
    /// ```
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` naming `--task` when nothing (or more than one
    ///   task) matches.
    public static func infer(from clues: Clues) throws -> EvaluationTask {
        if clues.predictionIsVolume { return .lesions }
        if clues.hasFields { return .yield }
        if clues.hasChangeSteps { return .change }
        if clues.hasLastInput { return .nowcast }
        var matches = Set<EvaluationTask>()
        for name in clues.bandNames.map({ $0.lowercased() }) {
            if name.contains("change") { matches.insert(.change) }
            if name.contains("yield") { matches.insert(.yield) }
            if ["forecast", "precip", "rain", "nowcast"].contains(where: name.contains) || name == "pr" {
                matches.insert(.nowcast)
            }
        }
        guard matches.count == 1, let task = matches.first else {
            let names = clues.bandNames.filter { !$0.isEmpty }
            throw StrataError.invalidArgument(name: "--task", reason: "cannot tell the task from the prediction ("
                + (names.isEmpty ? "no band names" : "band names \(names)") + "); pass --task change|lesions|yield|nowcast")
        }
        return task
    }
}
