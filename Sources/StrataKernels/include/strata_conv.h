// 2-D convolution, stride 1, 'same' zero padding (K/2 on each side), odd kernel size K, NCHW, built on
// strata_gemm with an implicit im2col or Winograd tiles (see "Algorithms" below). Legend: N images (B, or B·T when
// the time steps do not depend on each other), Cin / Cout channels, H height, W width, K kernel size, HW = H·W.
//
//   x [N, Cin, H, W]   w [Cout, Cin, K, K] (PyTorch layout)   bias [Cout] or NULL   y [N, Cout, H, W]
//
// Per image, the GEMMs are (CKK = Cin·K·K, col = im2col(x_n) [CKK, HW]):
//   forward        y_n [Cout, HW]  (+)= w [Cout, CKK] · col [CKK, HW]
//   backward data  dcol [CKK, HW]   = w^T · dy_n [Cout, HW]         (GEMM transpose of A), then col2im into dx_n
//   backward w     dw [Cout, CKK]  += dy_n [Cout, HW] · col^T        (GEMM transpose of B)
// With K = 1, col is x_n itself and dcol is dx_n: no copy at all in fp32 (the per-pixel LSTM case).
//
// Algorithms (K > 1). Implicit GEMM, the default on every vector ISA: col is never written; the GEMM packs its B
// panels straight from the image (zero padding by index), and the input gradient is computed as the convolution of
// dy_n with the flipped, transposed weights wt [Cin, Cout·K·K] (dx_n (+)= wt · im2col(dy_n)), so there is no dcol and
// no col2im either. By default the input gradient uses it only in fp32 and while Cout·K² <= 2048: beyond that its
// packed B (Cout·K² x HW) outweighs im2col's dcol + col2im (Cin·K² x HW) when Cout > Cin, as in every gate
// convolution, and with 16-bit operands (AMX) packing dominates the multiply.
// im2col: col and dcol are materialised in the workspace as above; the scalar ISA (whose reference GEMM reads a
// stored B) uses it unless Winograd is forced, and benchmarks force either to compare the two.
// Winograd, fp32 with K = 3 (F(4x4, 3x3): 4x4 output tiles, 36 multiplications per tile and channel pair instead of
// 144) or K = 5 (F(2x2, 5x5): 2x2 tiles, 36 instead of 100), both from 6x6 input tiles, run as 36 GEMMs per block of
// tiles (winograd.h). The default on vector ISAs when Cout >= 16 and Cin >= 16 (K = 3's input gradient needs only
// Cout); its rounding error is a few times that of a direct sum (measured on tiny sums: at most ~54 (K = 3) and ~100
// (K = 5) units of 2^-24 of Σ|products|, under 2·terms units on longer sums).
//
// Precision: `compute` is STRATA_F32, or STRATA_BF16 / STRATA_F16 to run the GEMMs on 16-bit operands (rounded to
// nearest even from fp32 into the workspace: w, x before im2col, dy) with fp32 accumulation. Inputs and outputs
// stay fp32. bf16 keeps ~3 significant digits per operand, fp16 ~3.3 but overflows above 65504.
//
// Workspace: one caller-provided block of strata_conv2d_workspace_size(desc) bytes (4-byte aligned at least, 64 best)
// serves all three passes, so a training loop allocates it once. The forward and both backward passes overwrite it.
// The backward-weights pass rebuilds im2col(x) instead of keeping it from the forward: that trades one copy
// (CKK·HW elements per image) for not holding T of them alive through the time loop.
//
// All functions return 0, or -1 (and do nothing) if the descriptor is invalid or a required pointer is NULL.
#ifndef STRATA_CONV_H
#define STRATA_CONV_H
#include <stddef.h>
#include "strata_gemm.h"

typedef struct {
    int N, Cin, Cout, H, W;
    int K;                 // odd, >= 1
    strata_dtype compute;  // GEMM operand type: STRATA_F32, STRATA_BF16 or STRATA_F16
} strata_conv2d_desc;

/// How convolutions with K > 1 form the GEMM's image operand (see "Algorithms" above).
typedef enum {
    STRATA_CONV_AUTO = 0, STRATA_CONV_IM2COL = 1, STRATA_CONV_IMPLICIT = 2, STRATA_CONV_WINOGRAD = 3
} strata_conv_algorithm;

/// Forces an algorithm for every pass of later calls (tests and benchmarks); STRATA_CONV_AUTO restores the default.
/// Results agree up to fp32 rounding. The workspace size does not depend on it. Forced Winograd runs the default of
/// the other two where it does not apply (K other than 3 or 5, or 16-bit operands).
void strata_conv2d_set_algorithm(strata_conv_algorithm algorithm);
/// The algorithm forced now (STRATA_CONV_WINOGRAD, STRATA_CONV_IM2COL), else the GEMM form K > 1 calls outside
/// Winograd's shapes use: STRATA_CONV_IMPLICIT, or STRATA_CONV_IM2COL on the scalar ISA (the input gradient may still
/// take im2col by the rule above unless implicit is forced).
strata_conv_algorithm strata_conv2d_algorithm(void);

/// 0 if the descriptor is valid (positive sizes, odd K, known compute type, sizes fit the GEMM's int), else -1.
int strata_conv2d_check(const strata_conv2d_desc *d);

/// Bytes of workspace the three passes need (0 for K = 1 in fp32). 0 for an invalid descriptor as well.
size_t strata_conv2d_workspace_size(const strata_conv2d_desc *d);

/// y = conv(x, w) + bias, or y += conv(x, w) + bias when accumulate != 0 (to sum the input and hidden
/// convolutions of a cell into one pre-activation buffer). bias may be NULL.
int strata_conv2d_forward(const strata_conv2d_desc *d, const float *x, const float *w, const float *bias, float *y,
                          int accumulate, void *workspace);

/// dx [N, Cin, H, W] = ∂L/∂x given dy [N, Cout, H, W]; dx += ... when accumulate != 0.
int strata_conv2d_backward_data(const strata_conv2d_desc *d, const float *dy, const float *w, float *dx,
                                int accumulate, void *workspace);

/// dw [Cout, Cin, K, K] += ∂L/∂w and, if dbias is not NULL, dbias [Cout] += ∂L/∂bias (Σ of dy over N and pixels),
/// always accumulating, so a time loop sums its steps into the same buffers.
int strata_conv2d_backward_weights(const strata_conv2d_desc *d, const float *x, const float *dy, float *dw,
                                   float *dbias, void *workspace);

/// strata_conv2d_backward_weights for an input whose channels come from two tensors one after the other,
/// x1 [N, C1, H, W] then x2 [N, Cin - C1, H, W] (0 < C1 < Cin), never copied into one: a recurrent cell's gate
/// convolution over [x_t, h_{t-1}] gets its whole weight gradient dw [Cout, Cin, K, K] in one pass over dy (one
/// packing of dy per image, one GEMM as wide as Cin·K·K) instead of one pass per part.
int strata_conv2d_backward_weights_concat(const strata_conv2d_desc *d, int C1, const float *x1, const float *x2,
                                          const float *dy, float *dw, float *dbias, void *workspace);

// ---- Output gradients already in bf16 (d->compute must be STRATA_BF16, else -1) ---------------------------------
// The same passes as above with dy [N, Cout, H, W] given as bf16 bits: a recurrent cell under precision bf16 keeps
// every step's dz in bf16 (half the memory of fp32), and the GEMMs read it in place instead of rounding a fp32 copy.
// Results equal the fp32-dy functions called with the same values (dy exactly representable in bf16); the bias
// gradient sums the bf16 values.

/// strata_conv2d_backward_data with a bf16 dy.
int strata_conv2d_backward_data_bf16(const strata_conv2d_desc *d, const uint16_t *dy, const float *w, float *dx,
                                     int accumulate, void *workspace);
/// strata_conv2d_backward_weights with a bf16 dy.
int strata_conv2d_backward_weights_bf16(const strata_conv2d_desc *d, const float *x, const uint16_t *dy, float *dw,
                                        float *dbias, void *workspace);
/// strata_conv2d_backward_weights_concat with a bf16 dy.
int strata_conv2d_backward_weights_concat_bf16(const strata_conv2d_desc *d, int C1, const float *x1, const float *x2,
                                               const uint16_t *dy, float *dw, float *dbias, void *workspace);
#endif
