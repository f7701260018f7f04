// Private to the convolution (conv.c, conv_bf16dy.c): the workspace layout, the per-thread scratch, the job the
// pool tasks share, and the helpers both files use. See conv.c for what each does and why.
#ifndef STRATA_CONV_INTERNAL_H
#define STRATA_CONV_INTERNAL_H
#include "strata_kernels.h"
#include "strata_pool.h"
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

// Byte offsets of the workspace sections (conv.c, "Workspace sections").
typedef struct { size_t w16, x16, col, dy16, dcol, wt, wino, total; } layout;

static inline size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

typedef struct {
    void *bytes;
    size_t size;
} scratch_block;

typedef struct {
    scratch_block image;     // per executing thread: x16 / col / dy16 / dcol for one image
    scratch_block partials;  // per calling thread: backward-weights partial sums, one block per chunk
} conv_scratch;

typedef struct {
    const strata_conv2d_desc *d;
    const layout *l;
    char *workspace;  // the caller's: thread 0's image scratch, and the 16-bit weights every task reads
    const void *wop;
    const float *x, *w, *bias, *dy;
    // Backward weights over two inputs: channels [0, split) of image n from x, [split, Cin) from x2 (split = Cin:
    // x alone).
    const float *x2;
    int split;
    float *y, *dx, *dw, *dbias;
    int accumulate;
    int implicit;          // K > 1 and the implicit algorithm: GEMMs pack from the images (im2col views)
    int chunks;            // backward weights: images split into this many contiguous chunks, one task each
    char *partials;        // backward weights: chunk c > 0 sums into partials + (c - 1) * partial_bytes
    size_t partial_bytes;  // Cout·CKK floats, 64-byte aligned; the bias sums follow all chunks' dw partials
    pthread_mutex_t lock;  // guards the caller's workspace
} conv_job;

layout conv_plan(const strata_conv2d_desc *d);
int conv_valid(const strata_conv2d_desc *d, const void *workspace);
void conv_to_half(strata_dtype t, const float *src, uint16_t *dst, size_t n);
const void *conv_image_operand(const strata_conv2d_desc *d, const float *x_n, int C, char *ws, const layout *l);
const void *conv_weight_operand(const strata_conv2d_desc *d, const float *w, char *ws, const layout *l);
void conv_flipped_weights(const strata_conv2d_desc *d, const void *wop, char *wt);
int conv_images_in_parallel(const strata_conv2d_desc *d);
int conv_use_implicit(const strata_conv2d_desc *d);
int conv_use_implicit_data(const strata_conv2d_desc *d);
char *conv_grow_scratch(scratch_block *b, size_t need);
conv_scratch *conv_thread_scratch(void);
char *conv_task_workspace(conv_job *j, int thread);
void conv_release_workspace(conv_job *j, char *ws);

// Runs a weight-gradient pass as one pool task per chunk of images (`task` over `ctx`, whose job is `j`), each
// summing into its own zeroed partials, then adds the partials into j->dw and j->dbias in chunk order, so the result
// depends on the thread count only. Returns 0, having done nothing, when there is no memory for the partials.
int conv_weights_in_chunks(conv_job *j, strata_task_fn task, void *ctx);
#endif
