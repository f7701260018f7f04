import Foundation
import StrataCore
import StrataIO

/// The stacks a job reads: the input planes, the task's label planes and the names of steps and bands.
///
/// ```swift
/// let data = try TrainingData.open(job, task: ChangeTask(job: job))
/// data.input.steps   // T
/// ```
public struct TrainingData {
    public let input: any PlaneStack
    /// nil for `nowcast` (its targets are the input's own later steps).
    public let target: (any PlaneStack)?
    /// ISO dates (or time labels) of the input steps, where known.
    public let stepLabels: [String]?
    public let bandNames: [String]?

    /// Opens the inputs and targets and checks the stack against the task.
    ///
    /// - Throws: the readers' errors naming a missing or unreadable file; ``StrataError/invalidStack(reason:)`` for
    ///   an empty stack or one shorter than `task.minimumSteps`.
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
        for path in job.inputs.paths + (job.targets.paths ?? []) + [job.targets.changeStep].compactMap({ $0 }) {
            let file = path.range(of: ":/").map { String(path[..<$0.lowerBound]) } ?? path
            if !file.contains("://"), !FileManager.default.fileExists(atPath: file) {
                throw StrataError.fileNotFound(path: file)
            }
        }
        let stack = try InputStack.open(job.inputs.paths, options: StackOptions(
            dates: dates, bandsPerStep: job.inputs.bandsPerStep, keepOrder: job.inputs.keepOrder,
            align: job.inputs.align))
        let info = stack.info
        guard info.steps > 0 else { throw StrataError.invalidStack(reason: "the input stack has no time step") }
        guard info.steps >= task.minimumSteps else {
            throw StrataError.invalidStack(
                reason: "the input stack has \(info.steps) step\(info.steps == 1 ? "" : "s"); task "
                    + "'\(task.kind.rawValue)' needs at least \(task.minimumSteps)")
        }
        let input = try stack.planes()
        var labels: [any PlaneStack] = []
        if let paths = job.targets.paths { labels.append(try InputStack.open(paths).planes()) }
        if let steps = job.targets.changeStep { labels.append(try InputStack.open([steps]).planes()) }
        let target: (any PlaneStack)? = labels.isEmpty ? nil : labels.count == 1 ? labels[0] : try StackedPlanes(labels)
        let known = info.dates.compactMap { $0 }
        return TrainingData(input: input, target: target,
                            stepLabels: known.count == info.steps ? known : nil,
                            bandNames: info.bandNames.count == info.bands ? info.bandNames : nil)
    }
}
