// The dispatched GEMM (contract in strata_gemm.h): cache blocking, packing and threading around the micro-kernels.
//
// Two parallel phases per block of at most MB_BYTES of packed A (one block for the shapes Strata uses):
//   1. pack A[rows, all K] into Ã, K in slices of KC steps (tasks: panels x slices, or whole slices);
//   2. split C's columns into chunks (some also split by rows: plan_tasks); each task owns its part of C for the
//      whole K loop: for each K slice it packs its columns of B into its own B̃ (kc x chunk, at most 1 MiB: stays
//      in L2) and runs the micro-kernel over each of its MR-row tiles of Ã (L1) x NR-column panels of B̃. The first
//      slice applies the caller's beta, later ones add.
// So there are two barriers per GEMM, not two per K slice: a thread that another process preempts holds up the
// others at most once, and meanwhile they take the remaining tasks. A is packed once per block; B once, except the
// columns of a chunk split by rows, which each of its row parts packs.
//
// Both transposes and all three storage types are resolved by the packing, so one micro-kernel per ISA and
// precision covers every case (AMX bf16 adds its own A layout and 16-step padding: gemm_variant.step_align). Called
// from inside a pool task (e.g. a convolution that parallelises over images), the GEMM runs single-threaded on the
// calling thread.
//
// Callers that reuse an operand skip its packing: strata_gemm_pack_a packs A once for many products
// (strata_gemm_packed_a; the packing and the jobs that read it plan their blocking through the one plan_job, so the
// layouts agree), and strata_gemm_packed_ab multiplies such an Ã of one K slice by a B̃ the caller wrote in panel
// layout itself (Winograd's transformed tiles).
#include "gemm_internal.h"
#include "thread_scratch.h"
#include "strata_dispatch.h"
#include "strata_pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KC STRATA_GEMM_PACKED_MAX_K  // k steps per slice (fp32 words or bf16 pairs): an 8 KiB A micro-panel in L1
#define NC 1024              // most columns per chunk: B̃ = KC x NC words = 1 MiB, half of L2
#define MB_BYTES (8u << 20)  // most bytes of Ã per block; larger A is processed in row blocks
// Below this many flops (a few microseconds of work) handing tasks to other threads costs more than it saves.
#define PARALLEL_MIN_FLOPS 4.0e6
#define MAX_TAIL_CHUNKS 256    // guided tail chunks (2 threads: at most 6; 8 threads: about 30; 64: about 220)
#define MAX_PLANNED_THREADS 64  // more threads than this always use the even plan

// A micro-kernel and how its panels are packed. step_align: each K slice's steps are rounded up to a multiple of
// this (16 for AMX's whole tile blocks; the packing zero-fills the extra steps).
typedef struct {
    int mr, nr;
    gemm_pack_mode a_mode, b_mode;
    gemm_microkernel kernel;
    int step_align;
} gemm_variant;

// bf16 mode: forced by strata_gemm_set_bf16_mode, else AMX where available, else timed once (-1: not yet known).
static _Atomic int bf16_forced = STRATA_BF16_AUTO;
static _Atomic int bf16_timed = -1;

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// Best of 5 runs of 64 micro-kernel calls over L1/L2-resident panels of k_values k values: the micro-kernel's own
// rate, with packing and memory out of the picture (packing costs about the same in both modes).
static double time_microkernel(gemm_microkernel kernel, int steps, const uint32_t *a, const uint32_t *b, float *c) {
    double best = 1e30;
    for (int run = 0; run < 5; run++) {
        double start = seconds_now();
        for (int i = 0; i < 64; i++)
            kernel(steps, a, b, c, GEMM_AVX512_NR, GEMM_AVX512_MR, GEMM_AVX512_NR, 1.0f, i == 0 ? 0.0f : 1.0f);
        double elapsed = seconds_now() - start;
        if (elapsed < best) best = elapsed;
    }
    return best;
}

// Times vdpbf16ps pairs against widened fp32 for the same 512 k values (256 pair steps vs 512 fp32 steps).
static int time_bf16_modes(void) {
    enum { K_VALUES = 512 };
    uint32_t *a = aligned_alloc(64, sizeof(uint32_t) * GEMM_AVX512_MR * K_VALUES);
    uint32_t *b = aligned_alloc(64, sizeof(uint32_t) * GEMM_AVX512_NR * K_VALUES);
    float *c = aligned_alloc(64, sizeof(float) * GEMM_AVX512_MR * GEMM_AVX512_NR);
    if (!a || !b || !c) { free(a); free(b); free(c); return STRATA_BF16_PAIRS; }
    // 0x3f80 is bf16 1.0: each word is the pair (1, 1), or as fp32 about 1.0039; both finite and normal.
    for (int i = 0; i < GEMM_AVX512_MR * K_VALUES; i++) a[i] = 0x3f803f80u;
    for (int i = 0; i < GEMM_AVX512_NR * K_VALUES; i++) b[i] = 0x3f803f80u;
    time_microkernel(strata_gemm_kernel_avx512_f32, K_VALUES, a, b, c);  // warm up caches and clocks
    double pairs = time_microkernel(strata_gemm_kernel_avx512_bf16, K_VALUES / 2, a, b, c);
    double widened = time_microkernel(strata_gemm_kernel_avx512_f32, K_VALUES, a, b, c);
    free(a); free(b); free(c);
    return pairs <= widened ? STRATA_BF16_PAIRS : STRATA_BF16_WIDEN;
}

void strata_gemm_set_bf16_mode(strata_bf16_mode mode) { atomic_store(&bf16_forced, (int)mode); }

strata_bf16_mode strata_gemm_bf16_mode(void) {
    // Without AVX512_BF16 there is nothing to time (and vdpbf16ps would fault): bf16 is always widened.
    if (!strata_isa_supported(STRATA_ISA_AVX512BF16)) return STRATA_BF16_WIDEN;
    int amx = strata_gemm_amx_available();
    int forced = atomic_load(&bf16_forced);
    if (forced == STRATA_BF16_AMX && !amx) forced = STRATA_BF16_AUTO;
    if (forced != STRATA_BF16_AUTO) return (strata_bf16_mode)forced;
    if (amx) return STRATA_BF16_AMX;
    int timed = atomic_load(&bf16_timed);
    if (timed < 0) {
        // Two threads may both time on the very first call; they store the same kind of answer.
        timed = time_bf16_modes();
        atomic_store(&bf16_timed, timed);
    }
    return (strata_bf16_mode)timed;
}

// The variant for this ISA and storage type; 0 when the scalar reference should run instead.
static int select_variant(strata_isa isa, strata_dtype dtype, gemm_variant *v) {
    gemm_pack_mode widen = dtype == STRATA_F32 ? GEMM_PACK_F32 : dtype == STRATA_BF16 ? GEMM_PACK_BF16_F32
                                                                                      : GEMM_PACK_F16_F32;
    switch (isa) {
    case STRATA_ISA_AVX512BF16:
        if (dtype == STRATA_BF16) {
            strata_bf16_mode mode = strata_gemm_bf16_mode();
            if (mode == STRATA_BF16_AMX) {
                *v = (gemm_variant){GEMM_AMX_MR, GEMM_AMX_NR, GEMM_PACK_BF16_AMX_A, GEMM_PACK_BF16_AMX_B,
                                    strata_gemm_kernel_amx_bf16, 16};
                return 1;
            }
            if (mode == STRATA_BF16_PAIRS) {
                *v = (gemm_variant){GEMM_AVX512_MR, GEMM_AVX512_NR, GEMM_PACK_BF16_PAIRS, GEMM_PACK_BF16_PAIRS,
                                    strata_gemm_kernel_avx512_bf16, 1};
                return 1;
            }
        }
        *v = (gemm_variant){GEMM_AVX512_MR, GEMM_AVX512_NR, widen, widen, strata_gemm_kernel_avx512_f32, 1};
        return 1;
    case STRATA_ISA_AVX512:
        *v = (gemm_variant){GEMM_AVX512_MR, GEMM_AVX512_NR, widen, widen, strata_gemm_kernel_avx512_f32, 1};
        return 1;
    case STRATA_ISA_AVX2:
        *v = (gemm_variant){GEMM_AVX2_MR, GEMM_AVX2_NR, widen, widen, strata_gemm_kernel_avx2_f32, 1};
        return 1;
    case STRATA_ISA_SCALAR:
        return 0;
    }
    return 0;
}

// Pack buffers come from strata_thread_scratch: Ã (SCRATCH_GEMM_A) belongs to the thread that calls strata_gemm,
// each B̃ (SCRATCH_GEMM_B) to the thread running the chunk; kept for the thread's lifetime, so the hot path never
// allocates.

typedef struct {
    // The problem.
    int trans_a, trans_b, M, N, K;
    float alpha, beta;
    const char *A, *B;
    const gemm_b_source *source;  // when not NULL, packs op(B) in place of B / ldb / trans_b
    const uint32_t *a_prepacked;  // when not NULL, Ã from strata_gemm_pack_a (one row block): A is not packed
    size_t lda, ldb, element_size, ldc;
    float *C;
    strata_dtype dtype;
    gemm_variant v;
    int pairs;
    // K slices: slice s covers k [s * kc_nominal, min(K, (s + 1) * kc_nominal)).
    int slices, kc_nominal, steps_nominal;
    // The current row block [ic, ic + mc) and its Ã: slice s, panel p at a_pack + s * a_slice_stride + p * MR * steps.
    int ic, mc, m_tiles;
    uint32_t *a_pack;
    size_t a_slice_stride;
    int a_tasks_per_slice;  // m_tiles when A is k-contiguous (one panel per task), else 1 (whole rows per task)
    // Compute tasks (plan_tasks, compute_task_bounds): column chunks, the first even_chunks sharing the first
    // even_panels NR panels equally, the rest starting at tail_start[chunk - even_chunks]; chunks from split_from on
    // are split into row_parts tasks each (tile ranges), the others run over all m_tiles.
    int n_panels, n_chunks, even_chunks, even_panels, split_from, row_parts, n_tasks;
    int tail_start[MAX_TAIL_CHUNKS + 1];
} gemm_job;

static int slice_kc(const gemm_job *j, int s) {
    int k0 = s * j->kc_nominal;
    return j->K - k0 < j->kc_nominal ? j->K - k0 : j->kc_nominal;
}

static int round_up(int x, int multiple) { return (x + multiple - 1) / multiple * multiple; }

static int slice_steps(const gemm_job *j, int s) {
    return round_up(j->pairs ? (slice_kc(j, s) + 1) / 2 : slice_kc(j, s), j->v.step_align);
}

static void pack_a_task(void *ctx, int task, int thread) {
    (void)thread;
    gemm_job *j = ctx;
    int s = task / j->a_tasks_per_slice, part = task % j->a_tasks_per_slice;
    int k0 = s * j->kc_nominal, kc = slice_kc(j, s), steps = slice_steps(j, s), mr = j->v.mr;
    size_t panel_stride = (size_t)mr * steps;
    uint32_t *dst = j->a_pack + (size_t)s * j->a_slice_stride;
    if (!j->trans_a) {  // k-contiguous: one MR-row panel
        int r0 = j->ic + part * mr, rows = j->ic + j->mc - r0 < mr ? j->ic + j->mc - r0 : mr;
        strata_gemm_pack(j->A + ((size_t)r0 * j->lda + k0) * j->element_size, j->lda, 1, j->v.a_mode, mr, rows, kc,
                         dst + (size_t)part * panel_stride, panel_stride);
    } else {  // r-contiguous: every panel of the slice, reading whole rows of A^T
        strata_gemm_pack(j->A + ((size_t)k0 * j->lda + j->ic) * j->element_size, j->lda, 0, j->v.a_mode, mr, j->mc,
                         kc, dst, panel_stride);
    }
}

// Packs the chunk's columns [col0, col0 + cols) of K slice s into panels at dst (panel stride nr x the slice's steps).
static void pack_b(const gemm_job *j, int s, int col0, int cols, uint32_t *dst) {
    int k0 = s * j->kc_nominal, kc = slice_kc(j, s);
    size_t panel_stride = (size_t)j->v.nr * slice_steps(j, s);
    if (j->source) {
        j->source->pack(j->source, k0, kc, col0, cols, j->v.b_mode, j->v.nr, dst, panel_stride);
        return;
    }
    size_t offset = j->trans_b ? (size_t)col0 * j->ldb + k0 : (size_t)k0 * j->ldb + col0;
    strata_gemm_pack(j->B + offset * j->element_size, j->ldb, j->trans_b, j->v.b_mode, j->v.nr, cols, kc, dst,
                     panel_stride);
}

// No memory for a chunk's B̃ and no A or B matrix for the reference to read (a prepacked A, a sourced B): pack one
// NR panel at a time into the stack instead. The largest panel is 48 columns x 256 steps (KC fp32 steps, or 2·KC k
// in pairs).
static void compute_by_panel(const gemm_job *j, int p0, int p1, int q0, int q1) {
    uint32_t panel[GEMM_AVX512_NR * KC] __attribute__((aligned(64)));
    int mr = j->v.mr, nr = j->v.nr;
    for (int s = 0; s < j->slices; s++) {
        int steps = slice_steps(j, s);
        float beta = s == 0 ? j->beta : 1.0f;
        const uint32_t *a_slice = j->a_pack + (size_t)s * j->a_slice_stride;
        for (int q = q0; q < q1; q++) {
            int col = q * nr, n = j->N - col < nr ? j->N - col : nr;
            pack_b(j, s, col, n, panel);
            for (int p = p0; p < p1; p++) {
                int row = j->ic + p * mr, m = j->ic + j->mc - row < mr ? j->ic + j->mc - row : mr;
                j->v.kernel(steps, a_slice + (size_t)p * mr * steps, panel, j->C + (size_t)row * j->ldc + col, j->ldc,
                            m, n, j->alpha, beta);
            }
        }
    }
}

// ---- Compute tasks -------------------------------------------------------------------------------------------------
// Each task multiplies a column chunk (whole NR panels, at most NC columns: its B̃ stays in L2) by some or all of the
// row block's tiles. Two plans, built per row block; the guided one is used where it finishes no later (below).
//
// Even: equal chunks. One thread: one chunk per NC columns. Several: about 4 tasks per thread (a thread slowed by
// another process leaves its share to the others), chunks of at least 2 panels, and when that gives too few chunks,
// every chunk split by rows as well. Whole-row chunks keep each thread on long B rows and a B̃ reused by every tile.
//
// Guided: equal full-width chunks while more than `threads` of them are left, then each chunk takes 1/threads of the
// panels not yet handed out (classic guided scheduling), so the last chunks are single panels, each split by rows
// as well. The first chunks are as wide as possible (on 2 threads: half, a quarter, an eighth of the panels...), and
// when the threads finish their shares at different times the first one done takes the narrow tail instead of
// waiting for another's last wide chunk. Used where the planned finish (planned_makespan, equal speed per column
// and tile) is no later than the even plan's, since its wider chunks run faster per column than even ones: on 2
// threads 128x1024x576 went from 292 to 326 GFLOP/s (even chunks of 2-3 panels left the caller waiting for 12 % of
// the GEMM) and 256x4096x1625 from 359 to 365; on 512³ (11 panels, 10 balanced half-row tasks) the guided plan
// would finish later and measured 8 % slower, so the even plan stays.

// Even plan for the current row block (m_tiles known).
static void plan_even_tasks(gemm_job *job, int threads) {
    int panels = job->n_panels, max_panels = NC / job->v.nr;
    int chunks = (panels + max_panels - 1) / max_panels, want = threads == 1 ? 1 : 4 * threads;
    int most_chunks = panels >= 2 ? panels / 2 : 1;  // one-panel chunks pack B in 192-byte row pieces
    if (chunks < want) chunks = most_chunks < want ? most_chunks : want;
    int parts = (want + chunks - 1) / chunks;
    job->even_chunks = job->n_chunks = chunks;
    job->even_panels = panels;
    job->split_from = 0;
    job->row_parts = parts < job->m_tiles ? parts : job->m_tiles;
    job->n_tasks = chunks * job->row_parts;
}

// Guided plan for the current row block (threads > 1).
static void plan_guided_tasks(gemm_job *job, int threads) {
    int panels = job->n_panels, max_panels = NC / job->v.nr;
    int guided = threads * max_panels;  // panels left when the chunks start to shrink
    job->even_chunks = panels > guided ? (panels - guided + max_panels - 1) / max_panels : 0;
    job->even_panels = job->even_chunks * max_panels;
    int t = 0, singles = 0;
    job->tail_start[0] = job->even_panels;
    for (int left = panels - job->even_panels; left > 0; t++) {
        int size = (left + threads - 1) / threads;
        if (size > max_panels) size = max_panels;
        if (t == MAX_TAIL_CHUNKS - 1) size = left;  // (dozens of threads) the rest in one chunk
        job->tail_start[t + 1] = job->tail_start[t] + size;
        singles += size == 1;
        left -= size;
    }
    job->n_chunks = job->even_chunks + t;
    job->split_from = job->n_chunks - singles;
    int parts = (4 * threads + job->n_chunks - 1) / job->n_chunks;
    parts = parts < 2 ? 2 : parts;
    job->row_parts = singles == 0 ? 1 : parts < job->m_tiles ? parts : job->m_tiles;
    job->n_tasks = job->split_from + singles * job->row_parts;
}

// Task `task`'s NR panels [q0, q1) and row tiles [p0, p1) of the current row block.
static void compute_task_bounds(const gemm_job *j, int task, int *q0, int *q1, int *p0, int *p1) {
    int chunk = task, part = 0, parts = 1;
    if (task >= j->split_from) {
        chunk = j->split_from + (task - j->split_from) / j->row_parts;
        part = (task - j->split_from) % j->row_parts;
        parts = j->row_parts;
    }
    *p0 = part * j->m_tiles / parts;
    *p1 = (part + 1) * j->m_tiles / parts;
    if (chunk < j->even_chunks) {
        *q0 = (int)((long)chunk * j->even_panels / j->even_chunks);
        *q1 = (int)((long)(chunk + 1) * j->even_panels / j->even_chunks);
    } else {
        *q0 = j->tail_start[chunk - j->even_chunks];
        *q1 = j->tail_start[chunk - j->even_chunks + 1];
    }
}

// The finishing time of the planned tasks when each goes, in order, to the thread free first; a task's cost is its
// columns x row tiles (so a part-filled last panel counts for what it holds).
static double planned_makespan(const gemm_job *j, int threads) {
    double finish[MAX_PLANNED_THREADS] = {0}, last = 0;
    for (int task = 0; task < j->n_tasks; task++) {
        int q0, q1, p0, p1, first = 0;
        compute_task_bounds(j, task, &q0, &q1, &p0, &p1);
        for (int t = 1; t < threads; t++) first = finish[t] < finish[first] ? t : first;
        int cols = (q1 * j->v.nr < j->N ? q1 * j->v.nr : j->N) - q0 * j->v.nr;
        finish[first] += (double)cols * (p1 - p0);
        last = finish[first] > last ? finish[first] : last;
    }
    return last;
}

// Plans the current row block's tasks: the guided plan where it finishes no later than the even one, else even.
static void plan_tasks(gemm_job *job, int threads) {
    job->n_panels = (job->N + job->v.nr - 1) / job->v.nr;
    plan_even_tasks(job, threads);
    if (threads == 1 || threads > MAX_PLANNED_THREADS) return;
    double even = planned_makespan(job, threads);
    plan_guided_tasks(job, threads);
    if (planned_makespan(job, threads) <= even) return;
    plan_even_tasks(job, threads);
}

static void compute_task(void *ctx, int task, int thread) {
    (void)thread;
    gemm_job *j = ctx;
    int q0, q1, p0, p1;
    compute_task_bounds(j, task, &q0, &q1, &p0, &p1);
    int mr = j->v.mr, nr = j->v.nr;
    int col0 = q0 * nr, cols = (q1 * nr < j->N ? q1 * nr : j->N) - col0;
    uint32_t *b_pack = strata_thread_scratch(SCRATCH_GEMM_B, (size_t)(q1 - q0) * nr * j->steps_nominal * 4);
    if (!b_pack && (j->source || j->a_prepacked)) { compute_by_panel(j, p0, p1, q0, q1); return; }
    if (!b_pack) {  // no memory for this thread's B̃: the reference computes the chunk, which nothing touched yet
        int r0 = j->ic + p0 * mr, rows = (j->ic + p1 * mr < j->ic + j->mc ? j->ic + p1 * mr : j->ic + j->mc) - r0;
        size_t a_offset = j->trans_a ? (size_t)r0 : (size_t)r0 * j->lda;
        size_t b_offset = j->trans_b ? (size_t)col0 * j->ldb : (size_t)col0;
        strata_gemm_reference(j->trans_a, j->trans_b, rows, cols, j->K, j->alpha, j->A + a_offset * j->element_size,
                              (int)j->lda, j->B + b_offset * j->element_size, (int)j->ldb, j->dtype, j->beta,
                              j->C + (size_t)r0 * j->ldc + col0, (int)j->ldc);
        return;
    }
    for (int s = 0; s < j->slices; s++) {
        int steps = slice_steps(j, s);
        size_t b_panel_stride = (size_t)nr * steps;
        pack_b(j, s, col0, cols, b_pack);
        float beta = s == 0 ? j->beta : 1.0f;
        const uint32_t *a_slice = j->a_pack + (size_t)s * j->a_slice_stride;
        // A micro-panel (L1) outside, the chunk's B̃ panels (L2) inside.
        for (int p = p0; p < p1; p++) {
            int row = j->ic + p * mr, m = j->ic + j->mc - row < mr ? j->ic + j->mc - row : mr;
            const uint32_t *a = a_slice + (size_t)p * mr * steps;
            for (int q = q0; q < q1; q++) {
                int col = q * nr, n = j->N - col < nr ? j->N - col : nr;
                j->v.kernel(steps, a, b_pack + (size_t)(q - q0) * b_panel_stride,
                            j->C + (size_t)row * j->ldc + col, j->ldc, m, n, j->alpha, beta);
            }
        }
    }
}

static void run_phase(int threads, int n_tasks, strata_task_fn fn, void *ctx) {
    if (threads > 1) {
        strata_parallel_for(n_tasks, fn, ctx);
    } else {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
    }
}

// C = beta * C, the whole product when K == 0.
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
}

// K slices and row blocks of a job whose problem fields and variant are set: equal K slices, each a multiple of 8
// (pairs stay whole) or, for AMX, of a 32-k tile block, rather than full slices and a thin last one; row blocks of
// equal height (a multiple of MR), all of M at once unless Ã would pass MB_BYTES or `one_block`. Returns the rows per
// block. strata_gemm_pack_a and the job that reads its Ã plan alike through this one function.
static int plan_job(gemm_job *job, int one_block) {
    const int M = job->M, K = job->K, mr = job->v.mr;
    job->pairs = job->v.b_mode == GEMM_PACK_BF16_PAIRS || job->v.b_mode == GEMM_PACK_BF16_AMX_B;
    int kc_max = job->pairs ? 2 * KC : KC, k_align = job->v.step_align > 1 ? 2 * job->v.step_align : 8;
    // AMX: a K that needs several slices anyway is cut into slices of at most KC k (128 pair steps), so that the
    // 16 KiB Ã panel and a 16 KiB B̃ panel of one micro-kernel call both stay in the 48 KiB L1 (at 256 steps the
    // two 32 KiB panels evict each other). 1 thread, alternated: 256x4096x1625 946 -> 1024 GFLOP/s, 128x1024x576
    // unchanged; 512³, one slice either way, stays at 512 k: two slices of 256 measured 3 % slower.
    if (job->v.step_align > 1 && K > kc_max) kc_max = KC;
    job->slices = (K + kc_max - 1) / kc_max;
    job->kc_nominal = round_up((K + job->slices - 1) / job->slices, k_align);
    job->slices = (K + job->kc_nominal - 1) / job->kc_nominal;
    job->steps_nominal = round_up(job->pairs ? (job->kc_nominal + 1) / 2 : job->kc_nominal, job->v.step_align);

    size_t bytes_per_tile = (size_t)mr * job->steps_nominal * 4 * job->slices;
    int m_tiles_total = (M + mr - 1) / mr;
    int tiles_per_block = (int)(MB_BYTES / bytes_per_tile) > 0 ? (int)(MB_BYTES / bytes_per_tile) : 1;
    int m_blocks = one_block ? 1 : (m_tiles_total + tiles_per_block - 1) / tiles_per_block;
    int mc_nominal = (m_tiles_total + m_blocks - 1) / m_blocks * mr;
    job->a_slice_stride = (size_t)((mc_nominal + mr - 1) / mr) * mr * job->steps_nominal;
    return mc_nominal;
}

// Packs the row block at job->ic (job->mc rows) into job->a_pack: every K slice's panels.
static void pack_a_block(gemm_job *job, int threads) {
    job->m_tiles = (job->mc + job->v.mr - 1) / job->v.mr;
    job->a_tasks_per_slice = job->trans_a ? 1 : job->m_tiles;
    run_phase(threads, job->slices * job->a_tasks_per_slice, pack_a_task, job);
}

// Blocks, packs and multiplies a job whose problem fields and variant are set (M, N, K > 0). Returns -1 without
// touching C when there is no memory for Ã.
static int run_job(gemm_job job) {
    const int M = job.M;
    int threads = 2.0 * M * job.N * job.K < PARALLEL_MIN_FLOPS ? 1 : strata_usable_threads();
    int mc_nominal = plan_job(&job, job.a_prepacked != NULL);
    if (job.a_prepacked) {
        job.a_pack = (uint32_t *)job.a_prepacked;
    } else {
        job.a_pack = strata_thread_scratch(SCRATCH_GEMM_A, job.a_slice_stride * job.slices * 4);
        if (!job.a_pack) return -1;
    }

    for (job.ic = 0; job.ic < M; job.ic += mc_nominal) {
        job.mc = M - job.ic < mc_nominal ? M - job.ic : mc_nominal;
        if (job.a_prepacked) job.m_tiles = (job.mc + job.v.mr - 1) / job.v.mr;
        else pack_a_block(&job, threads);
        plan_tasks(&job, threads);
        run_phase(threads, job.n_tasks, compute_task, &job);
    }
    return 0;
}

void strata_gemm(strata_trans trans_a, strata_trans trans_b, int M, int N, int K, float alpha,
                 const void *A, int lda, const void *B, int ldb, strata_dtype dtype,
                 float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { scale_c(M, N, beta, C, ldc); return; }
    gemm_job job = {.trans_a = trans_a != STRATA_NO_TRANS, .trans_b = trans_b != STRATA_NO_TRANS, .M = M, .N = N,
                    .K = K, .alpha = alpha, .beta = beta, .A = A, .B = B, .lda = (size_t)lda, .ldb = (size_t)ldb,
                    .element_size = dtype == STRATA_F32 ? 4 : 2, .ldc = (size_t)ldc, .C = C, .dtype = dtype};
    // Scalar ISA, or no memory for Ã: the reference is always correct.
    if (!select_variant(strata_isa_active(), dtype, &job.v) || run_job(job) != 0)
        strata_gemm_reference(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, dtype, beta, C, ldc);
}

int strata_gemm_sourced_b(strata_trans trans_a, int M, int N, int K, float alpha, const void *A, int lda,
                          const gemm_b_source *source, strata_dtype dtype, float beta, float *C, int ldc) {
    gemm_job job = {.trans_a = trans_a != STRATA_NO_TRANS, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
                    .A = A, .source = source, .lda = (size_t)lda, .element_size = dtype == STRATA_F32 ? 4 : 2,
                    .ldc = (size_t)ldc, .C = C, .dtype = dtype};
    if (!select_variant(strata_isa_active(), dtype, &job.v)) return -1;
    if (M <= 0 || N <= 0) return 0;
    if (K <= 0) { scale_c(M, N, beta, C, ldc); return 0; }
    return run_job(job);
}

// ---- A packed once, multiplied many times ---------------------------------------------------------------------------

size_t strata_gemm_packed_a_bound(int M, int K) {
    // Every variant's panel height, step pairing and step padding: fp32 on AVX-512 and AVX2, bf16 pairs, AMX.
    const gemm_variant variants[4] = {
        {.mr = GEMM_AVX512_MR, .b_mode = GEMM_PACK_F32, .step_align = 1},
        {.mr = GEMM_AVX2_MR, .b_mode = GEMM_PACK_F32, .step_align = 1},
        {.mr = GEMM_AVX512_MR, .b_mode = GEMM_PACK_BF16_PAIRS, .step_align = 1},
        {.mr = GEMM_AMX_MR, .b_mode = GEMM_PACK_BF16_AMX_B, .step_align = 16},
    };
    size_t most = 0;
    for (int i = 0; i < 4; i++) {
        gemm_job job = {.M = M, .K = K, .v = variants[i]};
        plan_job(&job, 1);
        size_t bytes = job.a_slice_stride * job.slices * 4;
        if (bytes > most) most = bytes;
    }
    return most;
}

size_t strata_gemm_pack_a(strata_trans trans_a, int M, int K, const void *A, int lda, strata_dtype dtype,
                          void *dst) {
    if (M <= 0 || K <= 0) return 0;
    gemm_job job = {.trans_a = trans_a != STRATA_NO_TRANS, .M = M, .K = K, .A = A, .lda = (size_t)lda,
                    .element_size = dtype == STRATA_F32 ? 4 : 2, .dtype = dtype};
    if (!select_variant(strata_isa_active(), dtype, &job.v)) return 0;
    plan_job(&job, 1);
    job.a_pack = dst;
    job.ic = 0;
    job.mc = M;
    pack_a_block(&job, 1);
    return job.a_slice_stride * job.slices * 4;
}

void strata_gemm_packed_a(int M, int N, int K, float alpha, const void *packed, const void *B, int ldb,
                          strata_trans trans_b, strata_dtype dtype, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { scale_c(M, N, beta, C, ldc); return; }
    gemm_job job = {.trans_b = trans_b != STRATA_NO_TRANS, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
                    .B = B, .ldb = (size_t)ldb, .element_size = dtype == STRATA_F32 ? 4 : 2, .ldc = (size_t)ldc,
                    .C = C, .dtype = dtype, .a_prepacked = packed};
    // The caller packed under this ISA and bf16 mode (strata_gemm_pack_a returned bytes), so the variant exists.
    // Ã needs no pack buffer; a chunk without memory for its B̃ packs B panel by panel on the stack.
    if (!select_variant(strata_isa_active(), dtype, &job.v)) return;
    run_job(job);
}

// ---- Both operands packed by the caller -----------------------------------------------------------------------------

int strata_gemm_panel_width(void) {
    gemm_variant v;
    return select_variant(strata_isa_active(), STRATA_F32, &v) ? v.nr : 0;
}

typedef struct {
    gemm_variant v;
    int M, N, K, chunks, panels;
    const uint32_t *a, *b;
    size_t b_panel_stride;
    float beta;
    float *C;
    size_t ldc;
} packed_job;

// Chunk `task` of the B̃ panels against every Ã tile: each tile (L1) outside, the chunk's panels (L2) inside.
static void packed_task(void *ctx, int task, int thread) {
    (void)thread;
    const packed_job *j = ctx;
    int q0 = task * j->panels / j->chunks, q1 = (task + 1) * j->panels / j->chunks;
    int mr = j->v.mr, nr = j->v.nr;
    for (int row = 0; row < j->M; row += mr) {
        const uint32_t *a = j->a + (size_t)row * j->K;
        for (int q = q0; q < q1; q++) {
            int col = q * nr;
            j->v.kernel(j->K, a, j->b + (size_t)q * j->b_panel_stride, j->C + (size_t)row * j->ldc + col, j->ldc,
                        j->M - row < mr ? j->M - row : mr, j->N - col < nr ? j->N - col : nr, 1.0f, j->beta);
        }
    }
}

int strata_gemm_packed_ab(int M, int N, int K, const void *packed_a, const float *packed_b, size_t b_panel_stride,
                          float beta, float *C, int ldc) {
    packed_job j = {.M = M, .N = N, .K = K, .a = packed_a, .b = (const uint32_t *)(const void *)packed_b,
                    .b_panel_stride = b_panel_stride, .beta = beta, .C = C, .ldc = (size_t)ldc};
    // One K slice only: then Ã is MR-row panels of K steps each, panel p at p·MR·K words.
    if (M <= 0 || N <= 0 || K <= 0 || K > KC || !select_variant(strata_isa_active(), STRATA_F32, &j.v)) return -1;
    j.panels = (N + j.v.nr - 1) / j.v.nr;
    int threads = 2.0 * M * N * K < PARALLEL_MIN_FLOPS ? 1 : strata_usable_threads();
    j.chunks = threads == 1 ? 1 : (j.panels < 4 * threads ? j.panels : 4 * threads);
    run_phase(j.chunks > 1 ? threads : 1, j.chunks, packed_task, &j);
    return 0;
}
