// Element conversions between fp32 and the 16-bit storage types.
#ifndef STRATA_CONVERT_H
#define STRATA_CONVERT_H
#include <stddef.h>
#include <stdint.h>

/// fp32 -> bf16, round to nearest even (NaN stays NaN).
void strata_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
/// bf16 -> fp32 (exact).
void strata_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
/// fp32 -> IEEE binary16, round to nearest even.
void strata_f32_to_f16(const float *src, uint16_t *dst, size_t n);
/// IEEE binary16 -> fp32 (exact).
void strata_f16_to_f32(const uint16_t *src, float *dst, size_t n);
#endif
