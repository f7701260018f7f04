// Private to the AVX-512 micro-kernels (fp32 FMA and bf16 vdpbf16ps): what their C tiles share around the k loop —
// zeroing the accumulators and prefetching C before it, C = alpha * acc + beta * C with masked edges after it.
// Always inlined into each (rows, vectors) instance, so `rows` and `vectors` stay compile-time constants there.
#ifndef STRATA_GEMM_AVX512_TILE_H
#define STRATA_GEMM_AVX512_TILE_H
#include "gemm_internal.h"
#include <immintrin.h>

#define GEMM_AVX512_TILE_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

/// Zeroes acc[rows][vectors] and starts bringing the C tile in (rows may be 4 KiB apart, see packing): C is touched
/// only after the k loop.
GEMM_AVX512_TILE_TARGET __attribute__((always_inline)) static inline void
gemm_avx512_tile_begin(__m512 acc[GEMM_AVX512_MR][3], const float *c, size_t ldc, const int rows, const int vectors) {
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < vectors; v++) acc[i][v] = _mm512_setzero_ps();
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < vectors; v++) _mm_prefetch((const char *)(c + i * ldc + 16 * v), _MM_HINT_T0);
}

/// C[rows, n] = alpha * acc + beta * C (beta == 0: C not read); the last vector's columns past n are masked.
/// alpha == 1 with beta 0 or 1 (every K slice of a plain product) skips the scaling, and a tile whose last vector is
/// whole uses plain loads and stores: masked ones cost several times more, and at the few dozen k steps of a
/// Winograd or per-pixel product the epilogue is a sizeable share of the call.
GEMM_AVX512_TILE_TARGET __attribute__((always_inline)) static inline void
gemm_avx512_tile_end(__m512 acc[GEMM_AVX512_MR][3], float *c, size_t ldc, const int rows, const int vectors, int n,
                     float alpha, float beta) {
    int last = n - 16 * (vectors - 1);
    if (last >= 16 && alpha == 1.0f && (beta == 0.0f || beta == 1.0f)) {
        for (int i = 0; i < rows; i++) {
            float *ci = c + i * ldc;
            for (int v = 0; v < vectors; v++) {
                __m512 r = beta == 0.0f ? acc[i][v] : _mm512_add_ps(acc[i][v], _mm512_loadu_ps(ci + 16 * v));
                _mm512_storeu_ps(ci + 16 * v, r);
            }
        }
        return;
    }
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
#endif
