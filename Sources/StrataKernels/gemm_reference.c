// Scalar reference GEMM: the algorithmic reference the optimized variants are tested against, and the fallback.
#include "strata_gemm.h"
#include <string.h>

static inline float load_element(const void *p, size_t i, strata_dtype dtype) {
    if (dtype == STRATA_F32) return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    if (dtype == STRATA_BF16) {
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    _Float16 v;
    memcpy(&v, &h, 2);
    return (float)v;
}

void strata_gemm_reference(strata_trans trans_a, strata_trans trans_b, int M, int N, int K, float alpha,
                           const void *A, int lda, const void *B, int ldb, strata_dtype dtype,
                           float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < K; k++) {
                size_t ia = trans_a ? (size_t)k * lda + i : (size_t)i * lda + k;
                size_t ib = trans_b ? (size_t)j * ldb + k : (size_t)k * ldb + j;
                sum += load_element(A, ia, dtype) * load_element(B, ib, dtype);
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = alpha * sum + (beta == 0.0f ? 0.0f : beta * *c);
        }
    }
}
