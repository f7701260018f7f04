import ArgumentParser
import Foundation
import StrataCore
import StrataPipeline

/// `strata evaluate`: score a prediction against the truth (change, lesions, yield, nowcast).
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a prediction against the truth: change maps, lesion volumes, yield maps, nowcasts.",
        discussion: """
            Prediction and truth must share their grid (size, geotransform, CRS) or, for volumes, their size and \
            voxel spacing.

            Without --task the task is inferred: a volume is lesions; --fields or a .csv truth is yield; \
            --prediction-step/--truth-step is change; --last-input is nowcast; otherwise the prediction's band \
            names decide (change, yield, forecast/precip/rain/pr).

            Examples:
              strata evaluate --prediction p.tif --truth t.tif --task change
              strata evaluate --prediction p.h5:/lesion --truth t.h5:/lesion --json
              strata evaluate --prediction y.tif --truth y_true.tif --fields f.geojson
              strata evaluate --prediction y.tif --truth data/truth/field_yield.csv \\
                  --fields data/fields.geojson
              strata evaluate --prediction f.tif --truth o.tif --task nowcast

            --json prints one object (keys in docs/cli.md, evaluate); undefined scores are null.
            """
    )

    @Option(help: "The prediction: a raster (GeoTIFF, netCDF variable) or a volume (file.h5:/dataset, .nii).")
    var prediction: String

    @Option(help: "The truth, on the prediction's grid; for yield also a CSV with a field id and a yield column.")
    var truth: String

    @Option(help: "change, lesions, yield or nowcast (default: inferred, see above).")
    var task: EvaluationTask?

    @Option(help: "change, lesions: prediction values at or above this are positive (probabilities or 0/1 masks).")
    var threshold: Float = 0.5

    @Option(help: "lesions: lesions of at most this volume (mm³), predicted or true, are not counted by the lesion-wise F1 (0: all are; MSSEG-2016 used 3).")
    var minLesionVolume: Double = 0

    @Option(help: "change: raster of predicted change steps (1, 2, ...; 0 = unchanged) for date accuracy.")
    var predictionStep: String?

    @Option(help: "change: raster of true change steps (1, 2, ...; 0 = unchanged).")
    var truthStep: String?

    @Option(help: "change: a predicted step within N steps of the true one is correct.")
    var dateTolerance = 1

    @Option(help: "yield: field ids, an int32 raster (0 = no field) or polygons (.geojson, .gpkg, .shp).")
    var fields: String?

    @Option(help: "yield: the polygon property holding the field id (default: id, else field_id).")
    var fieldId: String?

    @Option(help: "nowcast: the last observed input frame, for the persistence forecast.")
    var lastInput: String?

    @Option(help: "nowcast: comma-separated CSI thresholds in mm/h.")
    var thresholds = "0.5,2,5"

    @Option(help: "Side of the square windows read at a time, in pixels.")
    var tileSize = 256

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        var request = EvaluationRequest(prediction: prediction, truth: truth)
        request.task = task
        request.threshold = threshold
        request.minimumLesionVolume = minLesionVolume
        request.dateTolerance = dateTolerance
        request.predictionSteps = predictionStep
        request.truthSteps = truthStep
        request.fields = fields
        request.fieldIDProperty = fieldId
        request.lastInput = lastInput
        request.thresholds = try thresholds.split(separator: ",").map { part in
            guard let value = Float(part.trimmingCharacters(in: .whitespaces)) else {
                throw StrataError.invalidArgument(name: "--thresholds", reason: "'\(part)' is not a number")
            }
            return value
        }
        request.tileSize = tileSize
        let summary = try request.run()
        print(json ? summary.json.text : summary.table)
    }
}

// Lets ArgumentParser list and check the task names in --help and on bad input.
extension EvaluationTask: ExpressibleByArgument {}
