// Private: Winograd F(4x4, 3x3) and F(2x2, 5x5) convolution (winograd.c), the fp32 3x3 and 5x5 algorithm conv.c
// dispatches to. Same shapes and contracts as strata_conv.h (x [N, Cin, H, W], w [Cout, Cin, K, K], y [N, Cout, H,
// W], stride 1, 'same'). Both use 6x6 input tiles and the same B^T; K = 5 makes 2x2 output tiles (36 products
// instead of 100 per tile and channel pair). The rest of this comment describes K = 3; K = 5 differs only in sizes.
//
// Each 4x4 output tile is A^T [ (G g G^T) ⊙ (B^T d B) ] A over 6x6 input tiles d: 36 products per tile and channel
// pair instead of 144. The products of a block of tiles are 36 GEMMs (one per tile element e) on strata_gemm:
//   forward        M_e [Cout, P] = U_e [Cout, Cin] · V_e [Cin, P]      U = filter tiles, V = input tiles
//   backward data  the same with the flipped, transposed weights (dx is the convolution of dy with them)
//   backward w     S_e^T [Cin, Cout] += V_e [Cin, P] · D_e^T         D_e = A dY A^T, then dw += G^T S G
// P tiles per block (whole tile rows, about 64 tiles): V and M of one block stay in the L2 cache.
#ifndef STRATA_WINOGRAD_H
#define STRATA_WINOGRAD_H
#include "strata_conv.h"
#include <stddef.h>
#include <string.h>

// One ISA's tile transforms for one kernel size over n tiles gathered element by element (winograd_tiles.h for
// K = 3, winograd_tiles5.h for K = 5).
typedef struct {
    void (*filter_tiles)(const float *g, size_t gs, int n, int flip, float *u, size_t es);
    void (*input_tiles)(const float *const *d, int n, float *out, size_t es);
    void (*output_tiles)(const float *m, size_t es, int n, float *const *y);
    void (*gradient_tiles)(const float *const *g, int n, float *out, size_t es);
    void (*input_rows)(const float *const *pad, int tw, float *const *d, float *spare);
    double (*gradient_row)(const float *row, int W, int tw, float *const *g4);
    void (*output_row)(const float *const *y4, int W, float b, int accumulate, float *out);
} wino_kernels;

extern const wino_kernels strata_wino_kernels_avx2, strata_wino_kernels_avx512;
extern const wino_kernels strata_wino_kernels5_avx2, strata_wino_kernels5_avx512;

/// Whether Winograd can run this descriptor: K = 3 or 5 and fp32 operands.
int strata_winograd_applies(const strata_conv2d_desc *d);
/// Workspace bytes the three passes need (0 where it does not apply); conv.c reserves them after its own sections.
size_t strata_winograd_workspace_size(const strata_conv2d_desc *d);

/// y (+)= conv(x, w) + bias (bias may be NULL).
void strata_winograd_forward(const strata_conv2d_desc *d, const float *x, const float *w, const float *bias,
                             float *y, int accumulate, void *workspace);
/// dx (+)= ∂L/∂x from dy.
void strata_winograd_backward_data(const strata_conv2d_desc *d, const float *dy, const float *w, float *dx,
                                   int accumulate, void *workspace);
/// dw += ∂L/∂w and, if dbias is not NULL, dbias += ∂L/∂bias; channels [0, split) of image n from
/// x [N, split, H, W], [split, Cin) from x2 (split = Cin: x alone).
void strata_winograd_backward_weights(const strata_conv2d_desc *d, const float *x, int split, const float *x2,
                                      const float *dy, float *dw, float *dbias, void *workspace);
#endif
