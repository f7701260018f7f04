// Private: register shuffles shared by the packings (im2col.c, gemm_pack.c): a 16 x 16 transpose of 32-bit words
// (rows into columns: im2col.c's transposed bf16 pairs, gemm_pack.c's r-contiguous AMX Ã), and the interleave of two
// rows of 32 bf16 values into (k, k+1) pair words (im2col.c's pair gather, gemm_pack.c's r-contiguous AMX B̃).
#ifndef STRATA_TRANSPOSE_AVX512_H
#define STRATA_TRANSPOSE_AVX512_H
#include <immintrin.h>

// r[t] word s -> r[s] word t: a 16 x 16 transpose of 32-bit words in registers.
__attribute__((target("avx512f"))) static inline void transpose16x16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    // u[4i + c], 128-bit lane L: rows 4i ... 4i + 3 at column 4L + c.
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int c = 0; c < 4; c++) {
        __m512i x0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88), x1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xDD);
        __m512i y0 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88);
        __m512i y1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_i32x4(x0, y0, 0x88);
        r[8 + c] = _mm512_shuffle_i32x4(x0, y0, 0xDD);
        r[4 + c] = _mm512_shuffle_i32x4(x1, y1, 0x88);
        r[12 + c] = _mm512_shuffle_i32x4(x1, y1, 0xDD);
    }
}

// Values 0-31 of rows a (k) and b (k + 1) as 32 pair words, low half from a: columns 0-15 in words[0], 16-31 in
// words[1].
__attribute__((target("avx512f,avx512bw"))) static inline void interleave_pairs32(__m512i a, __m512i b,
                                                                                  __m512i words[2]) {
    // Words i of lo / hi after unpacking are columns (4 lanes of 128 bits) 0-3 | 8-11 | ... and 4-7 | 12-15 | ...
    const __m512i first = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
    const __m512i last = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
    __m512i lo = _mm512_unpacklo_epi16(a, b), hi = _mm512_unpackhi_epi16(a, b);
    words[0] = _mm512_permutex2var_epi64(lo, first, hi);
    words[1] = _mm512_permutex2var_epi64(lo, last, hi);
}
#endif
