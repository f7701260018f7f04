// The convolution's backward passes for an output gradient the caller already keeps in bf16 (strata_conv.h,
// `strata_conv2d_backward_*_bf16`): a recurrent cell's dz under precision bf16. They are the passes of
// strata_conv2d_backward_data / _weights(_concat) (conv.c's conv_backward_data_from, conv_weights_image_from) with
// dy_n read in place instead of rounded from fp32 into dy16, so the results equal the fp32-dy entry points given the
// same dy rounded to bf16.
#include "conv_internal.h"
#include "strata_pool.h"

typedef struct {
    conv_job base;         // dy unused; everything else as for the fp32-dy passes
    const uint16_t *dy16;  // [N, Cout, HW] bf16
} conv_job_bf16dy;

static const uint16_t *dy_image(const conv_job_bf16dy *jb, int n) {
    const strata_conv2d_desc *d = jb->base.d;
    return jb->dy16 + (size_t)n * d->Cout * d->H * d->W;
}

static void backward_data_task_bf16dy(void *ctx, int task, int thread) {
    conv_job_bf16dy *jb = ctx;
    char *ws = conv_task_workspace(&jb->base, thread);
    conv_backward_data_from(&jb->base, task, ws, dy_image(jb, task));
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
    conv_pack_transposed_weights(&jb.base);
    if (conv_images_in_parallel(d)) strata_parallel_for(d->N, backward_data_task_bf16dy, &jb);
    else for (int n = 0; n < d->N; n++) conv_backward_data_from(&jb.base, n, workspace, dy_image(&jb, n));
    return 0;
}

static void weights_image_bf16dy(const void *outer, int n, char *ws, float *dw) {
    const conv_job_bf16dy *jb = outer;
    conv_weights_image_from(&jb->base, n, ws, dy_image(jb, n), dw);
}

static void bias_sums_bf16dy(const void *outer, int n, int c0, int count, double *sums) {
    const conv_job_bf16dy *jb = outer;
    conv_add_channel_sums(dy_image(jb, n), 1, c0, count, jb->base.d->H * jb->base.d->W, sums);
}

static int backward_weights_bf16dy(const strata_conv2d_desc *d, const float *x, int split, const float *x2,
                                   const uint16_t *dy, float *dw, float *dbias, void *workspace) {
    const layout l = conv_plan(d);
    conv_job_bf16dy jb = {.base = {.d = d, .l = &l, .workspace = workspace, .x = x, .x2 = x2, .split = split,
                                   .dw = dw, .dbias = dbias, .implicit = conv_use_implicit(d),
                                   .lock = PTHREAD_MUTEX_INITIALIZER, .weights_image = weights_image_bf16dy,
                                   .bias_sums = bias_sums_bf16dy},
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
