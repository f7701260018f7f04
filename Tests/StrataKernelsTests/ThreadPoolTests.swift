import XCTest
import StrataCore
#if canImport(Glibc)
import Glibc
#endif

final class ThreadPoolTests: XCTestCase {
    private var savedThreads = 1

    override func setUp() { savedThreads = ThreadPool.threads }
    override func tearDown() { ThreadPool.setThreads(savedThreads) }

    func testEveryTaskRunsExactlyOnce() {
        ThreadPool.setThreads(2)
        for count in [1, 2, 3, 1000] {
            let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
            defer { runs.deallocate() }
            runs.initialize(repeating: 0)
            ThreadPool.parallelFor(count) { task in runs[task] += 1 }  // each task owns its slot: no race
            XCTAssertEqual(Array(runs), [Int](repeating: 1, count: count), "count \(count)")
        }
    }

    /// With 2 threads set, the work must really be spread over 2 OS threads (DispatchQueue.concurrentPerform often
    /// is not). Each task busy-waits 1 ms, long enough that the second thread has woken up well before the end.
    func testWorkRunsOnTwoThreads() throws {
        guard Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) >= 2 else { throw XCTSkip("one CPU: nothing to spread") }
        ThreadPool.setThreads(2)
        XCTAssertEqual(ThreadPool.threads, 2)
        let tasks = 64
        let osThreads = UnsafeMutableBufferPointer<UInt>.allocate(capacity: tasks)
        let poolThreads = UnsafeMutableBufferPointer<Int>.allocate(capacity: tasks)
        defer { osThreads.deallocate(); poolThreads.deallocate() }
        ThreadPool.parallelFor(tasks) { task, thread in
            osThreads[task] = UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))
            poolThreads[task] = thread
            let clock = ContinuousClock(), end = clock.now.advanced(by: .milliseconds(1))
            while clock.now < end {}
        }
        XCTAssertEqual(Set(osThreads).count, 2, "distinct OS threads")
        XCTAssertEqual(Set(poolThreads), [0, 1], "thread indices")
    }

    /// A parallelFor inside a task runs inline on that thread instead of waiting for the (busy) pool.
    func testNestedParallelForRunsInline() {
        ThreadPool.setThreads(2)
        let outer = 16, inner = 50
        let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: outer * inner)
        defer { runs.deallocate() }
        runs.initialize(repeating: 0)
        ThreadPool.parallelFor(outer) { i in
            ThreadPool.parallelFor(inner) { j in runs[i * inner + j] += 1 }
        }
        XCTAssertEqual(Array(runs), [Int](repeating: 1, count: outer * inner))
    }

    func testSingleThreadRunsOnCaller() {
        ThreadPool.setThreads(1)
        let caller = pthread_self()
        var others = 0
        ThreadPool.parallelFor(20) { _ in if pthread_equal(pthread_self(), caller) == 0 { others += 1 } }
        XCTAssertEqual(others, 0)
    }
}
