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

// dcol [CKK, (y1 - y0)·W] = w^T · dy_n's columns of image rows [y0, y1): w^T packed once per call where the GEMM
// has a packed form (conv_pack_transposed_weights), else transposed on the fly.
static void chunk_gemm(const conv_job *j, const void *dyop, int y0, int y1, float *dcol) {
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W, ckk = d->Cin * d->K * d->K, cols = (y1 - y0) * d->W;
    const char *dy_rows = (const char *)dyop + (size_t)y0 * d->W * conv_esize(d);
    if (j->wt_packed)
        strata_gemm_packed_a(ckk, cols, d->Cout, 1.0f, j->wt_packed, dy_rows, hw, STRATA_NO_TRANS, d->compute, 0.0f,
                             dcol, cols);
    else
        strata_gemm(STRATA_TRANS, STRATA_NO_TRANS, ckk, cols, d->Cout, 1.0f, j->wop, ckk, dy_rows, hw, d->compute,
                    0.0f, dcol, cols);
}

// One round of chunks [first, first + count). Chunk i changes dx rows [reach_start(i), reach_end(i)); within a
// round, the rows it shares with earlier chunks of the round are [reach_start(i), reach_end(i - 1)).
typedef struct {
    const conv_job *j;
    const void *dyop;
    float *dx;
    int chunks, first, count, tasks;
    // Whether each chunk's own thread adds its dcol onto the rows no earlier chunk of the round reaches (chunks at
    // least K - 1 rows tall); otherwise all of col2im is split by channel.
    int local;
    float *dcol[MAX_ROUND];
} round_job;

static int reach_start(const round_job *r, int i) {
    int p = r->j->d->K / 2, y = chunk_start(r->j->d, r->chunks, i) - p;
    return y > 0 ? y : 0;
}

static int reach_end(const round_job *r, int i) {
    int H = r->j->d->H, y = chunk_start(r->j->d, r->chunks, i + 1) + r->j->d->K / 2;
    return y < H ? y : H;
}

// col2im of round chunk t (its dcol) onto dx rows [oy0, oy1), channels [c0, c1).
static void add_chunk(const round_job *r, int t, int c0, int c1, int oy0, int oy1) {
    const strata_conv2d_desc *d = r->j->d;
    const int i = r->first + t, y0 = chunk_start(d, r->chunks, i), y1 = chunk_start(d, r->chunks, i + 1);
    if (oy1 <= oy0 || c1 <= c0) return;
    strata_col2im_add_window(r->dcol[t] + (size_t)c0 * d->K * d->K * (y1 - y0) * d->W,
                             r->dx + (size_t)c0 * d->H * d->W, c1 - c0, d->H, d->W, d->K, y0, y1, oy0, oy1);
}

// Task t: chunk t's GEMM, then its col2im onto the rows no earlier chunk of the round reaches, all channels, on the
// same thread, while the chunk's dcol is in that core's L2.
static void chunk_task(void *ctx, int t, int thread) {
    (void)thread;
    const round_job *r = ctx;
    const strata_conv2d_desc *d = r->j->d;
    const int i = r->first + t;
    chunk_gemm(r->j, r->dyop, chunk_start(d, r->chunks, i), chunk_start(d, r->chunks, i + 1), r->dcol[t]);
    if (!r->local) return;
    int from = reach_start(r, i);
    if (t > 0 && reach_end(r, i - 1) > from) from = reach_end(r, i - 1);
    add_chunk(r, t, 0, d->Cin, from, reach_end(r, i));
}

// After the round's tasks, split over the threads by channel, chunk by chunk in order (so every dx pixel still
// receives its taps in chunk order): each later chunk's col2im onto the rows it shares with the chunk before it, or
// (not local) every chunk's whole col2im.
static void shared_rows_task(void *ctx, int task, int thread) {
    (void)thread;
    const round_job *r = ctx;
    const strata_conv2d_desc *d = r->j->d;
    const int c0 = task * d->Cin / r->tasks, c1 = (task + 1) * d->Cin / r->tasks;
    for (int t = r->local ? 1 : 0; t < r->count; t++) {
        const int i = r->first + t;
        if (!r->local) {
            add_chunk(r, t, c0, c1, 0, d->H);
            continue;
        }
        const int end = reach_end(r, i - 1) < reach_end(r, i) ? reach_end(r, i - 1) : reach_end(r, i);
        add_chunk(r, t, c0, c1, reach_start(r, i), end);
    }
}

// A lone chunk's col2im (round of one: the first chunk in dcol[0]) onto all its rows, channels split over the tasks.
static void lone_chunk_task(void *ctx, int task, int thread) {
    (void)thread;
    const round_job *r = ctx;
    const int Cin = r->j->d->Cin, c0 = task * Cin / r->tasks, c1 = (task + 1) * Cin / r->tasks;
    add_chunk(r, 0, c0, c1, 0, r->j->d->H);
}

// The im2col input gradient. Inside a pool task (images in parallel) or on one thread: chunk by chunk, GEMM then
// col2im. Otherwise (one image, or images one after another, on T threads) in rounds of up to T chunks, each chunk
// on one thread: its GEMM into its own dcol (the first in the workspace, the others in the calling thread's scratch)
// and, for chunks at least K - 1 rows tall, its col2im onto the rows no earlier chunk of the round reaches, while
// the dcol is in that core's L2; then the rest of col2im in chunk order, split by channel. Before, each chunk's
// GEMM was threaded and its whole col2im split by channel: two waits per chunk, and col2im reading the dcol rows the
// other core's GEMM had left in its own L2. One image, 2 threads, against the GEMM of the same product: 65 -> 256
// channels 64x64 K 5 (64 one-row chunks, so not local) went from 0.57-0.60 to 0.76-0.82 (AMX bf16) and 0.79-0.80
// to 0.91-0.94 (fp32); 64 -> 128 at 32x32 K 3 (5 chunks of 6-7 rows) from 0.34-0.35 to 0.55-0.57, 0.44-0.49 of it
// without the local col2im. A lone chunk (or no scratch memory) threads its GEMM instead. Each dx pixel receives its
// taps in the same order either way, and GEMM results do not depend on the thread count, so dx is the same bits on
// any thread count.
static void backward_data_im2col(const conv_job *j, char *ws, const void *dyop, float *dx_n) {
    const strata_conv2d_desc *d = j->d;
    const int chunks = chunk_count(d), threads = strata_usable_threads();
    const size_t chunk_bytes = align64((size_t)d->Cin * d->K * d->K * conv_dcol_rows(d) * d->W * sizeof(float));
    int width = threads < MAX_ROUND ? threads : MAX_ROUND;
    char *extra = width > 1 ? strata_thread_scratch(SCRATCH_CONV_DCOL, (size_t)(width - 1) * chunk_bytes) : NULL;
    if (!extra) width = 1;
    round_job r = {.j = j, .dyop = dyop, .dx = dx_n, .chunks = chunks, .tasks = threads < d->Cin ? threads : d->Cin,
                   .local = d->H / chunks >= d->K - 1};
    r.dcol[0] = (float *)(void *)(ws + j->l->dcol);
    for (int t = 1; t < width; t++) r.dcol[t] = (float *)(void *)(extra + (size_t)(t - 1) * chunk_bytes);
    for (r.first = 0; r.first < chunks; r.first += r.count) {
        r.count = chunks - r.first < width ? chunks - r.first : width;
        if (r.count == 1) {
            // A lone chunk: its GEMM threaded (outside a pool task), its col2im split by channel.
            chunk_gemm(j, dyop, chunk_start(d, chunks, r.first), chunk_start(d, chunks, r.first + 1), r.dcol[0]);
            if (r.tasks > 1) strata_parallel_for(r.tasks, lone_chunk_task, &r);
            else lone_chunk_task(&r, 0, 0);
            continue;
        }
        strata_parallel_for(r.count, chunk_task, &r);
        if (r.tasks > 1) strata_parallel_for(r.tasks, shared_rows_task, &r);
        else shared_rows_task(&r, 0, 0);
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
        strata_im2col_view_init(&view, dyop, d->Cout, d->H, d->W, d->K, conv_esize(d), 0);
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
