// Private to the GEMM: the packed-panel format shared by the packing routines, the micro-kernels and the driver.
//
// A packed panel holds R rows (R = MR for A, NR for B) of a K range, "k-step major": for each k step, R 32-bit words.
// A word is one fp32 value, or (bf16 pair mode, for vdpbf16ps) the two bf16 values of k and k+1 for that row, low
// half = k. Rows past the matrix edge and a missing k+1 at the end of an odd K are zero, so micro-kernels never
// branch on edges inside their k loop; only their C stores are masked.
//
// AMX (gemm_amx.c) reads whole 16-step blocks, so its panels are padded with zero steps to a multiple of 16. Its B̃
// is the pair format above with R = 32. Its Ã holds the same words in tile order instead: for each block of 16 steps,
// R rows x 16 words (row r's 32 bf16 values of the block, k order), so word (r, step) is at
// panel[(step / 16) * R * 16 + r * 16 + step % 16] and each 16-row half of a block is one 16 x 64-byte A tile.
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
    GEMM_PACK_BF16_AMX_B, // as GEMM_PACK_BF16_PAIRS, steps zero-padded to a multiple of 16 (B̃ for AMX)
    GEMM_PACK_BF16_AMX_A, // bf16 pairs in AMX tile order, steps zero-padded to a multiple of 16 (Ã for AMX)
} gemm_pack_mode;

/// Packs rows [0, rows) and k in [0, kn) of `src` into ceil(rows / R) panels, panel p at dst + p * panel_stride
/// (R words per k step, ceil(kn / 2) steps in pair mode, where kn must be even unless it ends the K range; the AMX
/// modes round the steps up to a multiple of 16).
/// Element (r, k) is at src[r * ld + k] when `k_contiguous` (A not transposed, B transposed), else at
/// src[k * ld + r]; `src` already points at the block's first element. R <= 64.
void strata_gemm_pack(const void *src, size_t ld, int k_contiguous, gemm_pack_mode mode, int R, int rows, int kn,
                      uint32_t *dst, size_t panel_stride);

/// A B operand that is never stored as a matrix (the implicit-GEMM convolution's im2col view of an image): instead
/// of reading B, the driver asks `pack` for each block it would have packed. `pack` must write exactly what
/// strata_gemm_pack would write for the virtual B's rows k in [k0, k0 + kn) and columns [col0, col0 + cols) (element
/// (k, n) of op(B) in the variant's mode, R words per step, panels at dst + p * panel_stride, AMX padding included).
/// Implementations embed this struct as their first member and cast `source` back to reach their own fields.
typedef struct gemm_b_source gemm_b_source;
struct gemm_b_source {
    void (*pack)(const gemm_b_source *source, int k0, int kn, int col0, int cols, gemm_pack_mode mode, int R,
                 uint32_t *dst, size_t panel_stride);
};

/// strata_gemm with op(B) [K, N] supplied by `source` (B and trans_b of strata_gemm are replaced by it); same
/// blocking, threading and micro-kernels. Returns -1 and does nothing when the active ISA has no packed variant
/// (scalar): the caller then materialises B and calls strata_gemm.
int strata_gemm_sourced_b(strata_trans trans_a, int M, int N, int K, float alpha, const void *A, int lda,
                          const gemm_b_source *source, strata_dtype dtype, float beta, float *C, int ldc);

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

// AMX: 32 rows x 32 columns, four 16 x 16 fp32 tiles; steps must be a multiple of 16 (gemm_amx.c).
#define GEMM_AMX_MR 32
#define GEMM_AMX_NR 32
void strata_gemm_kernel_amx_bf16(int steps, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int m, int n,
                                 float alpha, float beta);
/// `iterations` rounds of 4 independent tdpbf16ps on resident tiles (no memory); returns the flops done, 0 without AMX.
double strata_gemm_amx_peak_loop(long iterations);

// AVX2: 6 rows x 16 columns (12 ymm accumulators of the 16 registers).
#define GEMM_AVX2_MR 6
#define GEMM_AVX2_NR 16
void strata_gemm_kernel_avx2_f32(int steps, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int m,
                                 int n, float alpha, float beta);
#endif
