// Private: the Winograd F(2x2, 3x3) tile transforms, one row of tiles at a time, written once as plain C and compiled
// per ISA (winograd.c as the scalar reference, winograd_avx2.c and winograd_avx512.c under target attributes). The
// image rows arrive de-interleaved into even and odd columns (winograd.c), so every load and store below is unit
// stride across tiles and the loops vectorise with one tile per lane.
//
// Legend: tw tiles in the row; tile t covers output columns 2t, 2t+1 and reads input columns 2t-1 ... 2t+2. A
// transformed tile is 16 elements e = 4i + j, element e of tile t at out[e·es + t] (es: elements' stride).
// Matrices (Lavin and Gray, F(2,3)): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
// A^T = [1 1 1 0; 0 1 -1 -1].
//
// Include with WINO_FN(name) defined to give the functions ISA-specific names and WINO_TABLE to name the table.

// Input tiles V = B^T d B. ev[i] / od[i] (i = 0..3) are input rows 2ty-1+i at columns 2k-1 / 2k, k = 0..tw
// (zero outside the image).
static void WINO_FN(input_tiles)(const float *const ev[4], const float *const od[4], int tw, float *restrict out,
                                 size_t es) {
    for (int t = 0; t < tw; t++) {
        float r[4][4];
        for (int i = 0; i < 4; i++) {
            // d[i][0..3] = ev[i][t], od[i][t], ev[i][t+1], od[i][t+1]; then the column transform d · B.
            float d0 = ev[i][t], d1 = od[i][t], d2 = ev[i][t + 1], d3 = od[i][t + 1];
            r[i][0] = d0 - d2;
            r[i][1] = d1 + d2;
            r[i][2] = d2 - d1;
            r[i][3] = d1 - d3;
        }
        for (int j = 0; j < 4; j++) {
            out[(0 + j) * es + t] = r[0][j] - r[2][j];
            out[(4 + j) * es + t] = r[1][j] + r[2][j];
            out[(8 + j) * es + t] = r[2][j] - r[1][j];
            out[(12 + j) * es + t] = r[1][j] - r[3][j];
        }
    }
}

// Output tiles Y = A^T m A from the 16 products m (m[e·es + t]): row 2ty of the output at even / odd columns into
// y0e / y0o, row 2ty+1 into y1e / y1o (2tw columns in all; the caller clips to W).
static void WINO_FN(output_tiles)(const float *restrict m, size_t es, int tw, float *restrict y0e,
                                  float *restrict y0o, float *restrict y1e, float *restrict y1o) {
    for (int t = 0; t < tw; t++) {
        float s[2][4];
        for (int j = 0; j < 4; j++) {
            float m0 = m[(0 + j) * es + t], m1 = m[(4 + j) * es + t], m2 = m[(8 + j) * es + t];
            float m3 = m[(12 + j) * es + t];
            s[0][j] = m0 + m1 + m2;
            s[1][j] = m1 - m2 - m3;
        }
        y0e[t] = s[0][0] + s[0][1] + s[0][2];
        y0o[t] = s[0][1] - s[0][2] - s[0][3];
        y1e[t] = s[1][0] + s[1][1] + s[1][2];
        y1o[t] = s[1][1] - s[1][2] - s[1][3];
    }
}

// Output-gradient tiles A g A^T (the weight gradient's second operand) from the 2x2 tiles g of dy: rows 2ty and
// 2ty+1 at even columns (g0e, g1e) and odd columns (g0o, g1o), zero outside the image.
static void WINO_FN(gradient_tiles)(const float *restrict g0e, const float *restrict g0o, const float *restrict g1e,
                                    const float *restrict g1o, int tw, float *restrict out, size_t es) {
    for (int t = 0; t < tw; t++) {
        // Rows: A g = [g0; g0 + g1; g0 - g1; -g1] (each a pair of columns), then the columns the same way.
        float r[4][2] = {{g0e[t], g0o[t]},
                         {g0e[t] + g1e[t], g0o[t] + g1o[t]},
                         {g0e[t] - g1e[t], g0o[t] - g1o[t]},
                         {-g1e[t], -g1o[t]}};
        for (int i = 0; i < 4; i++) {
            out[(4 * i + 0) * es + t] = r[i][0];
            out[(4 * i + 1) * es + t] = r[i][0] + r[i][1];
            out[(4 * i + 2) * es + t] = r[i][0] - r[i][1];
            out[(4 * i + 3) * es + t] = -r[i][1];
        }
    }
}

WINO_TABLE = {WINO_FN(input_tiles), WINO_FN(output_tiles), WINO_FN(gradient_tiles)};
