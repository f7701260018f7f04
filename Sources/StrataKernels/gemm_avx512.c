// AVX-512 fp32 GEMM micro-kernel: an 8 x 48 tile of C in 24 zmm accumulators.
//
// Per k step: 3 aligned loads of the packed B row (48 columns), 8 broadcasts of packed A, 24 FMAs. 24 independent
// accumulators cover the FMA latency (4 cycles x 2 ports = 8 in flight) three times over, and the 11 loads per 24
// FMAs stay under the 2 loads per cycle the core sustains. fp16 and bf16 inputs reach this kernel already widened to
// fp32 by the packing (ISAs without vdpbf16ps).
//
// Edges: every (rows, vectors) combination is its own fully unrolled instance, so an 8-row M edge or a 16- or
// 32-column N edge costs no wasted FMAs; the last vector's columns are masked on the C load and store only.
#include "gemm_avx512_tile.h"

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define MR GEMM_AVX512_MR
#define NR GEMM_AVX512_NR

AVX512_TARGET __attribute__((always_inline)) static inline void
tile(int steps, const float *a, const float *b, float *c, size_t ldc, const int rows, const int vectors, int n,
     float alpha, float beta) {
    __m512 acc[MR][3];
    gemm_avx512_tile_begin(acc, c, ldc, rows, vectors);
    for (int k = 0; k < steps; k++) {
        __m512 bv[3];
        for (int v = 0; v < vectors; v++) bv[v] = _mm512_load_ps(b + (size_t)k * NR + 16 * v);
        for (int i = 0; i < rows; i++) {
            __m512 ai = _mm512_set1_ps(a[(size_t)k * MR + i]);
            for (int v = 0; v < vectors; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    gemm_avx512_tile_end(acc, c, ldc, rows, vectors, n, alpha, beta);
}

#define CASE(rows, vectors) \
    case (vectors) * 16 + (rows): tile(steps, af, bf, c, ldc, rows, vectors, n, alpha, beta); return;
#define CASES(vectors) \
    CASE(1, vectors) CASE(2, vectors) CASE(3, vectors) CASE(4, vectors) \
    CASE(5, vectors) CASE(6, vectors) CASE(7, vectors) CASE(8, vectors)

AVX512_TARGET void strata_gemm_kernel_avx512_f32(int steps, const uint32_t *a, const uint32_t *b, float *c,
                                                 size_t ldc, int m, int n, float alpha, float beta) {
    const float *af = (const float *)a, *bf = (const float *)b;
    switch ((n + 15) / 16 * 16 + m) {
        CASES(1) CASES(2) CASES(3)
    }
}
