// fp32 <-> bf16 / fp16 conversions: scalar references and the runtime dispatch to the per-ISA variants
// (convert_avx2.c, convert_avx512.c). See strata_convert.h for the exact rounding contract.
#include "strata_kernels.h"
#include "convert_internal.h"

void strata_f32_to_bf16_reference(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = strata_bf16_from_bits(strata_f32_bits(src[i]));
}

void strata_bf16_to_f32_reference(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = strata_bits_f32((uint32_t)src[i] << 16);
}

void strata_f32_to_f16_reference(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = strata_f16_from_bits(strata_f32_bits(src[i]));
}

void strata_f16_to_f32_reference(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = strata_bits_f32(strata_bits_from_f16(src[i]));
}

void strata_f32_to_bf16(const float *src, uint16_t *dst, size_t n) {
    switch (strata_isa_active()) {
    case STRATA_ISA_AVX512BF16: strata_f32_to_bf16_avx512bf16(src, dst, n); return;
    case STRATA_ISA_AVX512: strata_f32_to_bf16_avx512(src, dst, n); return;
    case STRATA_ISA_AVX2: strata_f32_to_bf16_avx2(src, dst, n); return;
    default: strata_f32_to_bf16_reference(src, dst, n); return;
    }
}

void strata_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
    switch (strata_isa_active()) {
    case STRATA_ISA_AVX512BF16:
    case STRATA_ISA_AVX512: strata_bf16_to_f32_avx512(src, dst, n); return;
    case STRATA_ISA_AVX2: strata_bf16_to_f32_avx2(src, dst, n); return;
    default: strata_bf16_to_f32_reference(src, dst, n); return;
    }
}

void strata_f32_to_f16(const float *src, uint16_t *dst, size_t n) {
    switch (strata_isa_active()) {
    case STRATA_ISA_AVX512BF16:
    case STRATA_ISA_AVX512: strata_f32_to_f16_avx512(src, dst, n); return;
    case STRATA_ISA_AVX2: strata_f32_to_f16_avx2(src, dst, n); return;
    default: strata_f32_to_f16_reference(src, dst, n); return;
    }
}

void strata_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
    switch (strata_isa_active()) {
    case STRATA_ISA_AVX512BF16:
    case STRATA_ISA_AVX512: strata_f16_to_f32_avx512(src, dst, n); return;
    case STRATA_ISA_AVX2: strata_f16_to_f32_avx2(src, dst, n); return;
    default: strata_f16_to_f32_reference(src, dst, n); return;
    }
}
