// AVX-512 fp32 GEMM micro-kernel: an 8 x 48 tile of C in 24 zmm accumulators.
//
// Per k step: 3 aligned loads of the packed B row (48 columns), 8 broadcasts of packed A, 24 FMAs. 24 independent
// accumulators cover the FMA latency (4 cycles x 2 ports = 8 in flight) three times over, and the 11 loads per 24
// FMAs stay under the 2 loads per cycle the core sustains. fp16 and bf16 inputs reach this kernel already widened to
// fp32 by the packing (ISAs without vdpbf16ps).
//
// Edges: every (rows, vectors) combination is its own fully unrolled instance, so an 8-row M edge or a 16- or
// 32-column N edge costs no wasted FMAs; the last vector's columns are masked on the C load and store only.
#include "gemm_internal.h"
#include <immintrin.h>

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define MR GEMM_AVX512_MR
#define NR GEMM_AVX512_NR

AVX512_TARGET __attribute__((always_inline)) static inline void
tile(int steps, const float *a, const float *b, float *c, size_t ldc, const int rows, const int vectors, int n,
     float alpha, float beta) {
    __m512 acc[MR][3];
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < vectors; v++) acc[i][v] = _mm512_setzero_ps();
    // The C tile is touched only after the k loop; start bringing it in now (rows may be 4 KiB apart, see packing).
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < vectors; v++) _mm_prefetch((const char *)(c + i * ldc + 16 * v), _MM_HINT_T0);
    for (int k = 0; k < steps; k++) {
        __m512 bv[3];
        for (int v = 0; v < vectors; v++) bv[v] = _mm512_load_ps(b + (size_t)k * NR + 16 * v);
        for (int i = 0; i < rows; i++) {
            __m512 ai = _mm512_set1_ps(a[(size_t)k * MR + i]);
            for (int v = 0; v < vectors; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    int last = n - 16 * (vectors - 1);
    __mmask16 tail = last >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << last) - 1);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < rows; i++) {
        float *ci = c + i * ldc;
        for (int v = 0; v < vectors; v++) {
            __mmask16 mask = v == vectors - 1 ? tail : (__mmask16)0xFFFF;
            __m512 r = _mm512_mul_ps(acc[i][v], va);
            if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, ci + 16 * v), r);
            _mm512_mask_storeu_ps(ci + 16 * v, mask, r);
        }
    }
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
