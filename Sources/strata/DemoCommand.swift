import ArgumentParser
import Foundation
import StrataPipeline

/// `strata demo`: synthesize, train, predict and evaluate in one go (what `make demo` runs).
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a whole job on synthetic data: synthesize, train, predict, evaluate.",
        discussion: """
            Synthesizes two scenes (seed 1 to train on, seed 2 held out), writes the job file OUT/job.yaml and \
            trains on it, predicts the held-out scene and scores the prediction against its truth. Every stage \
            is the code a user's job runs; rerun the training with `strata train --config OUT/job.yaml`.

            Scenarios: change (default; land-cover change and its date), yield (crop yield per pixel and field), \
            nowcast (the next 3 precipitation frames, against persistence), lesions (lesion masks of every \
            timepoint of a held-out patient's follow-up scans: Dice, lesion-wise F1, volume error in mm³).

            Examples:
              strata demo --out demo-output
              strata demo yield --out demo-yield --json
              strata demo --quick --out /tmp/demo        (tiny, one epoch: checks the plumbing)
            """
    )

    @Argument(help: "change, yield, nowcast or lesions.")
    var scenario: DemoScenario = .change

    @Option(name: .long, help: "The demo folder (created when missing).")
    var out = "demo-output"

    @Flag(help: "Tiny scenes and one epoch: every stage runs in seconds, nothing is learnt.")
    var quick = false

    @Flag(help: "Print one JSON object (files, headline scores, seconds per stage) at the end.")
    var json = false

    func run() throws {
        let summary = try DemoRun(scenario: scenario, output: out, quick: quick).run { stage in
            if !json { print(stage) }
        }
        print(json ? summary.jsonText : summary.text)
    }
}

extension DemoScenario: ExpressibleByArgument {}
