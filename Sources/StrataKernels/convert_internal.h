// Private: the per-ISA conversion variants that convert.c dispatches to, and the scalar element conversions the
// vector variants reuse for their tails (so a tail element is converted exactly like the reference would).
#ifndef STRATA_CONVERT_INTERNAL_H
#define STRATA_CONVERT_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t strata_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float strata_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

// fp32 bits -> bf16 bits. Adding 0x7fff plus the lowest kept bit rounds to nearest, ties to even; the carry may
// ripple into the exponent, which is exactly right (rounding up to the next binade or to inf).
static inline uint16_t strata_bf16_from_bits(uint32_t u) {
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// fp32 bits -> fp16 bits, round to nearest even, written out case by case so it can serve as the reference.
static inline uint16_t strata_f16_from_bits(uint32_t u) {
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t exp = (u >> 23) & 0xffu;
    uint32_t man = u & 0x7fffffu;
    if (exp == 0xffu) {
        if (man == 0) return sign | 0x7c00u;                         // inf
        return (uint16_t)(sign | 0x7e00u | (man >> 13));            // NaN: quiet, top payload bits kept
    }
    int e = (int)exp - 127 + 15;                                    // fp16 biased exponent
    if (e >= 31) return sign | 0x7c00u;                             // overflow (before rounding) -> inf
    if (e <= 0) {
        // fp16 subnormal or zero: value = m * 2^-24 with m = (1.man) * 2^(exp-127+24), rounded.
        if (e < -10) return sign;                                   // below half the smallest subnormal: +-0
        uint32_t m = man | 0x800000u;                               // implicit bit (fp32 subnormals have e < -10)
        int shift = 14 - e;                                         // 14..24: keep 24 - shift bits
        uint32_t kept = m >> shift;
        uint32_t rest = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1);
        if (rest > half || (rest == half && (kept & 1u))) kept++;   // may round up to the smallest normal: fine
        return (uint16_t)(sign | kept);
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rest = man & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;      // carry into exponent may give inf: correct
    return (uint16_t)(sign | h);
}

// fp16 bits -> fp32 bits (exact).
static inline uint32_t strata_bits_from_f16(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1fu) {
        if (man == 0) return sign | 0x7f800000u;                    // inf
        return sign | 0x7fc00000u | (man << 13);                    // NaN: quiet (as vcvtph2ps does), payload kept
    }
    if (exp != 0) return sign | ((exp - 15 + 127) << 23) | (man << 13);
    if (man == 0) return sign;
    // Subnormal: normalize. value = man * 2^-24.
    int e = -14;
    while (!(man & 0x400u)) { man <<= 1; e--; }
    return sign | ((uint32_t)(e + 127) << 23) | ((man & 0x3ffu) << 13);
}

void strata_f32_to_bf16_avx2(const float *src, uint16_t *dst, size_t n);
void strata_bf16_to_f32_avx2(const uint16_t *src, float *dst, size_t n);
void strata_f32_to_f16_avx2(const float *src, uint16_t *dst, size_t n);
void strata_f16_to_f32_avx2(const uint16_t *src, float *dst, size_t n);
void strata_f32_to_bf16_avx512(const float *src, uint16_t *dst, size_t n);
void strata_f32_to_bf16_avx512bf16(const float *src, uint16_t *dst, size_t n);
void strata_bf16_to_f32_avx512(const uint16_t *src, float *dst, size_t n);
void strata_f32_to_f16_avx512(const float *src, uint16_t *dst, size_t n);
void strata_f16_to_f32_avx512(const uint16_t *src, float *dst, size_t n);
#endif
