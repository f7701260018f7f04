// The convolution's input gradient of one image (conv_backward_data_from, for strata_conv2d_backward_data and its
// bf16-dy twin): one GEMM for K = 1, the flipped-weight convolution (implicit), or im2col GEMMs into dcol and col2im
// back onto dx, in chunks of image rows.
//
// Shapes: dy_n [Cout, H·W] (compute type), w^T [CKK, Cout] (CKK = Cin·K·K), dcol [CKK, R·W] fp32 for a chunk of R
// image rows, dx_n [Cin, H·W] fp32.
#include "conv_internal.h"
#include "im2col.h"
#include "thread_scratch.h"
#include "strata_pool.h"
#include <string.h>

// Bytes of fp32 dcol the im2col input gradient writes at a time: rows of the image whose dcol, about 512 KiB, stays
// in the 2 MiB L2 cache between the GEMM that writes it and the col2im that reads it, beside the packed w^T, dy and
// dx, while w^T is packed once per call. The whole dcol of a 64-channel, K = 5, 64x64 gate convolution is 26 MiB:
// written to memory and read back, it and repacking dy per channel group cost 11 % of a config (a) bf16 training
// step. 1 MiB chunks were 4-7 % slower than 512 KiB (1 thread, AMX bf16 and fp32, 38 or 64 -> 128 channels at
// 32x32, K 3: 184 -> 170 us bf16); 256 and 384 KiB no faster, 2 MiB 35 % slower.
#define DCOL_CHUNK_BYTES ((size_t)512 << 10)

// Most chunks whose GEMMs run side by side (one per thread, see backward_data_im2col).
#define MAX_ROUND 16

int conv_dcol_rows(const strata_conv2d_desc *d) {
    size_t row = (size_t)d->Cin * d->K * d->K * d->W * sizeof(float);
    int rows = (int)(DCOL_CHUNK_BYTES / row);
    return rows < 1 ? 1 : rows > d->H ? d->H : rows;
}

// The image's chunks of rows: as equal as whole rows allow and at most conv_dcol_rows each. They depend on the shape
// only, never on the thread count, so every dx pixel receives its taps in the same order however many threads run.
static int chunk_count(const strata_conv2d_desc *d) {
    int rows = conv_dcol_rows(d);
    return (d->H + rows - 1) / rows;
}

static int chunk_start(const strata_conv2d_desc *d, int chunks, int i) {
    return (int)((long long)i * d->H / chunks);
}

static size_t esize(const strata_conv2d_desc *d) { return d->compute == STRATA_F32 ? 4 : 2; }

// dcol [CKK, (y1 - y0)·W] = w^T · dy_n's columns of image rows [y0, y1): w^T packed once per call where the GEMM
// has a packed form (conv_pack_transposed_weights), else transposed on the fly.
static void chunk_gemm(const conv_job *j, const void *dyop, int y0, int y1, float *dcol) {
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W, ckk = d->Cin * d->K * d->K, cols = (y1 - y0) * d->W;
    const char *dy_rows = (const char *)dyop + (size_t)y0 * d->W * esize(d);
    if (j->wt_packed)
        strata_gemm_packed_a(ckk, cols, d->Cout, 1.0f, j->wt_packed, dy_rows, hw, STRATA_NO_TRANS, d->compute, 0.0f,
                             dcol, cols);
    else
        strata_gemm(STRATA_TRANS, STRATA_NO_TRANS, ckk, cols, d->Cout, 1.0f, j->wop, ckk, dy_rows, hw, d->compute,
                    0.0f, dcol, cols);
}

// One round of chunks [first, first + count): their GEMMs (one task each), then col2im of all of them split over the
// threads by channel, each channel taking the chunks in order.
typedef struct {
    const conv_job *j;
    const void *dyop;
    float *dx;
    int chunks, first, count, tasks;
    float *dcol[MAX_ROUND];
} round_job;

static void gemm_task(void *ctx, int task, int thread) {
    (void)thread;
    const round_job *r = ctx;
    const strata_conv2d_desc *d = r->j->d;
    int i = r->first + task;
    chunk_gemm(r->j, r->dyop, chunk_start(d, r->chunks, i), chunk_start(d, r->chunks, i + 1), r->dcol[task]);
}

static void col2im_task(void *ctx, int task, int thread) {
    (void)thread;
    const round_job *r = ctx;
    const strata_conv2d_desc *d = r->j->d;
    const int c0 = task * d->Cin / r->tasks, c1 = (task + 1) * d->Cin / r->tasks, kk = d->K * d->K;
    for (int t = 0; t < r->count; t++) {
        int y0 = chunk_start(d, r->chunks, r->first + t), y1 = chunk_start(d, r->chunks, r->first + t + 1);
        strata_col2im_add_rows(r->dcol[t] + (size_t)c0 * kk * (y1 - y0) * d->W, r->dx + (size_t)c0 * d->H * d->W,
                               c1 - c0, d->H, d->W, d->K, y0, y1);
    }
}

// The im2col input gradient. Inside a pool task (images in parallel) or on one thread: chunk by chunk, GEMM then
// col2im. Otherwise (one image, or images one after another, on T threads) in rounds of up to T chunks: the round's
// GEMMs run side by side, each on one thread into its own dcol (the first in the workspace, the others in the calling
// thread's scratch), then its col2im is split by channel. Threading each chunk's GEMM instead left the threads
// waiting on each other twice per chunk: one image, 2 threads, against the GEMM of the same product, 65 -> 256
// channels 64x64 K 5 (64 one-row chunks) went from 0.57-0.60 to 0.76-0.81 (AMX bf16) and 0.79-0.80 to 0.92-0.94
// (fp32); 64 -> 128 at 32x32 K 3 (5 chunks) from 0.34-0.35 to 0.45-0.47, still below its 1-thread 0.85: there the
// channel split of col2im reads dcol rows that the other core's GEMM wrote into its own L2. A lone chunk (or no
// scratch memory) threads its GEMM instead. Each dx pixel's taps are added in the same order either way, and GEMM
// results do not depend on the thread count, so dx is the same bits on any thread count.
static void backward_data_im2col(const conv_job *j, char *ws, const void *dyop, float *dx_n) {
    const strata_conv2d_desc *d = j->d;
    const int chunks = chunk_count(d), threads = strata_usable_threads();
    const size_t chunk_bytes = align64((size_t)d->Cin * d->K * d->K * conv_dcol_rows(d) * d->W * sizeof(float));
    int width = threads < MAX_ROUND ? threads : MAX_ROUND;
    char *extra = width > 1 ? strata_thread_scratch(SCRATCH_CONV_DCOL, (size_t)(width - 1) * chunk_bytes) : NULL;
    if (!extra) width = 1;
    round_job r = {.j = j, .dyop = dyop, .dx = dx_n, .chunks = chunks, .tasks = threads < d->Cin ? threads : d->Cin};
    r.dcol[0] = (float *)(void *)(ws + j->l->dcol);
    for (int t = 1; t < width; t++) r.dcol[t] = (float *)(void *)(extra + (size_t)(t - 1) * chunk_bytes);
    for (r.first = 0; r.first < chunks; r.first += r.count) {
        r.count = chunks - r.first < width ? chunks - r.first : width;
        if (r.count > 1) strata_parallel_for(r.count, gemm_task, &r);
        else gemm_task(&r, 0, 0);  // threads its GEMM when outside a pool task
        if (r.tasks > 1) strata_parallel_for(r.tasks, col2im_task, &r);
        else col2im_task(&r, 0, 0);
    }
}

void conv_backward_data_from(const conv_job *j, int n, char *ws, const void *dyop) {
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W, kk = d->K * d->K, ckk = d->Cin * kk;
    float *dx_n = j->dx + (size_t)n * d->Cin * hw;
    if (d->K == 1) {
        // dx_n [Cin, HW] (+)= w^T [Cin, Cout] · dy_n [Cout, HW], straight into dx.
        strata_gemm(STRATA_TRANS, STRATA_NO_TRANS, d->Cin, hw, d->Cout, 1.0f, j->wop, ckk, dyop, hw, d->compute,
                    j->accumulate ? 1.0f : 0.0f, dx_n, hw);
        return;
    }
    if (j->implicit) {
        // dx_n [Cin, HW] (+)= wt [Cin, Cout·K·K] · im2col(dy_n): the input gradient is the convolution of dy with
        // the flipped, transposed weights, so no dcol and no col2im.
        strata_im2col_view view;
        strata_im2col_view_init(&view, dyop, d->Cout, d->H, d->W, d->K, esize(d), 0);
        const int cokk = d->Cout * kk;
        if (strata_gemm_sourced_b(STRATA_NO_TRANS, d->Cin, hw, cokk, 1.0f, j->workspace + j->l->wt, cokk,
                                  &view.source, d->compute, j->accumulate ? 1.0f : 0.0f, dx_n, hw) == 0)
            return;
    }
    // dcol = w^T · dy_n chunk by chunk of image rows, each chunk's dcol in cache until col2im adds it onto dx. Each
    // dcol element is the same sum whatever the chunk; col2im adds a dx pixel's taps chunk by chunk.
    if (!j->accumulate) memset(dx_n, 0, (size_t)d->Cin * hw * sizeof(float));
    backward_data_im2col(j, ws, dyop, dx_n);
}

void conv_pack_transposed_weights(conv_job *j) {
    const strata_conv2d_desc *d = j->d;
    if (d->K == 1 || j->implicit) return;
    const int ckk = d->Cin * d->K * d->K;
    void *packed = j->workspace + j->l->wpack;
    if (strata_gemm_pack_a(STRATA_TRANS, ckk, d->Cout, j->wop, ckk, d->compute, packed)) j->wt_packed = packed;
}
