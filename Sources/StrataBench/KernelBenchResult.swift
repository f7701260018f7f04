import StrataCore

/// One line of `strata bench kernels`: a peak loop or a GEMM, on one ISA, precision and thread count.
public struct KernelBenchResult: Sendable {
    /// "peak" for the multiply-add loop, "gemm" for a GEMM, "conv_fwd" / "conv_bwd_data" / "conv_bwd_weight" for
    /// the convolution passes of `images` images (m, n, k: one image's forward GEMM, Cout, H·W, Cin·K·K).
    public let name: String
    public let isa: KernelISA
    public let precision: KernelPrecision
    public let threads: Int
    /// The GEMM shape; 0, 0, 0 for peak lines.
    public let m: Int, n: Int, k: Int
    /// Median throughput, 10⁹ flops per second (2 flops per multiply-add).
    public let gflops: Double
    /// The peak loop of the same ISA, precision and thread count, GFLOP/s.
    public let peakGFLOPS: Double
    /// Median seconds per run.
    public let seconds: Double
    /// Convolution lines: "im2col", "implicit" or "winograd".
    public var algorithm: String? = nil
    /// Convolution lines: images per pass (gflops and seconds count all of them).
    public var images: Int? = nil
    /// Convolution lines: gflops / the gflops of the GEMM on the same m, n, k (same ISA, precision, threads), timed
    /// in the same rotation as the pass (for several images: their combined rate against the one GEMM's).
    public var gemmRatio: Double? = nil

    /// gflops as a percentage of peakGFLOPS (100 for peak lines).
    public var percentOfPeak: Double { peakGFLOPS > 0 ? 100 * gflops / peakGFLOPS : 0 }

    /// One JSON object, keys in a fixed order.
    public var jsonLine: String {
        "{\"name\":\"\(name)\",\"isa\":\"\(isa.rawValue)\",\"precision\":\"\(precision.rawValue)\","
            + "\"threads\":\(threads),\"m\":\(m),\"n\":\(n),\"k\":\(k),\"gflops\":\(rounded(gflops, 2)),"
            + "\"percent_of_peak\":\(rounded(percentOfPeak, 1)),\"peak_gflops\":\(rounded(peakGFLOPS, 2)),"
            + "\"seconds\":\(rounded(seconds, 6))"
            + (algorithm.map { ",\"algorithm\":\"\($0)\"" } ?? "")
            + (images.map { ",\"images\":\($0)" } ?? "")
            + (gemmRatio.map { ",\"ratio_to_gemm\":\(rounded($0, 3))" } ?? "") + "}"
    }

    /// A row of the human-readable table (see ``tableHeader``).
    public var tableRow: String {
        let shape = name == "peak" ? "peak" : "\(m)x\(n)x\(k)"
        let batch = images.map { $0 > 1 ? " x\($0)" : "" } ?? ""
        let what = name == "gemm" || name == "peak" ? name : name + " " + (algorithm ?? "") + batch
        return pad(shape, 16) + pad(what, 30) + pad(isa.rawValue, 12) + pad(precision.rawValue, 10)
            + pad("\(threads)", 8) + pad(String(format1(gflops)), 10, right: true)
            + pad(format1(percentOfPeak), 10, right: true) + pad(gemmRatio.map { format1(100 * $0) } ?? "", 10, right: true)
    }

    /// Column titles for ``tableRow``.
    public static let tableHeader = pad("shape MxNxK", 16) + pad("what", 30) + pad("isa", 12) + pad("precision", 10)
        + pad("threads", 8) + pad("GFLOP/s", 10, right: true) + pad("% peak", 10, right: true)
        + pad("% GEMM", 10, right: true)
}

private func rounded(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return "\((value * scale).rounded() / scale)"
}

private func format1(_ value: Double) -> String {
    guard value.isFinite else { return "-" }
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(abs(tenths % 10))"
}

private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}
