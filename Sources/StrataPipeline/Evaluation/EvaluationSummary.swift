import Foundation
import StrataCore

/// The outcome of `strata evaluate`: one report per task, as one JSON object or a readable table.
///
/// JSON keys are documented in docs/cli-evaluate.md; undefined scores (a zero denominator) are `null`.
///
/// ```swift
/// let summary = EvaluationSummary.change(report, prediction: "p.tif", truth: "t.tif")
/// print(summary.json.text)
/// print(summary.table)
/// ```
public struct EvaluationSummary: Sendable {
    public let task: EvaluationTask
    /// Headline metrics and details, by key.
    public let json: EvaluationJSON
    /// Rows of `name  value` for people.
    public let table: String

    public static func change(_ report: ChangeReport, prediction: String, truth: String) -> EvaluationSummary {
        let c = report.confusion
        var members: [String: EvaluationJSON] = [
            "threshold": .threshold(report.threshold),
            "f1": .number(c.f1), "precision": .number(c.precision), "recall": .number(c.recall),
            "iou": .number(c.iou), "kappa": .number(c.kappa),
            "counts": .object(["tp": .integer(c.truePositives), "fp": .integer(c.falsePositives),
                               "fn": .integer(c.falseNegatives), "tn": .integer(c.trueNegatives),
                               "excluded": .integer(report.excludedPixels)]),
        ]
        var rows: [(String, String)] = [
            ("threshold", "\(report.threshold)"), ("f1", format(c.f1)), ("precision", format(c.precision)),
            ("recall", format(c.recall)), ("iou", format(c.iou)), ("kappa", format(c.kappa)),
            ("TP / FP / FN / TN", "\(c.truePositives) / \(c.falsePositives) / \(c.falseNegatives) / \(c.trueNegatives)"),
            ("excluded (nodata)", "\(report.excludedPixels)"),
        ]
        if let dates = report.dates {
            members["date_accuracy"] = .number(dates.accuracy)
            members["date_tolerance"] = .integer(dates.tolerance)
            members["date_counts"] = .object(["changed": .integer(dates.changed),
                                              "within_tolerance": .integer(dates.withinTolerance),
                                              "predicted_unchanged": .integer(dates.predictedUnchanged)])
            rows += [("date_accuracy (±\(dates.tolerance) steps)", format(dates.accuracy)),
                     ("changed / within / predicted unchanged",
                      "\(dates.changed) / \(dates.withinTolerance) / \(dates.predictedUnchanged)")]
        }
        return make(.change, members, rows, prediction: prediction, truth: truth)
    }

    public static func lesions(_ report: LesionReport, prediction: String, truth: String) -> EvaluationSummary {
        let counts = report.lesionCounts, voxels = report.voxels, ignored = report.ignoredLesions
        let timepoints: [EvaluationJSON] = report.timepoints.enumerated().map { step, scores in
            .object(["step": .integer(step), "dice": .number(scores.voxels.f1), "lesion_f1": .number(scores.lesions.f1),
                     "tp": .integer(scores.lesions.truePositives), "fp": .integer(scores.lesions.falsePositives),
                     "fn": .integer(scores.lesions.falseNegatives),
                     "predicted_volume_mm3": .number(scores.predictedVolumeMM3),
                     "truth_volume_mm3": .number(scores.truthVolumeMM3),
                     "volume_error": .number(scores.volumeErrorMM3),
                     "volume_error_relative": .number(scores.relativeVolumeError)])
        }
        let s = report.spacing
        let members: [String: EvaluationJSON] = [
            "threshold": .threshold(report.threshold), "dice": .number(report.dice),
            "lesion_f1": .number(report.lesionF1), "volume_error": .number(report.volumeErrorMM3),
            "volume_error_relative": .number(report.relativeVolumeError),
            "predicted_volume_mm3": .number(report.predictedVolumeMM3),
            "truth_volume_mm3": .number(report.truthVolumeMM3),
            "spacing_mm": .array([s.x, s.y, s.z].map { .number($0) }), "connectivity": .integer(26),
            "match_iou": .number(LesionMatching.minimumIoU),
            "min_lesion_volume_mm3": .number(report.minimumLesionVolumeMM3),
            "lesions_ignored": .object(["predicted": .integer(ignored.predicted), "truth": .integer(ignored.truth)]),
            "lesion_counts": .object(["tp": .integer(counts.truePositives), "fp": .integer(counts.falsePositives),
                                      "fn": .integer(counts.falseNegatives)]),
            "voxel_counts": .object(["tp": .integer(voxels.truePositives), "fp": .integer(voxels.falsePositives),
                                     "fn": .integer(voxels.falseNegatives), "tn": .integer(voxels.trueNegatives)]),
            "timepoints": .array(timepoints),
        ]
        var rows: [(String, String)] = [
            ("threshold", "\(report.threshold)"), ("dice", format(report.dice)),
            ("lesion_f1", format(report.lesionF1)),
            ("lesions TP / FP / FN", "\(counts.truePositives) / \(counts.falsePositives) / \(counts.falseNegatives)"),
            ("lesions ≤ \(format(report.minimumLesionVolumeMM3)) mm³ ignored (predicted / true)",
             "\(ignored.predicted) / \(ignored.truth)"),
            ("volume predicted / true (mm³)", "\(format(report.predictedVolumeMM3)) / \(format(report.truthVolumeMM3))"),
            ("volume_error (mm³)", format(report.volumeErrorMM3)),
            ("volume_error_relative", format(report.relativeVolumeError)),
        ]
        for (step, scores) in report.timepoints.enumerated() {
            rows.append(("step \(step): dice / lesion_f1 / volume_error",
                         "\(format(scores.voxels.f1)) / \(format(scores.lesions.f1)) / \(format(scores.volumeErrorMM3))"))
        }
        return make(.lesions, members, rows, prediction: prediction, truth: truth)
    }

    public static func yield(_ report: YieldReport, prediction: String, truth: String) -> EvaluationSummary {
        var members: [String: EvaluationJSON] = [:]
        var rows: [(String, String)] = []
        if let pixels = report.pixels {
            members["rmse"] = .number(pixels.rmse)
            members["mae"] = .number(pixels.mae)
            members["r2"] = .number(pixels.r2)
            members["pixels"] = .integer(pixels.count)
            rows += [("rmse (per pixel)", format(pixels.rmse)), ("mae (per pixel)", format(pixels.mae)),
                     ("r2 (per pixel)", format(pixels.r2)), ("pixels", "\(pixels.count)")]
        }
        if let fields = report.fields, let scores = report.fieldScores {
            let table: [EvaluationJSON] = fields.map {
                .object(["field_id": .integer($0.fieldID), "prediction": .number($0.predicted),
                         "truth": .number($0.truth), "pixels": .integer($0.pixels)])
            }
            members["fields"] = .object(["rmse": .number(scores.rmse), "mae": .number(scores.mae),
                                         "r2": .number(scores.r2), "count": .integer(scores.count),
                                         "table": .array(table)])
            rows += [("rmse (per field)", format(scores.rmse)), ("mae (per field)", format(scores.mae)),
                     ("r2 (per field)", format(scores.r2)), ("fields scored", "\(scores.count)")]
            for row in fields {
                rows.append(("field \(row.fieldID): predicted / true",
                             "\(format(row.predicted)) / \(format(row.truth)) (\(row.pixels) px)"))
            }
        }
        return make(.yield, members, rows, prediction: prediction, truth: truth)
    }

    public static func nowcast(_ report: NowcastReport, prediction: String, truth: String) -> EvaluationSummary {
        let overall = report.overall
        func csi(_ scores: LeadScores) -> EvaluationJSON { .array(scores.csi.map { .number($0.score) }) }
        let members: [String: EvaluationJSON] = [
            "thresholds": .array(report.thresholds.map(EvaluationJSON.threshold)),
            "persistence": .string(report.persistenceSource.rawValue),
            "mse": .number(overall.forecast.mse), "mse_persistence": .number(overall.persistence?.mse),
            "csi": csi(overall), "pixels": .integer(overall.forecast.count),
            "mse_by_lead": .array(report.leads.map { .number($0.forecast.mse) }),
            "mse_persistence_by_lead": .array(report.leads.map { .number($0.persistence?.mse) }),
            "csi_by_lead": .array(report.leads.map(csi)),
            "pixels_by_lead": .array(report.leads.map { .integer($0.forecast.count) }),
        ]
        let thresholds = report.thresholds.map { "\($0)" }.joined(separator: ", ")
        var rows: [(String, String)] = [
            ("persistence from", report.persistenceSource.rawValue), ("mse", format(overall.forecast.mse)),
            ("mse_persistence", format(overall.persistence?.mse)),
            ("csi at \(thresholds) mm/h", overall.csi.map { format($0.score) }.joined(separator: ", ")),
        ]
        for (index, lead) in report.leads.enumerated() {
            rows.append(("lead \(index + 1): mse / persistence / csi",
                         "\(format(lead.forecast.mse)) / \(format(lead.persistence?.mse)) / "
                             + lead.csi.map { format($0.score) }.joined(separator: ", ")))
        }
        return make(.nowcast, members, rows, prediction: prediction, truth: truth)
    }

    private static func make(_ task: EvaluationTask, _ members: [String: EvaluationJSON], _ rows: [(String, String)],
                             prediction: String, truth: String) -> EvaluationSummary {
        var members = members
        members["task"] = .string(task.rawValue)
        members["prediction"] = .string(prediction)
        members["truth"] = .string(truth)
        let all = [("task", task.rawValue), ("prediction", prediction), ("truth", truth)] + rows
        let width = all.map(\.0.count).max() ?? 0
        let table = all.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
            .joined(separator: "\n")
        return EvaluationSummary(task: task, json: .object(members), table: table)
    }

    /// Six significant digits, `n/a` for an undefined score.
    static func format(_ value: Double?) -> String {
        guard let value else { return "n/a" }
        return String(format: "%.6g", value)
    }
}
