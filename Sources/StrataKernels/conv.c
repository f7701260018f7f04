// 2-D convolution on im2col + strata_gemm (see strata_conv.h for shapes, GEMM forms and the workspace contract).
#include "strata_kernels.h"
#include "im2col.h"
#include <limits.h>
#include <string.h>

// Workspace sections, each 64-byte aligned so the GEMM sees aligned panels:
//   w16  [Cout, CKK]  16-bit weights                     (16-bit compute only)
//   x16  [Cin, HW]    16-bit image before im2col         (16-bit compute only)
//   col  [CKK, HW]    im2col of one image, compute type  (K > 1 only)
//   dy16 [Cout, HW]   16-bit output gradient             (16-bit compute only)
//   dcol [CKK, HW]    fp32 gradient w.r.t. col           (K > 1 only)
typedef struct { size_t w16, x16, col, dy16, dcol, total; } layout;

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static layout plan(const strata_conv2d_desc *d) {
    size_t hw = (size_t)d->H * d->W, ckk = (size_t)d->Cin * d->K * d->K;
    int half = d->compute != STRATA_F32;
    size_t esize = half ? 2 : 4;
    layout l;
    size_t at = 0;
    l.w16 = at;  at += half ? align64((size_t)d->Cout * ckk * 2) : 0;
    l.x16 = at;  at += half ? align64((size_t)d->Cin * hw * 2) : 0;
    l.col = at;  at += d->K > 1 ? align64(ckk * hw * esize) : 0;
    l.dy16 = at; at += half ? align64((size_t)d->Cout * hw * 2) : 0;
    l.dcol = at; at += d->K > 1 ? align64(ckk * hw * 4) : 0;
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
    return strata_conv2d_check(d) == 0 ? plan(d).total : 0;
}

static void to_half(strata_dtype t, const float *src, uint16_t *dst, size_t n) {
    if (t == STRATA_BF16) strata_f32_to_bf16(src, dst, n);
    else strata_f32_to_f16(src, dst, n);
}

// The GEMM B operand for image `x_n` in the compute type: x_n itself (fp32, K = 1), its 16-bit copy (K = 1), or
// its im2col (in the compute type, gathered from the 16-bit copy so each pixel is converted once, not K² times).
static const void *image_operand(const strata_conv2d_desc *d, const float *x_n, char *ws, const layout *l) {
    const size_t hw = (size_t)d->H * d->W;
    const void *src = x_n;
    size_t esize = 4;
    if (d->compute != STRATA_F32) {
        to_half(d->compute, x_n, (uint16_t *)(ws + l->x16), (size_t)d->Cin * hw);
        src = ws + l->x16;
        esize = 2;
    }
    if (d->K == 1) return src;
    strata_im2col(src, ws + l->col, d->Cin, d->H, d->W, d->K, esize);
    return ws + l->col;
}

static int valid(const strata_conv2d_desc *d, const void *workspace) {
    return strata_conv2d_check(d) == 0 && (workspace || plan(d).total == 0);
}

int strata_conv2d_forward(const strata_conv2d_desc *d, const float *x, const float *w, const float *bias, float *y,
                          int accumulate, void *workspace) {
    if (!valid(d, workspace) || !x || !w || !y) return -1;
    const layout l = plan(d);
    char *ws = workspace;
    const int hw = d->H * d->W, ckk = d->Cin * d->K * d->K;
    const void *wop = w;
    if (d->compute != STRATA_F32) {
        to_half(d->compute, w, (uint16_t *)(ws + l.w16), (size_t)d->Cout * ckk);
        wop = ws + l.w16;
    }
    for (int n = 0; n < d->N; n++) {
        float *y_n = y + (size_t)n * d->Cout * hw;
        float beta = accumulate ? 1.0f : 0.0f;
        if (bias) {
            // Seed (or offset) y with the bias, then let the GEMM add onto it: one pass over y either way.
            for (int co = 0; co < d->Cout; co++) {
                float *row = y_n + (size_t)co * hw;
                if (accumulate) for (int j = 0; j < hw; j++) row[j] += bias[co];
                else for (int j = 0; j < hw; j++) row[j] = bias[co];
            }
            beta = 1.0f;
        }
        const void *col = image_operand(d, x + (size_t)n * d->Cin * hw, ws, &l);
        strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, d->Cout, hw, ckk, 1.0f, wop, ckk, col, hw, d->compute, beta,
                    y_n, hw);
    }
    return 0;
}

int strata_conv2d_backward_data(const strata_conv2d_desc *d, const float *dy, const float *w, float *dx,
                                int accumulate, void *workspace) {
    if (!valid(d, workspace) || !dy || !w || !dx) return -1;
    const layout l = plan(d);
    char *ws = workspace;
    const int hw = d->H * d->W, ckk = d->Cin * d->K * d->K;
    const void *wop = w;
    if (d->compute != STRATA_F32) {
        to_half(d->compute, w, (uint16_t *)(ws + l.w16), (size_t)d->Cout * ckk);
        wop = ws + l.w16;
    }
    for (int n = 0; n < d->N; n++) {
        const float *dy_n = dy + (size_t)n * d->Cout * hw;
        float *dx_n = dx + (size_t)n * d->Cin * hw;
        const void *dyop = dy_n;
        if (d->compute != STRATA_F32) {
            to_half(d->compute, dy_n, (uint16_t *)(ws + l.dy16), (size_t)d->Cout * hw);
            dyop = ws + l.dy16;
        }
        if (d->K == 1) {
            // dx_n [Cin, HW] (+)= w^T [Cin, Cout] · dy_n [Cout, HW], straight into dx.
            strata_gemm(STRATA_TRANS, STRATA_NO_TRANS, d->Cin, hw, d->Cout, 1.0f, wop, ckk, dyop, hw, d->compute,
                        accumulate ? 1.0f : 0.0f, dx_n, hw);
            continue;
        }
        float *dcol = (float *)(void *)(ws + l.dcol);
        strata_gemm(STRATA_TRANS, STRATA_NO_TRANS, ckk, hw, d->Cout, 1.0f, wop, ckk, dyop, hw, d->compute, 0.0f,
                    dcol, hw);
        if (!accumulate) memset(dx_n, 0, (size_t)d->Cin * hw * sizeof(float));
        strata_col2im_add(dcol, dx_n, d->Cin, d->H, d->W, d->K);
    }
    return 0;
}

int strata_conv2d_backward_weights(const strata_conv2d_desc *d, const float *x, const float *dy, float *dw,
                                   float *dbias, void *workspace) {
    if (!valid(d, workspace) || !x || !dy || !dw) return -1;
    const layout l = plan(d);
    char *ws = workspace;
    const int hw = d->H * d->W, ckk = d->Cin * d->K * d->K;
    for (int n = 0; n < d->N; n++) {
        const float *dy_n = dy + (size_t)n * d->Cout * hw;
        const void *dyop = dy_n;
        if (d->compute != STRATA_F32) {
            to_half(d->compute, dy_n, (uint16_t *)(ws + l.dy16), (size_t)d->Cout * hw);
            dyop = ws + l.dy16;
        }
        const void *col = image_operand(d, x + (size_t)n * d->Cin * hw, ws, &l);
        // dw [Cout, CKK] += dy_n [Cout, HW] · col^T, col stored [CKK, HW].
        strata_gemm(STRATA_NO_TRANS, STRATA_TRANS, d->Cout, ckk, hw, 1.0f, dyop, hw, col, hw, d->compute, 1.0f,
                    dw, ckk);
        if (dbias) {
            // Double sums: a bias gradient adds N·HW terms, which fp32 would round visibly for large images.
            for (int co = 0; co < d->Cout; co++) {
                const float *row = dy_n + (size_t)co * hw;
                double s = 0.0;
                for (int j = 0; j < hw; j++) s += row[j];
                dbias[co] += (float)s;
            }
        }
    }
    return 0;
}
