// im2col / col2im for stride-1 'same' convolutions (see strata_conv.h).
//
// col row r = (ci·K + ky)·K + kx holds, at column y·W + x, the input pixel x_in[ci][y + ky - p][x + kx - p]
// (p = K/2), zero outside the image. Each (row, output line) is one contiguous run of the input line, shifted,
// with zeros at the ends, so the copy is a memcpy per line. The element size is a parameter because the 16-bit
// compute path gathers already-converted bf16/fp16 pixels (zero is the all-zero bit pattern in every type).
#include "im2col.h"
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

void strata_col2im_add(const float *col, float *dst, int Cin, int H, int W, int K) {
    const int p = K / 2;
    const size_t HW = (size_t)H * W;
    for (int ci = 0; ci < Cin; ci++) {
        float *img = dst + (size_t)ci * HW;
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                const float *row = col + ((size_t)(ci * K + ky) * K + kx) * HW;
                int x0, x1;
                valid_columns(W, kx, p, &x0, &x1);
                for (int y = 0; y < H; y++) {
                    int sy = y + ky - p;
                    if (sy < 0 || sy >= H) continue;
                    const float *s = row + (size_t)y * W;
                    float *d = img + (size_t)sy * W;
                    for (int x = x0; x < x1; x++) d[x + kx - p] += s[x];
                }
            }
        }
    }
}
