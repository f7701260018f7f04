import Foundation
import StrataCore

/// The training and validation sides of a job's data, and the normalisation computed on the training side only.
///
/// - One stack, split `blocks` (the default): a ``SpatialSplit`` of the plane; one source per side.
/// - Several stacks (`inputs.scans`), split `scans` (their default): a ``PatientSplit`` of the scans (grouped by
///   `validation.patient_pattern`); one source per scan on its side, whole planes. Split `blocks` with scans cuts
///   every scan into blocks instead.
struct TrainingSources {
    var training: [SampleSource]
    var validation: [SampleSource]
    var normalization: NormalizationStats
    /// Statistics of the training side's targets, when asked for (tasks that standardise their targets).
    var targetNormalization: NormalizationStats?

    /// - Parameters:
    ///   - normalization: the statistics of the run being resumed (computed here when nil).
    ///   - targetStatistics: compute ``targetNormalization`` too.
    static func build(_ job: TrainingConfig, data: TrainingData, normalization given: NormalizationStats?,
                      targetStatistics: Bool = false) throws -> TrainingSources {
        let bySplit = (job.validation.split ?? (job.inputs.scans == nil ? .blocks : .scans)) == .scans
        let holdOut = job.validation.fraction > 0
        if bySplit {
            let names = data.scans.map(\.name)
            // Without a pattern each scan is its own patient, known by its path below the scans' common folder:
            // the split then depends on the data, not on where the data were put (absolute paths made the demo's
            // held-out events, and so its scores, change with --out).
            let keys = job.validation.patientPattern == nil ? pathsBelowCommonFolder(names) : names
            let patients = try keys.map { try patient(of: $0, pattern: job.validation.patientPattern) }
            let validationPatients = holdOut
                ? PatientSplit(validationFraction: job.validation.fraction, seed: job.seed).validationPatients(patients)
                : []
            let sides = data.scans.indices.map { validationPatients.contains(patients[$0]) }
            guard !holdOut || sides.contains(true) else {
                throw StrataError.invalidArgument(
                    name: "validation", reason: "\(Set(patients).count) patient(s) are too few to hold some out; add "
                        + "scans or set validation.fraction: 0")
            }
            let trainingScans = data.scans.indices.filter { !sides[$0] }.map { data.scans[$0] }
            let stats = try given ?? combined(trainingScans.map { try NormalizationStats.compute($0.input) })
            let targetStats = targetStatistics
                ? combined(try trainingScans.compactMap { try $0.target.map { try NormalizationStats.compute($0) } })
                : nil
            func source(_ scan: TrainingData.Scan) throws -> SampleSource {
                try SampleSource(input: scan.input, target: scan.target, patchSize: job.patch, normalization: stats)
            }
            return TrainingSources(training: try trainingScans.map(source),
                                   validation: try data.scans.indices.filter { sides[$0] }.map { try source(data.scans[$0]) },
                                   normalization: stats, targetNormalization: targetStats)
        }
        let split = SpatialSplit(blockSize: job.validation.blockSize, validationFraction: job.validation.fraction,
                                 seed: job.seed)
        for scan in data.scans {
            let blocks = try split.blocks(width: scan.input.width, height: scan.input.height)
            if holdOut, !blocks.contains(where: { $0.role == .validation }) {
                throw StrataError.invalidArgument(
                    name: "validation", reason: "the \(scan.input.width)×\(scan.input.height) plane has \(blocks.count) "
                        + "block(s) of \(job.validation.blockSize) px, too few to hold some out; lower "
                        + "validation.block_size or set validation.fraction: 0")
            }
        }
        let stats = try given ?? combined(data.scans.map { scan in
            try NormalizationStats.compute(
                scan.input, regions: split.regions(.training, width: scan.input.width, height: scan.input.height))
        })
        let targetStats = targetStatistics ? combined(try data.scans.compactMap { scan in
            try scan.target.map {
                try NormalizationStats.compute(
                    $0, regions: split.regions(.training, width: scan.input.width, height: scan.input.height))
            }
        }) : nil
        func sources(_ role: SplitRole) throws -> [SampleSource] {
            try data.scans.map {
                try SampleSource(input: $0.input, target: $0.target, patchSize: job.patch, split: split, role: role,
                                 normalization: stats)
            }
        }
        return TrainingSources(training: try sources(.training), validation: holdOut ? try sources(.validation) : [],
                               normalization: stats, targetNormalization: targetStats)
    }

    /// The patient of a scan: the first capture group (or the whole match) of `pattern` in its name; the name itself
    /// without a pattern.
    static func patient(of name: String, pattern: String?) throws -> String {
        guard let pattern else { return name }
        let regex = try NSRegularExpression(pattern: pattern)
        guard let match = regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) else {
            throw StrataError.invalidArgument(
                name: "validation.patient_pattern", reason: "'\(pattern)' does not match scan '\(name)'")
        }
        let group = match.numberOfRanges > 1 && match.range(at: 1).location != NSNotFound ? 1 : 0
        return String(name[Range(match.range(at: group), in: name)!])
    }

    /// `paths` without the folder they all share (`/d/a/x.tif`, `/d/b/y.tif` -> `a/x.tif`, `b/y.tif`).
    static func pathsBelowCommonFolder(_ paths: [String]) -> [String] {
        let parts = paths.map { $0.split(separator: "/", omittingEmptySubsequences: false) }
        guard var shared = parts.first.map({ $0.dropLast().count }) else { return paths }
        for other in parts.dropFirst() {
            var same = 0
            while same < min(shared, other.count - 1), other[same] == parts[0][same] { same += 1 }
            shared = same
        }
        return parts.map { $0.dropFirst(shared).joined(separator: "/") }
    }

    /// Statistics of several stacks as if computed over all their valid pixels at once (Chan's combination of
    /// counts, means and variances, in Double).
    static func combined(_ parts: [NormalizationStats]) -> NormalizationStats {
        guard parts.count > 1 else { return parts[0] }
        let channels = parts[0].channels
        var mean = [Double](repeating: 0, count: channels), std = mean, count = [Int](repeating: 0, count: channels)
        for c in 0..<channels {
            let n = parts.reduce(0) { $0 + $1.count[c] }
            guard n > 0 else { (mean[c], std[c]) = (0, 1); continue }
            let mu = parts.reduce(0.0) { $0 + Double($1.count[c]) * $1.mean[c] } / Double(n)
            let m2 = parts.reduce(0.0) {
                $0 + Double($1.count[c]) * ($1.std[c] * $1.std[c] + ($1.mean[c] - mu) * ($1.mean[c] - mu))
            }
            (mean[c], std[c], count[c]) = (mu, (m2 / Double(n)).squareRoot(), n)
        }
        return NormalizationStats(mean: mean, std: std, count: count)
    }
}
