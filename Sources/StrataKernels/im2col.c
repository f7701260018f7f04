// im2col / col2im for stride-1 'same' convolutions (see strata_conv.h).
//
// col row r = (ci·K + ky)·K + kx holds, at column y·W + x, the input pixel x_in[ci][y + ky - p][x + kx - p]
// (p = K/2), zero outside the image. Each (row, output line) is one contiguous run of the input line, shifted,
// with zeros at the ends, so the copy is a memcpy per line. The element size is a parameter because the 16-bit
// compute path gathers already-converted bf16/fp16 pixels (zero is the all-zero bit pattern in every type).
#include "im2col.h"
#include "strata_dispatch.h"
#include "transpose_avx512.h"
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

// For kernel column kx: output columns [x0, x1) read input columns x0 + kx - p ..; the rest are padding.
static inline void valid_columns(int W, int kx, int p, int *x0, int *x1) {
    // Clamped to [0, W]: a kernel wider than the image has taps that see only padding (x0 == x1).
    int shift = kx - p;
    int lo = shift < 0 ? -shift : 0, hi = shift > 0 ? W - shift : W;
    *x0 = lo < W ? lo : W;
    *x1 = hi > *x0 ? hi : *x0;
}

void strata_im2col(const void *src, void *col, int Cin, int H, int W, int K, size_t esize) {
    const int p = K / 2;
    const size_t HW = (size_t)H * W;
    const char *in = src;
    char *out = col;
    for (int ci = 0; ci < Cin; ci++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                char *row = out + ((size_t)(ci * K + ky) * K + kx) * HW * esize;
                int x0, x1;
                valid_columns(W, kx, p, &x0, &x1);
                for (int y = 0; y < H; y++) {
                    char *dst = row + (size_t)y * W * esize;
                    int sy = y + ky - p;
                    if (sy < 0 || sy >= H) { memset(dst, 0, (size_t)W * esize); continue; }
                    const char *s = in + ((size_t)ci * HW + (size_t)sy * W + (size_t)(x0 + kx - p)) * esize;
                    memset(dst, 0, (size_t)x0 * esize);
                    memcpy(dst + (size_t)x0 * esize, s, (size_t)(x1 - x0) * esize);
                    memset(dst + (size_t)x1 * esize, 0, (size_t)(W - x1) * esize);
                }
            }
        }
    }
}

// col rows y0 ... y1 - 1 of every col row (col [Cin·K·K, (y1 - y0)·W]) added onto dst [Cin, H, W] rows [oy0, oy1).
static void col2im_add_portable(const float *col, float *dst, int Cin, int H, int W, int K, int y0, int y1, int oy0,
                                int oy1) {
    const int p = K / 2;
    const size_t HW = (size_t)H * W, chunk = (size_t)(y1 - y0) * W;
    for (int ci = 0; ci < Cin; ci++) {
        float *img = dst + (size_t)ci * HW;
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                const float *row = col + ((size_t)(ci * K + ky) * K + kx) * chunk;
                int x0, x1;
                valid_columns(W, kx, p, &x0, &x1);
                for (int y = y0; y < y1; y++) {
                    int sy = y + ky - p;
                    if (sy < 0 || sy >= H || sy < oy0 || sy >= oy1) continue;
                    const float *s = row + (size_t)(y - y0) * W;
                    float *d = img + (size_t)sy * W;
                    for (int x = x0; x < x1; x++) d[x + kx - p] += s[x];
                }
            }
        }
    }
}

// The same sums gathered per output: each 16-pixel stretch of a dx line is loaded once, receives its taps in
// registers in the portable loop's (ky, kx) order (so the bits are the same), and is stored once, where the portable
// loop reads and writes dx K² times (K = 5: 25 passes over dx per image, a fifth of a config (a) bf16 step).
// Tap (ky, kx) adds col row (ci, ky, kx) at pixel (y, u - kx + p), y = sy - ky + p, to dx (sy, u) where y is in
// [y0, y1): lanes whose source column leaves [0, W) are masked off (masked loads never fault).
//
// Those masks, for stretch j (output columns u0 = 16·j ...) and kernel column kx, depend on neither channel nor line,
// so each call works them out once for up to COL2IM_MASKS (stretch, kx) pairs instead of once per tap of every
// stretch, line and channel: that per-tap scalar work was most of col2im's time, and col2im a third of an AMX input
// gradient (64 -> 128 channels, 32x32, 1 thread).
#define COL2IM_MASKS 4096
#define COL2IM_MAX_K 255  // wider kernels take the portable loop (their taps far outnumber any scalar work)

// Stretches j ... j + n - 1 of dx lines sy ... sy + lines - 1 (lines sharing the kernel rows [ky0, ky1) whose source
// line y = sy - ky + p is in [y0, y1)) receive their taps, each stretch in (ky, kx) order, in independent registers:
// one stretch alone is a chain of K² dependent adds (latency-bound, about 4 cycles each); 2 lines x 2 stretches of a
// 32-pixel line, or 2 x 4 of a 64-pixel one, keep the adder busy.
__attribute__((target("avx512f"), always_inline)) static inline void add_taps(
    int lines, int n, int j, int j0, int W, int K, int p, int ky0, int ky1, int sy, int y0, size_t chunk,
    const __mmask16 *masks, const float *taps, float *img) {
    __m512 acc[2][4];
    __mmask16 out[4];
    for (int i = 0; i < n; i++) {
        const int u0 = 16 * (j + i), lanes = W - u0 < 16 ? W - u0 : 16;
        out[i] = (__mmask16)((1u << lanes) - 1);
        for (int l = 0; l < lines; l++) acc[l][i] = _mm512_maskz_loadu_ps(out[i], img + (size_t)(sy + l) * W + u0);
    }
    for (int ky = ky0; ky < ky1; ky++) {
        // Tap (ky, kx) reads col row (ky, kx) at line y - y0, columns u0 - (kx - p) ...
        const float *s = taps + (size_t)ky * K * chunk + (size_t)(sy - ky + p - y0) * W + 16 * j + p;
        for (int kx = 0; kx < K; kx++, s += chunk - 1)
            for (int i = 0; i < n; i++) {
                const __mmask16 m = masks[(size_t)(j + i - j0) * K + kx];
                if (!m) continue;
                for (int l = 0; l < lines; l++)
                    acc[l][i] = _mm512_add_ps(acc[l][i], _mm512_maskz_loadu_ps(m, s + (size_t)l * W + 16 * i));
            }
    }
    for (int i = 0; i < n; i++)
        for (int l = 0; l < lines; l++)
            _mm512_mask_storeu_ps(img + (size_t)(sy + l) * W + 16 * (j + i), out[i], acc[l][i]);
}

// Every stretch of `lines` dx lines from sy (see add_taps).
__attribute__((target("avx512f"), always_inline)) static inline void add_line_taps(
    int lines, int j0, int j1, int W, int K, int p, int ky0, int ky1, int sy, int y0, size_t chunk,
    const __mmask16 *masks, const float *taps, float *img) {
    int j = j0;
    for (; j + 4 <= j1; j += 4) add_taps(lines, 4, j, j0, W, K, p, ky0, ky1, sy, y0, chunk, masks, taps, img);
    for (; j + 2 <= j1; j += 2) add_taps(lines, 2, j, j0, W, K, p, ky0, ky1, sy, y0, chunk, masks, taps, img);
    for (; j < j1; j++) add_taps(lines, 1, j, j0, W, K, p, ky0, ky1, sy, y0, chunk, masks, taps, img);
}

__attribute__((target("avx512f"))) static void col2im_add_avx512(const float *col, float *dst, int Cin, int H, int W,
                                                                   int K, int y0, int y1, int oy0, int oy1) {
    if (K > COL2IM_MAX_K) {
        col2im_add_portable(col, dst, Cin, H, W, K, y0, y1, oy0, oy1);
        return;
    }
    const int p = K / 2, stretches = (W + 15) / 16, group = COL2IM_MASKS / K;
    const size_t HW = (size_t)H * W, chunk = (size_t)(y1 - y0) * W;
    int first = y0 - p > 0 ? y0 - p : 0, last = y1 + p < H ? y1 + p : H;  // dx rows [first, last) change
    first = first > oy0 ? first : oy0;
    last = last < oy1 ? last : oy1;
    __mmask16 masks[COL2IM_MASKS];
    // Stretches in groups whose masks fit the table (one group unless W > 16·COL2IM_MASKS / K).
    for (int j0 = 0; j0 < stretches; j0 += group) {
        const int j1 = stretches - j0 < group ? stretches : j0 + group;
        for (int j = j0; j < j1; j++) {
            const int u0 = 16 * j, lanes = W - u0 < 16 ? W - u0 : 16;
            for (int kx = 0; kx < K; kx++) {
                const int shift = kx - p, lo = shift - u0, hi = W + shift - u0;  // lanes [lo, hi) read inside
                const int a = lo > 0 ? lo : 0, b = hi < lanes ? hi : lanes;
                masks[(j - j0) * K + kx] = b > a ? (__mmask16)(((1u << (b - a)) - 1) << a) : 0;
            }
        }
        for (int ci = 0; ci < Cin; ci++) {
            float *img = dst + (size_t)ci * HW;
            const float *taps = col + (size_t)ci * K * K * chunk;
            for (int sy = first; sy < last;) {
                // Kernel rows whose source line y = sy - ky + p is in [y0, y1), for this line and the next.
                const int ky0 = sy + p - y1 + 1 > 0 ? sy + p - y1 + 1 : 0, ky1 = sy + p - y0 + 1 < K ? sy + p - y0 + 1 : K;
                const int next0 = sy + p - y1 + 2 > 0 ? sy + p - y1 + 2 : 0, next1 = sy + p - y0 + 2 < K ? sy + p - y0 + 2 : K;
                if (sy + 1 < last && next0 == ky0 && next1 == ky1) {
                    add_line_taps(2, j0, j1, W, K, p, ky0, ky1, sy, y0, chunk, masks, taps, img);
                    sy += 2;
                } else {
                    add_line_taps(1, j0, j1, W, K, p, ky0, ky1, sy, y0, chunk, masks, taps, img);
                    sy += 1;
                }
            }
        }
    }
}

void strata_col2im_add_window(const float *col, float *dst, int Cin, int H, int W, int K, int y0, int y1, int oy0,
                              int oy1) {
    if (strata_isa_active() >= STRATA_ISA_AVX512) col2im_add_avx512(col, dst, Cin, H, W, K, y0, y1, oy0, oy1);
    else col2im_add_portable(col, dst, Cin, H, W, K, y0, y1, oy0, oy1);
}

void strata_col2im_add_rows(const float *col, float *dst, int Cin, int H, int W, int K, int y0, int y1) {
    strata_col2im_add_window(col, dst, Cin, H, W, K, y0, y1, 0, H);
}

// ---- Implicit im2col: packing GEMM panels straight from the image ------------------------------------------------
//
// The packers below run once per GEMM panel and k step, so per-call costs (divisions, memcpy calls, branches per
// image line) add cycles to every B element, against only M/32 cycles of arithmetic per element (M = 64: 2 cycles).
// Hence a col row's channel and offsets are worked out once per row ("tap"), and on AVX-512 a run of output pixels
// is copied 16 (fp32) or 32 (16-bit) at a time: consecutive output pixels read consecutive source elements
// (pixel q reads source element q + dy·W + shift), whatever line breaks fall between them, so one masked load per
// vector does it; the mask (source pixel inside the image) comes from the pixels' (x, y) coordinates, computed once
// per run and shared by every row.

// Col row r = (c·K + ky)·K + kx of the view: source channel, vertical offset dy = ky - p, horizontal shift kx - p,
// and the output columns [x0, x1) whose source column is inside the image.
typedef struct im2col_tap {
    const char *channel;
    int dy, shift, x0, x1;
} tap;

static tap tap_of(const strata_im2col_view *v, int r) {
    const int K = v->K, p = K / 2, kx = r % K, c = r / (K * K);
    const char *channel = c < v->split ? v->image + (size_t)c * v->H * v->W * v->esize
                                       : v->image2 + (size_t)(c - v->split) * v->H * v->W * v->esize;
    tap t = {.channel = channel, .dy = r / K % K - p, .shift = kx - p};
    valid_columns(v->W, kx, p, &t.x0, &t.x1);
    return t;
}

// taps[i] = tap_of(v, r0 + i) for i < count, stepping (c, ky, kx) instead of dividing for each.
static void taps_from(const strata_im2col_view *v, int r0, int count, tap *taps) {
    const int K = v->K, p = K / 2;
    taps[0] = tap_of(v, r0);
    int kx = r0 % K, ky = r0 / K % K;
    for (int i = 1; i < count; i++) {
        if (++kx == K) kx = 0, ky = ky + 1 == K ? 0 : ky + 1;
        if (kx == 0 && ky == 0) {
            taps[i] = tap_of(v, r0 + i);  // a new channel (from image or image2)
            continue;
        }
        tap t = {.channel = taps[i - 1].channel, .dy = ky - p, .shift = kx - p};
        valid_columns(v->W, kx, p, &t.x0, &t.x1);
        taps[i] = t;
    }
}

// Coordinates of output pixels q0 ... q0 + n - 1, then far outside the image up to `padded` (those gather zeros).
static void pixel_coords(int W, int q0, int n, int padded, int32_t *xs, int32_t *ys) {
    int y = q0 / W, x = q0 % W;
    for (int i = 0; i < n; i++) {
        xs[i] = x;
        ys[i] = y;
        if (++x == W) { x = 0; y++; }
    }
    for (int i = n; i < padded; i++) xs[i] = ys[i] = INT32_MIN / 2;
}

// Col row `t` at output pixels q0 ... q0 + n - 1, then zeros up to `padded` elements, written in blocks of `block`
// elements (a multiple of 16; padded a multiple of block), block b at dst + b · stride bytes: one call fills a
// k step of every panel of a chunk. xs / ys: the pixels' coordinates from pixel_coords (the AVX-512 version reads
// them; the portable one walks the lines itself).
static void gather_run(const strata_im2col_view *v, const tap *t, int q0, int n, int padded, char *dst) {
    const size_t e = v->esize;
    int y = q0 / v->W, x = q0 % v->W;
    for (int i = 0; i < n;) {
        int len = v->W - x < n - i ? v->W - x : n - i, xb = x + len, sy = y + t->dy;
        int lo = x > t->x0 ? x : t->x0, hi = xb < t->x1 ? xb : t->x1;
        char *d = dst + (size_t)i * e;
        if (sy < 0 || sy >= v->H || hi <= lo) {
            memset(d, 0, (size_t)len * e);
        } else {
            memset(d, 0, (size_t)(lo - x) * e);
            memcpy(d + (size_t)(lo - x) * e, t->channel + ((size_t)sy * v->W + (size_t)(lo + t->shift)) * e,
                   (size_t)(hi - lo) * e);
            memset(d + (size_t)(hi - x) * e, 0, (size_t)(xb - hi) * e);
        }
        i += len;
        x = xb == v->W ? 0 : xb;
        if (xb == v->W) y++;
    }
    memset(dst + (size_t)n * e, 0, (size_t)(padded - n) * e);
}

static void gather_portable(const strata_im2col_view *v, const tap *t, int q0, int n, int padded, const int32_t *xs,
                            const int32_t *ys, char *dst, int block, size_t stride) {
    (void)xs, (void)ys;
    for (int b = 0; b * block < padded; b++) {
        int done = b * block, left = n - done;
        gather_run(v, t, q0 + done, left < 0 ? 0 : left < block ? left : block, block, dst + (size_t)b * stride);
    }
}

#define GATHER_AVX512 __attribute__((target("avx512f,avx512bw")))

// A tap read from output pixel q0 on: its valid columns and vertical offset as vectors, and src, where output pixel
// q0 + j reads element j (of esize bytes). Masked-off lanes never fault, so src may point before the source line
// (left padding) or past it.
typedef struct {
    __m512i x0, width, dy;
    const char *src;
} tap_run;

GATHER_AVX512 static inline tap_run run_of(const strata_im2col_view *v, const tap *t, int q0) {
    const ptrdiff_t offset = (ptrdiff_t)q0 + (ptrdiff_t)t->dy * v->W + t->shift;
    return (tap_run){.x0 = _mm512_set1_epi32(t->x0), .width = _mm512_set1_epi32(t->x1 - t->x0),
                     .dy = _mm512_set1_epi32(t->dy), .src = t->channel + offset * (ptrdiff_t)v->esize};
}

// Lanes whose source pixel (x + shift, y + dy) is inside the image: x in [x0, x1) and y + dy in [0, H), each as one
// unsigned compare.
GATHER_AVX512 static inline __mmask16 inside16(const int32_t *xs, const int32_t *ys, const tap_run *r, __m512i H) {
    __mmask16 m = _mm512_cmplt_epu32_mask(_mm512_sub_epi32(_mm512_loadu_si512(xs), r->x0), r->width);
    return _mm512_mask_cmplt_epu32_mask(m, _mm512_add_epi32(_mm512_loadu_si512(ys), r->dy), H);
}

// Output pixels j ... j + 31 of a 16-bit run, zero where the source is outside the image.
GATHER_AVX512 static inline __m512i load32_16bit(const tap_run *r, const int32_t *xs, const int32_t *ys, int j,
                                                 __m512i H) {
    __mmask32 m = (__mmask32)inside16(xs + j, ys + j, r, H) | (__mmask32)inside16(xs + j + 16, ys + j + 16, r, H) << 16;
    return _mm512_maskz_loadu_epi16(m, (const uint16_t *)(const void *)r->src + j);
}

GATHER_AVX512 static void gather_avx512(const strata_im2col_view *v, const tap *t, int q0, int n, int padded,
                                        const int32_t *xs, const int32_t *ys, char *dst, int block, size_t stride) {
    (void)n;  // pixels past n have coordinates outside the image (pixel_coords): they load zeros
    const __m512i H = _mm512_set1_epi32(v->H);
    const tap_run r = run_of(v, t, q0);
    if (v->esize == 4) {
        const float *src = (const float *)(const void *)r.src;
        for (int b = 0; b * block < padded; b++, dst += stride)
            for (int j = b * block, o = 0; o < block; j += 16, o += 16)
                _mm512_storeu_ps(dst + 4 * (size_t)o, _mm512_maskz_loadu_ps(inside16(xs + j, ys + j, &r, H), src + j));
    } else {
        for (int b = 0; b * block < padded; b++, dst += stride)
            for (int j = b * block, o = 0; o < block; j += 32, o += 32)
                _mm512_storeu_si512(dst + 2 * (size_t)o, load32_16bit(&r, xs, ys, j, H));
    }
}

// Inside-the-image masks of a run of output pixels (the pixels whose coordinates xs / ys hold), 32 pixels a
// block, for every vertical offset and horizontal shift a tap of a K-wide kernel can have (K <= MASK_TAPS_MAX): tap
// (dy, shift) reads pixel 32·b + i of the run when bit i of rows[b][dy + p] & cols[b][shift + p] is set. Worked
// out once per run, they replace four vector compares per tap and block in the 16-bit gathers below.
enum { MASK_BLOCKS = 32, MASK_TAPS_MAX = 31 };
typedef struct {
    __mmask32 rows[MASK_BLOCKS][MASK_TAPS_MAX], cols[MASK_BLOCKS][MASK_TAPS_MAX];
} pixel_masks;

GATHER_AVX512 static void pixel_masks_of(const strata_im2col_view *v, const int32_t *xs, const int32_t *ys,
                                         int blocks, pixel_masks *m) {
    const int p = v->K / 2;
    const __m512i W = _mm512_set1_epi32(v->W), H = _mm512_set1_epi32(v->H);
    for (int b = 0; b < blocks; b++)
        for (int o = -p; o <= p; o++) {
            const __m512i off = _mm512_set1_epi32(o);
            __mmask32 c = 0, r = 0;
            for (int h = 0; h < 2; h++) {
                const int at = 32 * b + 16 * h;
                c |= (__mmask32)_mm512_cmplt_epu32_mask(_mm512_add_epi32(_mm512_load_si512(xs + at), off), W) << 16 * h;
                r |= (__mmask32)_mm512_cmplt_epu32_mask(_mm512_add_epi32(_mm512_load_si512(ys + at), off), H) << 16 * h;
            }
            m->cols[b][o + p] = c;
            m->rows[b][o + p] = r;
        }
}

// The 16-bit gathers' view of up to TAP_BLOCK consecutive col rows (taps), worked out once per block of a pack
// call: where output pixel q of tap i reads (base[i] + q, past the image's edges under the masks) and its masks'
// indices in pixel_masks.
enum { TAP_BLOCK = 256 };
typedef struct {
    const uint16_t *base[TAP_BLOCK];
    uint8_t row[TAP_BLOCK], col[TAP_BLOCK];
} tap_block;

static void tap_block_of(const strata_im2col_view *v, int r0, int count, tap_block *b) {
    const int p = v->K / 2;
    tap taps[TAP_BLOCK];
    taps_from(v, r0, count, taps);
    for (int i = 0; i < count; i++) {
        b->base[i] = (const uint16_t *)(const void *)run_of(v, &taps[i], 0).src;
        b->row[i] = (uint8_t)(taps[i].dy + p);
        b->col[i] = (uint8_t)(taps[i].shift + p);
    }
}

// Two col rows (taps t and t + 1 of a block; `second` 0: t + 1 is past the end of K, zeros) at output pixels
// q0 ... q0 + span - 1 as bf16 pair words (low half tap t), straight into the k step's row of every panel: pixel i
// of the run at dst + (i / R) · panel_stride + i % R words (R a multiple of 16; the masks cover span rounded up to
// 32 pixels, those past the columns' end outside the image, so whole panels are written, zeros included). One pass
// instead of gathering both rows into a slab and interleaving them there (strata_gemm_pack): that second pass was
// 4 % of a config (a) bf16 training step.
GATHER_AVX512 static void gather_pairs_avx512(const tap_block *b, int t, int second, int q0, int span,
                                              const pixel_masks *m, uint32_t *dst, int R, size_t panel_stride) {
    const int u = second ? t + 1 : t;
    const uint16_t *src[2] = {b->base[t] + q0, b->base[u] + q0};
    for (int j = 0, blk = 0; j < span; j += 32, blk++) {
        __m512i words[2];
        interleave_pairs32(
            _mm512_maskz_loadu_epi16(m->rows[blk][b->row[t]] & m->cols[blk][b->col[t]], src[0] + j),
            second ? _mm512_maskz_loadu_epi16(m->rows[blk][b->row[u]] & m->cols[blk][b->col[u]], src[1] + j)
                   : _mm512_setzero_si512(),
            words);
        for (int h = 0, i = j; h < 2 && i < span; h++, i += 16)
            _mm512_storeu_si512(dst + (size_t)(i / R) * panel_stride + i % R, words[h]);
    }
}

// Zero steps from the end of kn values up to the next whole AMX block of 16 steps, in every panel.
static void pad_amx_steps(int kn, int R, int panels, uint32_t *dst, size_t panel_stride) {
    int steps = (kn + 1) / 2, padded = (steps + 15) & ~15;
    for (int q = 0; q < panels; q++)
        memset(dst + (size_t)q * panel_stride + (size_t)steps * R, 0, (size_t)(padded - steps) * R * 4);
}

static int round32(int n) { return (n + 31) & ~31; }

enum { PIECE = 1008 };  // columns per piece: 21 panels of 48, 31.5 of 32; the coordinate arrays hold one piece

// B = col [CKK, HW], r-contiguous: each packed step is a stretch of one col row. fp32 rows are gathered straight
// into their panels (R = 48 words, or 16 on AVX2: whole vectors); the other modes gather GROUP rows into an L1 slab
// and run the ordinary packing over it (widening, or interleaving k / k+1 pairs).
static void pack_col(const gemm_b_source *source, int k0, int kn, int col0, int cols, gemm_pack_mode mode, int R,
                     uint32_t *dst, size_t panel_stride) {
    const strata_im2col_view *v = (const strata_im2col_view *)source;
    enum { GROUP = 8 };
    int32_t xs[PIECE + 64] __attribute__((aligned(64))), ys[PIECE + 64] __attribute__((aligned(64)));
    uint16_t slab[GROUP * (PIECE + 32)] __attribute__((aligned(64)));  // 16 KiB
    pixel_masks masks;                                                  // 8 KiB
    tap_block block;                                                    // 3 KiB
    const gemm_pack_mode m = mode == GEMM_PACK_BF16_AMX_B ? GEMM_PACK_BF16_PAIRS : mode;
    const int pairs = m == GEMM_PACK_BF16_PAIRS, piece = PIECE / R * R;
    for (int c0 = 0; c0 < cols; c0 += piece) {
        int nc = cols - c0 < piece ? cols - c0 : piece, panels = (nc + R - 1) / R;
        uint32_t *d = dst + (size_t)(c0 / R) * panel_stride;
        if (mode == GEMM_PACK_F32) {
            pixel_coords(v->W, col0 + c0, nc, panels * R, xs, ys);
            for (int k = 0; k < kn; k++) {
                tap t = tap_of(v, k0 + k);
                v->gather(v, &t, col0 + c0, nc, panels * R, xs, ys, (char *)(d + (size_t)k * R), R, panel_stride * 4);
            }
            continue;
        }
        if (pairs && v->gather == gather_avx512 && R % 16 == 0 && v->K <= MASK_TAPS_MAX) {
            pixel_coords(v->W, col0 + c0, nc, round32(panels * R), xs, ys);
            pixel_masks_of(v, xs, ys, round32(panels * R) / 32, &masks);
            for (int b0 = 0; b0 < kn; b0 += TAP_BLOCK) {  // TAP_BLOCK is even: pairs stay within a block
                int nb = kn - b0 < TAP_BLOCK ? kn - b0 : TAP_BLOCK;
                tap_block_of(v, k0 + b0, nb, &block);
                for (int t = 0; t < nb; t += 2)
                    gather_pairs_avx512(&block, t, t + 1 < nb, col0 + c0, panels * R, &masks,
                                        d + (size_t)((b0 + t) / 2) * R, R, panel_stride);
            }
            continue;
        }
        int ld = round32(nc);
        pixel_coords(v->W, col0 + c0, nc, ld, xs, ys);
        for (int kk = 0; kk < kn; kk += GROUP) {
            int g = kn - kk < GROUP ? kn - kk : GROUP;
            for (int i = 0; i < g; i++) {
                tap t = tap_of(v, k0 + kk + i);
                v->gather(v, &t, col0 + c0, nc, ld, xs, ys, (char *)(slab + (size_t)i * ld), ld, 0);
            }
            strata_gemm_pack(slab, (size_t)ld, 0, m, R, nc, g, d + (size_t)(pairs ? kk / 2 : kk) * R, panel_stride);
        }
    }
    if (mode == GEMM_PACK_BF16_AMX_B) pad_amx_steps(kn, R, (cols + R - 1) / R, dst, panel_stride);
}

// col^T's bf16 pair words for taps [t0, t0 + count) of a block (count <= 16, the rest zero) at the chunk's output
// pixels q0 ... q0 + n - 1: a pair step is two neighbouring output pixels of one tap, so 32 pixels of each of 16
// taps are 16 steps of 16 words, loaded under the taps' masks and transposed in registers straight into the panel
// (step s at dst + s · R). Stores `steps` steps (those past n hold zeros). One pass instead of gathering each tap
// into a tile and transposing the tile (strata_gemm_pack): those were 11 % of a config (a) bf16 step.
GATHER_AVX512 static void gather_transposed_pairs_avx512(const tap_block *b, int t0, int count, int q0, int n,
                                                         int steps, const pixel_masks *m, uint32_t *dst, int R) {
    for (int j = 0, blk = 0; j < n; j += 32, blk++) {
        __m512i words[16];
        for (int t = 0; t < 16; t++)
            words[t] = t < count ? _mm512_maskz_loadu_epi16(m->rows[blk][b->row[t0 + t]] & m->cols[blk][b->col[t0 + t]],
                                                            b->base[t0 + t] + q0 + j)
                                 : _mm512_setzero_si512();
        transpose16x16(words);
        for (int s = 0; s < 16 && j / 2 + s < steps; s++) _mm512_storeu_si512(dst + (size_t)(j / 2 + s) * R, words[s]);
    }
}

enum { CHUNK = 64 };  // pixels of col^T a transposed pack handles at a time

// B = col^T [HW, CKK], k-contiguous: each panel column is a stretch of one col row, so rows are gathered into a
// tile of CHUNK pixels and the tile is packed (transposed) as an ordinary k-contiguous block. CHUNK is even (whole
// bf16 pairs) and 32 pair steps long (whole AMX blocks), so only the last chunk of a slice can end a pair or a block.
static void pack_col_transposed(const gemm_b_source *source, int k0, int kn, int col0, int cols, gemm_pack_mode mode,
                                int R, uint32_t *dst, size_t panel_stride) {
    const strata_im2col_view *v = (const strata_im2col_view *)source;
    float tile[64 * CHUNK] __attribute__((aligned(64)));  // R <= 64 rows of CHUNK elements (fp32 or 16-bit)
    int32_t xs[CHUNK] __attribute__((aligned(64))), ys[CHUNK] __attribute__((aligned(64)));
    tap taps[64];
    const int pairs = mode == GEMM_PACK_BF16_PAIRS || mode == GEMM_PACK_BF16_AMX_B;
    if (pairs && v->gather == gather_avx512 && R % 16 == 0 && v->K <= MASK_TAPS_MAX) {
        // A block of taps at a time, chunk by chunk of pixels: the taps' sources once per block, the chunk's
        // coordinates and masks once per chunk and block.
        pixel_masks masks;
        tap_block block;
        for (int b0 = 0; b0 < cols; b0 += TAP_BLOCK) {
            int nb = cols - b0 < TAP_BLOCK ? cols - b0 : TAP_BLOCK;
            tap_block_of(v, col0 + b0, nb, &block);
            for (int kk = 0; kk < kn; kk += CHUNK) {
                int n = kn - kk < CHUNK ? kn - kk : CHUNK;
                pixel_coords(v->W, k0 + kk, n, CHUNK, xs, ys);
                pixel_masks_of(v, xs, ys, CHUNK / 32, &masks);
                // AMX panels hold whole blocks of 16 steps: the zero steps past the end of the slice too.
                int steps = (n + 1) / 2;
                if (mode == GEMM_PACK_BF16_AMX_B) steps = (steps + 15) & ~15;
                for (int c0 = b0; c0 < b0 + nb; c0 += 16) {
                    int count = b0 + nb - c0 < 16 ? b0 + nb - c0 : 16;
                    gather_transposed_pairs_avx512(&block, c0 - b0, count, k0 + kk, n, steps, &masks,
                                                   dst + (size_t)(c0 / R) * panel_stride + (size_t)(kk / 2) * R +
                                                       c0 % R,
                                                   R);
                }
            }
        }
        return;
    }
    for (int c0 = 0; c0 < cols; c0 += R) {
        int rows = cols - c0 < R ? cols - c0 : R;
        uint32_t *d = dst + (size_t)(c0 / R) * panel_stride;
        for (int i = 0; i < rows; i++) taps[i] = tap_of(v, col0 + c0 + i);
        for (int kk = 0; kk < kn; kk += CHUNK) {
            int n = kn - kk < CHUNK ? kn - kk : CHUNK;
            pixel_coords(v->W, k0 + kk, n, CHUNK, xs, ys);
            for (int i = 0; i < rows; i++)
                v->gather(v, &taps[i], k0 + kk, n, CHUNK, xs, ys, (char *)tile + (size_t)i * CHUNK * v->esize, CHUNK,
                          0);
            strata_gemm_pack(tile, CHUNK, 1, mode, R, rows, n, d + (size_t)(pairs ? kk / 2 : kk) * R, panel_stride);
        }
    }
}

void strata_im2col_view_init(strata_im2col_view *view, const void *src, int Cin, int H, int W, int K, size_t esize,
                             int transposed) {
    int avx512 = strata_isa_active() >= STRATA_ISA_AVX512;
    *view = (strata_im2col_view){.source = {.pack = transposed ? pack_col_transposed : pack_col},
                                 .gather = avx512 ? gather_avx512 : gather_portable, .image = src, .C = Cin, .H = H,
                                 .W = W, .K = K, .esize = esize, .split = Cin};
}
