import Foundation
import StrataCore
import StrataIO

/// The stacks a job reads: one input stack (`inputs.paths`) or several (`inputs.scans`), each with the task's label
/// stack, and the names of the steps and bands.
///
/// ```swift
/// let data = try TrainingData.open(job, task: ChangeTask(job: job))
/// data.scans[0].input.steps   // T
/// ```
public struct TrainingData {
    /// One time stack and its labels.
    public struct Scan {
        /// The stack's first file, for messages and patient keys.
        public let name: String
        public let input: any PlaneStack
        /// nil for `nowcast` (its targets are the input's own later steps).
        public let target: (any PlaneStack)?
    }

    /// One entry for `inputs.paths`, one per entry of `inputs.scans`.
    public let scans: [Scan]
    /// ISO dates (or time labels) of the first stack's steps, where known.
    public let stepLabels: [String]?
    public let bandNames: [String]?

    /// Opens the inputs and targets and checks each stack against the task.
    ///
    /// - Throws: ``StrataError/fileNotFound(path:)`` naming a missing file, the readers' errors for unreadable ones,
    ///   ``StrataError/invalidStack(reason:)`` for an empty stack or one shorter than `task.minimumSteps`.
    public static func open(_ job: TrainingConfig, task: any TrainingTask) throws -> TrainingData {
        var dates: [Date]?
        if let labels = job.inputs.dates {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate]
            dates = try labels.map { label in
                guard let date = formatter.date(from: String(label.prefix(10))) else {
                    throw StrataError.invalidArgument(name: "inputs.dates", reason: "'\(label)' is not an ISO 8601 date")
                }
                return date
            }
        }
        let options = StackOptions(dates: dates, bandsPerStep: job.inputs.bandsPerStep,
                                   keepOrder: job.inputs.keepOrder, align: job.inputs.align)
        let inputs = job.inputs.scans ?? [job.inputs.paths]
        let labels: [[[String]]] = job.inputs.scans != nil ? (job.targets.scans ?? []).map { [$0] }
            : [[job.targets.paths, job.targets.changeStep.map { [$0] }].compactMap { $0 }]
        for path in Array(inputs.joined()) + Array(labels.joined().joined()) { try checkExists(path) }
        var scans: [Scan] = []
        var first: StackInfo?
        for (index, files) in inputs.enumerated() {
            let stack = try InputStack.open(files, options: options)
            let info = stack.info
            let name = files.count == 1 ? files[0] : "\(files[0]) (+\(files.count - 1) files)"
            guard info.steps > 0 else { throw StrataError.invalidStack(reason: "\(name): the input stack has no time step") }
            guard info.steps >= task.minimumSteps else {
                throw StrataError.invalidStack(
                    reason: "\(name): the input stack has \(info.steps) step\(info.steps == 1 ? "" : "s"); task "
                        + "'\(task.kind.rawValue)' needs at least \(task.minimumSteps)")
            }
            let parts = try (index < labels.count ? labels[index] : []).enumerated().map { part, files in
                let labelStack = try InputStack.open(files)
                try checkTarget(labelStack.info, files: files, isChangeMask: task.kind == .change && part == 0
                                    && job.targets.paths != nil)
                return try labelStack.planes()
            }
            let target: (any PlaneStack)? = parts.isEmpty ? nil : parts.count == 1 ? parts[0] : try StackedPlanes(parts)
            let input = try stack.planes()
            if let target, target.width != input.width || target.height != input.height || target.planes != input.planes {
                // Named here, where both files are known (the sampler only knows "target" and "input").
                let label = Array(labels[index].joined())
                throw StrataError.invalidArgument(
                    name: label.count == 1 ? label[0] : "\(label[0]) (+\(label.count - 1) files)",
                    reason: "the target is \(target.width)×\(target.height)×\(target.planes) (width × height × planes), "
                        + "the input \(name) is \(input.width)×\(input.height)×\(input.planes); targets lie on the "
                        + "input's grid")
            }
            scans.append(Scan(name: files[0], input: input, target: target))
            if first == nil { first = info }
        }
        let info = first!
        let known = info.dates.compactMap { $0 }
        return TrainingData(scans: scans, stepLabels: known.count == info.steps ? known : nil,
                            bandNames: info.bandNames.count == info.bands ? info.bandNames : nil)
    }

    /// Every task's target is one band (a 0/1 change mask, change steps, lesion labels, yield): a multi-band raster
    /// there is almost surely an input given by mistake, which training would otherwise read band 1 of. A change
    /// mask's sampled values must lie in 0...1.
    static func checkTarget(_ info: StackInfo, files: [String], isChangeMask: Bool) throws {
        let name = files.count == 1 ? files[0] : "\(files[0]) (+\(files.count - 1) files)"
        guard info.bands == 1 else {
            throw StrataError.invalidArgument(
                name: name, reason: "a target has one band (a 0/1 change mask, change steps, lesion labels or yield); "
                    + "this one has \(info.bands)")
        }
        if isChangeMask, let range = info.valueRange, range.count == 2, range[0] < 0 || range[1] > 1 {
            throw StrataError.invalidArgument(
                name: name, reason: "'targets.paths' of task 'change' is a 0/1 change mask, but its values reach "
                    + "\(range[0]) ... \(range[1]); change dates go in 'targets.change_step'")
        }
    }

    /// A missing file is named before any reader sees it (dataset addresses `file.h5:/path` are checked by file).
    static func checkExists(_ path: String) throws {
        // GDAL dataset names (NETCDF:"f.nc":pr) are checked by the raster reader, which names the file behind them.
        if ["NETCDF:", "HDF5:", "ZARR:"].contains(where: path.uppercased().hasPrefix) { return }
        let file = path.range(of: ":/").map { String(path[..<$0.lowerBound]) } ?? path
        if !file.contains("://"), !FileManager.default.fileExists(atPath: file) {
            throw StrataError.fileNotFound(path: file)
        }
    }
}
