import Foundation

/// One line of `strata bench train`: one configuration, precision and thread count. The PyTorch peer prints the
/// same keys (with `framework` "pytorch"), so `scripts/peers/compare_train.sh` can join the two.
public struct TrainBenchResult: Codable, Sendable {
    /// "strata" here; "pytorch" in the peer's lines.
    public var framework = "strata"
    /// "a", "b" or "c" (``TrainBenchConfig``).
    public var config: String
    /// "fp32" or "bf16": operand type of the convolutions.
    public var precision: String
    public var threads: Int
    /// Median wall-clock seconds of one training step (forward, loss, backward, Adam) over `steps` timed steps.
    public var secondsPerStep: Double
    /// Fastest timed step, seconds.
    public var minSecondsPerStep: Double
    /// Peak resident set of the process measuring this line, MiB (VmHWM; see ``TrainBench``).
    public var peakRSSMiB: Double
    /// Timed steps (the median is over these), after `warmup` untimed ones.
    public var steps: Int
    public var warmup: Int
    /// Useful convolution flops per step (``TrainBenchConfig/flopsPerStep``) / median seconds, 10⁹ per second.
    public var gflops: Double
    /// gflops against the multiply-add loop of the same ISA, precision and thread count (`strata bench kernels`).
    public var percentOfPeak: Double
    /// The GEMM ISA the kernels dispatched to.
    public var isa: String
    /// MSE of the last step, to show the run trained on real numbers (not compared across frameworks).
    public var loss: Double

    enum CodingKeys: String, CodingKey {
        case framework, config, precision, threads, steps, warmup, gflops, isa, loss
        case secondsPerStep = "seconds_per_step", minSecondsPerStep = "min_seconds_per_step"
        case peakRSSMiB = "peak_rss_mib", percentOfPeak = "percent_of_peak"
    }

    /// One JSON object on one line, keys in a fixed order.
    public var jsonLine: String {
        "{\"framework\":\"\(framework)\",\"config\":\"\(config)\",\"precision\":\"\(precision)\","
            + "\"threads\":\(threads),\"seconds_per_step\":\(rounded(secondsPerStep, 5)),"
            + "\"min_seconds_per_step\":\(rounded(minSecondsPerStep, 5)),\"peak_rss_mib\":\(rounded(peakRSSMiB, 1)),"
            + "\"steps\":\(steps),\"warmup\":\(warmup),\"gflops\":\(rounded(gflops, 2)),"
            + "\"percent_of_peak\":\(rounded(percentOfPeak, 1)),\"isa\":\"\(isa)\",\"loss\":\(rounded(loss, 6))}"
    }

    /// Parses a line printed by ``jsonLine`` (or by the peer).
    public init(jsonLine: String) throws {
        self = try JSONDecoder().decode(TrainBenchResult.self, from: Data(jsonLine.utf8))
    }

    init(config: String, precision: String, threads: Int, secondsPerStep: Double, minSecondsPerStep: Double,
         peakRSSMiB: Double, steps: Int, warmup: Int, gflops: Double, percentOfPeak: Double, isa: String,
         loss: Double) {
        (self.config, self.precision, self.threads) = (config, precision, threads)
        (self.secondsPerStep, self.minSecondsPerStep, self.peakRSSMiB) = (secondsPerStep, minSecondsPerStep, peakRSSMiB)
        (self.steps, self.warmup, self.gflops, self.percentOfPeak) = (steps, warmup, gflops, percentOfPeak)
        (self.isa, self.loss) = (isa, loss)
    }

    /// A row of the human-readable table (see ``tableHeader``).
    public var tableRow: String {
        pad(config, 8) + pad(precision, 11) + pad("\(threads)", 9) + pad(fixed(secondsPerStep, 4), 12, right: true)
            + pad(fixed(peakRSSMiB, 1), 11, right: true) + pad(fixed(gflops, 1), 10, right: true)
            + pad(fixed(percentOfPeak, 1), 9, right: true)
    }

    /// Column titles for ``tableRow``.
    public static let tableHeader = pad("config", 8) + pad("precision", 11) + pad("threads", 9)
        + pad("s/step", 12, right: true) + pad("RSS MiB", 11, right: true) + pad("GFLOP/s", 10, right: true)
        + pad("% peak", 9, right: true)
}

private func rounded(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return "\((value * scale).rounded() / scale)"
}

private func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "-" }
    return String(format: "%.\(digits)f", value)
}

private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}
