// The dispatched GEMM (contract in strata_gemm.h): cache blocking, packing and threading around the micro-kernels.
//
// Loop nest (Goto/BLIS): for each NC-column block of C, for each KC slice of K, for each MC-row block:
//   1. pack B[KC, NC] into B̃ (once per column block and K slice) and A[MC, KC] into Ã, in parallel;
//   2. run the micro-kernel over every (MR-row tile of Ã) x (NR-column panel of B̃), in parallel.
// The first K slice applies the caller's beta, later slices accumulate (beta 1).
//
// Block sizes (SPR-class core: 48 KiB L1d, 2 MiB L2): a KC-step A micro-panel (8 x KC fp32 = 8 KiB at KC 256) stays
// in L1 while the micro-kernel walks the NR-column panels of B̃, which (KC x NC = 1 MiB) stays in L2; Ã is at most
// MC x KC = 256 KiB. Both transposes and all three storage types are resolved by the packing, so one micro-kernel
// per ISA and precision covers every case.
//
// Threads: both phases hand out tasks through strata_parallel_for (pool.c), so packing is shared rather than
// repeated per thread, and a core slowed by another process simply takes fewer tiles. Called from inside a pool task
// (e.g. a convolution that parallelises over images), the GEMM runs single-threaded on the calling thread.
#include "gemm_internal.h"
#include "strata_dispatch.h"
#include "strata_pool.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KC 256    // k steps per slice (fp32 words or bf16 pairs)
#define MC 256    // rows of Ã
#define NC 1024   // columns of B̃
// Below this many flops (a few microseconds of work) handing tasks to other threads costs more than it saves.
#define PARALLEL_MIN_FLOPS 4.0e6

typedef struct {
    int mr, nr;
    gemm_pack_mode mode;
    gemm_microkernel kernel;
} gemm_variant;

// The variant for this ISA and storage type; 0 when the scalar reference should run instead.
static int select_variant(strata_isa isa, strata_dtype dtype, gemm_variant *v) {
    gemm_pack_mode widen = dtype == STRATA_F32 ? GEMM_PACK_F32 : dtype == STRATA_BF16 ? GEMM_PACK_BF16_F32
                                                                                      : GEMM_PACK_F16_F32;
    switch (isa) {
    case STRATA_ISA_AVX512BF16:
        if (dtype == STRATA_BF16) {
            *v = (gemm_variant){GEMM_AVX512_MR, GEMM_AVX512_NR, GEMM_PACK_BF16_PAIRS, strata_gemm_kernel_avx512_bf16};
            return 1;
        }
        *v = (gemm_variant){GEMM_AVX512_MR, GEMM_AVX512_NR, widen, strata_gemm_kernel_avx512_f32};
        return 1;
    case STRATA_ISA_AVX512:
        *v = (gemm_variant){GEMM_AVX512_MR, GEMM_AVX512_NR, widen, strata_gemm_kernel_avx512_f32};
        return 1;
    case STRATA_ISA_AVX2:
        *v = (gemm_variant){GEMM_AVX2_MR, GEMM_AVX2_NR, widen, strata_gemm_kernel_avx2_f32};
        return 1;
    case STRATA_ISA_SCALAR:
        return 0;
    }
    return 0;
}

// Pack buffers: one pair per thread that calls strata_gemm, grown on demand and kept for the thread's lifetime, so
// the hot path never allocates. Freed by a pthread key destructor when the thread exits.
typedef struct {
    void *a, *b;
    size_t a_bytes, b_bytes;
} pack_buffers;

static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;
static _Thread_local pack_buffers *tls_buffers;

static void free_buffers(void *p) {
    pack_buffers *b = p;
    free(b->a);
    free(b->b);
    free(b);
}

static void make_buffers_key(void) { pthread_key_create(&buffers_key, free_buffers); }

// 64-byte aligned (one cache line, one zmm load); NULL if memory is exhausted.
static void *grow(void **p, size_t *have, size_t need) {
    if (need <= *have) return *p;
    free(*p);
    *have = 0;
    *p = aligned_alloc(64, (need + 63) & ~(size_t)63);
    if (*p) *have = need;
    return *p;
}

static pack_buffers *thread_buffers(void) {
    if (!tls_buffers) {
        pthread_once(&buffers_once, make_buffers_key);
        tls_buffers = calloc(1, sizeof *tls_buffers);
        if (tls_buffers) pthread_setspecific(buffers_key, tls_buffers);
    }
    return tls_buffers;
}

typedef struct {
    // The problem.
    int trans_a, trans_b, M, N;
    float alpha;
    const char *A, *B;
    size_t lda, ldb, element_size, ldc;
    float *C;
    gemm_variant v;
    // The current block: columns [jc, jc + nc), k [pc, pc + kc), rows [ic, ic + mc).
    int jc, nc, pc, kc, ic, mc, steps;
    float block_beta;
    uint32_t *a_pack, *b_pack;
    int b_pack_tasks, a_pack_tasks;  // b_pack_tasks is 0 once B̃ holds this (jc, pc) block
    int m_tiles, n_panels;
    int m_chunks, n_chunks;  // the compute phase's task grid
} gemm_job;

// Pack tasks: a k-contiguous source (A not transposed, B transposed) one panel per task; an r-contiguous one in ranges
// of k steps across all panels, so each task reads whole source rows (see strata_gemm_pack).
static int pack_task_count(int k_contiguous, int panels, int steps, int threads) {
    if (k_contiguous) return panels;
    int chunks = threads == 1 ? 1 : 2 * threads;
    return chunks < steps ? chunks : steps;
}

// Part `part` of `parts` of the block whose element (row 0, k 0) is at `origin`.
static void pack_part(const gemm_job *j, const char *origin, size_t ld, int k_contiguous, int R, int rows, int parts,
                      int part, uint32_t *dst) {
    size_t panel_stride = (size_t)R * j->steps;
    if (k_contiguous) {
        int r0 = part * R;
        strata_gemm_pack(origin + (size_t)r0 * ld * j->element_size, ld, 1, j->v.mode, R,
                         rows - r0 < R ? rows - r0 : R, j->kc, dst + (size_t)part * panel_stride, panel_stride);
        return;
    }
    int pairs = j->v.mode == GEMM_PACK_BF16_PAIRS;
    int s0 = (int)((long)part * j->steps / parts), s1 = (int)((long)(part + 1) * j->steps / parts);
    int k0 = pairs ? 2 * s0 : s0, k1 = pairs ? (2 * s1 < j->kc ? 2 * s1 : j->kc) : s1;
    strata_gemm_pack(origin + (size_t)k0 * ld * j->element_size, ld, 0, j->v.mode, R, rows, k1 - k0,
                     dst + (size_t)s0 * R, panel_stride);
}

static void pack_task(void *ctx, int task, int thread) {
    (void)thread;
    gemm_job *j = ctx;
    if (task < j->b_pack_tasks) {
        size_t offset = j->trans_b ? (size_t)j->jc * j->ldb + j->pc : (size_t)j->pc * j->ldb + j->jc;
        pack_part(j, j->B + offset * j->element_size, j->ldb, j->trans_b, j->v.nr, j->nc, j->b_pack_tasks, task,
                  j->b_pack);
    } else {
        size_t offset = j->trans_a ? (size_t)j->pc * j->lda + j->ic : (size_t)j->ic * j->lda + j->pc;
        pack_part(j, j->A + offset * j->element_size, j->lda, !j->trans_a, j->v.mr, j->mc, j->a_pack_tasks,
                  task - j->b_pack_tasks, j->a_pack);
    }
}

static void compute_task(void *ctx, int task, int thread) {
    (void)thread;
    gemm_job *j = ctx;
    int tm = task % j->m_chunks, tn = task / j->m_chunks;
    int p0 = tm * j->m_tiles / j->m_chunks, p1 = (tm + 1) * j->m_tiles / j->m_chunks;
    int q0 = tn * j->n_panels / j->n_chunks, q1 = (tn + 1) * j->n_panels / j->n_chunks;
    int mr = j->v.mr, nr = j->v.nr;
    // A micro-panel (L1) outside, B̃ panels (L2) inside.
    for (int p = p0; p < p1; p++) {
        int row = j->ic + p * mr, m = j->ic + j->mc - row < mr ? j->ic + j->mc - row : mr;
        const uint32_t *a = j->a_pack + (size_t)p * mr * j->steps;
        for (int q = q0; q < q1; q++) {
            int col = j->jc + q * nr, n = j->jc + j->nc - col < nr ? j->jc + j->nc - col : nr;
            j->v.kernel(j->steps, a, j->b_pack + (size_t)q * nr * j->steps, j->C + (size_t)row * j->ldc + col,
                        j->ldc, m, n, j->alpha, j->block_beta);
        }
    }
}

static void run_phase(int threads, int n_tasks, strata_task_fn fn, gemm_job *job) {
    if (threads > 1) {
        strata_parallel_for(n_tasks, fn, job);
    } else {
        for (int t = 0; t < n_tasks; t++) fn(job, t, 0);
    }
}

// C = beta * C, the whole product when K == 0.
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
}

void strata_gemm(strata_trans trans_a, strata_trans trans_b, int M, int N, int K, float alpha,
                 const void *A, int lda, const void *B, int ldb, strata_dtype dtype,
                 float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { scale_c(M, N, beta, C, ldc); return; }
    gemm_job job = {.trans_a = trans_a != STRATA_NO_TRANS, .trans_b = trans_b != STRATA_NO_TRANS, .M = M, .N = N,
                    .alpha = alpha, .A = A, .B = B, .lda = (size_t)lda, .ldb = (size_t)ldb,
                    .element_size = dtype == STRATA_F32 ? 4 : 2, .ldc = (size_t)ldc, .C = C};
    pack_buffers *buffers = thread_buffers();
    if (!buffers || !select_variant(strata_isa_active(), dtype, &job.v)) {
        // Scalar ISA, or no memory for pack buffers: the reference is always correct.
        strata_gemm_reference(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, dtype, beta, C, ldc);
        return;
    }
    int pairs = job.v.mode == GEMM_PACK_BF16_PAIRS;
    int threads = strata_in_parallel() || 2.0 * M * N * K < PARALLEL_MIN_FLOPS ? 1 : strata_threads();

    // Equal K slices, each a multiple of 8 (pairs stay whole), rather than full slices and a thin last one.
    int kc_max = pairs ? 2 * KC : KC;
    int k_slices = (K + kc_max - 1) / kc_max;
    int kc_nominal = ((K + k_slices - 1) / k_slices + 7) & ~7;
    // Equal row blocks too, each a multiple of MR.
    int m_blocks = (M + MC - 1) / MC;
    int mc_nominal = ((M + m_blocks - 1) / m_blocks + job.v.mr - 1) / job.v.mr * job.v.mr;
    int nc_max = N < NC ? N : NC;
    int steps_max = pairs ? (kc_nominal + 1) / 2 : kc_nominal;
    size_t a_bytes = (size_t)mc_nominal * steps_max * 4;
    size_t b_bytes = (size_t)((nc_max + job.v.nr - 1) / job.v.nr * job.v.nr) * steps_max * 4;
    job.a_pack = grow(&buffers->a, &buffers->a_bytes, a_bytes);
    job.b_pack = grow(&buffers->b, &buffers->b_bytes, b_bytes);
    if (!job.a_pack || !job.b_pack) {
        strata_gemm_reference(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, dtype, beta, C, ldc);
        return;
    }

    for (job.jc = 0; job.jc < N; job.jc += NC) {
        job.nc = N - job.jc < NC ? N - job.jc : NC;
        job.n_panels = (job.nc + job.v.nr - 1) / job.v.nr;
        for (job.pc = 0; job.pc < K; job.pc += kc_nominal) {
            job.kc = K - job.pc < kc_nominal ? K - job.pc : kc_nominal;
            job.steps = pairs ? (job.kc + 1) / 2 : job.kc;
            job.block_beta = job.pc == 0 ? beta : 1.0f;
            for (job.ic = 0; job.ic < M; job.ic += mc_nominal) {
                job.mc = M - job.ic < mc_nominal ? M - job.ic : mc_nominal;
                job.m_tiles = (job.mc + job.v.mr - 1) / job.v.mr;
                job.b_pack_tasks = job.ic > 0 ? 0 : pack_task_count(job.trans_b, job.n_panels, job.steps, threads);
                job.a_pack_tasks = pack_task_count(!job.trans_a, job.m_tiles, job.steps, threads);
                run_phase(threads, job.b_pack_tasks + job.a_pack_tasks, pack_task, &job);
                // About 8 tasks per thread, so that uneven chunks and a thread that starts late even out; each still
                // reuses its A micro-panels across several B̃ panels.
                int target = threads == 1 ? 1 : 8 * threads;
                int n_target = threads == 1 ? 1 : 4 * threads;
                job.n_chunks = job.n_panels < n_target ? job.n_panels : n_target;
                job.m_chunks = (target + job.n_chunks - 1) / job.n_chunks;
                if (job.m_chunks > job.m_tiles) job.m_chunks = job.m_tiles;
                run_phase(threads, job.m_chunks * job.n_chunks, compute_task, &job);
            }
        }
    }
}
