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

// ---- Implicit im2col: packing GEMM panels straight from the image ------------------------------------------------

// Writes col row r, columns (output pixels) [q0, q0 + n), to dst: one shifted, zero-padded run per output line.
static void gather_row(const strata_im2col_view *v, int r, int q0, int n, char *dst) {
    const int K = v->K, p = K / 2, W = v->W, H = v->H;
    const size_t e = v->esize;
    const int c = r / (K * K), ky = r / K % K, kx = r % K, shift = kx - p;
    const char *img = v->image + (size_t)c * H * W * e;
    int x0, x1;
    valid_columns(W, kx, p, &x0, &x1);
    for (int q = q0, end = q0 + n; q < end;) {
        int y = q / W, xa = q - y * W, xb = W < xa + end - q ? W : xa + end - q;
        int sy = y + ky - p;
        char *d = dst + (size_t)(q - q0) * e;
        int lo = xa > x0 ? xa : x0, hi = xb < x1 ? xb : x1;
        if (sy < 0 || sy >= H || hi <= lo) {
            memset(d, 0, (size_t)(xb - xa) * e);
        } else {
            memset(d, 0, (size_t)(lo - xa) * e);
            memcpy(d + (size_t)(lo - xa) * e, img + ((size_t)sy * W + (size_t)(lo + shift)) * e, (size_t)(hi - lo) * e);
            memset(d + (size_t)(hi - xa) * e, 0, (size_t)(xb - hi) * e);
        }
        q += xb - xa;
    }
}

// Zero steps from the end of kn values up to the next whole AMX block of 16 steps, in every panel.
static void pad_amx_steps(int kn, int R, int panels, uint32_t *dst, size_t panel_stride) {
    int steps = (kn + 1) / 2, padded = (steps + 15) & ~15;
    for (int q = 0; q < panels; q++)
        memset(dst + (size_t)q * panel_stride + (size_t)steps * R, 0, (size_t)(padded - steps) * R * 4);
}

// B = col [CKK, HW], r-contiguous: each packed step is a stretch of one col row. fp32 rows are gathered straight
// into their panels; the other modes gather GROUP rows into an L1 slab and run the ordinary packing over it
// (widening, or interleaving k / k+1 pairs).
static void pack_col(const gemm_b_source *source, int k0, int kn, int col0, int cols, gemm_pack_mode mode, int R,
                     uint32_t *dst, size_t panel_stride) {
    const strata_im2col_view *v = (const strata_im2col_view *)source;
    const int panels = (cols + R - 1) / R;
    if (mode == GEMM_PACK_F32) {
        for (int q = 0; q < panels; q++) {
            int n = cols - q * R < R ? cols - q * R : R;
            uint32_t *panel = dst + (size_t)q * panel_stride;
            for (int k = 0; k < kn; k++) {
                gather_row(v, k0 + k, col0 + q * R, n, (char *)(panel + (size_t)k * R));
                if (n < R) memset(panel + (size_t)k * R + n, 0, (size_t)(R - n) * 4);
            }
        }
        return;
    }
    enum { GROUP = 8, PIECE = 1024 };  // an 8 x 1024 slab of 16-bit values: 16 KiB
    uint16_t slab[GROUP * PIECE] __attribute__((aligned(64)));
    const gemm_pack_mode m = mode == GEMM_PACK_BF16_AMX_B ? GEMM_PACK_BF16_PAIRS : mode;
    const int pairs = m == GEMM_PACK_BF16_PAIRS, piece = PIECE / R * R;
    for (int c0 = 0; c0 < cols; c0 += piece) {
        int nc = cols - c0 < piece ? cols - c0 : piece;
        uint32_t *d = dst + (size_t)(c0 / R) * panel_stride;
        for (int kk = 0; kk < kn; kk += GROUP) {
            int g = kn - kk < GROUP ? kn - kk : GROUP;
            for (int i = 0; i < g; i++) gather_row(v, k0 + kk + i, col0 + c0, nc, (char *)(slab + (size_t)i * nc));
            strata_gemm_pack(slab, (size_t)nc, 0, m, R, nc, g, d + (size_t)(pairs ? kk / 2 : kk) * R, panel_stride);
        }
    }
    if (mode == GEMM_PACK_BF16_AMX_B) pad_amx_steps(kn, R, panels, dst, panel_stride);
}

// B = col^T [HW, CKK], k-contiguous: each panel column is a stretch of one col row, so rows are gathered into a
// tile of CHUNK pixels and the tile is packed (transposed) as an ordinary k-contiguous block. CHUNK is even (whole
// bf16 pairs) and 32 pair steps long (whole AMX blocks), so only the last chunk of a slice can end a pair or a block.
static void pack_col_transposed(const gemm_b_source *source, int k0, int kn, int col0, int cols, gemm_pack_mode mode,
                                int R, uint32_t *dst, size_t panel_stride) {
    const strata_im2col_view *v = (const strata_im2col_view *)source;
    enum { CHUNK = 64 };
    float tile[64 * CHUNK] __attribute__((aligned(64)));  // R <= 64 rows of CHUNK elements (fp32 or 16-bit)
    const int pairs = mode == GEMM_PACK_BF16_PAIRS || mode == GEMM_PACK_BF16_AMX_B;
    for (int c0 = 0; c0 < cols; c0 += R) {
        int rows = cols - c0 < R ? cols - c0 : R;
        uint32_t *d = dst + (size_t)(c0 / R) * panel_stride;
        for (int kk = 0; kk < kn; kk += CHUNK) {
            int n = kn - kk < CHUNK ? kn - kk : CHUNK;
            for (int i = 0; i < rows; i++)
                gather_row(v, col0 + c0 + i, k0 + kk, n, (char *)tile + (size_t)i * CHUNK * v->esize);
            strata_gemm_pack(tile, CHUNK, 1, mode, R, rows, n, d + (size_t)(pairs ? kk / 2 : kk) * R, panel_stride);
        }
    }
}

void strata_im2col_view_init(strata_im2col_view *view, const void *src, int Cin, int H, int W, int K, size_t esize,
                             int transposed) {
    *view = (strata_im2col_view){.source = {.pack = transposed ? pack_col_transposed : pack_col},
                                 .image = src, .C = Cin, .H = H, .W = W, .K = K, .esize = esize};
}
