// Element conversions between fp32 and the 16-bit storage types (bf16, IEEE binary16).
//
// The unsuffixed functions dispatch on strata_isa_active(): AVX-512 BF16 (vcvtneps2bf16), AVX-512 and AVX2/F16C
// (vcvtps2ph), else the scalar reference. Every variant gives bit-identical results to the reference, NaNs included:
//   fp32 -> bf16: round to nearest even; subnormals round like normals (bf16 shares fp32's exponent range);
//                 NaN -> quiet NaN with the sign and top 7 payload bits kept ((bits >> 16) | 0x0040).
//   fp32 -> fp16: round to nearest even, overflow to +-inf, gradual underflow to fp16 subnormals and +-0;
//                 NaN -> quiet NaN with the sign and top 9 payload bits kept (what F16C's vcvtps2ph does).
//   bf16/fp16 -> fp32: exact (every 16-bit value, subnormals included, is an fp32 value); an fp16 NaN comes out
//                 quiet with its payload kept, a bf16 NaN bit for bit (bf16 -> fp32 is a 16-bit shift).
// src and dst must not overlap. n is an element count.
#ifndef STRATA_CONVERT_H
#define STRATA_CONVERT_H
#include <stddef.h>
#include <stdint.h>

/// fp32 -> bf16, round to nearest even (NaN stays NaN). src [n] fp32, dst [n] bf16 bits.
void strata_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
/// bf16 -> fp32 (exact). src [n] bf16 bits, dst [n] fp32.
void strata_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
/// fp32 -> IEEE binary16, round to nearest even. src [n] fp32, dst [n] fp16 bits.
void strata_f32_to_f16(const float *src, uint16_t *dst, size_t n);
/// IEEE binary16 -> fp32 (exact). src [n] fp16 bits, dst [n] fp32.
void strata_f16_to_f32(const uint16_t *src, float *dst, size_t n);

/// Scalar references (pure integer bit manipulation, no FPU conversion instructions): the ground truth the
/// dispatched variants are tested against, and the fallback on CPUs without AVX2.
void strata_f32_to_bf16_reference(const float *src, uint16_t *dst, size_t n);
void strata_bf16_to_f32_reference(const uint16_t *src, float *dst, size_t n);
void strata_f32_to_f16_reference(const float *src, uint16_t *dst, size_t n);
void strata_f16_to_f32_reference(const uint16_t *src, float *dst, size_t n);
#endif
