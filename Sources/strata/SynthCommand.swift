import ArgumentParser
import Foundation
import StrataCore
import StrataPipeline

/// `strata synth`: realistic synthetic datasets with ground truth, written as real files.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic dataset with ground truth: change, lesions, yield or nowcast.",
        discussion: """
            Scenarios (models, layouts, units and truth: datasets/README.md):
              change   scene_YYYYMMDD.tif (4-band reflectance, clouds as nodata),
                       truth/change.tif, change_step.tif, land_cover_*.tif
              lesions  patient_XXX/scans.h5 and tN.nii.gz per timepoint,
                       lesion labels (lesions.h5, tN_labels.nii.gz), volumes
              yield    fields.geojson, season_YYYYMMDD.tif (NDVI, EVI, ..., GDD),
                       truth/yield.tif, fields.tif, field_yield.csv
              nowcast  rain_YYYYMMDDTHHMMSS.tif per 10 minutes (mm/h),
                       frames.h5:/precipitation, nowcast.json (wind, split)
            Examples:
              strata synth change --out data/change --size 64x48 --steps 6
              strata synth lesions --out data/mri --size 48x48x24 --patients 2
              strata synth yield --out data/yield --fields 20 --seed 7
              strata synth nowcast --out data/rain --size 128x128 --json
              strata synth nowcast --out data/radar --events 16   # one wind each
            The same seed always writes the same bytes.
            """
    )

    @Argument(help: "Scenario: change, lesions, yield or nowcast.")
    var scenario: String

    @Option(name: .long, help: "Output folder (created when missing).")
    var out: String

    @Option(name: .long, help: "Random seed; the same seed gives the same files.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Size in pixels, WxH (lesions: WxHxD voxels).")
    var size: String?

    @Option(name: .long, help: "Time steps: acquisitions, timepoints or frames.")
    var steps: Int?

    @Option(name: .long, help: "Patients (lesions).")
    var patients: Int?

    @Option(name: .long, help: "Fields (yield).")
    var fields: Int?

    @Option(name: .long, help: "Rain events, each its own wind (nowcast): event_001/ ... when more than one.")
    var events: Int?

    @Flag(name: .long, help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        guard let chosen = SynthScenario(rawValue: scenario) else {
            throw StrataError.invalidArgument(name: "scenario", reason: "'\(scenario)' is not one of "
                + SynthScenario.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var options = SynthOptions(outputDirectory: out, seed: seed)
        if let size {
            let parts = size.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) else {
                throw StrataError.invalidArgument(name: "--size", reason: "'\(size)' is not WxH or WxHxD")
            }
            options.width = parts[0]
            options.height = parts[1]
            options.depth = parts.count == 3 ? parts[2] : nil
        }
        options.steps = steps
        options.patients = patients
        options.fields = fields
        options.events = events
        let summary = try Synth.generate(chosen, options: options)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(summary.text)
        }
    }
}
