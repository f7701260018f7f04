import Foundation

/// What `strata demo` did: where everything is, the headline numbers and the seconds of each stage.
public struct DemoSummary: Codable, Equatable, Sendable {
    public var scenario: DemoScenario
    /// The demo folder, absolute.
    public var output: String
    /// The job file the model was trained with (`strata train --config` reruns it).
    public var jobFile: String
    /// The checkpoint that predicted (`run/best.safetensors`, or `last` when no epoch was validated).
    public var checkpoint: String
    /// The prediction file(s).
    public var prediction: [String]
    /// The full evaluation, as `strata evaluate --json` prints it.
    public var evaluation: String
    /// The held-out scene's headline scores (`f1`, `date_accuracy`, `rmse` …) and the best validation value
    /// during training (`val_<metric>`); undefined scores are left out.
    public var headline: [String: Double]
    /// Wall-clock seconds per stage: `synth`, `train`, `predict`, `evaluate`.
    public var seconds: [String: Double]

    enum CodingKeys: String, CodingKey {
        case scenario, output, checkpoint, prediction, evaluation, headline, seconds
        case jobFile = "job_file"
    }

    /// The evaluation keys worth a line, per scenario.
    static func headlineKeys(_ scenario: DemoScenario) -> [String] {
        switch scenario {
        case .change: return ["f1", "precision", "recall", "date_accuracy"]
        case .yield: return ["field_r2", "field_rmse", "rmse", "r2", "mae"]
        case .nowcast: return ["mse_lead1", "mse_persistence_lead1", "mse", "mse_persistence"]
        case .lesions: return ["dice", "lesion_f1", "volume_error"]
        }
    }

    /// Picks the headline numbers from the evaluation's JSON text and the training summary.
    static func headline(_ scenario: DemoScenario, evaluation: String,
                         training: TrainingSummary) -> [String: Double] {
        var result: [String: Double] = [:]
        let object = (try? JSONSerialization.jsonObject(with: Data(evaluation.utf8))) as? [String: Any] ?? [:]
        for key in headlineKeys(scenario) {
            if let value = value(key, in: object) { result[key] = value }
        }
        if let best = training.bestValue { result["best_" + training.monitor] = best }
        return result
    }

    /// A headline key's number in the evaluation's JSON: the targets are per field (yield, `fields.r2`) and at
    /// lead 1 (nowcast, the first of `mse_by_lead`), so those are read from inside; other keys are top level.
    private static func value(_ key: String, in object: [String: Any]) -> Double? {
        switch key {
        case "field_r2", "field_rmse":
            return (object["fields"] as? [String: Any])?[String(key.dropFirst("field_".count))] as? Double
        case "mse_lead1", "mse_persistence_lead1":
            let series = key == "mse_lead1" ? "mse_by_lead" : "mse_persistence_by_lead"
            return (object[series] as? [Any])?.first as? Double
        default:
            return object[key] as? Double
        }
    }

    /// The lines `strata demo` prints at the end.
    public var text: String {
        var lines = ["demo \(scenario.rawValue): done in " + String(format: "%.1f s", seconds.values.reduce(0, +))]
        for stage in ["synth", "train", "predict", "evaluate"] {
            if let s = seconds[stage] {
                lines.append("  " + stage.padding(toLength: 9, withPad: " ", startingAt: 0)
                             + String(format: "%7.1f s", s))
            }
        }
        lines.append("held-out scene (seed 2):")
        for key in Self.headlineKeys(scenario) + headline.keys.filter({ $0.hasPrefix("best_") }).sorted() {
            if let value = headline[key] {
                lines.append("  " + key.padding(toLength: 22, withPad: " ", startingAt: 0)
                             + String(format: "%.4f", value))
            }
        }
        lines.append("files:")
        lines.append("  job        \(jobFile)  (rerun: strata train --config \(jobFile))")
        lines.append("  model      \(checkpoint)")
        lines += prediction.map { "  prediction \($0)" }
        lines.append("  evaluation \(evaluation)")
        return lines.joined(separator: "\n")
    }

    /// One JSON object with sorted keys (`strata demo --json`).
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }
}
