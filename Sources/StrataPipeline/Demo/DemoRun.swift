import Foundation
import StrataCore
import StrataIO

/// `strata demo`: synthesize two scenes (seed 1 to train on, seed 2 held out), train on the first with a job file
/// written to `OUT/job.yaml`, predict the held-out scene and score the prediction against its truth.
///
/// Every stage is the user's code path: ``Synth/generate(_:options:)``, ``TrainingConfig/load(path:)`` +
/// ``Trainer``, ``PredictionJob`` and ``EvaluationRequest``. The demo only picks sizes and the job file
/// (``DemoScenario``).
///
/// Layout of `OUT`: `data/train`, `data/heldout` (synthetic scenes with `truth/`), `job.yaml`, `run/`
/// (checkpoints, `metrics.jsonl`), `prediction/` (the prediction and one-band views of it), `evaluation.json`.
///
/// ```swift
/// let summary = try DemoRun(scenario: .change, output: "demo-output").run { print($0) }
/// summary.headline["f1"]
/// ```
public struct DemoRun: Sendable {
    public var scenario: DemoScenario
    /// The demo folder (created when missing).
    public var output: String
    /// Tiny sizes and one epoch: every stage runs, nothing is learnt (for tests).
    public var quick: Bool

    public init(scenario: DemoScenario = .change, output: String, quick: Bool = false) {
        self.scenario = scenario
        self.output = output
        self.quick = quick
    }

    /// Runs the four stages, reporting each as it starts through `progress`.
    ///
    /// - Throws: any stage's ``StrataError`` (an output folder that cannot be created, …).
    public func run(progress: (String) -> Void = { _ in }) throws -> DemoSummary {
        let root = URL(fileURLWithPath: output).standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw StrataError.outputNotWritable(path: output, reason: error.localizedDescription)
        }
        func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
        let sizes = scenario.sizes(quick: quick)
        var seconds: [String: Double] = [:]
        func timed<T>(_ stage: String, _ message: String, _ body: () throws -> T) rethrows -> T {
            progress("\(stage): \(message)")
            let started = Date()
            defer { seconds[stage] = Date().timeIntervalSince(started) }
            return try body()
        }

        let what = scenario == .lesions
            ? "\(sizes.patients) patients to train on (seed 1), 1 held out (seed 2), \(sizes.side)x\(sizes.side)x"
                + "\(sizes.depth) voxels, \(sizes.steps) timepoints each"
            : scenario == .nowcast
            ? "\(sizes.events) rain events of \(sizes.side) px (seed 1; whole events held out for validation), a "
                + "\(sizes.heldOutSide) px scene held out (seed 2), \(sizes.steps) frames each"
            : "a \(sizes.side) px scene to train on (seed 1), a \(sizes.heldOutSide) px one held out (seed 2), "
                + "\(sizes.steps) steps each"
        try timed("synth", what) {
            for (folder, seed, side) in [("data/train", UInt64(1), sizes.side),
                                         ("data/heldout", UInt64(2), sizes.heldOutSide)] {
                var options = SynthOptions(outputDirectory: path(folder), seed: seed)
                options.width = side
                options.height = side
                options.steps = sizes.steps
                // The default field density (12 fields on 96 × 96 px) at any size: more fields to learn from.
                if scenario == .yield { options.fields = max(4, side * side / 768) }
                if scenario == .lesions {
                    options.depth = sizes.depth
                    options.patients = seed == 1 ? sizes.patients : 1
                }
                if scenario == .nowcast { options.events = seed == 1 ? sizes.events : 1 }
                _ = try Synth.generate(SynthScenario(rawValue: scenario.rawValue)!, options: options)
            }
        }

        let jobPath = path("job.yaml")
        try scenario.jobFile(quick: quick).write(toFile: jobPath, atomically: true, encoding: .utf8)
        let job = try TrainingConfig.load(path: jobPath)
        let training = try timed("train", "\(job.epochs) epoch(s) of \(job.samplesPerEpoch) patches "
                                 + "(\(jobPath))") {
            try Trainer(job: job).run()
        }

        // A lesion patient is one volume time stack (`scans.h5:/scans`), the other scenes are dated rasters.
        let frames = scenario == .lesions ? [path("data/heldout/patient_001/scans.h5") + ":/scans"]
            : try FileManager.default.contentsOfDirectory(atPath: path("data/heldout"))
                .filter { $0.hasPrefix(scenario.inputPrefix) && $0.hasSuffix(".tif") }.sorted()
                .map { path("data/heldout/" + $0) }
        // A nowcast sees the held-out sequence without its last frames, which are the truth of the forecast.
        let held = scenario == .nowcast ? DemoScenario.forecastSteps : 0
        let inputs = Array(frames.dropLast(held))
        try FileManager.default.createDirectory(atPath: path("prediction"), withIntermediateDirectories: true)
        let checkpoint = FileManager.default.fileExists(atPath: Trainer(job: job).bestPath)
            ? Trainer(job: job).bestPath : Trainer(job: job).lastPath
        // Volumes are predicted to HDF5: `[1, T, D, H, W]`, one lesion probability per timepoint.
        let predictionPath = scenario == .lesions ? path("prediction/lesions.h5") + ":/lesion_probability"
            : path("prediction/\(scenario.rawValue).tif")
        let prediction = try timed("predict", "the held-out scene with \(checkpoint)") {
            try PredictionJob(checkpoint: checkpoint, inputs: inputs, output: predictionPath).run()
        }

        let evaluation = try timed("evaluate", scenario == .lesions
                                                 ? "against data/heldout/patient_001/lesions.h5"
                                                 : "against data/heldout/truth") { () -> EvaluationSummary in
            var request: EvaluationRequest
            switch scenario {
            case .change:
                // The prediction holds two bands (probability, date); evaluation reads one band per file.
                let probability = try BandView(source: predictionPath, band: 1)
                    .write(to: path("prediction/change_probability.vrt"))
                request = EvaluationRequest(prediction: probability, truth: path("data/heldout/truth/change.tif"))
                request.task = .change
                request.predictionSteps = try BandView(source: predictionPath, band: 2)
                    .write(to: path("prediction/change_date.vrt"))
                request.truthSteps = path("data/heldout/truth/change_step.tif")
            case .yield:
                request = EvaluationRequest(prediction: predictionPath, truth: path("data/heldout/truth/yield.tif"))
                request.task = .yield
                request.fields = path("data/heldout/truth/fields.tif")
            case .nowcast:
                let truth = try BandView(sources: frames.suffix(held).map { .init(path: $0, band: 1) })
                    .write(to: path("prediction/truth_frames.vrt"))
                request = EvaluationRequest(prediction: predictionPath, truth: truth)
                request.task = .nowcast
                request.lastInput = inputs.last
            case .lesions:
                request = EvaluationRequest(prediction: predictionPath,
                                            truth: path("data/heldout/patient_001/lesions.h5") + ":/labels")
                request.task = .lesions
            }
            return try request.run()
        }
        let evaluationPath = path("evaluation.json")
        try evaluation.json.text.write(toFile: evaluationPath, atomically: true, encoding: .utf8)

        return DemoSummary(
            scenario: scenario, output: root.path, jobFile: jobPath, checkpoint: checkpoint,
            prediction: prediction.summary.outputs, evaluation: evaluationPath,
            headline: DemoSummary.headline(scenario, evaluation: evaluation.json.text, training: training),
            seconds: seconds)
    }
}
