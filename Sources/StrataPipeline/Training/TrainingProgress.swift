import Foundation

/// Turns ``TrainingEvent``s into what `strata train` prints, one of four ways:
///
/// - ``Style/bar``: a one-line progress bar redrawn in place (`\r`) with loss, throughput and ETA, and one line per
///   epoch; for terminals.
/// - ``Style/log``: plain lines, one per epoch plus one every `logEvery` batches; for files and CI logs.
/// - ``Style/json``: one JSON object per event (`{"event": "batch", ...}`), for scripts.
/// - ``Style/quiet``: only the summary.
///
/// ```swift
/// let printer = TrainingProgress(style: isatty(1) != 0 ? .bar : .log) { print($0, terminator: "") }
/// let summary = try Trainer(job: job, observe: printer.handle).run()
/// ```
public final class TrainingProgress {
    public enum Style: Sendable { case bar, log, json, quiet }

    public let style: Style
    /// Batches between two log lines (``Style/log``).
    public let logEvery: Int
    private let write: (String) -> Void
    private var barShown = false

    /// - Parameter write: receives text including its line ends.
    public init(style: Style, logEvery: Int = 50, write: @escaping (String) -> Void) {
        self.style = style
        self.logEvery = max(1, logEvery)
        self.write = write
    }

    public func handle(_ event: TrainingEvent) {
        switch style {
        case .json: write(Self.json(event) + "\n")
        case .quiet: if case .finished(let summary) = event { write(Self.describe(summary) + "\n") }
        case .bar, .log: text(event)
        }
    }

    private func text(_ event: TrainingEvent) {
        switch event {
        case .started(let epochs, let batches, let epoch, let batch, let resumed):
            write(resumed ? "resuming at epoch \(epoch + 1), batch \(batch + 1) of \(batches) (\(epochs) epochs)\n"
                : "training \(epochs) epochs of \(batches) batches\n")
        case .batch(let epoch, let batch, let batches, let loss, let rate, let eta):
            if style == .bar {
                let width = 24, filled = batches > 0 ? width * batch / batches : width
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                write("\repoch \(epoch) [\(bar)] \(batch)/\(batches) loss \(Self.number(loss)) "
                    + "\(Self.number(rate)) samples/s ETA \(Self.duration(eta))   ")
                barShown = true
            } else if batch % logEvery == 0 {
                write("epoch \(epoch) batch \(batch)/\(batches) loss \(Self.number(loss)) \(Self.number(rate)) samples/s "
                    + "ETA \(Self.duration(eta))\n")
            }
        case .epoch(let record):
            if barShown { write("\n"); barShown = false }
            let metrics = record.metrics.keys.sorted().map { "\($0) \(Self.number(record.metrics[$0]!))" }
            let parts = ["epoch \(record.epoch)", "train_loss \(Self.number(record.trainLoss))"]
                + (record.valLoss.map { ["val_loss \(Self.number($0))"] } ?? []) + metrics
                + ["lr \(Self.number(record.lr))", String(format: "%.1f s", record.seconds)]
                + (record.improved ? ["(best)"] : [])
            write(parts.joined(separator: "  ") + "\n")
        case .checkpoint:
            break
        case .finished(let summary):
            if barShown { write("\n"); barShown = false }
            write(Self.describe(summary) + "\n")
        }
    }

    /// The one-paragraph summary every style ends with.
    public static func describe(_ s: TrainingSummary) -> String {
        var text = "trained \(s.epochs) epochs (\(s.steps) steps) in \(duration(s.seconds))"
        if s.stoppedEarly { text += ", stopped early" }
        if s.interrupted { text += ", interrupted (continue with --resume)" }
        if let best = s.bestValue, let epoch = s.bestEpoch { text += "; best \(s.monitor) \(number(best)) at epoch \(epoch)" }
        let files = s.bestEpoch != nil ? "best.safetensors, last.safetensors, metrics.jsonl" : "last.safetensors"
        return text + "\nwrote \(s.output)/\(files)"
    }

    static func json(_ event: TrainingEvent) -> String {
        var object: [String: Any]
        switch event {
        case .started(let epochs, let batches, let epoch, let batch, let resumed):
            object = ["event": "started", "epochs": epochs, "batches_per_epoch": batches, "epoch": epoch + 1,
                      "batch": batch, "resumed": resumed]
        case .batch(let epoch, let batch, let batches, let loss, let rate, let eta):
            object = ["event": "batch", "epoch": epoch, "batch": batch, "batches": batches, "loss": loss,
                      "samples_per_second": rate, "eta_seconds": eta]
        case .epoch(let record):
            object = (try? encodable(record)) ?? [:]
            object["event"] = "epoch"
        case .checkpoint(let path):
            object = ["event": "checkpoint", "path": path]
        case .finished(let summary):
            object = (try? encodable(summary)) ?? [:]
            object["event"] = "finished"
        }
        let data = (try? JSONSerialization.data(withJSONObject: sanitize(object), options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static func encodable<T: Encodable>(_ value: T) throws -> [String: Any] {
        let data = try JSONEncoder().encode(value)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// JSON has no NaN or infinity: such numbers become null.
    private static func sanitize(_ object: [String: Any]) -> [String: Any] {
        object.mapValues { value in
            if let d = value as? Double, !d.isFinite { return NSNull() }
            return value
        }
    }

    static func number(_ x: Double) -> String {
        guard x.isFinite else { return "\(x)" }
        if x != 0, abs(x) < 1e-3 || abs(x) >= 1e5 { return String(format: "%.3e", x) }
        return String(format: "%.4g", x)
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String(format: "%d:%02d", s / 60, s % 60)
    }
}
