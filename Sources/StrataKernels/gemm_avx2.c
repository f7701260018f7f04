// AVX2 + FMA GEMM micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators.
//
// 16 ymm registers: 12 accumulators, 2 for the packed B row, 1 for the A broadcast. Per k step: 2 loads of B,
// 6 broadcasts of A, 12 FMAs. bf16 and fp16 inputs arrive widened to fp32 by the packing.
//
// Edges: one unrolled instance per (rows, vectors); the last vector's columns are masked on the C load and store.
#include "gemm_internal.h"
#include <immintrin.h>

#define AVX2_TARGET __attribute__((target("avx2,fma,f16c")))
#define MR GEMM_AVX2_MR
#define NR GEMM_AVX2_NR

AVX2_TARGET __attribute__((always_inline)) static inline void
tile(int steps, const float *a, const float *b, float *c, size_t ldc, const int rows, const int vectors, int n,
     float alpha, float beta) {
    __m256 acc[MR][2];
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < vectors; v++) acc[i][v] = _mm256_setzero_ps();
    for (int k = 0; k < steps; k++) {
        __m256 bv[2];
        for (int v = 0; v < vectors; v++) bv[v] = _mm256_load_ps(b + (size_t)k * NR + 8 * v);
        for (int i = 0; i < rows; i++) {
            __m256 ai = _mm256_broadcast_ss(a + (size_t)k * MR + i);
            for (int v = 0; v < vectors; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    int last = n - 8 * (vectors - 1);
    __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(last), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i full = _mm256_set1_epi32(-1);
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int i = 0; i < rows; i++) {
        float *ci = c + i * ldc;
        for (int v = 0; v < vectors; v++) {
            __m256i mask = v == vectors - 1 ? tail : full;
            __m256 r = _mm256_mul_ps(acc[i][v], va);
            if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(ci + 8 * v, mask), r);
            _mm256_maskstore_ps(ci + 8 * v, mask, r);
        }
    }
}

#define CASE(rows, vectors) \
    case (vectors) * 8 + (rows): tile(steps, af, bf, c, ldc, rows, vectors, n, alpha, beta); return;
#define CASES(vectors) CASE(1, vectors) CASE(2, vectors) CASE(3, vectors) CASE(4, vectors) CASE(5, vectors) CASE(6, vectors)

AVX2_TARGET void strata_gemm_kernel_avx2_f32(int steps, const uint32_t *a, const uint32_t *b, float *c, size_t ldc,
                                             int m, int n, float alpha, float beta) {
    const float *af = (const float *)a, *bf = (const float *)b;
    switch ((n + 7) / 8 * 8 + m) {
        CASES(1) CASES(2)
    }
}
