// Private: the Winograd F(4x4, 3x3) tile transforms over a block of tiles, written once as plain C and compiled
// per ISA (winograd.c as the scalar reference, winograd_avx2.c and winograd_avx512.c under target attributes). Tiles
// arrive gathered element by element over a whole block (winograd.c), so every load and store below is unit stride
// across tiles and the loops vectorise with one tile per lane, also when an image row has fewer tiles than a vector.
//
// Legend: n tiles; d[6i + j][t] is pixel (i, j) of input tile t (6 x 6), g[4i + j][t] pixel (i, j) of output-gradient
// tile t (4 x 4). A transformed tile has 36 elements e = 6i + j, element e of tile t at out[e·es + t] (es: elements'
// stride).
// Matrices (Lavin and Gray, F(4,3), points 0, ±1, ±2): B^T, G and A^T as in bt6, g6 and at6 below; the
// 1-D transforms are written out term by term because a product by a zero coefficient does not fold away in IEEE
// arithmetic.
//
// The tile loops carry vectorize(assume_safety): their inputs and outputs are disjoint arrays the compiler cannot
// prove apart (pointer tables), and the small loops inside are unrolled so each lane keeps its tile in registers.
//
// Include with WINO_FN(name) defined to give the functions ISA-specific names and WINO_TABLE to name the table.
#ifndef STRATA_WINOGRAD_1D
#define STRATA_WINOGRAD_1D
// y = B^T x (6 -> 6).
static inline void bt6(const float x[6], float y[6]) {
    y[0] = 4.0f * x[0] - 5.0f * x[2] + x[4];
    y[1] = x[3] + x[4] - 4.0f * (x[1] + x[2]);
    y[2] = x[4] - x[3] + 4.0f * (x[1] - x[2]);
    y[3] = x[4] - x[2] + 2.0f * (x[3] - x[1]);
    y[4] = x[4] - x[2] + 2.0f * (x[1] - x[3]);
    y[5] = 4.0f * x[1] - 5.0f * x[3] + x[5];
}

// y = A^T x (6 -> 4).
static inline void at6(const float x[6], float y[4]) {
    float a = x[1] + x[2], b = x[1] - x[2], c = x[3] + x[4], d = x[3] - x[4];
    y[0] = x[0] + a + c;
    y[1] = b + 2.0f * d;
    y[2] = a + 4.0f * c;
    y[3] = b + 8.0f * d + x[5];
}

// y = A x (4 -> 6), A = (A^T)^T: the output-gradient tile transform.
static inline void a4(const float x[4], float y[6]) {
    float even = x[0] + x[2], odd = x[1] + x[3], even4 = x[0] + 4.0f * x[2], odd8 = 2.0f * x[1] + 8.0f * x[3];
    y[0] = x[0];
    y[1] = even + odd;
    y[2] = even - odd;
    y[3] = even4 + odd8;
    y[4] = even4 - odd8;
    y[5] = x[3];
}

// y = G x (3 -> 6).
static inline void g6(const float x[3], float y[6]) {
    y[0] = 0.25f * x[0];
    y[1] = -(x[0] + x[1] + x[2]) / 6.0f;
    y[2] = -(x[0] - x[1] + x[2]) / 6.0f;
    y[3] = x[0] / 24.0f + x[1] / 12.0f + x[2] / 6.0f;
    y[4] = x[0] / 24.0f - x[1] / 12.0f + x[2] / 6.0f;
    y[5] = x[2];
}
#endif

// Filter tiles U = G g G^T of n 3x3 filters, filter f at g + f·gs (row-major, or read rotated by 180 degrees when
// flip is set: the input gradient's weights); element e of filter f to u[e·es + f].
static void WINO_FN(filter_tiles)(const float *restrict g, size_t gs, int n, int flip, float *restrict u, size_t es) {
    #pragma clang loop vectorize(assume_safety)
    for (int f = 0; f < n; f++) {
        const float *h = g + (size_t)f * gs;
        float k[9], t[6][3];
        #pragma clang loop unroll(full)
        for (int q = 0; q < 9; q++) k[q] = h[flip ? 8 - q : q];
        #pragma clang loop unroll(full)
        for (int c = 0; c < 3; c++) {
            float col[3] = {k[c], k[3 + c], k[6 + c]}, o[6];
            g6(col, o);
            #pragma clang loop unroll(full)
            for (int i = 0; i < 6; i++) t[i][c] = o[i];
        }
        #pragma clang loop unroll(full)
        for (int i = 0; i < 6; i++) {
            float o[6];
            g6(t[i], o);
            #pragma clang loop unroll(full)
            for (int jj = 0; jj < 6; jj++) u[(6 * i + jj) * es + f] = o[jj];
        }
    }
}

// Input tiles V = B^T d B.
static void WINO_FN(input_tiles)(const float *const *d, int n, float *restrict out, size_t es) {
    #pragma clang loop vectorize(assume_safety)
    for (int t = 0; t < n; t++) {
        float r[6][6];
        #pragma clang loop unroll(full)
        for (int i = 0; i < 6; i++) {
            float row[6] = {d[6 * i][t], d[6 * i + 1][t], d[6 * i + 2][t], d[6 * i + 3][t], d[6 * i + 4][t],
                            d[6 * i + 5][t]};
            bt6(row, r[i]);  // row i of d · B
        }
        #pragma clang loop unroll(full)
        for (int j = 0; j < 6; j++) {
            float col[6] = {r[0][j], r[1][j], r[2][j], r[3][j], r[4][j], r[5][j]}, v[6];
            bt6(col, v);
            #pragma clang loop unroll(full)
            for (int i = 0; i < 6; i++) out[(6 * i + j) * es + t] = v[i];
        }
    }
}

// Output tiles Y = A^T m A from the 36 products m (m[e·es + t]): pixel (i, p) of output tile t into y[4i + p][t].
static void WINO_FN(output_tiles)(const float *restrict m, size_t es, int n, float *const *y) {
    #pragma clang loop vectorize(assume_safety)
    for (int t = 0; t < n; t++) {
        float s[4][6];
        #pragma clang loop unroll(full)
        for (int j = 0; j < 6; j++) {
            float col[6], o[4];
            #pragma clang loop unroll(full)
            for (int i = 0; i < 6; i++) col[i] = m[(6 * i + j) * es + t];
            at6(col, o);
            #pragma clang loop unroll(full)
            for (int i = 0; i < 4; i++) s[i][j] = o[i];
        }
        #pragma clang loop unroll(full)
        for (int i = 0; i < 4; i++) {
            float o[4];
            at6(s[i], o);
            #pragma clang loop unroll(full)
            for (int p = 0; p < 4; p++) y[4 * i + p][t] = o[p];
        }
    }
}

// Output-gradient tiles A g A^T (the weight gradient's second operand) of dy's 4x4 tiles g.
static void WINO_FN(gradient_tiles)(const float *const *g, int n, float *restrict out, size_t es) {
    #pragma clang loop vectorize(assume_safety)
    for (int t = 0; t < n; t++) {
        float r[4][6];
        #pragma clang loop unroll(full)
        for (int i = 0; i < 4; i++) {
            float row[4] = {g[4 * i][t], g[4 * i + 1][t], g[4 * i + 2][t], g[4 * i + 3][t]};
            a4(row, r[i]);
        }
        #pragma clang loop unroll(full)
        for (int j = 0; j < 6; j++) {
            float col[4] = {r[0][j], r[1][j], r[2][j], r[3][j]}, v[6];
            a4(col, v);
            #pragma clang loop unroll(full)
            for (int i = 0; i < 6; i++) out[(6 * i + j) * es + t] = v[i];
        }
    }
}

// The gathers between image rows and tiles, per image row of tw tiles. Rows are short (8 tiles for a 32-pixel image),
// so these loops use 8 lanes: a 16-lane loop would never run for such a row.

// d[6i + jj][t] = pad[i][4t + jj] (i, jj = 0..5, t < tw): the tiles of one tile row, pad[i] being its input row i
// with a zero border (column c at pad[i][c + 1], zeros up to 4tw + 8); spare holds tw floats nobody reads.
static void WINO_FN(input_rows)(const float *const *pad, int tw, float *const *d, float *restrict spare) {
    #pragma clang loop unroll(disable)
    for (int i = 0; i < 6; i++) {
        const float *restrict p = pad[i];
        float *restrict d0 = d[6 * i], *restrict d1 = d[6 * i + 1], *restrict d2 = d[6 * i + 2];
        float *restrict d3 = d[6 * i + 3], *restrict d4 = d[6 * i + 4], *restrict d5 = d[6 * i + 5];
        // Columns 4t-1 ... 4t+6 as one whole group of 8 (the last two stored to spare): a group with gaps would
        // force a scalar epilogue, and rows of 8 tiles would then never reach the vector loop.
        #pragma clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1)
        for (int t = 0; t < tw; t++) {
            const float *c = p + 4 * t;
            d0[t] = c[0];
            d1[t] = c[1];
            d2[t] = c[2];
            d3[t] = c[3];
            d4[t] = c[4];
            d5[t] = c[5];
            spare[t] = c[6] + c[7];
        }
    }
}

// g4[p][t] = row[4t + p] (p = 0..3, t < tw), zero from W on.
// Returns Σ row[q] in double (the bias gradient, taken while the row is in L1: a separate pass over dy cost as much
// as the gather), in 8 independent lanes added in a fixed order.
static double WINO_FN(gradient_row)(const float *restrict row, int W, int tw, float *const *g4) {
    const int whole = W / 4;
    double lane[8] = {0};
    int q = 0;
    for (; q + 8 <= W; q += 8)
        #pragma clang loop unroll(full)
        for (int l = 0; l < 8; l++) lane[l] += row[q + l];
    for (; q < W; q++) lane[q % 8] += row[q];
    float *restrict p0 = g4[0], *restrict p1 = g4[1], *restrict p2 = g4[2], *restrict p3 = g4[3];
    #pragma clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1)
    for (int k = 0; k < whole; k++) {
        p0[k] = row[4 * k];
        p1[k] = row[4 * k + 1];
        p2[k] = row[4 * k + 2];
        p3[k] = row[4 * k + 3];
    }
    if (whole < tw)
        for (int p = 0; p < 4; p++) g4[p][whole] = 4 * whole + p < W ? row[4 * whole + p] : 0.0f;
    double sum = 0.0;
    for (int l = 0; l < 8; l++) sum += lane[l];
    return sum;
}

// out[q] (+)= y4[q % 4][q / 4] + b for q < W.
static void WINO_FN(output_row)(const float *const *y4, int W, float b, int accumulate, float *restrict out) {
    const int whole = W / 4;
    const float *restrict p0 = y4[0], *restrict p1 = y4[1], *restrict p2 = y4[2], *restrict p3 = y4[3];
    if (accumulate) {
        #pragma clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1)
        for (int k = 0; k < whole; k++) {
            out[4 * k] += p0[k] + b;
            out[4 * k + 1] += p1[k] + b;
            out[4 * k + 2] += p2[k] + b;
            out[4 * k + 3] += p3[k] + b;
        }
        for (int q = 4 * whole; q < W; q++) out[q] += y4[q & 3][whole] + b;
    } else {
        #pragma clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1)
        for (int k = 0; k < whole; k++) {
            out[4 * k] = p0[k] + b;
            out[4 * k + 1] = p1[k] + b;
            out[4 * k + 2] = p2[k] + b;
            out[4 * k + 3] = p3[k] + b;
        }
        for (int q = 4 * whole; q < W; q++) out[q] = y4[q & 3][whole] + b;
    }
}

WINO_TABLE = {WINO_FN(filter_tiles), WINO_FN(input_tiles), WINO_FN(output_tiles), WINO_FN(gradient_tiles),
              WINO_FN(input_rows), WINO_FN(gradient_row), WINO_FN(output_row)};
