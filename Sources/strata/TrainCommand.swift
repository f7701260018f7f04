import ArgumentParser
import Foundation
import StrataPipeline

/// `strata train`: train a model from a job file.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a ConvLSTM model from a job file (change, lesions, yield, nowcast).",
        discussion: """
            The job file (YAML) names the inputs, targets, task, model, optimizer and output folder; every key, \
            its type and default is in docs/config.md. Relative paths are relative to the job file.

            Writes OUT/metrics.jsonl (one JSON line per epoch), OUT/last.safetensors (every epoch, and every \
            checkpoint_every batches) and OUT/best.safetensors (when the monitored metric improves).

            --resume continues from OUT/last.safetensors after an interruption; the result is identical to an \
            uninterrupted run (docs/training.md).

            Examples:
              strata train --config job.yaml
              strata train --config job.yaml --resume
              strata train --config job.yaml --json > events.jsonl
            """
    )

    @Option(help: "The job file (YAML).")
    var config: String

    @Flag(help: "Continue from OUT/last.safetensors.")
    var resume = false

    @Flag(help: "Print only the final summary.")
    var quiet = false

    @Flag(help: "Print one JSON object per event (started, batch, epoch, checkpoint, finished).")
    var json = false

    func run() throws {
        let job = try TrainingConfig.load(path: config)
        let style: TrainingProgress.Style = json ? .json : quiet ? .quiet : isatty(1) != 0 ? .bar : .log
        let progress = TrainingProgress(style: style) { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        try Trainer(job: job, resume: resume, observe: progress.handle).run()
    }
}
