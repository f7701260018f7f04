// The convolution's backward passes for an output gradient the caller already keeps in bf16 (strata_conv.h,
// `strata_conv2d_backward_*_bf16`): a recurrent cell's dz under precision bf16.
#include "conv_internal.h"
#include "im2col.h"
#include "strata_pool.h"
#include <string.h>

// The same passes as strata_conv2d_backward_data / _weights(_concat) for a dy the caller keeps in bf16 (a recurrent
// cell's dz under precision bf16): the GEMMs read dy_n in place instead of rounding a fp32 copy into dy16, which is
// the only difference, so the results equal the fp32-dy entry points given the same dy rounded to bf16.

// Bytes of fp32 dcol one im2col input-gradient GEMM writes at a time (a group of whole input channels; see
// backward_data_image_bf16dy).
#define DCOL_GROUP_BYTES ((size_t)16 << 20)

typedef struct {
    conv_job base;         // dy unused; everything else as for the fp32-dy passes
    const uint16_t *dy16;  // [N, Cout, HW] bf16
} conv_job_bf16dy;

static void backward_data_image_bf16dy(const conv_job_bf16dy *jb, int n, char *ws) {
    const conv_job *j = &jb->base;
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W, ckk = d->Cin * d->K * d->K;
    const uint16_t *dyop = jb->dy16 + (size_t)n * d->Cout * hw;
    float *dx_n = j->dx + (size_t)n * d->Cin * hw;
    if (d->K == 1) {
        strata_gemm(STRATA_TRANS, STRATA_NO_TRANS, d->Cin, hw, d->Cout, 1.0f, j->wop, ckk, dyop, hw, d->compute,
                    j->accumulate ? 1.0f : 0.0f, dx_n, hw);
        return;
    }
    if (j->implicit) {
        strata_im2col_view view;
        strata_im2col_view_init(&view, dyop, d->Cout, d->H, d->W, d->K, 2, 0);
        const int cokk = d->Cout * d->K * d->K;
        if (strata_gemm_sourced_b(STRATA_NO_TRANS, d->Cin, hw, cokk, 1.0f, j->workspace + j->l->wt, cokk,
                                  &view.source, d->compute, j->accumulate ? 1.0f : 0.0f, dx_n, hw) == 0)
            return;
    }
    // dcol in groups of input channels: col's rows are (ci, ky, kx), so rows [c0·K², (c0 + Cg)·K²) are the GEMM
    // over those rows of w^T (A offset, same lda), and col2im of that block writes dx channels [c0, c0 + Cg) only.
    // Only DCOL_GROUP_BYTES of the dcol section is touched, per thread: a 64-channel, K = 5, 64x64 gate convolution
    // needs 26 MiB of dcol at once. Each group packs dy again: with 16 MiB (2 groups there) the packing took 5.3 %
    // of perf samples of a config a bf16 run against 4.0 % ungrouped and 6.4 % with 8 MiB (1 thread).
    float *dcol = (float *)(void *)(ws + j->l->dcol);
    if (!j->accumulate) memset(dx_n, 0, (size_t)d->Cin * hw * sizeof(float));
    const int kk = d->K * d->K;
    int group = (int)(DCOL_GROUP_BYTES / ((size_t)kk * hw * sizeof(float)));
    if (group < 1) group = 1;
    for (int c0 = 0; c0 < d->Cin; c0 += group) {
        const int cg = d->Cin - c0 < group ? d->Cin - c0 : group;
        const uint16_t *wg = (const uint16_t *)j->wop + (size_t)c0 * kk;
        strata_gemm(STRATA_TRANS, STRATA_NO_TRANS, cg * kk, hw, d->Cout, 1.0f, wg, ckk, dyop, hw, d->compute, 0.0f,
                    dcol, hw);
        strata_col2im_add(dcol, dx_n + (size_t)c0 * hw, cg, d->H, d->W, d->K);
    }
}

static void backward_weights_image_bf16dy(const conv_job_bf16dy *jb, int n, char *ws, float *dw) {
    const conv_job *j = &jb->base;
    const strata_conv2d_desc *d = j->d;
    const int hw = d->H * d->W, kk = d->K * d->K, ckk = d->Cin * kk;
    const uint16_t *dyop = jb->dy16 + (size_t)n * d->Cout * hw;
    const int c1 = j->split, c2 = d->Cin - c1;
    const float *x1_n = j->x + (size_t)n * c1 * hw, *x2_n = c2 ? j->x2 + (size_t)n * c2 * hw : NULL;
    if (j->implicit) {
        char *x16 = ws + j->l->x16;
        conv_to_half(d->compute, x1_n, (uint16_t *)(void *)x16, (size_t)c1 * hw);
        if (c2) conv_to_half(d->compute, x2_n, (uint16_t *)(void *)(x16 + (size_t)c1 * hw * 2), (size_t)c2 * hw);
        strata_im2col_view view;
        strata_im2col_view_init(&view, x16, d->Cin, d->H, d->W, d->K, 2, 1);
        if (strata_gemm_sourced_b(STRATA_NO_TRANS, d->Cout, ckk, hw, 1.0f, dyop, hw, &view.source, d->compute, 1.0f,
                                  dw, ckk) == 0)
            return;
    }
    conv_weights_by_parts(j, n, ws, dyop, dw);
}

static float bf16_value(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

// conv.c's channel_sum of a bf16 dy_n [Cout, HW] (bf16 -> fp32 is a 16-bit shift, exact), in the same lanes and
// order, so the same sum as channel_sum of the widened row; written the same way so the compiler vectorises it.
static double channel_sum_bf16(const uint16_t *dy_n, int co, int hw) {
    enum { LANES = 8 };
    const uint16_t *row = dy_n + (size_t)co * hw;
    double lane[LANES] = {0};
    int q = 0;
    for (; q + LANES <= hw; q += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += bf16_value(row[q + l]);
    for (; q < hw; q++) lane[q % LANES] += bf16_value(row[q]);
    double s = 0.0;
    for (int l = 0; l < LANES; l++) s += lane[l];
    return s;
}

static void backward_data_task_bf16dy(void *ctx, int task, int thread) {
    conv_job_bf16dy *jb = ctx;
    char *ws = conv_task_workspace(&jb->base, thread);
    backward_data_image_bf16dy(jb, task, ws);
    conv_release_workspace(&jb->base, ws);
}


int strata_conv2d_backward_data_bf16(const strata_conv2d_desc *d, const uint16_t *dy, const float *w, float *dx,
                                     int accumulate, void *workspace) {
    if (!conv_valid(d, workspace) || d->compute != STRATA_BF16 || !dy || !w || !dx) return -1;
    const layout l = conv_plan(d);
    conv_job_bf16dy jb = {.base = {.d = d, .l = &l, .workspace = workspace, .w = w, .dx = dx,
                                   .accumulate = accumulate, .implicit = conv_use_implicit_data(d),
                                   .lock = PTHREAD_MUTEX_INITIALIZER},
                          .dy16 = dy};
    jb.base.wop = conv_weight_operand(d, w, workspace, &l);
    if (jb.base.implicit) conv_flipped_weights(d, jb.base.wop, (char *)workspace + l.wt);
    if (conv_images_in_parallel(d)) strata_parallel_for(d->N, backward_data_task_bf16dy, &jb);
    else for (int n = 0; n < d->N; n++) backward_data_image_bf16dy(&jb, n, workspace);
    return 0;
}

static void weights_image_bf16dy(const void *outer, int n, char *ws, float *dw) {
    backward_weights_image_bf16dy(outer, n, ws, dw);
}

static double bias_sum_bf16dy(const void *outer, int n, int co) {
    const conv_job_bf16dy *jb = outer;
    const int hw = jb->base.d->H * jb->base.d->W;
    return channel_sum_bf16(jb->dy16 + (size_t)n * jb->base.d->Cout * hw, co, hw);
}

static int backward_weights_bf16dy(const strata_conv2d_desc *d, const float *x, int split, const float *x2,
                                   const uint16_t *dy, float *dw, float *dbias, void *workspace) {
    const layout l = conv_plan(d);
    conv_job_bf16dy jb = {.base = {.d = d, .l = &l, .workspace = workspace, .x = x, .x2 = x2, .split = split,
                                   .dw = dw, .dbias = dbias, .implicit = conv_use_implicit(d),
                                   .lock = PTHREAD_MUTEX_INITIALIZER, .weights_image = weights_image_bf16dy,
                                   .bias_sum = bias_sum_bf16dy},
                          .dy16 = dy};
    jb.base.outer = &jb;
    conv_weights_run(&jb.base);
    return 0;
}

int strata_conv2d_backward_weights_bf16(const strata_conv2d_desc *d, const float *x, const uint16_t *dy, float *dw,
                                        float *dbias, void *workspace) {
    if (!conv_valid(d, workspace) || d->compute != STRATA_BF16 || !x || !dy || !dw) return -1;
    return backward_weights_bf16dy(d, x, d->Cin, NULL, dy, dw, dbias, workspace);
}

int strata_conv2d_backward_weights_concat_bf16(const strata_conv2d_desc *d, int C1, const float *x1, const float *x2,
                                               const uint16_t *dy, float *dw, float *dbias, void *workspace) {
    if (!conv_valid(d, workspace) || d->compute != STRATA_BF16 || C1 <= 0 || C1 >= d->Cin || !x1 || !x2 || !dy || !dw)
        return -1;
    return backward_weights_bf16dy(d, x1, C1, x2, dy, dw, dbias, workspace);
}
