import Foundation

/// Reads the planned batches of one epoch in order, optionally one batch ahead on a background thread.
///
/// Prefetch keeps the order and content identical to a plain read (the plan is fixed before any read; only *when*
/// a batch is read changes): after handing out batch i it starts reading batch i + 1 on a `Thread`, and the next
/// call waits for it. At most one read is in flight, so reads never overlap.
///
/// ```swift
/// let loader = try sampler.batches(epoch: 0, batchSize: 8, prefetch: true)
/// while let batch = try loader.next() { train(batch) }
/// ```
public final class BatchLoader: @unchecked Sendable {
    /// Positions of each remaining batch, in order.
    public let groups: [[SamplePosition]]
    private let prefetch: Bool
    private let read: @Sendable ([SamplePosition]) throws -> Batch
    private var index = 0
    private var inFlight: Pending?

    /// The result of one background read; written by the reader thread before it signals, read after the wait.
    private final class Pending: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var result: Result<Batch, any Error>?
    }

    init(groups: [[SamplePosition]], prefetch: Bool,
         read: @escaping @Sendable ([SamplePosition]) throws -> Batch) {
        self.groups = groups
        self.prefetch = prefetch
        self.read = read
    }

    deinit { inFlight?.done.wait() }

    /// Batches still to come.
    public var remaining: Int { groups.count - index }

    /// The next batch, or `nil` at the end of the epoch.
    public func next() throws -> Batch? {
        guard index < groups.count else { return nil }
        let result: Result<Batch, any Error>
        if let pending = inFlight {
            pending.done.wait()
            result = pending.result!
            inFlight = nil
        } else {
            result = Result { try read(groups[index]) }
        }
        index += 1
        if prefetch, index < groups.count {
            let pending = Pending(), positions = groups[index], read = self.read
            inFlight = pending
            Thread {
                pending.result = Result { try read(positions) }
                pending.done.signal()
            }.start()
        }
        return try result.get()
    }
}
