// 2-D convolution on strata_gemm: im2col materialised, implicit, or Winograd (see strata_conv.h for shapes, GEMM forms
// and the workspace contract). The passes whose output gradient is already bf16 are in conv_bf16dy.c.
#include "strata_kernels.h"
#include "conv_internal.h"
#include "im2col.h"
#include "winograd.h"
#include "thread_scratch.h"
#include "strata_pool.h"
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int forced_algorithm = STRATA_CONV_AUTO;

void strata_conv2d_set_algorithm(strata_conv_algorithm algorithm) { atomic_store(&forced_algorithm, (int)algorithm); }

strata_conv_algorithm strata_conv2d_algorithm(void) {
    int forced = atomic_load(&forced_algorithm);
    if (forced == STRATA_CONV_WINOGRAD) return STRATA_CONV_WINOGRAD;
    // The scalar ISA has only the reference GEMM, which reads a stored B: im2col.
    if (strata_isa_active() == STRATA_ISA_SCALAR) return STRATA_CONV_IM2COL;
    return forced == STRATA_CONV_IM2COL ? STRATA_CONV_IM2COL : STRATA_CONV_IMPLICIT;
}

// Workspace sections, each 64-byte aligned so the GEMM sees aligned panels:
//   w16  [Cout, CKK]  16-bit weights                     (16-bit compute only)
//   x16  [Cin, HW]    16-bit image before im2col         (16-bit compute only)
//   col  [CKK, HW]    im2col of one image, compute type  (K > 1 only)
//   dy16 [Cout, HW]   16-bit output gradient             (16-bit compute only)
//   dcol [CKK, R·W]   fp32 gradient w.r.t. col, R image rows at a time (K > 1 only; conv_dcol_rows)
//   wt   [Cin, Cout·K·K] flipped, transposed weights in the compute type (K > 1 only; implicit input gradient)
//   wpack w^T [CKK, Cout] packed as the GEMM's A (K > 1 only; im2col input gradient)
//   wino Winograd's filter tiles and block scratch (fp32, K = 3 or 5 only; winograd.h)
// col and dcol serve the im2col algorithm (and the implicit one's fallback when the GEMM has no packed variant).

layout conv_plan(const strata_conv2d_desc *d) {
    size_t hw = (size_t)d->H * d->W, ckk = (size_t)d->Cin * d->K * d->K;
    int half = d->compute != STRATA_F32;
    size_t esize = half ? 2 : 4;
    layout l;
    size_t at = 0;
    l.w16 = at;  at += half ? align64((size_t)d->Cout * ckk * 2) : 0;
    l.x16 = at;  at += half ? align64((size_t)d->Cin * hw * 2) : 0;
    l.col = at;  at += d->K > 1 ? align64(ckk * hw * esize) : 0;
    l.dy16 = at; at += half ? align64((size_t)d->Cout * hw * 2) : 0;
    l.dcol = at; at += d->K > 1 ? align64(ckk * (size_t)conv_dcol_rows(d) * d->W * 4) : 0;
    l.wt = at;   at += d->K > 1 ? align64((size_t)d->Cout * ckk * esize) : 0;
    l.wpack = at; at += d->K > 1 ? align64(strata_gemm_packed_a_bound((int)ckk, d->Cout)) : 0;
    l.wino = at; at += align64(strata_winograd_workspace_size(d));
    l.total = at;
    return l;
}

int strata_conv2d_check(const strata_conv2d_desc *d) {
    if (!d || d->N <= 0 || d->Cin <= 0 || d->Cout <= 0 || d->H <= 0 || d->W <= 0 || d->K <= 0 || d->K % 2 == 0)
        return -1;
    if (d->compute != STRATA_F32 && d->compute != STRATA_BF16 && d->compute != STRATA_F16) return -1;
    // GEMM dimensions and leading dimensions are int.
    long long hw = (long long)d->H * d->W, ckk = (long long)d->Cin * d->K * d->K;
    if (hw > INT_MAX || ckk > INT_MAX || (long long)d->Cout * ckk > INT_MAX) return -1;
    return 0;
}

size_t strata_conv2d_workspace_size(const strata_conv2d_desc *d) {
    return strata_conv2d_check(d) == 0 ? conv_plan(d).total : 0;
}

typedef struct {
    strata_dtype type;
    const float *src;
    uint16_t *dst;
    size_t n;
    int tasks;
} to_half_job;

// Task i rounds elements [i·n/tasks, (i+1)·n/tasks), the bounds rounded down to 32 elements (whole 64-byte lines
// of the 16-bit copy).
static void to_half_task(void *ctx, int task, int thread) {
    (void)thread;
    const to_half_job *c = ctx;
    size_t from = task == 0 ? 0 : c->n * (size_t)task / (size_t)c->tasks & ~(size_t)31;
    size_t to = task + 1 == c->tasks ? c->n : c->n * (size_t)(task + 1) / (size_t)c->tasks & ~(size_t)31;
    if (c->type == STRATA_BF16) strata_f32_to_bf16(c->src + from, c->dst + from, to - from);
    else strata_f32_to_f16(c->src + from, c->dst + from, to - from);
}

// Below this many elements (about 8 us on one thread) the copy stays on the calling thread.
#define PARALLEL_HALF_MIN ((size_t)1 << 16)

// The 16-bit copy of n floats, split over the threads outside pool tasks: rounding a single image's operands is
// otherwise a serial stretch between two threaded GEMMs (x and w of a 64 -> 128 channel 32x32 AMX forward pass:
// 17 us of 130 on 2 threads).
void conv_to_half(strata_dtype t, const float *src, uint16_t *dst, size_t n) {
    int threads = strata_usable_threads();
    to_half_job c = {.type = t, .src = src, .dst = dst, .n = n, .tasks = n >= PARALLEL_HALF_MIN ? threads : 1};
    if (c.tasks > 1) strata_parallel_for(c.tasks, to_half_task, &c);
    else to_half_task(&c, 0, 0);
}

// An image [C, HW] in the compute type: itself in fp32, else its 16-bit copy at `half`.
static const void *half_operand(const strata_conv2d_desc *d, const float *image, char *half, int C) {
    if (d->compute == STRATA_F32) return image;
    conv_to_half(d->compute, image, (uint16_t *)(void *)half, (size_t)C * d->H * d->W);
    return half;
}

// The GEMM B operand for image `x_n` [C, HW] (C <= Cin) in the compute type: x_n itself (fp32, K = 1), its 16-bit
// copy (K = 1), or its im2col (in the compute type, gathered from the 16-bit copy so each pixel is converted once,
// not K² times).
const void *conv_image_operand(const strata_conv2d_desc *d, const float *x_n, int C, char *ws, const layout *l) {
    const size_t hw = (size_t)d->H * d->W;
    const void *src = x_n;
    size_t esize = 4;
    if (d->compute != STRATA_F32) {
        conv_to_half(d->compute, x_n, (uint16_t *)(ws + l->x16), (size_t)C * hw);
        src = ws + l->x16;
        esize = 2;
    }
    if (d->K == 1) return src;
    strata_im2col(src, ws + l->col, C, d->H, d->W, d->K, esize);
    return ws + l->col;
}

int conv_valid(const strata_conv2d_desc *d, const void *workspace) {
    return strata_conv2d_check(d) == 0 && (workspace || conv_plan(d).total == 0);
}

// ---- Images in parallel -------------------------------------------------------------------------------------------
// The recurrent convolutions are many small GEMMs (one per image, e.g. 64 x 256 x 144 for a 16x16 image): threading
// each GEMM costs two pool barriers per image and leaves im2col / col2im on one thread. When there are at least as
// many images as threads, the pool instead runs whole images (im2col + single-threaded GEMM + col2im) as tasks.
// Thread 0 (the caller) works in the caller's workspace; the other threads in a scratch block of the same layout
// that each keeps for its lifetime (strata_thread_scratch).

// Whether a pass over N images runs its images as pool tasks: more than one thread, not already inside a task,
// enough work to pay for handing tasks out (below about 4 MFLOP, tens of microseconds, the whole pass runs inline:
// a 1x1 head over 16 images of 16x16 px is 1 us per image, and took 120 us on 2 threads against 16 us on 1), and
// enough images that no thread idles for a whole image while another finishes (N a multiple of the thread count,
// or at least 4 per thread).
#define PARALLEL_MIN_FLOPS 4.0e6

int conv_images_in_parallel(const strata_conv2d_desc *d) {
    int threads = strata_usable_threads(), N = d->N;
    double flops = 2.0 * N * d->H * d->W * d->Cout * d->Cin * d->K * d->K;
    if (threads < 2 || N < threads || flops < PARALLEL_MIN_FLOPS) return 0;
    return N % threads == 0 || N >= 4 * threads;
}

// The image scratch for the thread running a task (see the section comment). Thread 0, and a thread that cannot
// get memory for its own block, take the caller's workspace under the lock (uncontended in the normal case), so
// running out of memory makes a pass slower, never wrong. Release with conv_release_workspace.
char *conv_task_workspace(conv_job *j, int thread) {
    if (thread != 0) {
        char *ws = strata_thread_scratch(SCRATCH_CONV_IMAGE, j->l->total);
        if (ws) return ws;
    }
    pthread_mutex_lock(&j->lock);
    return j->workspace;
}

void conv_release_workspace(conv_job *j, char *ws) {
    if (ws == j->workspace) pthread_mutex_unlock(&j->lock);
}

static void forward_image(const conv_job *j, int n, char *ws) {
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W, ckk = d->Cin * d->K * d->K;
    float *y_n = j->y + (size_t)n * d->Cout * hw;
    float beta = j->accumulate ? 1.0f : 0.0f;
    if (j->bias) {
        // Seed (or offset) y with the bias, then let the GEMM add onto it: one pass over y either way.
        for (int co = 0; co < d->Cout; co++) {
            float *row = y_n + (size_t)co * hw;
            if (j->accumulate) for (int q = 0; q < hw; q++) row[q] += j->bias[co];
            else for (int q = 0; q < hw; q++) row[q] = j->bias[co];
        }
        beta = 1.0f;
    }
    const float *x_n = j->x + (size_t)n * d->Cin * hw;
    if (j->implicit) {
        strata_im2col_view view;
        strata_im2col_view_init(&view, half_operand(d, x_n, ws + j->l->x16, d->Cin), d->Cin, d->H, d->W, d->K,
                                conv_esize(d), 0);
        if (strata_gemm_sourced_b(STRATA_NO_TRANS, d->Cout, hw, ckk, 1.0f, j->wop, ckk, &view.source, d->compute,
                                  beta, y_n, hw) == 0)
            return;
    }
    const void *col = conv_image_operand(d, x_n, d->Cin, ws, j->l);
    strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, d->Cout, hw, ckk, 1.0f, j->wop, ckk, col, hw, d->compute, beta,
                y_n, hw);
}

static void backward_data_image(const conv_job *j, int n, char *ws) {
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W;
    const float *dy_n = j->dy + (size_t)n * d->Cout * hw;
    const void *dyop = dy_n;
    if (d->compute != STRATA_F32) {
        conv_to_half(d->compute, dy_n, (uint16_t *)(ws + j->l->dy16), (size_t)d->Cout * hw);
        dyop = ws + j->l->dy16;
    }
    conv_backward_data_from(j, n, ws, dyop);
}

static void backward_weights_image(const conv_job *j, int n, char *ws, float *dw) {
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W;
    const float *dy_n = j->dy + (size_t)n * d->Cout * hw;
    const void *dyop = dy_n;
    if (d->compute != STRATA_F32) {
        conv_to_half(d->compute, dy_n, (uint16_t *)(ws + j->l->dy16), (size_t)d->Cout * hw);
        dyop = ws + j->l->dy16;
    }
    conv_weights_image_from(j, n, ws, dyop, dw);
}

static void weights_by_parts(const conv_job *j, int n, char *ws, const void *dy_n, float *dw);

void conv_weights_image_from(const conv_job *j, int n, char *ws, const void *dyop, float *dw) {
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W, ckk = d->Cin * d->K * d->K;
    const int c1 = j->split, c2 = d->Cin - c1;
    const float *x1_n = j->x + (size_t)n * c1 * hw, *x2_n = c2 ? j->x2 + (size_t)n * c2 * hw : NULL;
    if (j->implicit) {
        strata_im2col_view view;
        if (d->compute == STRATA_F32) {
            strata_im2col_view_init(&view, x1_n, d->Cin, d->H, d->W, d->K, 4, 1);
            view.split = c1;
            view.image2 = (const char *)x2_n;
        } else {
            // The 16-bit copies of both parts side by side are the concatenated image.
            char *x16 = ws + j->l->x16;
            conv_to_half(d->compute, x1_n, (uint16_t *)(void *)x16, (size_t)c1 * hw);
            if (c2) conv_to_half(d->compute, x2_n, (uint16_t *)(void *)(x16 + (size_t)c1 * hw * 2), (size_t)c2 * hw);
            strata_im2col_view_init(&view, x16, d->Cin, d->H, d->W, d->K, 2, 1);
        }
        if (strata_gemm_sourced_b(STRATA_NO_TRANS, d->Cout, ckk, hw, 1.0f, dyop, hw, &view.source, d->compute, 1.0f,
                                  dw, ckk) == 0)
            return;
    }
    weights_by_parts(j, n, ws, dyop, dw);
}

// Each input part's columns of dw [Cout, CKK] += dy_n [Cout, HW] · col_part^T (col_part [C_part·K·K, HW], im2col
// of image n's channels from x, then x2).
static void weights_by_parts(const conv_job *j, int n, char *ws, const void *dy_n, float *dw) {
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W, kk = d->K * d->K, ckk = d->Cin * kk;
    const int c1 = j->split, c2 = d->Cin - c1;
    const float *part[2] = {j->x + (size_t)n * c1 * hw, c2 ? j->x2 + (size_t)n * c2 * hw : NULL};
    const int channels[2] = {c1, c2};
    for (int i = 0, first = 0; i < 2; first += channels[i], i++) {
        if (channels[i] == 0) continue;
        const void *col = conv_image_operand(d, part[i], channels[i], ws, j->l);
        strata_gemm(STRATA_NO_TRANS, STRATA_TRANS, d->Cout, channels[i] * kk, hw, 1.0f, dy_n, hw, col, hw,
                    d->compute, 1.0f, dw + (size_t)first * kk, ckk);
    }
}

static void forward_task(void *ctx, int task, int thread) {
    conv_job *j = ctx;
    char *ws = conv_task_workspace(j, thread);
    forward_image(j, task, ws);
    conv_release_workspace(j, ws);
}

static void backward_data_task(void *ctx, int task, int thread) {
    conv_job *j = ctx;
    char *ws = conv_task_workspace(j, thread);
    backward_data_image(j, task, ws);
    conv_release_workspace(j, ws);
}

// Chunk c sums images [c·N/chunks, (c+1)·N/chunks) in order into its own zeroed partials (dw, and the bias in
// double); the caller adds the partials in chunk order, so the result depends on the thread count, never on which
// thread ran which chunk.
static void weights_chunk_task(void *ctx, int task, int thread) {
    conv_job *j = ctx;
    const strata_conv2d_desc *d = j->d;
    const size_t wcount = (size_t)d->Cout * d->Cin * d->K * d->K;
    float *dw = (float *)(void *)(j->partials + (size_t)task * j->partial_bytes);
    memset(dw, 0, wcount * sizeof(float));
    double *bias = NULL;
    if (j->dbias) {
        bias = (double *)(void *)(j->partials + (size_t)j->chunks * j->partial_bytes) + (size_t)task * d->Cout;
        memset(bias, 0, (size_t)d->Cout * sizeof(double));
    }
    int n0 = (int)((long long)task * d->N / j->chunks), n1 = (int)((long long)(task + 1) * d->N / j->chunks);
    for (int n = n0; n < n1; n++) {
        char *ws = conv_task_workspace(j, thread);
        j->weights_image(j->outer, n, ws, dw);
        conv_release_workspace(j, ws);
        if (bias) j->bias_sums(j->outer, n, 0, d->Cout, bias);
    }
}

// Winograd where it applies (fp32, K = 3 or 5) when forced, or by default on a vector ISA where it measured faster
// than the implicit GEMM (1 thread, AVX-512, load ~2-3, winograd.h). Its GEMMs reduce over Cin (forward) or Cout
// (input gradient), and the weight gradient's are Cout x Cin. K = 3, 8 to 96 images: with those >= 16 Winograd was
// 1.1-2.3x faster on every shape tried (Cin 16-64, Cout 32-256, 16x16 to 128x128; 32 -> 128 channels at 32x32:
// forward 1.9 against 3.3 ms, input gradient 2.5 against 4.0, weight gradient 2.1 against 3.7); with Cin 6 -> 128 the
// forward GEMMs are too thin to pay for the transforms (11.3 against 8.7 ms) and so is the weight gradient (23.5
// against 15.3 ms), while the input gradient, reducing over the 128, still gains (23.6 against 26.2 ms). K = 5
// (F(2x2, 5x5)), 64x64: 4 images 64 -> 256 forward 54.0 against 88.8 ms, input gradient 63.0 / 96.5, weight gradient
// 53.1 / 87.2; 16 -> 64 5.4 / 5.8, 7.0 / 7.8, 5.9 / 7.0; but 1 -> 256 loses in all three passes (input gradient
// 238 / 206 ms), so K = 5 needs Cin >= 16 for every pass.
#define WINOGRAD_MIN_CHANNELS 16

static int use_winograd(const strata_conv2d_desc *d, int input_gradient) {
    if (!strata_winograd_applies(d)) return 0;
    int forced = atomic_load(&forced_algorithm);
    if (forced != STRATA_CONV_AUTO) return forced == STRATA_CONV_WINOGRAD;
    if (strata_isa_active() == STRATA_ISA_SCALAR || d->Cout < WINOGRAD_MIN_CHANNELS) return 0;
    return (input_gradient && d->K == 3) || d->Cin >= WINOGRAD_MIN_CHANNELS;
}

// Implicit unless im2col is forced or the ISA is scalar (also where forced Winograd does not apply).
int conv_use_implicit(const strata_conv2d_desc *d) {
    strata_conv_algorithm a = strata_conv2d_algorithm();
    return d->K > 1 && a != STRATA_CONV_IM2COL && strata_isa_active() != STRATA_ISA_SCALAR;
}

// The implicit input gradient packs a B of Cout·K² x HW elements (dy spread over the taps), where im2col packs dy
// (Cout x HW) and writes dcol (Cin·K² x HW) for col2im: with Cout several times Cin and a wide kernel the implicit
// form moves more data. Measured (1 thread, fp32, interleaved, docs/conv-gates.md): Cout·K² = 576 and 1152 ran
// 8-10% faster implicit, 6400 (Cin 65, Cout 256, K 5) 8% faster with im2col; the default switches in between.
#define IMPLICIT_DATA_MAX_TAPS 2048

int conv_use_implicit_data(const strata_conv2d_desc *d) {
    if (!conv_use_implicit(d)) return 0;
    if (atomic_load(&forced_algorithm) == STRATA_CONV_IMPLICIT) return 1;
    // 16-bit operands (AMX on this machine) multiply so fast that packing dominates: im2col measured 9% (Cout·K²
    // = 1152) to 70% (6400) faster there. On AVX-512, col2im sums each dx stretch in registers (im2col.c), which
    // makes im2col the faster fp32 form too (1 thread, interleaved, load 2.3: Cout·K² = 576 with Cin 16, 16x16:
    // 563 against 698 us for 16 images; 1152 with Cin 32, 32x32: 3.74 against 4.00 ms for 8 images).
    if (strata_isa_active() >= STRATA_ISA_AVX512) return 0;
    return d->compute == STRATA_F32 && d->Cout * d->K * d->K <= IMPLICIT_DATA_MAX_TAPS;
}

// wt [Cin, Cout, K, K] from the weight operand wop [Cout, Cin, K, K] (compute type):
// wt[ci][co][ky][kx] = w[co][ci][K-1-ky][K-1-kx], the weights of the input-gradient convolution (dx[ci] at (y, x)
// sums w[co][ci][ky][kx]·dy[co] at (y - ky + p, x - kx + p)). Rounding commutes with the copy, so the 16-bit
// weights are flipped as they are.
void conv_flipped_weights(const strata_conv2d_desc *d, const void *wop, char *wt) {
    const int kk = d->K * d->K;
    for (int ci = 0; ci < d->Cin; ci++)
        for (int co = 0; co < d->Cout; co++) {
            size_t to = ((size_t)ci * d->Cout + co) * kk, from = ((size_t)co * d->Cin + ci) * kk + kk - 1;
            if (d->compute == STRATA_F32)
                for (int t = 0; t < kk; t++) ((float *)(void *)wt)[to + t] = ((const float *)wop)[from - t];
            else
                for (int t = 0; t < kk; t++) ((uint16_t *)(void *)wt)[to + t] = ((const uint16_t *)wop)[from - t];
        }
}

// The GEMM's A operand for the weights: w itself in fp32, else its 16-bit copy in the caller's workspace.
const void *conv_weight_operand(const strata_conv2d_desc *d, const float *w, char *ws, const layout *l) {
    if (d->compute == STRATA_F32) return w;
    conv_to_half(d->compute, w, (uint16_t *)(ws + l->w16), (size_t)d->Cout * d->Cin * d->K * d->K);
    return ws + l->w16;
}

int strata_conv2d_forward(const strata_conv2d_desc *d, const float *x, const float *w, const float *bias, float *y,
                          int accumulate, void *workspace) {
    if (!conv_valid(d, workspace) || !x || !w || !y) return -1;
    const layout l = conv_plan(d);
    if (use_winograd(d, 0)) {
        strata_winograd_forward(d, x, w, bias, y, accumulate, (char *)workspace + l.wino);
        return 0;
    }
    conv_job j = {.d = d, .l = &l, .workspace = workspace, .x = x, .w = w, .bias = bias, .y = y,
                  .accumulate = accumulate, .implicit = conv_use_implicit(d), .lock = PTHREAD_MUTEX_INITIALIZER};
    j.wop = conv_weight_operand(d, w, workspace, &l);
    if (conv_images_in_parallel(d)) strata_parallel_for(d->N, forward_task, &j);
    else for (int n = 0; n < d->N; n++) forward_image(&j, n, workspace);
    return 0;
}

int strata_conv2d_backward_data(const strata_conv2d_desc *d, const float *dy, const float *w, float *dx,
                                int accumulate, void *workspace) {
    if (!conv_valid(d, workspace) || !dy || !w || !dx) return -1;
    const layout l = conv_plan(d);
    if (use_winograd(d, 1)) {
        strata_winograd_backward_data(d, dy, w, dx, accumulate, (char *)workspace + l.wino);
        return 0;
    }
    conv_job j = {.d = d, .l = &l, .workspace = workspace, .w = w, .dy = dy, .dx = dx, .accumulate = accumulate,
                  .implicit = conv_use_implicit_data(d), .lock = PTHREAD_MUTEX_INITIALIZER};
    j.wop = conv_weight_operand(d, w, workspace, &l);
    if (j.implicit) conv_flipped_weights(d, j.wop, (char *)workspace + l.wt);
    conv_pack_transposed_weights(&j);
    if (conv_images_in_parallel(d)) strata_parallel_for(d->N, backward_data_task, &j);
    else for (int n = 0; n < d->N; n++) backward_data_image(&j, n, workspace);
    return 0;
}

// dw cannot be shared between tasks: each chunk of images sums into its own partials (weights_chunk_task).
static int weights_in_chunks(conv_job *j) {
    const strata_conv2d_desc *d = j->d;
    const size_t wcount = (size_t)d->Cout * d->Cin * d->K * d->K;
    int chunks = strata_threads() < d->N ? strata_threads() : d->N;
    size_t partial = align64(wcount * sizeof(float));
    size_t bias_bytes = j->dbias ? (size_t)chunks * d->Cout * sizeof(double) : 0;
    char *partials = strata_thread_scratch(SCRATCH_CONV_PARTIALS, (size_t)chunks * partial + bias_bytes);
    if (!partials) return 0;
    j->chunks = chunks;
    j->partials = partials;
    j->partial_bytes = partial;
    strata_parallel_for(chunks, weights_chunk_task, j);
    for (int c = 0; c < chunks; c++) {
        const float *p = (const float *)(const void *)(partials + (size_t)c * partial);
        for (size_t i = 0; i < wcount; i++) j->dw[i] += p[i];
    }
    if (j->dbias) {
        const double *b = (const double *)(const void *)(partials + (size_t)chunks * partial);
        for (int co = 0; co < d->Cout; co++) {
            double sum = 0.0;
            for (int c = 0; c < chunks; c++) sum += b[(size_t)c * d->Cout + co];
            j->dbias[co] += (float)sum;
        }
    }
    return 1;
}

void conv_weights_run(conv_job *j) {
    const strata_conv2d_desc *d = j->d;
    // Without memory for the chunks' partials the serial loop runs: it needs none.
    if (conv_images_in_parallel(d) && weights_in_chunks(j)) return;
    for (int n = 0; n < d->N; n++) {
        j->weights_image(j->outer, n, j->workspace, j->dw);
        if (!j->dbias) continue;
        // Each image's channel sum is added to the float bias gradient on its own, as the chunks' partials are.
        enum { GROUP = 64 };
        for (int c0 = 0; c0 < d->Cout; c0 += GROUP) {
            int count = d->Cout - c0 < GROUP ? d->Cout - c0 : GROUP;
            double sums[GROUP] = {0};
            j->bias_sums(j->outer, n, c0, count, sums);
            for (int i = 0; i < count; i++) j->dbias[c0 + i] += (float)sums[i];
        }
    }
}

static void weights_image_f32(const void *outer, int n, char *ws, float *dw) {
    backward_weights_image(outer, n, ws, dw);
}

static void bias_sums_f32(const void *outer, int n, int c0, int count, double *sums) {
    const conv_job *j = outer;
    const int hw = j->d->H * j->d->W;
    conv_add_channel_sums(j->dy + (size_t)n * j->d->Cout * hw, 0, c0, count, hw, sums);
}

// Both weight-gradient entry points: channels [0, split) of each image from x, the rest from x2.
static int backward_weights(const strata_conv2d_desc *d, const float *x, int split, const float *x2, const float *dy,
                            float *dw, float *dbias, void *workspace) {
    const layout l = conv_plan(d);
    if (use_winograd(d, 0)) {
        strata_winograd_backward_weights(d, x, split, x2, dy, dw, dbias, (char *)workspace + l.wino);
        return 0;
    }
    conv_job j = {.d = d, .l = &l, .workspace = workspace, .x = x, .x2 = x2, .split = split, .dy = dy, .dw = dw,
                  .dbias = dbias, .implicit = conv_use_implicit(d), .lock = PTHREAD_MUTEX_INITIALIZER,
                  .weights_image = weights_image_f32, .bias_sums = bias_sums_f32};
    j.outer = &j;
    conv_weights_run(&j);
    return 0;
}

int strata_conv2d_backward_weights(const strata_conv2d_desc *d, const float *x, const float *dy, float *dw,
                                   float *dbias, void *workspace) {
    if (!conv_valid(d, workspace) || !x || !dy || !dw) return -1;
    return backward_weights(d, x, d->Cin, NULL, dy, dw, dbias, workspace);
}

int strata_conv2d_backward_weights_concat(const strata_conv2d_desc *d, int C1, const float *x1, const float *x2,
                                          const float *dy, float *dw, float *dbias, void *workspace) {
    if (!conv_valid(d, workspace) || C1 <= 0 || C1 >= d->Cin || !x1 || !x2 || !dy || !dw) return -1;
    return backward_weights(d, x1, C1, x2, dy, dw, dbias, workspace);
}
