// Winograd F(2x2, 3x3) convolution (see winograd.h): tiling into blocks of tile rows, the filter transforms, the 16
// GEMMs per block on strata_gemm, and threading over blocks. The tile transforms themselves are in winograd_tiles.h;
// this file compiles them in portable C as the scalar reference.
#include "winograd.h"
#include "strata_kernels.h"
#include "strata_pool.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WINO_FN(name) name##_scalar
#define WINO_TABLE static const wino_kernels wino_kernels_scalar
#include "winograd_tiles.h"

static const wino_kernels *active_kernels(void) {
    switch (strata_isa_active()) {
    case STRATA_ISA_AVX512BF16:
    case STRATA_ISA_AVX512: return &strata_wino_kernels_avx512;
    case STRATA_ISA_AVX2: return &strata_wino_kernels_avx2;
    default: return &wino_kernels_scalar;
    }
}

int strata_winograd_applies(const strata_conv2d_desc *d) { return d->K == 3 && d->compute == STRATA_F32; }

// Tiles per block, about: V and M of a block (16·(Cin + Cout)·P floats, 1.3 MB for Cin 38, Cout 128, P 192) fit the
// 2 MB L2 of the machine measured, and P is wide enough that the GEMM's packing of U_e (Cout x Cin) per block is small
// against its multiply.
#define BLOCK_TILES 192

// Tiling of one call: tw x th tiles per image (ceil(W/2) x ceil(H/2)), N·th tile rows in all, cut into blocks of
// block_rows whole tile rows (the last may be shorter); ld = block_rows·tw is the leading dimension of a block's
// V, M and D panels.
typedef struct {
    int tw, th, rows, block_rows, blocks;
    size_t ld;
} geometry;

static geometry geometry_of(const strata_conv2d_desc *d) {
    geometry g;
    g.tw = (d->W + 1) / 2;
    g.th = (d->H + 1) / 2;
    g.rows = d->N * g.th;
    g.block_rows = (BLOCK_TILES + g.tw - 1) / g.tw;
    if (g.block_rows > g.rows) g.block_rows = g.rows;
    g.blocks = (g.rows + g.block_rows - 1) / g.block_rows;
    g.ld = (size_t)g.block_rows * g.tw;
    return g;
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

// The 16 element planes of a panel (c channels x ld tiles each) or of the filter tiles (Cout x Cin) lie one cache line
// more than a multiple of 64 bytes apart: at a multiple of 4 KB (32 channels x 192 tiles, 128 x 32 filters) the 16
// streams a transform reads or writes would all fall in one L1 set, more than its ways.
static size_t plane_floats(size_t c, const geometry *g) { return round16(c * g->ld) + 16; }

// Floats of one block's scratch: two panels of 16 planes for max(Cin, Cout) channels (V, then M or D) and the
// de-interleaved rows (8 input half-rows of tw + 1, 4 output half-rows of tw).
static size_t panel_floats(const strata_conv2d_desc *d, const geometry *g) {
    return 16 * plane_floats((size_t)(d->Cin > d->Cout ? d->Cin : d->Cout), g);
}

static size_t block_floats(const strata_conv2d_desc *d, const geometry *g) {
    return 2 * panel_floats(d, g) + round16(12 * ((size_t)g->tw + 1));
}

static size_t filter_plane(const strata_conv2d_desc *d) { return round16((size_t)d->Cin * d->Cout) + 16; }
static size_t filter_floats(const strata_conv2d_desc *d) { return 16 * filter_plane(d); }

// Caller's workspace: U [16, Cout', Cin'], the weight-gradient sums S [16, Cout, Cin], thread 0's block scratch.
size_t strata_winograd_workspace_size(const strata_conv2d_desc *d) {
    if (!strata_winograd_applies(d)) return 0;
    geometry g = geometry_of(d);
    return (2 * filter_floats(d) + block_floats(d, &g)) * sizeof(float);
}

// ---- Per-thread scratch --------------------------------------------------------------------------------------------
// Threads other than the caller run blocks in a scratch block each keeps for its lifetime (grown on demand, freed by a
// pthread key destructor at thread exit); the caller's thread also keeps the weight-gradient partials of its calls.

typedef struct {
    float *block, *partials;
    size_t block_floats, partial_floats;
} wino_scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local wino_scratch *tls_scratch;

static void free_scratch(void *p) {
    wino_scratch *s = p;
    free(s->block);
    free(s->partials);
    free(s);
}

static void make_scratch_key(void) { pthread_key_create(&scratch_key, free_scratch); }

// At least `need` floats, 64-byte aligned, at *buffer (size in *have); NULL if memory is exhausted.
static float *grow(float **buffer, size_t *have, size_t need) {
    if (need > *have) {
        free(*buffer);
        *have = 0;
        *buffer = aligned_alloc(64, round16(need) * sizeof(float));
        if (*buffer) *have = need;
    }
    return *buffer;
}

static wino_scratch *thread_scratch(void) {
    if (!tls_scratch) {
        pthread_once(&scratch_once, make_scratch_key);
        tls_scratch = calloc(1, sizeof *tls_scratch);
        if (tls_scratch) pthread_setspecific(scratch_key, tls_scratch);
    }
    return tls_scratch;
}

// ---- Transforms of whole blocks -------------------------------------------------------------------------------------

typedef struct {
    const strata_conv2d_desc *d;
    geometry g;
    const wino_kernels *k;
    int cin, cout;          // of the convolution run: (Cin, Cout), or (Cout, Cin) for the input gradient
    const float *x, *x2;    // input channels [0, split) from x, [split, cin) from x2
    int split;
    const float *u;         // [16, cout, cin] filter tiles
    const float *bias;
    float *y;               // [N, cout, H, W]
    int accumulate;
    const float *dy;        // weight gradient: [N, Cout, H, W]
    float *sums;            // weight gradient: chunk 0's S; chunk c > 0 at partials + (c - 1)·filter floats
    float *partials;
    int chunks;
    float *workspace_block; // thread 0's block scratch
    pthread_mutex_t lock;   // guards workspace_block for a thread that could not get its own
} wino_job;

static float *block_scratch(wino_job *j, int thread) {
    if (thread != 0) {
        wino_scratch *s = thread_scratch();
        float *b = s ? grow(&s->block, &s->block_floats, block_floats(j->d, &j->g)) : NULL;
        if (b) return b;
    }
    pthread_mutex_lock(&j->lock);
    return j->workspace_block;
}

static void release_scratch(wino_job *j, float *b) {
    if (b == j->workspace_block) pthread_mutex_unlock(&j->lock);
}

// ev[k] = row[2k-1], od[k] = row[2k] for k = 0..tw, zero outside [0, W) (row NULL: all zero).
static void split_input_row(const float *row, int W, int tw, float *ev, float *od) {
    if (!row) {
        memset(ev, 0, ((size_t)tw + 1) * sizeof(float));
        memset(od, 0, ((size_t)tw + 1) * sizeof(float));
        return;
    }
    ev[0] = 0.0f;
    int k = 0;
    for (; 2 * k + 1 < W; k++) {
        od[k] = row[2 * k];
        ev[k + 1] = row[2 * k + 1];
    }
    // k = W/2 now, ev[0..k] set. W odd: one more even pixel. Then zeros up to index tw.
    for (int q = k + 1; q <= tw; q++) ev[q] = 0.0f;
    if (2 * k < W) {
        od[k] = row[2 * k];
        k++;
    }
    for (int q = k; q <= tw; q++) od[q] = 0.0f;
}

// V [16, cin, ld] for tile rows [r0, r1): channel c of image n from x (c < split) or x2.
static void transform_inputs(const wino_job *j, int r0, int r1, float *v, float *rows) {
    const strata_conv2d_desc *d = j->d;
    const int H = d->H, W = d->W, tw = j->g.tw, th = j->g.th;
    const size_t hw = (size_t)H * W, es = plane_floats((size_t)j->cin, &j->g);
    float *ev[4], *od[4];
    for (int i = 0; i < 4; i++) {
        ev[i] = rows + (size_t)i * 2 * (tw + 1);
        od[i] = ev[i] + tw + 1;
    }
    for (int c = 0; c < j->cin; c++)
        for (int r = r0; r < r1; r++) {
            int n = r / th, ty = r % th;
            const float *plane = c < j->split ? j->x + ((size_t)n * j->split + c) * hw
                                              : j->x2 + ((size_t)n * (j->cin - j->split) + c - j->split) * hw;
            // Rows 2ty-1 and 2ty were rows 2 and 3 of the tile row above (same image, same block): reuse them.
            int first = 0;
            if (r > r0 && ty > 0) {
                for (int i = 0; i < 2; i++) {
                    float *e = ev[i], *o = od[i];
                    ev[i] = ev[i + 2], od[i] = od[i + 2];
                    ev[i + 2] = e, od[i + 2] = o;
                }
                first = 2;
            }
            for (int i = first; i < 4; i++) {
                int yy = 2 * ty - 1 + i;
                split_input_row(yy >= 0 && yy < H ? plane + (size_t)yy * W : NULL, W, tw, ev[i], od[i]);
            }
            j->k->input_tiles((const float *const *)ev, (const float *const *)od, tw,
                              v + (size_t)c * j->g.ld + (size_t)(r - r0) * tw, es);
        }
}

// out[q] (+)= (q even ? ye : yo)[q / 2] + b for q < W.
static void store_row(const float *restrict ye, const float *restrict yo, int W, float b, int accumulate,
                      float *restrict out) {
    const int pairs = W / 2;
    if (accumulate) {
        for (int k = 0; k < pairs; k++) {
            out[2 * k] += ye[k] + b;
            out[2 * k + 1] += yo[k] + b;
        }
        if (W & 1) out[W - 1] += ye[pairs] + b;
    } else {
        for (int k = 0; k < pairs; k++) {
            out[2 * k] = ye[k] + b;
            out[2 * k + 1] = yo[k] + b;
        }
        if (W & 1) out[W - 1] = ye[pairs] + b;
    }
}

// y rows of tile rows [r0, r1) from the products M [16, cout, ld].
static void transform_outputs(const wino_job *j, int r0, int r1, const float *m, float *rows) {
    const strata_conv2d_desc *d = j->d;
    const int H = d->H, W = d->W, tw = j->g.tw, th = j->g.th;
    const size_t hw = (size_t)H * W, es = plane_floats((size_t)j->cout, &j->g);
    float *y0e = rows, *y0o = y0e + tw, *y1e = y0o + tw, *y1o = y1e + tw;
    for (int co = 0; co < j->cout; co++) {
        float b = j->bias ? j->bias[co] : 0.0f;
        for (int r = r0; r < r1; r++) {
            int n = r / th, ty = r % th;
            j->k->output_tiles(m + (size_t)co * j->g.ld + (size_t)(r - r0) * tw, es, tw, y0e, y0o, y1e, y1o);
            float *plane = j->y + ((size_t)n * j->cout + co) * hw;
            store_row(y0e, y0o, W, b, j->accumulate, plane + (size_t)(2 * ty) * W);
            if (2 * ty + 1 < H) store_row(y1e, y1o, W, b, j->accumulate, plane + (size_t)(2 * ty + 1) * W);
        }
    }
}

// D [16, Cout, ld] = A g A^T of dy's 2x2 tiles for tile rows [r0, r1).
static void transform_gradients(const wino_job *j, int r0, int r1, float *dt, float *rows) {
    const strata_conv2d_desc *d = j->d;
    const int H = d->H, W = d->W, tw = j->g.tw, th = j->g.th;
    const size_t hw = (size_t)H * W, es = plane_floats((size_t)d->Cout, &j->g);
    float *g[2][2];  // [row][even, odd]
    for (int i = 0; i < 2; i++) {
        g[i][0] = rows + (size_t)i * 2 * tw;
        g[i][1] = g[i][0] + tw;
    }
    for (int co = 0; co < d->Cout; co++)
        for (int r = r0; r < r1; r++) {
            int n = r / th, ty = r % th;
            const float *plane = j->dy + ((size_t)n * d->Cout + co) * hw;
            for (int i = 0; i < 2; i++) {
                int yy = 2 * ty + i;
                if (yy >= H) {
                    memset(g[i][0], 0, 2 * (size_t)tw * sizeof(float));
                    continue;
                }
                const float *row = plane + (size_t)yy * W;
                for (int k = 0; k < W / 2; k++) {
                    g[i][0][k] = row[2 * k];
                    g[i][1][k] = row[2 * k + 1];
                }
                if (W & 1) {
                    g[i][0][tw - 1] = row[W - 1];
                    g[i][1][tw - 1] = 0.0f;
                }
            }
            j->k->gradient_tiles(g[0][0], g[0][1], g[1][0], g[1][1], tw,
                                 dt + (size_t)co * j->g.ld + (size_t)(r - r0) * tw, es);
        }
}

static void block_range(const wino_job *j, int b, int *r0, int *r1) {
    *r0 = b * j->g.block_rows;
    *r1 = *r0 + j->g.block_rows < j->g.rows ? *r0 + j->g.block_rows : j->g.rows;
}

// One block of the forward (or input-gradient) convolution: transform, 16 GEMMs M_e = U_e · V_e, transform back.
static void convolve_block(const wino_job *j, int b, float *scratch) {
    int r0, r1;
    block_range(j, b, &r0, &r1);
    const int P = (r1 - r0) * j->g.tw, ld = (int)j->g.ld;
    float *v = scratch, *m = v + panel_floats(j->d, &j->g), *rows = m + panel_floats(j->d, &j->g);
    transform_inputs(j, r0, r1, v, rows);
    const size_t vs = plane_floats((size_t)j->cin, &j->g), ms = plane_floats((size_t)j->cout, &j->g);
    for (int e = 0; e < 16; e++)
        strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, j->cout, P, j->cin, 1.0f, j->u + e * filter_plane(j->d), j->cin,
                    v + e * vs, ld, STRATA_F32, 0.0f, m + e * ms, ld);
    transform_outputs(j, r0, r1, m, rows);
}

// S_e [Cout, Cin] += D_e [Cout, P] · V_e^T for one block.
static void gradient_block(const wino_job *j, int b, float *scratch, float *sums) {
    const strata_conv2d_desc *d = j->d;
    int r0, r1;
    block_range(j, b, &r0, &r1);
    const int P = (r1 - r0) * j->g.tw, ld = (int)j->g.ld;
    float *v = scratch, *dt = v + panel_floats(d, &j->g), *rows = dt + panel_floats(d, &j->g);
    transform_inputs(j, r0, r1, v, rows);
    transform_gradients(j, r0, r1, dt, rows);
    const size_t vs = plane_floats((size_t)d->Cin, &j->g), ds = plane_floats((size_t)d->Cout, &j->g);
    for (int e = 0; e < 16; e++)
        strata_gemm(STRATA_NO_TRANS, STRATA_TRANS, d->Cout, d->Cin, P, 1.0f, dt + e * ds, ld, v + e * vs, ld,
                    STRATA_F32, 1.0f, sums + e * filter_plane(d), d->Cin);
}

static void convolve_task(void *ctx, int task, int thread) {
    wino_job *j = ctx;
    float *s = block_scratch(j, thread);
    convolve_block(j, task, s);
    release_scratch(j, s);
}

// Chunk c sums blocks [c·blocks/chunks, (c+1)·blocks/chunks) in order into its own zeroed S; the caller adds the
// chunks in order, so the result depends on the thread count, never on which thread ran which chunk.
static void gradient_task(void *ctx, int task, int thread) {
    wino_job *j = ctx;
    const size_t count = filter_floats(j->d);
    float *sums = task == 0 ? j->sums : j->partials + (size_t)(task - 1) * count;
    memset(sums, 0, count * sizeof(float));
    int b0 = (int)((long long)task * j->g.blocks / j->chunks), b1 = (int)((long long)(task + 1) * j->g.blocks / j->chunks);
    float *s = block_scratch(j, thread);
    for (int b = b0; b < b1; b++) gradient_block(j, b, s, sums);
    release_scratch(j, s);
}

// Whether blocks run as pool tasks (single-threaded GEMMs) rather than one after another with threaded GEMMs.
static int blocks_in_parallel(const geometry *g) {
    return strata_threads() > 1 && !strata_in_parallel() && g->blocks >= strata_threads();
}

// ---- Filter transforms and the passes ---------------------------------------------------------------------------

// U tile G g G^T of one 3x3 filter g (row-major) into u[e·es].
static void filter_tile(const float g[9], float *u, size_t es) {
    float t[4][3];
    for (int c = 0; c < 3; c++) {
        t[0][c] = g[c];
        t[1][c] = 0.5f * (g[c] + g[3 + c] + g[6 + c]);
        t[2][c] = 0.5f * (g[c] - g[3 + c] + g[6 + c]);
        t[3][c] = g[6 + c];
    }
    for (int i = 0; i < 4; i++) {
        u[(4 * i + 0) * es] = t[i][0];
        u[(4 * i + 1) * es] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[(4 * i + 2) * es] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[(4 * i + 3) * es] = t[i][2];
    }
}

// dw (3x3, row-major) += G^T S G, S the 4x4 tile at s[e·es].
static void add_filter_gradient(const float *s, size_t es, float *dw) {
    float r[3][4];
    for (int c = 0; c < 4; c++) {
        float x0 = s[c * es], x1 = s[(4 + c) * es], x2 = s[(8 + c) * es], x3 = s[(12 + c) * es];
        r[0][c] = x0 + 0.5f * (x1 + x2);
        r[1][c] = 0.5f * (x1 - x2);
        r[2][c] = 0.5f * (x1 + x2) + x3;
    }
    for (int i = 0; i < 3; i++) {
        dw[3 * i + 0] += r[i][0] + 0.5f * (r[i][1] + r[i][2]);
        dw[3 * i + 1] += 0.5f * (r[i][1] - r[i][2]);
        dw[3 * i + 2] += 0.5f * (r[i][1] + r[i][2]) + r[i][3];
    }
}

static void init_job(wino_job *j, const strata_conv2d_desc *d, void *workspace) {
    memset(j, 0, sizeof *j);
    j->d = d;
    j->g = geometry_of(d);
    j->k = active_kernels();
    float *ws = workspace;
    j->sums = ws + filter_floats(d);
    j->workspace_block = ws + 2 * filter_floats(d);
    pthread_mutex_init(&j->lock, NULL);
}

static void run_convolution(wino_job *j) {
    if (blocks_in_parallel(&j->g)) strata_parallel_for(j->g.blocks, convolve_task, j);
    else for (int b = 0; b < j->g.blocks; b++) convolve_block(j, b, j->workspace_block);
    pthread_mutex_destroy(&j->lock);
}

void strata_winograd_forward(const strata_conv2d_desc *d, const float *x, const float *w, const float *bias,
                             float *y, int accumulate, void *workspace) {
    wino_job j;
    init_job(&j, d, workspace);
    float *u = workspace;
    const size_t es = filter_plane(d);
    for (int co = 0; co < d->Cout; co++)
        for (int ci = 0; ci < d->Cin; ci++) filter_tile(w + ((size_t)co * d->Cin + ci) * 9, u + (size_t)co * d->Cin + ci, es);
    j.cin = d->Cin, j.cout = d->Cout, j.x = x, j.split = d->Cin, j.u = u, j.bias = bias, j.y = y;
    j.accumulate = accumulate;
    run_convolution(&j);
}

void strata_winograd_backward_data(const strata_conv2d_desc *d, const float *dy, const float *w, float *dx,
                                   int accumulate, void *workspace) {
    wino_job j;
    init_job(&j, d, workspace);
    // dx is the convolution of dy with the weights flipped in both directions and transposed: U'[e][ci][co].
    float *u = workspace;
    const size_t es = filter_plane(d);
    for (int co = 0; co < d->Cout; co++)
        for (int ci = 0; ci < d->Cin; ci++) {
            const float *g = w + ((size_t)co * d->Cin + ci) * 9;
            float flipped[9];
            for (int t = 0; t < 9; t++) flipped[t] = g[8 - t];
            filter_tile(flipped, u + (size_t)ci * d->Cout + co, es);
        }
    j.cin = d->Cout, j.cout = d->Cin, j.x = dy, j.split = d->Cout, j.u = u, j.y = dx, j.accumulate = accumulate;
    run_convolution(&j);
}

void strata_winograd_backward_weights(const strata_conv2d_desc *d, const float *x, int split, const float *x2,
                                      const float *dy, float *dw, void *workspace) {
    wino_job j;
    init_job(&j, d, workspace);
    j.cin = d->Cin, j.cout = d->Cout, j.x = x, j.x2 = x2, j.split = split, j.dy = dy;
    const size_t count = filter_floats(d);
    j.chunks = 1;
    if (blocks_in_parallel(&j.g)) {
        wino_scratch *s = thread_scratch();
        int chunks = strata_threads();
        float *partials = s ? grow(&s->partials, &s->partial_floats, (size_t)(chunks - 1) * count) : NULL;
        if (partials) {
            j.chunks = chunks;
            j.partials = partials;
        }
    }
    if (j.chunks > 1) strata_parallel_for(j.chunks, gradient_task, &j);
    else gradient_task(&j, 0, 0);
    for (int c = 1; c < j.chunks; c++) {
        const float *p = j.partials + (size_t)(c - 1) * count;
        for (size_t i = 0; i < count; i++) j.sums[i] += p[i];
    }
    const size_t es = filter_plane(d), filters = (size_t)d->Cout * d->Cin;
    for (size_t f = 0; f < filters; f++) add_filter_gradient(j.sums + f, es, dw + f * 9);
    pthread_mutex_destroy(&j.lock);
}
