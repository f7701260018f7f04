// Private: im2col / col2im (im2col.c) used by conv.c, materialised or as a view the GEMM packs from.
// Shapes: src [Cin, H, W] (elements of esize bytes), col [Cin·K·K, H·W]; col2im adds the columns of output rows
// [y0, y1) of a col, stored as col [Cin·K·K, (y1 - y0)·W] fp32, back onto dst [Cin, H, W] (scatter-add): a whole col
// with y0 = 0, y1 = H, or one chunk of rows at a time. Each dx pixel receives its taps in (ky, kx) order within a
// call, so a split into chunks changes only the order of the additions.
#ifndef STRATA_IM2COL_H
#define STRATA_IM2COL_H
#include "gemm_internal.h"
#include <stddef.h>
#include <stdint.h>

void strata_im2col(const void *src, void *col, int Cin, int H, int W, int K, size_t esize);
void strata_col2im_add_rows(const float *col, float *dst, int Cin, int H, int W, int K, int y0, int y1);
/// strata_col2im_add_rows restricted to dst rows [oy0, oy1): a dx pixel there receives all of the chunk's taps, in
/// the same order, and the other rows none.
void strata_col2im_add_window(const float *col, float *dst, int Cin, int H, int W, int K, int y0, int y1, int oy0,
                              int oy1);

/// im2col(src) as a GEMM B operand that is never written out (implicit GEMM): the GEMM packs its panels straight
/// from the image, zero padding included. `transposed` = 0 presents col [Cin·K·K, H·W] (forward, input gradient);
/// 1 presents col^T [H·W, Cin·K·K] (weight gradient). `source` must stay the first member.
typedef struct strata_im2col_view strata_im2col_view;
struct im2col_tap;  // one col row's source offsets (im2col.c)
struct strata_im2col_view {
    gemm_b_source source;
    // Copies one col row at n output pixels, zero-filled to `padded`, in blocks at a stride (im2col.c): masked
    // AVX-512 where available.
    void (*gather)(const strata_im2col_view *view, const struct im2col_tap *tap, int q0, int n, int padded,
                   const int32_t *xs, const int32_t *ys, char *dst, int block, size_t stride);
    const char *image;
    int C, H, W, K;
    size_t esize;
    // Channels [split, C) come from `image2` instead (channel c at image2 + (c - split)·H·W): the view of two
    // images' channels one after the other, with no concatenated copy. init sets split = C.
    const char *image2;
    int split;
};

void strata_im2col_view_init(strata_im2col_view *view, const void *src, int Cin, int H, int W, int K, size_t esize,
                             int transposed);
#endif
