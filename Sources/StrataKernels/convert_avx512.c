// AVX-512 conversion variants (16 lanes), with masked loads/stores for the tail. Bit-identical to the scalar
// references in convert.c.
#include "convert_internal.h"
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c"))), \
                             apply_to = function)

static inline __mmask16 tail_mask(size_t left) { return (__mmask16)((1u << left) - 1u); }

// Integer round-to-nearest-even, bf16 bits in the low half of each 32-bit lane.
static inline __m512i bf16_bits_16(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
    __mmask16 is_nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                               _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_or_epi32(rounded, is_nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
}

void strata_f32_to_bf16_avx512(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        __m512i bits = bf16_bits_16(_mm512_maskz_loadu_ps(m, src + i));
        _mm256_mask_storeu_epi16(dst + i, m, _mm512_cvtepi32_epi16(bits));
    }
}

#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,f16c"))), \
                             apply_to = function)

// vcvtneps2bf16 rounds to nearest even and quiets NaNs like the reference, but treats fp32 subnormal inputs as zero.
// bf16 has fp32's exponent range, so the reference keeps (rounded) subnormals: those lanes (exponent field 0,
// non-zero) take the integer path instead. They are rare, so the blend costs one compare in the common case.
void strata_f32_to_bf16_avx512bf16(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        __m512 x = _mm512_maskz_loadu_ps(m, src + i);
        __m256i fast = (__m256i)_mm512_cvtneps_pbh(x);
        __m512i u = _mm512_castps_si512(x);
        __mmask16 subnormal = _mm512_cmpeq_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7f800000)),
                                                      _mm512_setzero_si512()) &
                              _mm512_test_epi32_mask(u, _mm512_set1_epi32(0x007fffff));
        if (subnormal) {
            __m256i exact = _mm512_cvtepi32_epi16(bf16_bits_16(x));
            fast = _mm256_mask_blend_epi16(subnormal, fast, exact);
        }
        _mm256_mask_storeu_epi16(dst + i, m, fast);
    }
}

#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c"))), \
                             apply_to = function)

void strata_bf16_to_f32_avx512(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, src + i));
        _mm512_mask_storeu_ps(dst + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
}

void strata_f32_to_f16_avx512(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_mask_storeu_epi16(dst + i, m, h);
    }
}

void strata_f16_to_f32_avx512(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
    }
}

#pragma clang attribute pop
