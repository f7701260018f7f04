// Peak multiply-add loops (see strata_peak.h). Results go through a volatile sink so the compiler keeps the work.
#include "strata_peak.h"
#include <immintrin.h>

static volatile float sink;

#define ACCUMULATORS 16

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) static double avx512_f32(long iterations) {
    __m512 acc[ACCUMULATORS];
    for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_set1_ps((float)i);
    // x < 1 keeps every accumulator converging to y / (1 - x): no overflow, no denormals.
    __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.001f);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    __m512 total = acc[0];
    for (int i = 1; i < ACCUMULATORS; i++) total = _mm512_add_ps(total, acc[i]);
    sink = _mm512_reduce_add_ps(total);
    return 2.0 * 16 * ACCUMULATORS * (double)iterations;
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16"))) static double avx512_bf16(long iterations) {
    __m512 acc[ACCUMULATORS];
    for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_setzero_ps();
    // bf16 0x3a83 is about 0.001: each round adds 2e-6 per lane, far from overflow for any sane iteration count.
    __m512bh x = (__m512bh)_mm512_set1_epi16(0x3a83), y = (__m512bh)_mm512_set1_epi16(0x3a83);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < ACCUMULATORS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
    __m512 total = acc[0];
    for (int i = 1; i < ACCUMULATORS; i++) total = _mm512_add_ps(total, acc[i]);
    sink = _mm512_reduce_add_ps(total);
    return 4.0 * 16 * ACCUMULATORS * (double)iterations;  // 2 products and 2 adds per fp32 lane
}

__attribute__((target("avx2,fma"))) static double avx2_f32(long iterations) {
    enum { N = 12 };  // 12 of the 16 ymm registers: x, y and headroom stay in registers
    __m256 acc[N];
    for (int i = 0; i < N; i++) acc[i] = _mm256_set1_ps((float)i);
    __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(0.001f);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < N; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    __m256 total = acc[0];
    for (int i = 1; i < N; i++) total = _mm256_add_ps(total, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    sink = lanes[0] + lanes[7];
    return 2.0 * 8 * (double)N * (double)iterations;
}

static double scalar_f32(long iterations) {
    float acc[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    volatile float xv = 0.999f, yv = 0.001f;  // volatile: the compiler must not vectorise or fold the loop
    float x = xv, y = yv;
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < 8; i++) acc[i] = acc[i] * x + y;
    sink = acc[0] + acc[7];
    return 2.0 * 8 * (double)iterations;
}

double strata_peak_loop(strata_isa isa, strata_dtype precision, long iterations) {
    if (!strata_isa_supported(isa)) return 0;
    switch (isa) {
    case STRATA_ISA_AVX512BF16:
        return precision == STRATA_BF16 ? avx512_bf16(iterations) : avx512_f32(iterations);
    case STRATA_ISA_AVX512: return avx512_f32(iterations);
    case STRATA_ISA_AVX2: return avx2_f32(iterations);
    case STRATA_ISA_SCALAR: return scalar_f32(iterations);
    }
    return 0;
}
