// Persistent worker threads with spin-then-sleep waiting (see strata_pool.h for the contract).
//
// One job at a time owns the pool (pool_lock). A job is published by writing fn/ctx/n, opening `job_state` and then
// bumping `generation`; workers notice the new generation (spinning for SPIN_NS after their last job, then sleeping
// on a condition variable), join the job if it is still open (one CAS on job_state, which counts joined workers),
// take tasks from the atomic `next_task` counter, and leave (decrement the count) when no task is left. The caller
// runs tasks too; when none is left it closes the job and waits only for the workers that joined, so job fields are
// never rewritten while a worker may still read them, and a worker that is asleep or descheduled when a short job
// is published costs that job nothing: it finds the job closed and goes back to waiting. (Waiting for every worker to
// check in instead made each job as slow as the slowest wake-up: a 16-task, 16 µs job took 120 µs on 2 threads.)
//
// Sleeping uses the Dekker pattern on seq_cst atomics: a sleeper first announces itself (sleepers / caller_sleeping)
// and then re-checks the condition; a waker first changes the condition and then checks for sleepers. At least one
// of the two sees the other, so no wake-up is lost, and the mutex + condvar are touched only when someone sleeps.
#define _GNU_SOURCE
#include "strata_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS 256
// Long enough to bridge the gap between back-to-back kernel calls (a GEMM's pack and compute phases, a conv layer's
// successive GEMMs), short enough not to steal much CPU from other processes when the pool goes idle.
#define SPIN_NS 100000

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;

static _Atomic int thread_count;  // 0 until resolved; written under pool_lock, read anywhere
static int worker_count;   // running workers (thread_count - 1 once started)
static pthread_t workers[MAX_THREADS];
static unsigned start_generation;  // the generation workers start from (written before pthread_create)

static strata_task_fn job_fn;
static void *job_ctx;
static int job_tasks;
static _Atomic int next_task;
static _Atomic unsigned generation;
// JOB_CLOSED | the number of workers inside the current job. Only the caller opens it (stores 0), and only while it
// is closed with nobody inside, so joins (CAS while open) and leaves (decrement) are never lost.
#define JOB_CLOSED 0x40000000
static _Atomic int job_state = JOB_CLOSED;
static _Atomic int sleepers;
static _Atomic int caller_sleeping;
static _Atomic int shutting_down;

static _Thread_local int tls_in_task;
static _Thread_local int tls_thread;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Spins until *flag != value or SPIN_NS pass; returns whether the flag changed.
static int spin_while_equal(_Atomic unsigned *flag, unsigned value) {
    int64_t deadline = now_ns() + SPIN_NS;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load(flag) != value) return 1;
            cpu_relax();
        }
        if (now_ns() > deadline) return 0;
    }
}

static void run_tasks(int thread) {
    int task;
    while ((task = atomic_fetch_add(&next_task, 1)) < job_tasks) job_fn(job_ctx, task, thread);
}

// Enters the current job if it is open; the job's fields may be read only after this returned 1.
static int join_job(void) {
    int state = atomic_load(&job_state);
    while (!(state & JOB_CLOSED))
        if (atomic_compare_exchange_weak(&job_state, &state, state + 1)) return 1;
    return 0;
}

static void *worker_main(void *arg) {
    int thread = (int)(intptr_t)arg;
    tls_thread = thread;
    unsigned seen = start_generation;
    for (;;) {
        if (!spin_while_equal(&generation, seen)) {
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);
            while (atomic_load(&generation) == seen) pthread_cond_wait(&wake_cond, &sleep_lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
        }
        seen = atomic_load(&generation);
        if (atomic_load(&shutting_down)) return NULL;
        if (!join_job()) continue;  // finished (or not yet opened) without us
        tls_in_task = 1;
        run_tasks(thread);
        tls_in_task = 0;
        if (atomic_fetch_sub(&job_state, 1) == (JOB_CLOSED | 1) && atomic_load(&caller_sleeping)) {
            pthread_mutex_lock(&sleep_lock);
            pthread_cond_signal(&done_cond);
            pthread_mutex_unlock(&sleep_lock);
        }
    }
}

static void publish_generation(void) {
    atomic_fetch_add(&generation, 1);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake_cond);
        pthread_mutex_unlock(&sleep_lock);
    }
}

// Closes the job to late workers and waits for the ones inside it to leave.
static void wait_for_workers(void) {
    atomic_fetch_or(&job_state, JOB_CLOSED);
    int64_t deadline = now_ns() + SPIN_NS;
    while (atomic_load(&job_state) != JOB_CLOSED) {
        for (int i = 0; i < 64 && atomic_load(&job_state) != JOB_CLOSED; i++) cpu_relax();
        if (now_ns() > deadline) {
            pthread_mutex_lock(&sleep_lock);
            atomic_store(&caller_sleeping, 1);
            while (atomic_load(&job_state) != JOB_CLOSED) pthread_cond_wait(&done_cond, &sleep_lock);
            atomic_store(&caller_sleeping, 0);
            pthread_mutex_unlock(&sleep_lock);
        }
    }
}

static int default_thread_count(void) {
    const char *env = getenv("STRATA_THREADS");
    if (env && *env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (*end == 0 && n > 0) return n > MAX_THREADS ? MAX_THREADS : (int)n;
    }
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n > MAX_THREADS ? MAX_THREADS : n;
    }
#endif
    return 1;
}

// Both under pool_lock.
static void stop_workers(void) {
    if (worker_count == 0) return;
    atomic_store(&shutting_down, 1);
    publish_generation();
    for (int i = 0; i < worker_count; i++) pthread_join(workers[i], NULL);
    atomic_store(&shutting_down, 0);
    worker_count = 0;
}

static void start_workers(void) {
    if (thread_count == 0) thread_count = default_thread_count();
    if (worker_count == thread_count - 1) return;
    start_generation = atomic_load(&generation);
    while (worker_count < thread_count - 1) {
        if (pthread_create(&workers[worker_count], NULL, worker_main, (void *)(intptr_t)(worker_count + 1)) != 0)
            break;  // fewer workers than asked (resource limits): still correct, just less parallel
        worker_count++;
    }
}

static void run_inline(int n_tasks, strata_task_fn fn, void *ctx, int thread) {
    int was_in_task = tls_in_task;
    tls_in_task = 1;
    for (int task = 0; task < n_tasks; task++) fn(ctx, task, thread);
    tls_in_task = was_in_task;
}

void strata_parallel_for(int n_tasks, strata_task_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (tls_in_task) { run_inline(n_tasks, fn, ctx, tls_thread); return; }
    if (n_tasks == 1) { run_inline(1, fn, ctx, 0); return; }
    pthread_mutex_lock(&pool_lock);
    start_workers();
    if (worker_count == 0) {
        pthread_mutex_unlock(&pool_lock);
        run_inline(n_tasks, fn, ctx, 0);
        return;
    }
    job_fn = fn;
    job_ctx = ctx;
    job_tasks = n_tasks;
    atomic_store(&next_task, 0);
    atomic_store(&job_state, 0);
    publish_generation();
    tls_in_task = 1;
    tls_thread = 0;
    run_tasks(0);
    tls_in_task = 0;
    wait_for_workers();
    pthread_mutex_unlock(&pool_lock);
}

int strata_threads(void) {
    // Lock-free once resolved: a GEMM asks on every call, and must not wait for another caller's job to finish.
    int n = atomic_load(&thread_count);
    if (n > 0) return n;
    pthread_mutex_lock(&pool_lock);
    if (thread_count == 0) thread_count = default_thread_count();
    n = thread_count;
    pthread_mutex_unlock(&pool_lock);
    return n;
}

void strata_set_threads(int n) {
    if (tls_in_task) return;  // the pool is busy with the caller's own job; resizing now would deadlock
    if (n < 1) n = 1;
    if (n > MAX_THREADS) n = MAX_THREADS;
    pthread_mutex_lock(&pool_lock);
    if (n != thread_count) {
        stop_workers();
        thread_count = n;
    }
    pthread_mutex_unlock(&pool_lock);
}

int strata_in_parallel(void) { return tls_in_task; }

int strata_usable_threads(void) { return tls_in_task ? 1 : strata_threads(); }
