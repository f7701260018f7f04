// Private: the Winograd F(2x2, 5x5) transforms (5x5 kernels: 2x2 output tiles from the same 6x6 input tiles and the
// same B^T as F(4x4, 3x3), winograd_tiles.h, which must be included first). Interpolation points 0, ±1, ±2 and
// infinity, as for F(4x4, 3x3): G [6 x 5] with rows p^k / Π(p - q), A^T [2 x 6] = [1 1 1 1 1 0; 0 1 -1 2 -2 1].
// Legend as in winograd_tiles.h; output tiles and output-gradient tiles are 2x2 (y[2i + p], g[2i + p]).
#ifndef STRATA_WINOGRAD_1D_5
#define STRATA_WINOGRAD_1D_5
// y = G x (5 -> 6).
static inline void g6_5(const float x[5], float y[6]) {
    y[0] = 0.25f * x[0];
    y[1] = -(x[0] + x[1] + x[2] + x[3] + x[4]) / 6.0f;
    y[2] = -(x[0] - x[1] + x[2] - x[3] + x[4]) / 6.0f;
    y[3] = (x[0] + 2.0f * x[1] + 4.0f * x[2] + 8.0f * x[3] + 16.0f * x[4]) / 24.0f;
    y[4] = (x[0] - 2.0f * x[1] + 4.0f * x[2] - 8.0f * x[3] + 16.0f * x[4]) / 24.0f;
    y[5] = x[4];
}

// y = A^T x (6 -> 2).
static inline void at6_2(const float x[6], float y[2]) {
    y[0] = x[0] + x[1] + x[2] + x[3] + x[4];
    y[1] = x[1] - x[2] + 2.0f * (x[3] - x[4]) + x[5];
}

// y = A x (2 -> 6).
static inline void a2(const float x[2], float y[6]) {
    y[0] = x[0];
    y[1] = x[0] + x[1];
    y[2] = x[0] - x[1];
    y[3] = x[0] + 2.0f * x[1];
    y[4] = x[0] - 2.0f * x[1];
    y[5] = x[1];
}
#endif

// Filter tiles U = G g G^T of n 5x5 filters (see filter_tiles).
static void WINO_FN(filter_tiles5)(const float *restrict g, size_t gs, int n, int flip, float *restrict u, size_t es) {
    #pragma clang loop vectorize(assume_safety)
    for (int f = 0; f < n; f++) {
        const float *h = g + (size_t)f * gs;
        float k[25], t[6][5];
        #pragma clang loop unroll(full)
        for (int q = 0; q < 25; q++) k[q] = h[flip ? 24 - q : q];
        #pragma clang loop unroll(full)
        for (int c = 0; c < 5; c++) {
            float col[5] = {k[c], k[5 + c], k[10 + c], k[15 + c], k[20 + c]}, o[6];
            g6_5(col, o);
            #pragma clang loop unroll(full)
            for (int i = 0; i < 6; i++) t[i][c] = o[i];
        }
        #pragma clang loop unroll(full)
        for (int i = 0; i < 6; i++) {
            float o[6];
            g6_5(t[i], o);
            #pragma clang loop unroll(full)
            for (int jj = 0; jj < 6; jj++) u[(6 * i + jj) * es + f] = o[jj];
        }
    }
}

// Output tiles Y = A^T m A (2x2) from the 36 products m: pixel (i, p) of tile t into y[2i + p][t].
static void WINO_FN(output_tiles5)(const float *restrict m, size_t es, int n, float *const *y) {
    #pragma clang loop vectorize(assume_safety)
    for (int t = 0; t < n; t++) {
        float s[2][6];
        #pragma clang loop unroll(full)
        for (int j = 0; j < 6; j++) {
            float col[6], o[2];
            #pragma clang loop unroll(full)
            for (int i = 0; i < 6; i++) col[i] = m[(6 * i + j) * es + t];
            at6_2(col, o);
            s[0][j] = o[0];
            s[1][j] = o[1];
        }
        #pragma clang loop unroll(full)
        for (int i = 0; i < 2; i++) {
            float o[2];
            at6_2(s[i], o);
            y[2 * i][t] = o[0];
            y[2 * i + 1][t] = o[1];
        }
    }
}

// Output-gradient tiles A g A^T of dy's 2x2 tiles g.
static void WINO_FN(gradient_tiles5)(const float *const *g, int n, float *restrict out, size_t es) {
    #pragma clang loop vectorize(assume_safety)
    for (int t = 0; t < n; t++) {
        float r[2][6];
        #pragma clang loop unroll(full)
        for (int i = 0; i < 2; i++) {
            float row[2] = {g[2 * i][t], g[2 * i + 1][t]};
            a2(row, r[i]);
        }
        #pragma clang loop unroll(full)
        for (int j = 0; j < 6; j++) {
            float col[2] = {r[0][j], r[1][j]}, v[6];
            a2(col, v);
            #pragma clang loop unroll(full)
            for (int i = 0; i < 6; i++) out[(6 * i + j) * es + t] = v[i];
        }
    }
}

// d[6i + jj][t] = pad[i][2t + jj]: the tiles of one tile row, tiles 2 columns apart (see input_rows).
static void WINO_FN(input_rows5)(const float *const *pad, int tw, float *const *d, float *restrict spare) {
    (void)spare;
    #pragma clang loop unroll(disable)
    for (int i = 0; i < 6; i++) {
        const float *restrict p = pad[i];
        float *restrict d0 = d[6 * i], *restrict d1 = d[6 * i + 1], *restrict d2 = d[6 * i + 2];
        float *restrict d3 = d[6 * i + 3], *restrict d4 = d[6 * i + 4], *restrict d5 = d[6 * i + 5];
        #pragma clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1)
        for (int t = 0; t < tw; t++) {
            const float *c = p + 2 * t;
            d0[t] = c[0];
            d1[t] = c[1];
            d2[t] = c[2];
            d3[t] = c[3];
            d4[t] = c[4];
            d5[t] = c[5];
        }
    }
}

// g2[p][t] = row[2t + p] (p = 0, 1), zero from W on; returns Σ row in double (see gradient_row).
static double WINO_FN(gradient_row5)(const float *restrict row, int W, int tw, float *const *g2) {
    const int whole = W / 2;
    double lane[8] = {0};
    int q = 0;
    for (; q + 8 <= W; q += 8)
        #pragma clang loop unroll(full)
        for (int l = 0; l < 8; l++) lane[l] += row[q + l];
    for (; q < W; q++) lane[q % 8] += row[q];
    float *restrict p0 = g2[0], *restrict p1 = g2[1];
    #pragma clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1)
    for (int k = 0; k < whole; k++) {
        p0[k] = row[2 * k];
        p1[k] = row[2 * k + 1];
    }
    if (whole < tw) {
        p0[whole] = row[2 * whole];
        p1[whole] = 0.0f;
    }
    double sum = 0.0;
    for (int l = 0; l < 8; l++) sum += lane[l];
    return sum;
}

// out[q] (+)= y2[q % 2][q / 2] + b for q < W.
static void WINO_FN(output_row5)(const float *const *y2, int W, float b, int accumulate, float *restrict out) {
    const int whole = W / 2;
    const float *restrict p0 = y2[0], *restrict p1 = y2[1];
    if (accumulate) {
        #pragma clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1)
        for (int k = 0; k < whole; k++) {
            out[2 * k] += p0[k] + b;
            out[2 * k + 1] += p1[k] + b;
        }
        if (W & 1) out[W - 1] += p0[whole] + b;
    } else {
        #pragma clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1)
        for (int k = 0; k < whole; k++) {
            out[2 * k] = p0[k] + b;
            out[2 * k + 1] = p1[k] + b;
        }
        if (W & 1) out[W - 1] = p0[whole] + b;
    }
}

WINO_TABLE5 = {WINO_FN(filter_tiles5), WINO_FN(input_tiles), WINO_FN(output_tiles5), WINO_FN(gradient_tiles5),
               WINO_FN(input_rows5), WINO_FN(gradient_row5), WINO_FN(output_row5)};
