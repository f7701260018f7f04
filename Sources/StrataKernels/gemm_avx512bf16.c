// AVX-512 BF16 GEMM micro-kernel: an 8 x 48 tile of C in 24 zmm accumulators, fed by vdpbf16ps.
//
// Packed words are (k, k+1) bf16 pairs (gemm_internal.h), so one vdpbf16ps does two k steps for 16 columns:
// per k pair, 3 aligned loads of packed B, 8 broadcasts of an A pair, 24 vdpbf16ps (twice the flops of the fp32
// kernel's FMAs at the same instruction rate). vdpbf16ps multiplies exactly (bf16 x bf16 fits in fp32) and adds in
// fp32 with round to nearest even, flushing denormals; the tests bound the difference from the reference.
//
// Edges as in gemm_avx512.c: one unrolled instance per (rows, vectors), masked C stores.
#include "gemm_avx512_tile.h"

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,f16c")))
#define MR GEMM_AVX512_MR
#define NR GEMM_AVX512_NR

BF16_TARGET __attribute__((always_inline)) static inline void
tile(int pairs, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, const int rows, const int vectors, int n,
     float alpha, float beta) {
    __m512 acc[MR][3];
    gemm_avx512_tile_begin(acc, c, ldc, rows, vectors);
    for (int k = 0; k < pairs; k++) {
        __m512bh bv[3];
        for (int v = 0; v < vectors; v++) bv[v] = (__m512bh)_mm512_load_si512(b + (size_t)k * NR + 16 * v);
        for (int i = 0; i < rows; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[(size_t)k * MR + i]);
            for (int v = 0; v < vectors; v++) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
        }
    }
    gemm_avx512_tile_end(acc, c, ldc, rows, vectors, n, alpha, beta);
}

#define CASE(rows, vectors) \
    case (vectors) * 16 + (rows): tile(steps, a, b, c, ldc, rows, vectors, n, alpha, beta); return;
#define CASES(vectors) \
    CASE(1, vectors) CASE(2, vectors) CASE(3, vectors) CASE(4, vectors) \
    CASE(5, vectors) CASE(6, vectors) CASE(7, vectors) CASE(8, vectors)

BF16_TARGET void strata_gemm_kernel_avx512_bf16(int steps, const uint32_t *a, const uint32_t *b, float *c,
                                                size_t ldc, int m, int n, float alpha, float beta) {
    switch ((n + 15) / 16 * 16 + m) {
        CASES(1) CASES(2) CASES(3)
    }
}
