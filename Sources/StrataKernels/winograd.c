// Winograd F(4x4, 3x3) convolution (see winograd.h): tiling into blocks of tile rows, the filter transforms, the 36
// GEMMs per block on strata_gemm, and threading over blocks. The tile transforms themselves are in winograd_tiles.h;
// this file compiles them in portable C as the scalar reference.
#include "winograd.h"
#include "gemm_internal.h"
#include "thread_scratch.h"
#include "strata_kernels.h"
#include "strata_pool.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WINO_FN(name) name##_scalar
#define WINO_TABLE static const wino_kernels wino_kernels_scalar
#include "winograd_tiles.h"
#define WINO_TABLE5 static const wino_kernels wino_kernels5_scalar
#include "winograd_tiles5.h"

static const wino_kernels *active_kernels(int K) {
    switch (strata_isa_active()) {
    case STRATA_ISA_AVX512BF16:
    case STRATA_ISA_AVX512: return K == 3 ? &strata_wino_kernels_avx512 : &strata_wino_kernels5_avx512;
    case STRATA_ISA_AVX2: return K == 3 ? &strata_wino_kernels_avx2 : &strata_wino_kernels5_avx2;
    default: return K == 3 ? &wino_kernels_scalar : &wino_kernels5_scalar;
    }
}

int strata_winograd_applies(const strata_conv2d_desc *d) {
    return (d->K == 3 || d->K == 5) && d->compute == STRATA_F32;
}

// Elements of a transformed tile (6 x 6) for both kernel sizes.
#define ELEMS 36

// Tiles per block, about: V and M of a block (36·(Cin + Cout)·P floats, 1.4 MB for Cin 38, Cout 128, P 64) fit the
// 2 MB L2 of the machine measured, and P is wide enough that the GEMM's packing of U_e (Cout x Cin) per block is small
// against its multiply.
#define BLOCK_TILES 64

// Tiling of one call: tw x th tiles per image (ceil(W/4) x ceil(H/4)), N·th tile rows in all, cut into blocks of
// block_rows whole tile rows (the last may be shorter); ld = block_rows·tw is the leading dimension of a block's
// V, M and D panels.
typedef struct {
    int m, pad;  // output pixels per tile side (4 for K = 3, 2 for K = 5), K / 2
    int tw, th, rows, block_rows, blocks;
    size_t ld;
} geometry;

static geometry geometry_of(const strata_conv2d_desc *d) {
    geometry g;
    g.m = d->K == 3 ? 4 : 2;
    g.pad = d->K / 2;
    g.tw = (d->W + g.m - 1) / g.m;
    g.th = (d->H + g.m - 1) / g.m;
    g.rows = d->N * g.th;
    g.block_rows = (BLOCK_TILES + g.tw - 1) / g.tw;
    if (g.block_rows > g.rows) g.block_rows = g.rows;
    g.blocks = (g.rows + g.block_rows - 1) / g.block_rows;
    g.ld = (size_t)g.block_rows * g.tw;
    return g;
}

// The geometry a call runs with: geometry_of, except that fewer blocks than threads (one small image: 32x32 at K = 3
// is a single 64-tile block, and its 36 element GEMMs are each too small to split) are cut into one block per thread,
// so every thread transforms and multiplies a share. Smaller blocks only shrink the per-block scratch, so the
// workspace sized from geometry_of still holds it.
static geometry run_geometry(const strata_conv2d_desc *d) {
    geometry g = geometry_of(d);
    int threads = strata_usable_threads();
    if (g.blocks < threads && g.rows > 1) {
        g.block_rows = (g.rows + threads - 1) / threads;
        g.blocks = (g.rows + g.block_rows - 1) / g.block_rows;
        g.ld = (size_t)g.block_rows * g.tw;
    }
    return g;
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

// The 36 element planes of a panel (c channels x ld tiles each) or of the filter tiles (Cout x Cin) lie one cache line
// more than a multiple of 64 bytes apart: at a multiple of 4 KB (32 channels x 128 tiles, 128 x 32 filters) the 36
// streams a transform reads or writes would all fall in one L1 set, more than its ways.
static size_t plane_floats(size_t c, const geometry *g) { return round16(c * g->ld) + 16; }

// Floats of 36 planes for max(Cin, Cout) channels (M or D).
static size_t panel_floats(const strata_conv2d_desc *d, const geometry *g) {
    return ELEMS * plane_floats((size_t)(d->Cin > d->Cout ? d->Cin : d->Cout), g);
}

// V's plane for c channels: as plane_floats, or whole B̃ panels of the GEMM (the block's tiles rounded up to a
// multiple of 48 columns, which both ISAs' panel widths divide).
static size_t v_plane_floats(size_t c, const geometry *g) { return round16(c * ((g->ld + 47) / 48 * 48)) + 16; }
static size_t v_panel_floats(const strata_conv2d_desc *d, const geometry *g) {
    return ELEMS * v_plane_floats((size_t)(d->Cin > d->Cout ? d->Cin : d->Cout), g);
}

// Floats between the gathered arrays of a block's tiles.
static size_t tile_stride(const geometry *g) { return round16(g->ld); }

// Floats of a zero-bordered input row: column c at c + pad, zeros up to m·tw + 8 (the K = 3 gather reads 8 columns
// from 4t, the K = 5 one 6 from 2t).
static size_t pad_floats(const geometry *g) { return round16((size_t)g->m * g->tw + 8); }

// Floats of one block's scratch: V (36 planes), M or D (36 planes), the gathered tiles of one channel (36 pixels x ld;
// outputs and output gradients use 16), a zero row and 6 zero-bordered input rows, and tw spare floats.
static size_t block_floats(const strata_conv2d_desc *d, const geometry *g) {
    return v_panel_floats(d, g) + panel_floats(d, g) + ELEMS * tile_stride(g) + 7 * pad_floats(g)
           + round16((size_t)g->tw);
}

static size_t filter_plane(const strata_conv2d_desc *d) { return round16((size_t)d->Cin * d->Cout) + 16; }
static size_t filter_floats(const strata_conv2d_desc *d) { return ELEMS * filter_plane(d); }

// Floats holding Cout double bias sums.
static size_t bias_floats(const strata_conv2d_desc *d) { return round16(2 * (size_t)d->Cout); }

// Bytes between the packed Ã of two tile elements: U_e packed as the GEMM's A, [Cout, Cin] forward or [Cin, Cout]
// for the input gradient, on any ISA; a whole number of cache lines.
static size_t packed_filter_stride(const strata_conv2d_desc *d) {
    size_t forward = strata_gemm_packed_a_bound(d->Cout, d->Cin);
    size_t backward = strata_gemm_packed_a_bound(d->Cin, d->Cout);
    return ((forward > backward ? forward : backward) + 63) & ~(size_t)63;
}

// Caller's workspace: U [36, Cout', Cin'], the weight-gradient sums S^T [36, Cin, Cout] and bias sums [Cout]
// (double), thread 0's block scratch, then U packed for the GEMM (36 x packed_filter_stride bytes).
size_t strata_winograd_workspace_size(const strata_conv2d_desc *d) {
    if (!strata_winograd_applies(d)) return 0;
    geometry g = geometry_of(d);
    return (2 * filter_floats(d) + bias_floats(d) + block_floats(d, &g)) * sizeof(float)
           + ELEMS * packed_filter_stride(d);
}

// ---- Transforms of whole blocks -------------------------------------------------------------------------------------

// Touches the cache lines of an image row of the next channel, read (write 0) or written (write 1) one channel from
// now. A channel plane of a 32x32 image is one 4 KB page, where the hardware prefetcher stops: without this each
// channel's first rows come from memory while the transform waits.
static inline void prefetch_row(const float *row, int W, int write) {
    for (int q = 0; q < W; q += 16) {
        if (write) __builtin_prefetch(row + q, 1, 3);
        else __builtin_prefetch(row + q, 0, 3);
    }
}

typedef struct {
    const strata_conv2d_desc *d;
    geometry g;
    const wino_kernels *k;
    int cin, cout;          // of the convolution run: (Cin, Cout), or (Cout, Cin) for the input gradient
    const float *x, *x2;    // input channels [0, split) from x, [split, cin) from x2
    int split;
    const float *u;         // [36, cout, cin] filter tiles
    const char *u_packed;   // U_e packed as the GEMM's A at u_packed + e·u_stride bytes, or NULL: strata_gemm
    size_t u_stride;        // packed_filter_stride, worked out once per call
    int panel_width;        // > 0: V is written as the GEMM's B̃ panels of this width (strata_gemm_packed_ab)
    const float *bias;
    float *y;               // [N, cout, H, W]
    int accumulate;
    const float *dy;        // weight gradient: [N, Cout, H, W]
    float *sums;            // weight gradient: chunk 0's S; chunk c > 0 at partials + (c - 1)·filter floats
    float *partials;
    double *bias_sums;      // weight gradient: chunk 0's Cout dy sums (after S), or NULL without a bias gradient
    int chunks;
    float *dw;              // weight gradient: [Cout, Cin, K, K], added to by finish tasks over input channels
    int finish_tasks;
    float *workspace_block; // thread 0's block scratch
    pthread_mutex_t lock;   // guards workspace_block for a thread that could not get its own
} wino_job;

// Threads other than the caller run blocks in a scratch block each keeps for its lifetime (strata_thread_scratch);
// thread 0, and a thread without memory for its own, take the workspace's block under the lock.
static float *block_scratch(wino_job *j, int thread) {
    if (thread != 0) {
        float *b = strata_thread_scratch(SCRATCH_WINO_BLOCK, block_floats(j->d, &j->g) * sizeof(float));
        if (b) return b;
    }
    pthread_mutex_lock(&j->lock);
    return j->workspace_block;
}

static void release_scratch(wino_job *j, float *b) {
    if (b == j->workspace_block) pthread_mutex_unlock(&j->lock);
}

// V for tile rows [r0, r1), element e's plane at v + e·es: [cin, ld] rows (nr = 0), or the GEMM's B̃ panels of nr
// tiles each (panel q at q·nr·cin, tile t of channel c at q·nr·cin + c·nr + t - q·nr; the last panel's columns up to
// the next multiple of 16 zeroed, as the micro-kernel reads them). Channel c of image n comes from x (c < split) or
// x2. Each channel's tiles are gathered into tiles[36][ld] (pixel (i, j) of tile t at tiles[6i + j][t]) from its
// input rows copied into zero-bordered pads (6 per tile row, the last 6 - m reused as the first of the next tile row
// of the same image).
static void transform_inputs(const wino_job *j, int r0, int r1, float *v, size_t es, int nr, float *rows) {
    const strata_conv2d_desc *d = j->d;
    const int H = d->H, W = d->W, tw = j->g.tw, th = j->g.th;
    const size_t hw = (size_t)H * W, pw = pad_floats(&j->g);
    const int m = j->g.m;
    float *tiles[ELEMS], *pad[6], *zero = rows + ELEMS * tile_stride(&j->g), *spare = zero + 7 * pw;
    for (int e = 0; e < ELEMS; e++) tiles[e] = rows + (size_t)e * tile_stride(&j->g);
    // Borders (and the zero row) stay zero: only columns pad ... pad + W - 1 of a pad are ever written.
    memset(zero, 0, 7 * pw * sizeof(float));
    for (int i = 0; i < 6; i++) pad[i] = zero + (i + 1) * pw;
    for (int c = 0; c < j->cin; c++) {
        for (int r = r0; r < r1; r++) {
            int n = r / th, ty = r % th;
            const float *plane = c < j->split ? j->x + ((size_t)n * j->split + c) * hw
                                              : j->x2 + ((size_t)n * (j->cin - j->split) + c - j->split) * hw;
            const float *next = NULL;  // the same image's plane of channel c + 1
            if (c + 1 < j->cin)
                next = c + 1 < j->split ? plane + hw
                                        : j->x2 + ((size_t)n * (j->cin - j->split) + c + 1 - j->split) * hw;
            int first = 0;
            if (r > r0 && ty > 0) {
                // Rows m ... 5 of the tile row above are rows 0 ... 5 - m here: rotate the pads by m.
                float *old[6];
                for (int i = 0; i < 6; i++) old[i] = pad[i];
                for (int i = 0; i < 6; i++) pad[i] = old[(i + m) % 6];
                first = 6 - m;
            }
            const float *src[6];
            for (int i = 0; i < 6; i++) {
                int yy = m * ty - j->g.pad + i;
                int inside = yy >= 0 && yy < H;
                if (i >= first && inside) {
                    memcpy(pad[i] + j->g.pad, plane + (size_t)yy * W, (size_t)W * sizeof(float));
                    if (next) prefetch_row(next + (size_t)yy * W, W, 0);
                }
                src[i] = inside ? pad[i] : zero;
            }
            float *dst[ELEMS];
            for (int e = 0; e < ELEMS; e++) dst[e] = tiles[e] + (size_t)(r - r0) * tw;
            j->k->input_rows(src, tw, dst, spare);
        }
        const int P = (r1 - r0) * tw;
        if (!nr) {
            j->k->input_tiles((const float *const *)tiles, P, v + (size_t)c * j->g.ld, es);
            continue;
        }
        for (int t0 = 0; t0 < P; t0 += nr) {
            const int count = P - t0 < nr ? P - t0 : nr, padded = (int)round16((size_t)count);
            const float *shifted[ELEMS];
            for (int e = 0; e < ELEMS; e++) shifted[e] = tiles[e] + t0;
            float *out = v + (size_t)t0 * j->cin + (size_t)c * nr;  // panel t0 / nr
            j->k->input_tiles(shifted, count, out, es);
            for (int e = 0; padded > count && e < ELEMS; e++)
                memset(out + e * es + count, 0, (size_t)(padded - count) * sizeof(float));
        }
    }
}

// y rows of tile rows [r0, r1) from the products M [36, cout, ld], through output tiles gathered as
// ph[4i + p][t] (pixel (i, p) of tile t).
static void transform_outputs(const wino_job *j, int r0, int r1, const float *m, float *rows) {
    const strata_conv2d_desc *d = j->d;
    const int H = d->H, W = d->W, tw = j->g.tw, th = j->g.th;
    const size_t hw = (size_t)H * W, es = plane_floats((size_t)j->cout, &j->g);
    const int side = j->g.m;
    float *ph[16];  // side·side of them
    for (int q = 0; q < side * side; q++) ph[q] = rows + (size_t)q * tile_stride(&j->g);
    for (int co = 0; co < j->cout; co++) {
        float b = j->bias ? j->bias[co] : 0.0f;
        j->k->output_tiles(m + (size_t)co * j->g.ld, es, (r1 - r0) * tw, ph);
        for (int r = r0; r < r1; r++) {
            int n = r / th, ty = r % th;
            float *plane = j->y + ((size_t)n * j->cout + co) * hw;
            const float *row_tiles[16];
            for (int q = 0; q < side * side; q++) row_tiles[q] = ph[q] + (size_t)(r - r0) * tw;
            for (int i = 0; i < side && side * ty + i < H; i++) {
                j->k->output_row(row_tiles + side * i, W, b, j->accumulate, plane + (size_t)(side * ty + i) * W);
                if (co + 1 < j->cout) prefetch_row(plane + hw + (size_t)(side * ty + i) * W, W, 1);
            }
        }
    }
}

// D [36, Cout, ld] = A g A^T of dy's 4x4 tiles for tile rows [r0, r1), gathered as ph[4i + p][t] (pixel (i, p));
// bias[co] += Σ of dy's rows there (bias NULL: no bias gradient).
static void transform_gradients(const wino_job *j, int r0, int r1, float *dt, float *rows, double *bias) {
    const strata_conv2d_desc *d = j->d;
    const int H = d->H, W = d->W, tw = j->g.tw, th = j->g.th, m = j->g.m;
    const size_t hw = (size_t)H * W, es = plane_floats((size_t)d->Cout, &j->g);
    for (int co = 0; co < d->Cout; co++) {
        for (int r = r0; r < r1; r++) {
            int n = r / th, ty = r % th;
            const float *plane = j->dy + ((size_t)n * d->Cout + co) * hw;
            float *ph[16];  // m·m of them
            for (int q = 0; q < m * m; q++) ph[q] = rows + (size_t)q * tile_stride(&j->g) + (size_t)(r - r0) * tw;
            for (int i = 0; i < m; i++) {
                int yy = m * ty + i;
                if (yy >= H) {
                    for (int p = 0; p < m; p++) memset(ph[m * i + p], 0, (size_t)tw * sizeof(float));
                    continue;
                }
                double sum = j->k->gradient_row(plane + (size_t)yy * W, W, tw, ph + m * i);
                if (co + 1 < d->Cout) prefetch_row(plane + hw + (size_t)yy * W, W, 0);
                if (bias) bias[co] += sum;
            }
        }
        float *ph[16];
        for (int q = 0; q < m * m; q++) ph[q] = rows + (size_t)q * tile_stride(&j->g);
        j->k->gradient_tiles((const float *const *)ph, (r1 - r0) * tw, dt + (size_t)co * j->g.ld, es);
    }
}

static void block_range(const wino_job *j, int b, int *r0, int *r1) {
    *r0 = b * j->g.block_rows;
    *r1 = *r0 + j->g.block_rows < j->g.rows ? *r0 + j->g.block_rows : j->g.rows;
}

// One block of the forward (or input-gradient) convolution: transform, 36 GEMMs M_e = U_e · V_e, transform back.
static void convolve_block(const wino_job *j, int b, float *scratch) {
    int r0, r1;
    block_range(j, b, &r0, &r1);
    const int P = (r1 - r0) * j->g.tw, ld = (int)j->g.ld;
    float *v = scratch, *m = v + v_panel_floats(j->d, &j->g), *rows = m + panel_floats(j->d, &j->g);
    const int nr = j->panel_width;
    const size_t vs = v_plane_floats((size_t)j->cin, &j->g), ms = plane_floats((size_t)j->cout, &j->g);
    transform_inputs(j, r0, r1, v, vs, nr, rows);
    for (int e = 0; e < ELEMS; e++) {
        if (nr)
            strata_gemm_packed_ab(j->cout, P, j->cin, j->u_packed + e * j->u_stride, v + e * vs,
                                  (size_t)nr * j->cin, 0.0f, m + e * ms, ld);
        else if (j->u_packed)
            strata_gemm_packed_a(j->cout, P, j->cin, 1.0f, j->u_packed + e * j->u_stride, v + e * vs,
                                 ld, STRATA_NO_TRANS, STRATA_F32, 0.0f, m + e * ms, ld);
        else
            strata_gemm(STRATA_NO_TRANS, STRATA_NO_TRANS, j->cout, P, j->cin, 1.0f, j->u + e * filter_plane(j->d),
                        j->cin, v + e * vs, ld, STRATA_F32, 0.0f, m + e * ms, ld);
    }
    transform_outputs(j, r0, r1, m, rows);
}

// S_e^T [Cin, Cout] += V_e [Cin, P] · D_e^T for one block, and the block's dy sums onto bias. In this orientation
// the micro-kernel's 48 columns span Cout (a multiple of 16 in the models) rather than Cin (38 for config b's first
// layer: 10 of 48 columns wasted).
static void gradient_block(const wino_job *j, int b, float *scratch, float *sums, double *bias) {
    const strata_conv2d_desc *d = j->d;
    int r0, r1;
    block_range(j, b, &r0, &r1);
    const int P = (r1 - r0) * j->g.tw, ld = (int)j->g.ld;
    float *v = scratch, *dt = v + v_panel_floats(d, &j->g), *rows = dt + panel_floats(d, &j->g);
    const size_t vs = plane_floats((size_t)d->Cin, &j->g), ds = plane_floats((size_t)d->Cout, &j->g);
    transform_inputs(j, r0, r1, v, vs, 0, rows);
    transform_gradients(j, r0, r1, dt, rows, bias);
    for (int e = 0; e < ELEMS; e++)
        strata_gemm(STRATA_NO_TRANS, STRATA_TRANS, d->Cin, d->Cout, P, 1.0f, v + e * vs, ld, dt + e * ds, ld,
                    STRATA_F32, 1.0f, sums + e * filter_plane(d), d->Cout);
}

static void convolve_task(void *ctx, int task, int thread) {
    wino_job *j = ctx;
    float *s = block_scratch(j, thread);
    convolve_block(j, task, s);
    release_scratch(j, s);
}

// Chunk c sums blocks [c·blocks/chunks, (c+1)·blocks/chunks) in order into its own zeroed S (and bias sums); the
// caller adds the chunks in order, so the result depends on the thread count, never on which thread ran which chunk.
static void gradient_task(void *ctx, int task, int thread) {
    wino_job *j = ctx;
    const size_t count = filter_floats(j->d);
    float *sums = task == 0 ? j->sums : j->partials + (size_t)(task - 1) * count;
    memset(sums, 0, count * sizeof(float));
    double *bias = NULL;
    if (j->bias_sums)
        bias = task == 0 ? j->bias_sums
                         : (double *)(void *)(j->partials + (size_t)(j->chunks - 1) * count
                                              + (size_t)(task - 1) * bias_floats(j->d));
    if (bias) memset(bias, 0, (size_t)j->d->Cout * sizeof(double));
    int b0 = (int)((long long)task * j->g.blocks / j->chunks);
    int b1 = (int)((long long)(task + 1) * j->g.blocks / j->chunks);
    float *s = block_scratch(j, thread);
    for (int b = b0; b < b1; b++) gradient_block(j, b, s, sums, bias);
    release_scratch(j, s);
}

// Whether blocks run as pool tasks (single-threaded GEMMs) rather than one after another with threaded GEMMs.
static int blocks_in_parallel(const geometry *g) {
    int threads = strata_usable_threads();
    return threads > 1 && g->blocks >= threads;
}

// ---- Filter transforms and the passes ---------------------------------------------------------------------------

// y = G^T x (6 -> 3).
static void gt6(const float x[6], float y[3]) {
    y[0] = 0.25f * x[0] - (x[1] + x[2]) / 6.0f + (x[3] + x[4]) / 24.0f;
    y[1] = (x[2] - x[1]) / 6.0f + (x[3] - x[4]) / 12.0f;
    y[2] = (x[3] + x[4] - x[1] - x[2]) / 6.0f + x[5];
}

// y = G^T x (6 -> 5) for K = 5 (G as in winograd_tiles5.h).
static void gt6_5(const float x[6], float y[5]) {
    float a = x[1] + x[2], b = x[2] - x[1], c = x[3] + x[4], e = x[3] - x[4];
    y[0] = 0.25f * x[0] - a / 6.0f + c / 24.0f;
    y[1] = b / 6.0f + e / 12.0f;
    y[2] = (c - a) / 6.0f;
    y[3] = b / 6.0f + e / 3.0f;
    y[4] = 2.0f * c / 3.0f - a / 6.0f + x[5];
}

// dw (K x K, row-major) += G^T S G, S the 6x6 tile at s[e·es].
static void add_filter_gradient(const float *s, size_t es, int K, float *dw) {
    float r[5][6];  // G^T S
    for (int c = 0; c < 6; c++) {
        float col[6], o[5];
        for (int i = 0; i < 6; i++) col[i] = s[(6 * i + c) * es];
        if (K == 3) gt6(col, o);
        else gt6_5(col, o);
        for (int i = 0; i < K; i++) r[i][c] = o[i];
    }
    for (int i = 0; i < K; i++) {
        float o[5];
        if (K == 3) gt6(r[i], o);
        else gt6_5(r[i], o);
        for (int c = 0; c < K; c++) dw[K * i + c] += o[c];
    }
}

// Input channels [task·Cin/tasks, (task+1)·Cin/tasks) of the weight gradient: adds the chunks' partial S to chunk 0's
// in chunk order, then dw += G^T S G for each (ci, co). Disjoint channel ranges, so the result does not depend on how
// many tasks share this; at 32x32 these two loops were a fifth of a 2-thread weight gradient when run serially.
static void finish_task(void *ctx, int task, int thread) {
    (void)thread;
    wino_job *j = ctx;
    const strata_conv2d_desc *d = j->d;
    const int ci0 = (int)((long)task * d->Cin / j->finish_tasks);
    const int ci1 = (int)((long)(task + 1) * d->Cin / j->finish_tasks);
    const size_t count = filter_floats(d), es = filter_plane(d), kk = (size_t)d->K * d->K;
    const size_t first = (size_t)ci0 * d->Cout, last = (size_t)ci1 * d->Cout;
    for (int c = 1; c < j->chunks; c++) {
        const float *p = j->partials + (size_t)(c - 1) * count;
        for (int e = 0; e < ELEMS; e++)
            for (size_t i = e * es + first; i < e * es + last; i++) j->sums[i] += p[i];
    }
    for (int ci = ci0; ci < ci1; ci++)
        for (int co = 0; co < d->Cout; co++)
            add_filter_gradient(j->sums + (size_t)ci * d->Cout + co, es, d->K, j->dw + ((size_t)co * d->Cin + ci) * kk);
}

static void init_job(wino_job *j, const strata_conv2d_desc *d, void *workspace) {
    memset(j, 0, sizeof *j);
    j->d = d;
    j->g = run_geometry(d);
    j->k = active_kernels(d->K);
    float *ws = workspace;
    j->sums = ws + filter_floats(d);
    j->workspace_block = ws + 2 * filter_floats(d) + bias_floats(d);
    pthread_mutex_init(&j->lock, NULL);
}

// Packs the filter tiles j->u once for all blocks (each block's 36 GEMMs would otherwise pack its U_e again) into
// the workspace after the block scratch; leaves j->u_packed NULL where the ISA has no packed GEMM.
static void pack_filter_tiles(wino_job *j, void *workspace) {
    const strata_conv2d_desc *d = j->d;
    char *packed = (char *)workspace
                   + (2 * filter_floats(d) + bias_floats(d) + block_floats(d, &j->g)) * sizeof(float);
    const size_t stride = j->u_stride = packed_filter_stride(d);
    for (int e = 0; e < ELEMS; e++)
        if (!strata_gemm_pack_a(STRATA_NO_TRANS, j->cout, j->cin, j->u + e * filter_plane(d), j->cin, STRATA_F32,
                                packed + e * stride))
            return;
    j->u_packed = packed;
    // With one K slice the transform writes V straight into B̃ panels, and no block packs anything.
    if (j->cin <= STRATA_GEMM_PACKED_MAX_K) j->panel_width = strata_gemm_panel_width();
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
    const size_t kk = (size_t)d->K * d->K;
    for (int co = 0; co < d->Cout; co++)
        j.k->filter_tiles(w + (size_t)co * d->Cin * kk, kk, d->Cin, 0, u + (size_t)co * d->Cin, filter_plane(d));
    j.cin = d->Cin, j.cout = d->Cout, j.x = x, j.split = d->Cin, j.u = u, j.bias = bias, j.y = y;
    j.accumulate = accumulate;
    pack_filter_tiles(&j, workspace);
    run_convolution(&j);
}

void strata_winograd_backward_data(const strata_conv2d_desc *d, const float *dy, const float *w, float *dx,
                                   int accumulate, void *workspace) {
    wino_job j;
    init_job(&j, d, workspace);
    // dx is the convolution of dy with the weights flipped in both directions and transposed: U'[e][ci][co].
    float *u = workspace;
    const size_t kk = (size_t)d->K * d->K;
    for (int ci = 0; ci < d->Cin; ci++)
        j.k->filter_tiles(w + (size_t)ci * kk, (size_t)d->Cin * kk, d->Cout, 1, u + (size_t)ci * d->Cout,
                          filter_plane(d));
    j.cin = d->Cout, j.cout = d->Cin, j.x = dy, j.split = d->Cout, j.u = u, j.y = dx, j.accumulate = accumulate;
    pack_filter_tiles(&j, workspace);
    run_convolution(&j);
}

void strata_winograd_backward_weights(const strata_conv2d_desc *d, const float *x, int split, const float *x2,
                                      const float *dy, float *dw, float *dbias, void *workspace) {
    wino_job j;
    init_job(&j, d, workspace);
    j.cin = d->Cin, j.cout = d->Cout, j.x = x, j.x2 = x2, j.split = split, j.dy = dy;
    const size_t count = filter_floats(d);
    // Chunk 0's S and bias sums are in the workspace; the other chunks' in the calling thread's partials block:
    // (chunks - 1) S, then (chunks - 1) x Cout doubles. Without memory for them, one chunk and no pool.
    j.chunks = 1;
    if (blocks_in_parallel(&j.g)) {
        int chunks = strata_threads();
        size_t need = (size_t)(chunks - 1) * (count + bias_floats(d));
        float *partials = strata_thread_scratch(SCRATCH_WINO_PARTIALS, need * sizeof(float));
        if (partials) {
            j.chunks = chunks;
            j.partials = partials;
        }
    }
    if (dbias) j.bias_sums = (double *)(void *)(j.sums + count);
    if (j.chunks > 1) strata_parallel_for(j.chunks, gradient_task, &j);
    else gradient_task(&j, 0, 0);
    j.dw = dw;
    j.finish_tasks = j.chunks > 1 && d->Cin >= j.chunks ? j.chunks : 1;
    if (j.finish_tasks > 1) strata_parallel_for(j.finish_tasks, finish_task, &j);
    else finish_task(&j, 0, 0);
    if (dbias)
        for (int co = 0; co < d->Cout; co++) {
            double sum = j.bias_sums[co];
            for (int c = 1; c < j.chunks; c++) {
                const double *p = (const double *)(const void *)(j.partials + (size_t)(j.chunks - 1) * count
                                                                 + (size_t)(c - 1) * bias_floats(d));
                sum += p[co];
            }
            dbias[co] += (float)sum;
        }
    pthread_mutex_destroy(&j.lock);
}
