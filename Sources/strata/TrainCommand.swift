import ArgumentParser
import Foundation
import StrataCore
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
            uninterrupted run (docs/training.md). Ctrl-C (or SIGTERM) stops after the batch under way and saves it first.

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
        // Ctrl-C, or SIGTERM from a scheduler or `docker stop`: finish the batch, save last.safetensors, report; the
        // exit code (1) says the run is incomplete, and --resume continues it.
        let stop = TrainingStop()
        let interrupts = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("strata: stopping after this batch (saving last.safetensors)\n".utf8))
                stop.request()
            }
            source.resume()
            return source
        }
        let summary: TrainingSummary
        do {
            summary = try Trainer(job: job, resume: resume, stop: stop, observe: progress.handle).run()
        } catch let error as StrataError {
            throw Self.namingTheJobFile(error, config: config)
        }
        interrupts.forEach { $0.cancel() }
        if summary.interrupted { throw ExitCode.failure }
    }

    /// The job's top-level sections: an error the model or sampler raises about one of them (`patch: 48 is larger
    /// than the split block 32`) is about the job file, so it is reported as `job.yaml: key 'patch': ...`, like the
    /// errors found while reading the file.
    static let jobKeys: Set<String> = ["task", "inputs", "targets", "model", "epochs", "batch", "patch",
                                       "samples_per_epoch", "sampling", "validation", "optimizer", "schedule", "loss",
                                       "early_stopping", "precision", "threads", "seed", "output", "checkpoint_every"]

    static func namingTheJobFile(_ error: StrataError, config: String) -> StrataError {
        guard case .invalidArgument(let name, let reason) = error,
              let section = name.split(separator: ".").first, jobKeys.contains(String(section)) else { return error }
        return .invalidArgument(name: config, reason: "key '\(name)': \(reason)")
    }
}
