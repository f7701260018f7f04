// GEMM packing: copies a block of A or B into the k-step-major panel format of gemm_internal.h.
//
// Two source layouts reach here. "r-contiguous" (A transposed, B not): each k step's R values are already adjacent,
// so packing is a row copy (or, for bf16 pairs, an interleave of rows k and k+1). "k-contiguous" (A not transposed,
// B transposed): packing is a transpose, done 8x8 (or 4x4) in registers so it costs a fraction of a cycle per
// element instead of one strided store each. In bf16 pair mode a (k, k+1) pair is 4 adjacent bytes of a k-contiguous
// row, so the same 32-bit transpose serves both fp32 and bf16 pairs. The AMX modes (see gemm_internal.h) are the pair
// format padded to whole 16-step blocks (B̃) and pairs in tile order (Ã).
//
// Only called on AVX2-or-better ISAs (the scalar ISA runs the reference GEMM), hence the AVX2 target. The AMX modes
// and the fp32 panels of R = 48 words are packed only for the AVX-512 micro-kernels (AMX implies AVX-512BW), so those
// paths carry AVX-512 targets and use masked 512-bit loads for the edges.
#include "gemm_internal.h"
#include "transpose_avx512.h"
#include <immintrin.h>
#include <string.h>

#define PACK_TARGET __attribute__((target("avx2,fma,f16c")))

static inline uint32_t load_word(const char *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

PACK_TARGET static inline void transpose8x8(const char *s, size_t stride, uint32_t *d, int R) {
    __m256 x0 = _mm256_loadu_ps((const float *)(s + 0 * stride)), x1 = _mm256_loadu_ps((const float *)(s + 1 * stride));
    __m256 x2 = _mm256_loadu_ps((const float *)(s + 2 * stride)), x3 = _mm256_loadu_ps((const float *)(s + 3 * stride));
    __m256 x4 = _mm256_loadu_ps((const float *)(s + 4 * stride)), x5 = _mm256_loadu_ps((const float *)(s + 5 * stride));
    __m256 x6 = _mm256_loadu_ps((const float *)(s + 6 * stride)), x7 = _mm256_loadu_ps((const float *)(s + 7 * stride));
    __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1);
    __m256 t2 = _mm256_unpacklo_ps(x2, x3), t3 = _mm256_unpackhi_ps(x2, x3);
    __m256 t4 = _mm256_unpacklo_ps(x4, x5), t5 = _mm256_unpackhi_ps(x4, x5);
    __m256 t6 = _mm256_unpacklo_ps(x6, x7), t7 = _mm256_unpackhi_ps(x6, x7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    float *f = (float *)d;
    _mm256_storeu_ps(f + 0 * R, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(f + 1 * R, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(f + 2 * R, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(f + 3 * R, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(f + 4 * R, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(f + 5 * R, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(f + 6 * R, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(f + 7 * R, _mm256_permute2f128_ps(u3, u7, 0x31));
}

PACK_TARGET static inline void transpose4x4(const char *s, size_t stride, uint32_t *d, int R) {
    __m128 x0 = _mm_loadu_ps((const float *)(s + 0 * stride)), x1 = _mm_loadu_ps((const float *)(s + 1 * stride));
    __m128 x2 = _mm_loadu_ps((const float *)(s + 2 * stride)), x3 = _mm_loadu_ps((const float *)(s + 3 * stride));
    _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
    float *f = (float *)d;
    _mm_storeu_ps(f + 0 * R, x0);
    _mm_storeu_ps(f + 1 * R, x1);
    _mm_storeu_ps(f + 2 * R, x2);
    _mm_storeu_ps(f + 3 * R, x3);
}

// Word w of row r is the 4 bytes at src + r * stride + 4 * w; writes dst[w * R + r], zero for rows in [rows, R).
PACK_TARGET static void transpose_words(const char *src, size_t stride, int R, int rows, int words, uint32_t *dst) {
    int r = 0;
    for (; r + 8 <= rows; r += 8) {
        const char *s = src + r * stride;
        int w = 0;
        for (; w + 8 <= words; w += 8) transpose8x8(s + 4 * (size_t)w, stride, dst + (size_t)w * R + r, R);
        for (; w < words; w++)
            for (int i = 0; i < 8; i++) dst[(size_t)w * R + r + i] = load_word(s + i * stride + 4 * (size_t)w);
    }
    for (; r + 4 <= rows; r += 4) {
        const char *s = src + r * stride;
        int w = 0;
        for (; w + 4 <= words; w += 4) transpose4x4(s + 4 * (size_t)w, stride, dst + (size_t)w * R + r, R);
        for (; w < words; w++)
            for (int i = 0; i < 4; i++) dst[(size_t)w * R + r + i] = load_word(s + i * stride + 4 * (size_t)w);
    }
    for (; r < rows; r++)
        for (int w = 0; w < words; w++) dst[(size_t)w * R + r] = load_word(src + r * stride + 4 * (size_t)w);
    if (rows < R)
        for (int w = 0; w < words; w++) memset(dst + (size_t)w * R + rows, 0, (size_t)(R - rows) * 4);
}

PACK_TARGET static void widen_row(const uint16_t *s, float *d, int n, gemm_pack_mode mode) {
    int i = 0;
    if (mode == GEMM_PACK_F16_F32) {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
        for (; i < n; i++) d[i] = _cvtsh_ss(s[i]);
    } else {
        for (; i < n; i++) {
            uint32_t u = (uint32_t)s[i] << 16;
            memcpy(&d[i], &u, 4);
        }
    }
}

// bf16 rows k and k+1 (k1 may be NULL past the end of K) interleaved into (k, k+1) words.
PACK_TARGET static void interleave_pairs(const uint16_t *k0, const uint16_t *k1, int rows, int R, uint32_t *d) {
    int i = 0;
    if (k1) {
        for (; i + 16 <= rows; i += 16) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(k0 + i)), b = _mm256_loadu_si256((const __m256i *)(k1 + i));
            __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
            _mm256_storeu_si256((__m256i *)(d + i), _mm256_permute2x128_si256(lo, hi, 0x20));
            _mm256_storeu_si256((__m256i *)(d + i + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
        }
        for (; i < rows; i++) d[i] = (uint32_t)k0[i] | (uint32_t)k1[i] << 16;
    } else {
        for (; i < rows; i++) d[i] = k0[i];
    }
    for (; i < R; i++) d[i] = 0;
}

// One panel from a k-contiguous source: a transpose (see the file comment).
PACK_TARGET static void pack_k_contiguous(const void *src, size_t ld, gemm_pack_mode mode, int R, int rows, int kn,
                                          uint32_t *dst) {
    if (mode == GEMM_PACK_BF16_PAIRS) {
        const uint16_t *s = src;
        int steps = kn / 2;
        transpose_words((const char *)s, ld * 2, R, rows, steps, dst);
        if (kn & 1) {  // the last k has no partner: its word's high half is zero
            uint32_t *d = dst + (size_t)steps * R;
            for (int r = 0; r < rows; r++) d[r] = s[(size_t)r * ld + kn - 1];
            for (int r = rows; r < R; r++) d[r] = 0;
        }
    } else if (mode == GEMM_PACK_F32) {
        transpose_words(src, ld * 4, R, rows, kn, dst);
    } else {
        // Widen a chunk of k for all rows into a small fp32 tile, then transpose that like fp32 input.
        enum { CHUNK = 64 };
        float tile[64 * CHUNK] __attribute__((aligned(64)));
        const uint16_t *s = src;
        for (int k = 0; k < kn; k += CHUNK) {
            int n = kn - k < CHUNK ? kn - k : CHUNK;
            for (int r = 0; r < rows; r++) widen_row(s + (size_t)r * ld + k, tile + r * CHUNK, n, mode);
            transpose_words((const char *)tile, CHUNK * 4, R, rows, n, dst + (size_t)k * R);
        }
    }
}

PACK_TARGET static void copy_row(const float *s, float *d, int n, int R) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_loadu_ps(s + i));
    for (; i < n; i++) d[i] = s[i];
    for (; i < R; i++) d[i] = 0;
}

// Source rows that will be read a few steps from now: each row is a separate stream (rows are ld apart, often
// several pages), which the hardware prefetcher picks up only after some misses.
PACK_TARGET static void prefetch_row(const char *row, size_t bytes) {
    for (size_t offset = 0; offset < bytes; offset += 64) _mm_prefetch(row + offset, _MM_HINT_T0);
}

// One AMX Ã panel from k-contiguous rows: each 64-byte tile row (32 bf16 values of a k block) is one masked 512-bit
// copy, zeros past kn and in rows [n, R), so the panel is written once (AMX implies AVX-512BW).
__attribute__((target("avx512f,avx512bw"))) static void pack_amx_a_rows(const uint16_t *src, size_t ld, int R, int n,
                                                                        int kn, int steps, uint32_t *panel) {
    for (int b = 0; b < steps / 16; b++) {
        const int k = 32 * b, count = kn - k < 32 ? (kn - k > 0 ? kn - k : 0) : 32;
        const __mmask32 mask = count == 32 ? 0xFFFFFFFFu : (__mmask32)((1u << count) - 1);
        uint32_t *block = panel + (size_t)b * R * 16;
        for (int r = 0; r < R; r++) {
            __m512i v = r < n ? _mm512_maskz_loadu_epi16(mask, src + (size_t)r * ld + k) : _mm512_setzero_si512();
            _mm512_storeu_si512(block + r * 16, v);
        }
    }
}

// B̃ for AMX from r-contiguous rows (R a multiple of 16): step s holds the pair words (row 2s, row 2s + 1) of
// every column, 32 columns per 512-bit interleave, and the zero steps up to the next multiple of 16 are written in
// the same pass. The AVX2 pair path it replaces here interleaved 16 columns per call and then zeroed the padding
// separately: 13 % of an AMX bf16 input gradient (64 -> 128 channels, 32x32, K 3, 1 thread).
__attribute__((target("avx512f,avx512bw"))) static void pack_amx_b_rows(const uint16_t *src, size_t ld, int R,
                                                                        int rows, int kn, uint32_t *dst,
                                                                        size_t panel_stride) {
    const int steps = (kn + 1) / 2, padded = (steps + 15) & ~15, width = (rows + R - 1) / R * R;
    for (int s = 0; s < padded; s++) {
        const int k = 2 * s;
        if (k + 8 < kn) prefetch_row((const char *)(src + (size_t)(k + 8) * ld), (size_t)rows * 2);
        if (k + 9 < kn) prefetch_row((const char *)(src + (size_t)(k + 9) * ld), (size_t)rows * 2);
        const uint16_t *k0 = k < kn ? src + (size_t)k * ld : NULL, *k1 = k + 1 < kn ? src + (size_t)(k + 1) * ld : NULL;
        for (int r0 = 0; r0 < rows; r0 += 32) {
            const int n = rows - r0;
            const __mmask32 mask = n >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << n) - 1);
            __m512i a = k0 ? _mm512_maskz_loadu_epi16(mask, k0 + r0) : _mm512_setzero_si512();
            __m512i b = k1 ? _mm512_maskz_loadu_epi16(mask, k1 + r0) : _mm512_setzero_si512();
            __m512i words[2];
            interleave_pairs32(a, b, words);
            _mm512_storeu_si512(dst + (size_t)(r0 / R) * panel_stride + (size_t)s * R + r0 % R, words[0]);
            const int r1 = r0 + 16;
            if (r1 < width)
                _mm512_storeu_si512(dst + (size_t)(r1 / R) * panel_stride + (size_t)s * R + r1 % R, words[1]);
        }
    }
}

// One AMX Ã panel from r-contiguous rows (row k holds the R panel rows' values of that k; n <= R of them valid):
// for 16 panel rows and 16 steps at a time, each step's pair words (k, k+1) are built in one vector and the 16 x 16
// block is transposed into tile rows, zeros past kn and in rows [n, R). Scattering one word at a time instead was
// 8 % of an AMX bf16 input gradient (64 -> 128 channels, 32x32, K 3, 1 thread), which packs w^T this way per call.
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void pack_amx_a_columns(const uint16_t *src, size_t ld,
                                                                                   int R, int n, int kn, int steps,
                                                                                   uint32_t *panel) {
    for (int b = 0; b < steps / 16; b++)
        for (int r0 = 0; r0 < R; r0 += 16) {
            const int valid = n - r0;
            const __mmask16 mask = valid >= 16 ? 0xFFFF : valid > 0 ? (__mmask16)((1u << valid) - 1) : 0;
            __m512i words[16];
            for (int s = 0; s < 16; s++) {
                const int k = 2 * (16 * b + s);
                __m256i lo = k < kn ? _mm256_maskz_loadu_epi16(mask, src + (size_t)k * ld + r0) : _mm256_setzero_si256();
                __m256i hi = k + 1 < kn ? _mm256_maskz_loadu_epi16(mask, src + (size_t)(k + 1) * ld + r0)
                                        : _mm256_setzero_si256();
                words[s] = _mm512_or_si512(_mm512_cvtepu16_epi32(lo), _mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16));
            }
            transpose16x16(words);
            for (int r = 0; r < 16; r++)
                _mm512_storeu_si512(panel + (size_t)b * R * 16 + (size_t)(r0 + r) * 16, words[r]);
        }
}

// Ã for AMX (layout in gemm_internal.h). k-contiguous rows: pack_amx_a_rows; r-contiguous: pack_amx_a_columns, or
// (R not a multiple of 16) each panel zeroed, then rows k and k+1 interleaved into pair words as in pair mode and
// scattered to their rows.
PACK_TARGET static void pack_amx_a(const uint16_t *src, size_t ld, int k_contiguous, int R, int rows, int kn,
                                   uint32_t *dst, size_t panel_stride) {
    int steps = ((kn + 1) / 2 + 15) & ~15;
    for (int r0 = 0; r0 < rows; r0 += R) {
        int n = rows - r0 < R ? rows - r0 : R;
        uint32_t *panel = dst + (size_t)(r0 / R) * panel_stride;
        if (k_contiguous) {
            pack_amx_a_rows(src + (size_t)r0 * ld, ld, R, n, kn, steps, panel);
        } else if (R % 16 == 0) {
            pack_amx_a_columns(src + r0, ld, R, n, kn, steps, panel);
        } else {
            memset(panel, 0, (size_t)R * steps * 4);
            uint32_t words[64];
            for (int step = 0; step < (kn + 1) / 2; step++) {
                int k = 2 * step;
                const uint16_t *k0 = src + (size_t)k * ld + r0;
                interleave_pairs(k0, k + 1 < kn ? k0 + ld : NULL, n, n, words);
                uint32_t *d = panel + (size_t)(step / 16) * R * 16 + step % 16;
                for (int r = 0; r < n; r++) d[r * 16] = words[r];
            }
        }
    }
}

// fp32 panels from r-contiguous rows for the AVX-512 micro-kernel (R = 48): each step's R values are three 512-bit
// copies (masked past `rows`, zeros there), the next rows prefetched as in the general path.
__attribute__((target("avx512f"))) static void pack_f32_rows_avx512(const float *src, size_t ld, int R, int rows,
                                                                    int kn, uint32_t *dst, size_t panel_stride) {
    for (int k = 0; k < kn; k++) {
        if (k + 4 < kn) prefetch_row((const char *)(src + (size_t)(k + 4) * ld), (size_t)rows * 4);
        const float *row = src + (size_t)k * ld;
        for (int r0 = 0; r0 < rows; r0 += R) {
            float *d = (float *)(dst + (size_t)(r0 / R) * panel_stride + (size_t)k * R);
            for (int i = 0; i < R; i += 16) {
                const int n = rows - r0 - i;
                const __mmask16 mask = n >= 16 ? (__mmask16)0xFFFF : n > 0 ? (__mmask16)((1u << n) - 1) : 0;
                _mm512_storeu_ps(d + i, _mm512_maskz_loadu_ps(mask, row + r0 + i));
            }
        }
    }
}

PACK_TARGET void strata_gemm_pack(const void *src, size_t ld, int k_contiguous, gemm_pack_mode mode, int R, int rows,
                                  int kn, uint32_t *dst, size_t panel_stride) {
    if (mode == GEMM_PACK_F32 && !k_contiguous && R == GEMM_AVX512_NR) {
        pack_f32_rows_avx512(src, ld, R, rows, kn, dst, panel_stride);
        return;
    }
    if (mode == GEMM_PACK_BF16_AMX_A) {
        pack_amx_a(src, ld, k_contiguous, R, rows, kn, dst, panel_stride);
        return;
    }
    if (mode == GEMM_PACK_BF16_AMX_B && !k_contiguous && R % 16 == 0) {
        pack_amx_b_rows(src, ld, R, rows, kn, dst, panel_stride);
        return;
    }
    if (mode == GEMM_PACK_BF16_AMX_B) {  // pair format, then zero steps up to the next multiple of 16
        strata_gemm_pack(src, ld, k_contiguous, GEMM_PACK_BF16_PAIRS, R, rows, kn, dst, panel_stride);
        int steps = (kn + 1) / 2, padded = (steps + 15) & ~15;
        for (int r0 = 0; r0 < rows; r0 += R)
            memset(dst + (size_t)(r0 / R) * panel_stride + (size_t)steps * R, 0, (size_t)(padded - steps) * R * 4);
        return;
    }
    size_t element = mode == GEMM_PACK_F32 ? 4 : 2;
    const char *s = src;
    if (k_contiguous) {
        for (int r0 = 0; r0 < rows; r0 += R)
            pack_k_contiguous(s + (size_t)r0 * ld * element, ld, mode, R, rows - r0 < R ? rows - r0 : R, kn,
                              dst + (size_t)(r0 / R) * panel_stride);
        return;
    }
    // r-contiguous: step by step across every panel, so each source row is read from start to end in one go.
    int pairs = mode == GEMM_PACK_BF16_PAIRS;
    int steps = pairs ? (kn + 1) / 2 : kn;
    size_t row_bytes = (size_t)rows * element;
    for (int step = 0; step < steps; step++) {
        int k = pairs ? 2 * step : step;
        int ahead = k + (pairs ? 8 : 4);
        if (ahead < kn) prefetch_row(s + (size_t)ahead * ld * element, row_bytes);
        if (pairs && ahead + 1 < kn) prefetch_row(s + (size_t)(ahead + 1) * ld * element, row_bytes);
        const char *row = s + (size_t)k * ld * element;
        for (int r0 = 0; r0 < rows; r0 += R) {
            int n = rows - r0 < R ? rows - r0 : R;
            uint32_t *d = dst + (size_t)(r0 / R) * panel_stride + (size_t)step * R;
            if (mode == GEMM_PACK_F32) {
                copy_row((const float *)row + r0, (float *)d, n, R);
            } else if (pairs) {
                const uint16_t *k0 = (const uint16_t *)row + r0;
                interleave_pairs(k0, k + 1 < kn ? k0 + ld : NULL, n, R, d);
            } else {
                widen_row((const uint16_t *)row + r0, (float *)d, n, mode);
                memset(d + n, 0, (size_t)(R - n) * 4);
            }
        }
    }
}
