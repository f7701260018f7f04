// Placeholder scalar conversions; the kernels issue adds dispatch and vector variants.
#include "strata_kernels.h"
#include <string.h>

void strata_f32_to_bf16(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u; memcpy(&u, &src[i], 4);
        if ((u & 0x7fffffffu) > 0x7f800000u) { dst[i] = (uint16_t)((u >> 16) | 0x40); continue; }
        u += 0x7fffu + ((u >> 16) & 1u);
        dst[i] = (uint16_t)(u >> 16);
    }
}
void strata_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) { uint32_t u = (uint32_t)src[i] << 16; memcpy(&dst[i], &u, 4); }
}
void strata_f32_to_f16(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) { _Float16 h = (_Float16)src[i]; memcpy(&dst[i], &h, 2); }
}
void strata_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) { _Float16 h; memcpy(&h, &src[i], 2); dst[i] = (float)h; }
}
