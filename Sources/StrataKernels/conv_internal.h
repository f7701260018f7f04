// Private to the convolution (conv.c, conv_input_gradient.c, conv_bf16dy.c): the workspace layout, the per-thread scratch, the job the
// pool tasks share, and the helpers both files use. See conv.c for what each does and why.
#ifndef STRATA_CONV_INTERNAL_H
#define STRATA_CONV_INTERNAL_H
#include "strata_kernels.h"
#include "strata_pool.h"
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

// Byte offsets of the workspace sections (conv.c, "Workspace sections").
typedef struct { size_t w16, x16, col, dy16, dcol, wt, wpack, wino, total; } layout;

static inline size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

// Bytes per element of the compute type: 4 for fp32, 2 for bf16 / fp16.
static inline size_t conv_esize(const strata_conv2d_desc *d) { return d->compute == STRATA_F32 ? 4 : 2; }


typedef struct {
    const strata_conv2d_desc *d;
    const layout *l;
    char *workspace;  // the caller's: thread 0's image scratch, and the 16-bit weights every task reads
    const void *wop;
    const void *wt_packed;  // input gradient by im2col: w^T [CKK, Cout] packed once as the GEMM's A, or NULL
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
    // Backward weights (conv_weights_run): image n's dw (+)=, and sums[i] += the bias-gradient sum of image n's
    // channel c0 + i (i < count), called with `outer`, the job that owns this one (itself for fp32 dy, the bf16-dy
    // job around it otherwise).
    void (*weights_image)(const void *outer, int n, char *ws, float *dw);
    void (*bias_sums)(const void *outer, int n, int c0, int count, double *sums);
    const void *outer;
} conv_job;

layout conv_plan(const strata_conv2d_desc *d);
// Image rows per chunk of the im2col input gradient's dcol (the workspace holds one chunk; conv_input_gradient.c).
int conv_dcol_rows(const strata_conv2d_desc *d);
int conv_valid(const strata_conv2d_desc *d, const void *workspace);
void conv_to_half(strata_dtype t, const float *src, uint16_t *dst, size_t n);
const void *conv_image_operand(const strata_conv2d_desc *d, const float *x_n, int C, char *ws, const layout *l);
const void *conv_weight_operand(const strata_conv2d_desc *d, const float *w, char *ws, const layout *l);
void conv_flipped_weights(const strata_conv2d_desc *d, const void *wop, char *wt);
int conv_images_in_parallel(const strata_conv2d_desc *d);
int conv_use_implicit(const strata_conv2d_desc *d);
int conv_use_implicit_data(const strata_conv2d_desc *d);
char *conv_task_workspace(conv_job *j, int thread);
void conv_release_workspace(conv_job *j, char *ws);

// sums[i] += Σ over the HW pixels of channel c0 + i of dy_n [C, HW] (fp32, or bf16 when `bf16`), i < count, in
// double; the same value on every ISA (channel_sums.c).
void conv_add_channel_sums(const void *dy_n, int bf16, int c0, int count, int hw, double *sums);

// Runs a weight-gradient pass through j->weights_image and j->bias_sums: with images in parallel, one pool task per
// chunk of images, each summing into its own zeroed partials that are then added into j->dw and j->dbias in chunk
// order (so the result depends on the thread count only); otherwise, or without memory for the partials, image by
// image in the caller's workspace.
void conv_weights_run(conv_job *j);

// Image n's input gradient dx_n (+)= from its output gradient dy_n already in the compute type (K = 1: one GEMM;
// implicit: the flipped-weight convolution; otherwise im2col GEMMs and col2im in chunks of image rows).
void conv_backward_data_from(const conv_job *j, int n, char *ws, const void *dy_n);

// Before the images of an input gradient: the im2col path's w^T packed once into the workspace (j->wt_packed).
void conv_pack_transposed_weights(conv_job *j);

// dw += dy_n · col^T for image n (col the im2col of its channels, from x then x2), dy_n in the compute type.
void conv_weights_image_from(const conv_job *j, int n, char *ws, const void *dy_n, float *dw);
#endif
