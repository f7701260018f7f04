import Foundation

/// Several rain events of `strata synth nowcast --events N`: a forecaster must infer the motion from the frames, so
/// it learns from many winds. One scene (``NowcastScene``) per event, each with its own wind (speed and direction)
/// and cells, in `event_001/` … `event_NNN/` (one event: the folder itself, as before events existed).
///
/// ```swift
/// var config = NowcastConfig()
/// config.events = 8
/// let summary = try NowcastEvents(config: config).write(to: "/tmp/radar")   // event_001 ... event_008
/// ```
public struct NowcastEvents: Sendable {
    public let config: NowcastConfig

    public init(config: NowcastConfig) { self.config = config }

    /// Writes every event. Counts: `frames` and `input_steps` per event, `cells` summed, fractions and means
    /// averaged over events, and `events`.
    public func write(to directory: String) throws -> SynthSummary {
        guard config.events > 1 else {
            var summary = try NowcastScene(config: config).write(to: directory)
            summary.counts["events"] = 1
            return summary
        }
        let root = try SynthSupport.makeDirectory(directory)
        var files: [String] = []
        var counts: [String: Double] = [:]
        for event in 1...config.events {
            let folder = String(format: "event_%03d", event)
            let summary = try NowcastScene(config: config, event: event).write(to: root + "/" + folder)
            files += summary.files.map { folder + "/" + $0 }
            for (key, value) in summary.counts {
                switch key {
                case "frames", "input_steps": counts[key] = value
                case "cells": counts[key, default: 0] += value
                default: counts[key, default: 0] += value / Double(config.events)   // fractions and means
                }
            }
        }
        counts["events"] = Double(config.events)
        return SynthSummary(scenario: .nowcast, outputDirectory: root, seed: config.seed, files: files,
                            counts: counts)
    }
}
