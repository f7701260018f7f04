// Per-channel sums of an output gradient dy_n [C, HW] (fp32 or bf16), in double, for the convolution's bias
// gradient (conv_internal.h). A bias gradient adds N·HW terms, which fp32 would round visibly for large images.
//
// Every channel is summed in eight lanes (pixel q into lane q % 8, in pixel order), then the lanes in lane order, so
// the value never depends on the ISA: the AVX-512 variant does the same double additions, eight lanes per vector add,
// and sums four channels side by side so that their dependent chains overlap (one chain is 4 cycles per 8 pixels).
// bf16 -> fp32 is a 16-bit shift and fp32 -> double is exact, so a bf16 dy gives the sums of its widened fp32 copy.
// The portable loop runs at about a pixel per cycle; with dz in bf16 it was 4% of a config (a) bf16 training step.
#include "conv_internal.h"
#include "strata_dispatch.h"
#include <immintrin.h>
#include <string.h>

enum { LANES = 8, SIDE_BY_SIDE = 4 };

static double value_at(const void *row, int bf16, int q) {
    if (!bf16) return ((const float *)row)[q];
    uint32_t bits = (uint32_t)((const uint16_t *)row)[q] << 16;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

// The pixels past the last whole group of 8 into their lanes, then the lanes in order.
static double finish(double lane[LANES], const void *row, int bf16, int q, int hw) {
    for (; q < hw; q++) lane[q % LANES] += value_at(row, bf16, q);
    double s = 0.0;
    for (int l = 0; l < LANES; l++) s += lane[l];
    return s;
}

static double sum_portable(const void *row, int bf16, int hw) {
    double lane[LANES] = {0};
    int q = 0;
    for (; q + LANES <= hw; q += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += value_at(row, bf16, q + l);
    return finish(lane, row, bf16, q, hw);
}

#define AVX512_TARGET __attribute__((target("avx512f,avx2")))

// Pixels q ... q + 7 of a row as doubles.
AVX512_TARGET static inline __m512d load8(const void *row, int bf16, int q) {
    if (bf16) {
        __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + q));
        return _mm512_cvtps_pd(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
    }
    return _mm512_cvtps_pd(_mm256_loadu_ps((const float *)row + q));
}

// sums[r] += Σ row r for `rows` (1 ... SIDE_BY_SIDE, a constant once inlined) rows `stride` bytes apart.
AVX512_TARGET __attribute__((always_inline)) static inline void
sum_rows_avx512(const char *first, size_t stride, int bf16, int hw, const int rows, double *sums) {
    __m512d acc[SIDE_BY_SIDE];
    for (int r = 0; r < rows; r++) acc[r] = _mm512_setzero_pd();
    int q = 0;
    for (; q + LANES <= hw; q += LANES)
        for (int r = 0; r < rows; r++) acc[r] = _mm512_add_pd(acc[r], load8(first + r * stride, bf16, q));
    for (int r = 0; r < rows; r++) {
        double lane[LANES];
        _mm512_storeu_pd(lane, acc[r]);
        sums[r] += finish(lane, first + r * stride, bf16, q, hw);
    }
}

AVX512_TARGET static void sums_avx512(const char *rows, size_t stride, int bf16, int count, int hw, double *sums) {
    int c = 0;
    for (; c + SIDE_BY_SIDE <= count; c += SIDE_BY_SIDE)
        sum_rows_avx512(rows + c * stride, stride, bf16, hw, SIDE_BY_SIDE, sums + c);
    for (; c < count; c++) sum_rows_avx512(rows + c * stride, stride, bf16, hw, 1, sums + c);
}

void conv_add_channel_sums(const void *dy_n, int bf16, int c0, int count, int hw, double *sums) {
    const size_t stride = (size_t)hw * (bf16 ? 2 : 4);
    const char *rows = (const char *)dy_n + (size_t)c0 * stride;
    strata_isa isa = strata_isa_active();
    if (isa == STRATA_ISA_AVX512 || isa == STRATA_ISA_AVX512BF16) {
        sums_avx512(rows, stride, bf16, count, hw, sums);
        return;
    }
    for (int c = 0; c < count; c++) sums[c] += sum_portable(rows + c * stride, bf16, hw);
}
