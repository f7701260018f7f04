// Private to the GEMM: the packed-panel format shared by the packing routines, the micro-kernels and the driver.
//
// A packed panel holds R rows (R = MR for A, NR for B) of a K range, "k-step major": for each k step, R 32-bit words.
// A word is one fp32 value, or (bf16 pair mode, for vdpbf16ps) the two bf16 values of k and k+1 for that row, low
// half = k. Rows past the matrix edge and a missing k+1 at the end of an odd K are zero, so micro-kernels never
// branch on edges inside their k loop; only their C stores are masked.
//
// Packing is also what makes leading dimensions that are multiples of 4 KiB harmless: such rows all map to the same
// L1 sets, but the micro-kernel only ever reads the packed (contiguous) copies, never the strided originals.
#ifndef STRATA_GEMM_INTERNAL_H
#define STRATA_GEMM_INTERNAL_H
#include "strata_gemm.h"
#include <stddef.h>
#include <stdint.h>

/// How source elements become packed words.
typedef enum {
    GEMM_PACK_F32,        // fp32 source, fp32 words
    GEMM_PACK_BF16_F32,   // bf16 source widened to fp32 words (ISAs without avx512bf16)
    GEMM_PACK_F16_F32,    // fp16 source widened to fp32 words through F16C
    GEMM_PACK_BF16_PAIRS, // bf16 source, words of (k, k+1) bf16 pairs for vdpbf16ps
} gemm_pack_mode;

/// Packs rows [0, rows) and k in [0, kn) of `src` into ceil(rows / R) panels, panel p at dst + p * panel_stride
/// (R words per k step, ceil(kn / 2) steps in pair mode, where kn must be even unless it ends the K range).
/// Element (r, k) is at src[r * ld + k] when `k_contiguous` (A not transposed, B transposed), else at
/// src[k * ld + r]; `src` already points at the block's first element. R <= 64.
void strata_gemm_pack(const void *src, size_t ld, int k_contiguous, gemm_pack_mode mode, int R, int rows, int kn,
                      uint32_t *dst, size_t panel_stride);

/// A micro-kernel: C[m, n] = alpha * Ã·B̃ + beta * C[m, n] (beta == 0: C not read), for one MR-row panel Ã and one
/// NR-column panel B̃ of `steps` k steps; m <= MR, n <= NR; C row-major with leading dimension ldc.
typedef void (*gemm_microkernel)(int steps, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int m, int n,
                                 float alpha, float beta);

// AVX-512: 8 rows x 48 columns (24 zmm accumulators, 3 loads of B and 8 broadcasts of A per k step).
#define GEMM_AVX512_MR 8
#define GEMM_AVX512_NR 48
void strata_gemm_kernel_avx512_f32(int steps, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int m,
                                   int n, float alpha, float beta);
void strata_gemm_kernel_avx512_bf16(int steps, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int m,
                                    int n, float alpha, float beta);

// AVX2: 6 rows x 16 columns (12 ymm accumulators of the 16 registers).
#define GEMM_AVX2_MR 6
#define GEMM_AVX2_NR 16
void strata_gemm_kernel_avx2_f32(int steps, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int m,
                                 int n, float alpha, float beta);
#endif
