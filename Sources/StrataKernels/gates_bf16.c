// The ConvLSTM gate kernels with the gates, and then dz, stored in bf16 (strata_gates.h, "bf16 gate store"): each
// batch item (or part of one, split as gates.c splits them) runs in pieces of PIECE elements through the fp32 row
// kernels of the active ISA (gates_internal.h), the four gate blocks of a piece converted to or from bf16 in a small
// stack buffer, so the rounding costs no pass over memory of its own. Values are those of strata_lstm_cell_forward /
// _backward followed (or preceded) by strata_f32_to_bf16 / strata_bf16_to_f32 of the gate buffer: the row kernels
// are element-wise.
#include "strata_kernels.h"
#include "gates_internal.h"
#include "strata_pool.h"

// Elements per piece: 4 blocks of fp32 (8 KiB) stay in L1 between the row kernel and the conversion.
enum { PIECE = 512 };

typedef struct {
    const strata_gate_kernels *k;
    size_t n;
    int parts;
    const float *z, *w_ci, *w_cf, *w_co, *c_prev, *dh, *dc_next;
    const uint16_t *gates;
    float *h, *c, *dc_prev, *dw_ci, *dw_cf, *dw_co;
    uint16_t *gates_out, *dz;
} lstm_bf16_job;

static const float *at(const float *p, size_t j) { return p ? p + j : NULL; }
static float *at_mut(float *p, size_t j) { return p ? p + j : NULL; }

static void forward_item(void *ctx, int task, int thread) {
    (void)thread;
    const lstm_bf16_job *jb = ctx;
    size_t lo, hi;
    const int b = strata_gate_task_range(jb->n, jb->parts, task, &lo, &hi);
    const size_t n = jb->n, s = (size_t)b * n;
    const float *zb = jb->z + (size_t)b * 4 * n;
    uint16_t *gb = jb->gates_out + (size_t)b * 4 * n;
    float a[4][PIECE];
    for (size_t j = lo; j < hi; j += PIECE) {
        const size_t m = hi - j < PIECE ? hi - j : PIECE;
        jb->k->lstm_forward(m, zb + j, zb + n + j, zb + 2 * n + j, zb + 3 * n + j, at(jb->w_ci, j), at(jb->w_cf, j),
                            at(jb->w_co, j), jb->c_prev + s + j, jb->h + s + j, jb->c + s + j, a[0], a[1], a[2],
                            a[3]);
        for (int g = 0; g < 4; g++) strata_f32_to_bf16(a[g], gb + g * n + j, m);
    }
}

static void backward_item(void *ctx, int task, int thread) {
    (void)thread;
    const lstm_bf16_job *jb = ctx;
    size_t lo, hi;
    const int b = strata_gate_task_range(jb->n, jb->parts, task, &lo, &hi);
    const size_t n = jb->n, s = (size_t)b * n;
    const uint16_t *gb = jb->gates + (size_t)b * 4 * n;
    uint16_t *dzb = jb->dz + (size_t)b * 4 * n;
    float a[4][PIECE];
    for (size_t j = lo; j < hi; j += PIECE) {
        const size_t m = hi - j < PIECE ? hi - j : PIECE;
        for (int g = 0; g < 4; g++) strata_bf16_to_f32(gb + g * n + j, a[g], m);
        jb->k->lstm_backward(m, jb->dh + s + j, jb->dc_next ? jb->dc_next + s + j : NULL, jb->c_prev + s + j, a[0],
                             a[1], a[2], a[3], at(jb->w_ci, j), at(jb->w_cf, j), at(jb->w_co, j), a[0], a[1], a[2],
                             a[3], jb->dc_prev + s + j, at_mut(jb->dw_ci, j), at_mut(jb->dw_cf, j),
                             at_mut(jb->dw_co, j));
        for (int g = 0; g < 4; g++) strata_f32_to_bf16(a[g], dzb + g * n + j, m);
    }
}

void strata_lstm_cell_forward_bf16(int B, int Ch, int HW, const float *z, const float *w_ci, const float *w_cf,
                                   const float *w_co, const float *c_prev, float *h, float *c, uint16_t *gates) {
    lstm_bf16_job j = {.k = strata_gate_kernels_active(), .n = (size_t)Ch * HW, .parts = 1, .z = z, .w_ci = w_ci, .w_cf = w_cf,
                       .w_co = w_co, .c_prev = c_prev, .h = h, .c = c, .gates_out = gates};
    const int parts = strata_gate_parts(B, j.n);
    if (parts > 0) {
        j.parts = parts;
        strata_parallel_for(B * parts, forward_item, &j);
    } else {
        for (int b = 0; b < B; b++) forward_item(&j, b, 0);
    }
}

void strata_lstm_cell_backward_bf16(int B, int Ch, int HW, const float *dh, const float *dc_next,
                                    const float *c_prev, const uint16_t *gates, const float *w_ci, const float *w_cf,
                                    const float *w_co, uint16_t *dz, float *dc_prev, float *dw_ci, float *dw_cf,
                                    float *dw_co) {
    lstm_bf16_job j = {.k = strata_gate_kernels_active(), .n = (size_t)Ch * HW, .parts = 1, .dh = dh, .dc_next = dc_next,
                       .c_prev = c_prev, .gates = gates, .w_ci = w_ci, .w_cf = w_cf, .w_co = w_co, .dz = dz,
                       .dc_prev = dc_prev, .dw_ci = dw_ci, .dw_cf = dw_cf, .dw_co = dw_co};
    // Shared peephole accumulators: items in order, as strata_lstm_cell_backward.
    const int shared = dw_ci || dw_cf || dw_co, parts = shared ? 0 : strata_gate_parts(B, j.n);
    if (parts > 0) {
        j.parts = parts;
        strata_parallel_for(B * parts, backward_item, &j);
    } else {
        for (int b = 0; b < B; b++) backward_item(&j, b, 0);
    }
}
