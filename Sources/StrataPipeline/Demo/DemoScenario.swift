import Foundation

/// The jobs `strata demo` can run end to end, and the sizes each one runs at.
///
/// Only sizes and the job file are chosen here; the run goes through the same ``Synth``, ``Trainer``,
/// ``PredictionJob`` and ``EvaluationRequest`` a user's job does (``DemoRun``).
public enum DemoScenario: String, CaseIterable, Sendable, Codable {
    /// Land-cover change: when did each pixel change (the default, `make demo`).
    case change
    /// Crop yield per pixel and per field from a season's stack.
    case yield
    /// The next frames of a precipitation sequence (encoder–forecaster), scored against persistence.
    case nowcast
    /// Lesion segmentation of every timepoint of a patient's follow-up scans (HDF5 volumes): Dice, lesion-wise F1.
    case lesions

    /// Scene size, steps and training effort of one run.
    public struct Sizes: Equatable, Sendable {
        /// Side of the training scene in pixels (square scenes).
        public var side: Int
        /// Side of the held-out scene in pixels.
        public var heldOutSide: Int
        /// Acquisitions per scene.
        public var steps: Int
        public var epochs: Int
        public var samplesPerEpoch: Int
        public var batch: Int
        public var patch: Int
        /// Hidden channels per ConvLSTM layer.
        public var hidden: [Int]
        /// Slices per volume (lesions only).
        public var depth: Int = 0
        /// Training patients (lesions only; one patient is held out).
        public var patients: Int = 1
        /// Training rain events (nowcast only; the held-out scene is one more event).
        public var events: Int = 1

        /// Side of the validation blocks held out of the training scene: at least a patch, and small enough
        /// that a fifth of the scene is spread over several blocks.
        var validationBlock: Int { max(patch, min(64, side / 6)) }
    }

    /// The sizes of a run: `quick` is the smallest run that still exercises every stage (the CLI test's),
    /// otherwise sizes picked so the default demo finishes in a few minutes on 2 cores.
    public func sizes(quick: Bool) -> Sizes {
        switch (self, quick) {
        case (.change, true):
            return Sizes(side: 32, heldOutSide: 32, steps: 4, epochs: 1, samplesPerEpoch: 16, batch: 8, patch: 16,
                         hidden: [4])
        case (.change, false):
            // Training costs the patches seen (epochs × samples), not the scene area, so the training scene is
            // large: its ~80 change events are what the model generalises from. With a 128 px scene (~10 events)
            // it reached F1 0.90 on its own validation blocks but 0.52 on the held-out seed; 384 px gave 0.78,
            // 768 px 0.97 (docs/cli.md, demo, has the measured numbers and times).
            return Sizes(side: 768, heldOutSide: 384, steps: 8, epochs: 12, samplesPerEpoch: 512, batch: 16,
                         patch: 32, hidden: [16])
        case (.yield, true):
            return Sizes(side: 36, heldOutSide: 36, steps: 4, epochs: 1, samplesPerEpoch: 16, batch: 8, patch: 12,
                         hidden: [4])
        case (.nowcast, true):
            return Sizes(side: 32, heldOutSide: 32, steps: 8, epochs: 1, samplesPerEpoch: 8, batch: 4, patch: 16,
                         hidden: [4], events: 2)
        case (.nowcast, false):
            // Each event has its own wind, and the held-out scene yet another: the model must read the motion from
            // the frames. Trained on one event (one wind) it learnt that wind only (lead-1 MSE 13 % below
            // persistence on the held-out scene). Folding 2 × 2 blocks (space_to_depth, in the job) lets a 3 × 3
            // kernel follow 1.5-3 px/step at a quarter of the cost, spent on 32 channels and twice the patches
            // (docs/benchmarks.md, Accuracy, Nowcast, has the runs on 8 held-out seeds).
            return Sizes(side: 96, heldOutSide: 64, steps: 20, epochs: 10, samplesPerEpoch: 256, batch: 8,
                         patch: 32, hidden: [32], events: 16)
        case (.lesions, true):
            return Sizes(side: 16, heldOutSide: 16, steps: 3, epochs: 1, samplesPerEpoch: 8, batch: 4, patch: 8,
                         hidden: [4], depth: 8, patients: 2)
        case (.lesions, false):
            // Lesions are ~0.4 % of the voxels: 16 px patches centred on a lesion half the time. The model is
            // bidirectional (the job file): one way, the first scan had no history and its lesions stayed below
            // p = 0.5 (4 of the 6 missed lesions of the held-out patient). Dice-BCE with random 32 px patches learnt
            // nothing; [16] hidden channels beat [8] (docs/benchmarks.md, Accuracy, has the runs).
            return Sizes(side: 48, heldOutSide: 48, steps: 5, epochs: 16, samplesPerEpoch: 512, batch: 16,
                         patch: 16, hidden: [16], depth: 24, patients: 4)
        case (.yield, false):
            // Yield is a function of each pixel's own season: kernel 1 (set in the job) beat kernel 3 on the held-out
            // fields (R² 0.81 against 0.76), whose neighbours only add hedge pixels and noise. A 384 px training
            // scene (192 fields instead of 48) and twice the epochs and patches lifted the held-out per-field R² on
            // six seeds from 0.79-0.96 (pooled 0.86) to 0.87-0.98 (pooled 0.93) for 19 s of training.
            return Sizes(side: 384, heldOutSide: 96, steps: 10, epochs: 20, samplesPerEpoch: 512, batch: 16,
                         patch: 24, hidden: [16])
        }
    }

    /// The job file the demo trains with (paths relative to the demo folder), written to `OUT/job.yaml` so the
    /// user can read it and rerun it with `strata train --config OUT/job.yaml`.
    ///
    /// `threads: 1`: on 2 cores a second kernel thread made the change demo's training 2.2 × slower (120 s against
    /// 56 s, bit-identical weights), its GEMMs being small.
    public func jobFile(quick: Bool) -> String {
        let s = sizes(quick: quick)
        let hidden = s.hidden.map(String.init).joined(separator: ", ")
        switch self {
        case .change:
            return """
                # strata demo change: train on the scene of seed 1 (data/train), predicted on seed 2 (data/heldout).
                task: change
                inputs:
                  paths: data/train/scene_*.tif
                targets:
                  paths: data/train/truth/change.tif
                  change_step: data/train/truth/change_step.tif
                model: {hidden: [\(hidden)], kernel: 3}
                sampling: {mode: balanced, positive_fraction: 0.5}
                validation: {fraction: 0.2, block_size: \(s.validationBlock)}
                loss: {name: bce, positive_weight: 2}

                """ + training(s)
        case .yield:
            return """
                # strata demo yield: train on the season of seed 1 (data/train), predicted on seed 2 (data/heldout).
                task: yield
                inputs:
                  paths: data/train/season_*.tif
                targets:
                  paths: data/train/truth/yield.tif
                model: {hidden: [\(hidden)], kernel: 1}
                validation: {fraction: 0.2, block_size: \(s.validationBlock)}
                loss: {name: mse}

                """ + training(s)
        case .lesions:
            let scans = (1...s.patients).map { String(format: "data/train/patient_%03d", $0) }
            return """
                # strata demo lesions: train on the patients of seed 1 (data/train), predicted on seed 2 (data/heldout).
                task: lesions
                inputs:
                  scans: [\(scans.map { $0 + "/scans.h5:/scans" }.joined(separator: ", "))]
                targets:
                  scans: [\(scans.map { $0 + "/lesions.h5:/labels" }.joined(separator: ", "))]
                model: {hidden: [\(hidden)], kernel: 3, bidirectional: true}
                validation: {fraction: \(s.patients > 2 ? "0.25" : "0.5"), patient_pattern: '(patient_[0-9]+)/'}
                sampling: {mode: balanced, positive_fraction: 0.5}
                loss: {name: bce, positive_weight: 3}

                """ + training(s)
        case .nowcast:
            // One event is written flat into data/train, more into event_NNN/ folders (NowcastEvents).
            let events = s.events == 1 ? ["data/train/rain_*.tif"]
                : (1...s.events).map { String(format: "data/train/event_%03d/rain_*.tif", $0) }
            return """
                # strata demo nowcast: rain events of seed 1 (data/train/event_*), each its own wind: whole events
                # are held out for validation, the others trained on; forecast the scene of seed 2 (data/heldout).
                task: nowcast
                inputs:
                  scans: [\(events.joined(separator: ", "))]
                model: {hidden: [\(hidden)], kernel: 3, forecast_steps: \(Self.forecastSteps), space_to_depth: 2}
                validation: {fraction: \(s.events > 8 ? "0.125" : "0.5")}
                loss: {name: mse}

                """ + training(s)
        }
    }

    /// The keys every demo job shares: optimizer, schedule, effort, seed, threads and the output folder.
    private func training(_ s: Sizes) -> String {
        """
        optimizer: {name: adam, lr: 0.005}
        schedule: {decay: cosine}
        epochs: \(s.epochs)
        batch: \(s.batch)
        patch: \(s.patch)
        samples_per_epoch: \(s.samplesPerEpoch)
        seed: 1
        threads: 1
        output: run

        """
    }

    /// Frames a nowcast model forecasts: the held-out scene's last frames are the truth, the ones before the input.
    static let forecastSteps = 3

    /// Input file pattern of a synthesized scene (`scene_*.tif`, `season_*.tif`, `rain_*.tif`).
    var inputPrefix: String {
        switch self {
        case .change: return "scene_"
        case .yield: return "season_"
        case .nowcast: return "rain_"
        case .lesions: return "patient_"
        }
    }
}
