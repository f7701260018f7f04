// A persistent pool of worker threads for the kernels (GEMM, convolution) and for Swift callers.
//
// Why not DispatchQueue.concurrentPerform: for work items of tens of microseconds it often runs every iteration on
// the calling thread, so a 2-core machine gets 1 core's worth. Here workers spin briefly after each job and only then
// sleep, so back-to-back jobs start on all threads within a microsecond or so.
//
// Tasks are handed out with an atomic counter (dynamic balance: a core slowed by another process takes fewer tasks).
// The calling thread takes part as thread 0; workers are threads 1 ... threads-1.
//
// Nesting: a parallel_for called from inside a task runs its tasks inline on that thread, in order, with that
// task's `thread` index; it never waits on the pool, so it cannot deadlock. Independent callers on different threads
// take turns (one job at a time owns the pool).
#ifndef STRATA_POOL_H
#define STRATA_POOL_H

/// One task: `task` in [0, n_tasks), `thread` in [0, strata_threads()) is unique among the tasks running at the same
/// time in this call (use it to index per-thread scratch).
typedef void (*strata_task_fn)(void *ctx, int task, int thread);

/// Runs fn(ctx, task, thread) once for every task in [0, n_tasks) and returns when all have finished.
void strata_parallel_for(int n_tasks, strata_task_fn fn, void *ctx);

/// The number of threads parallel_for uses (calling thread included). Default: STRATA_THREADS if it is a positive
/// integer, else the CPUs this process may run on (sched_getaffinity).
int strata_threads(void);

/// Sets the thread count (clamped to [1, 256]); stops and restarts workers as needed. Must not be called from a task.
void strata_set_threads(int n);

/// Whether the calling thread is running a parallel_for task now (nested calls run inline).
int strata_in_parallel(void);

/// The threads work started here can spread over: 1 inside a parallel_for task (a nested parallel_for runs inline),
/// else strata_threads().
int strata_usable_threads(void);
#endif
