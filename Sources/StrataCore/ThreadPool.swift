import StrataKernels

/// Strata's persistent worker threads, shared with the C kernels (see `strata_pool.h`).
///
/// Unlike `DispatchQueue.concurrentPerform`, which often runs short iterations all on the calling thread, the pool
/// keeps its workers spinning briefly between jobs, so work items of tens of microseconds really run on every core.
/// Tasks are handed out one at a time from an atomic counter, so a core slowed by another process takes fewer.
///
/// ```swift
/// ThreadPool.threads                       // STRATA_THREADS, else the cores this process may use
/// var sums = [Float](repeating: 0, count: rows)
/// sums.withUnsafeMutableBufferPointer { out in
///     ThreadPool.parallelFor(rows) { row in out[row] = rowSum(row) }   // each task writes its own element
/// }
/// ```
///
/// A `parallelFor` inside another one's body runs inline on the calling thread (it cannot deadlock), and so does a
/// GEMM called from a task.
public enum ThreadPool {
    /// Threads `parallelFor` uses, the calling thread included.
    public static var threads: Int { Int(strata_threads()) }

    /// Sets the thread count (clamped to 1...256). Has no effect when called from inside a `parallelFor` body.
    public static func setThreads(_ count: Int) {
        strata_set_threads(Int32(clamping: count))
    }

    /// Runs `body(task)` for every task in `0..<count`, concurrently, and returns when all have finished.
    ///
    /// `body` runs on several threads at once: it must only write state that no other task touches.
    public static func parallelFor(_ count: Int, _ body: (_ task: Int) -> Void) {
        parallelFor(count) { task, _ in body(task) }
    }

    /// Like the one-argument form, also passing the index of the thread running the task, in
    /// `0..<threads` and unique among tasks running at the same time: use it to pick per-thread scratch space.
    public static func parallelFor(_ count: Int, _ body: (_ task: Int, _ thread: Int) -> Void) {
        guard count > 0 else { return }
        withoutActuallyEscaping(body) { body in
            // The C pool takes a plain function pointer and a context; the closure travels as the context.
            var closure = body
            withUnsafeMutablePointer(to: &closure) { context in
                strata_parallel_for(Int32(clamping: count), { context, task, thread in
                    context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(task), Int(thread))
                }, context)
            }
        }
    }
}
