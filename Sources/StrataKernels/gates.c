// Public gate kernels (strata_gates.h): batch loops and block offsets, dispatched to the row kernels of the active
// ISA (gates_reference.c, gates_avx2.c, gates_avx512.c); and the masked state update.
#include "strata_kernels.h"
#include "gates_internal.h"
#include "strata_pool.h"
#include <string.h>

const strata_gate_kernels *strata_gate_kernels_active(void) {
    switch (strata_isa_active()) {
    case STRATA_ISA_AVX512BF16:
    case STRATA_ISA_AVX512: return &strata_gates_avx512;
    case STRATA_ISA_AVX2: return &strata_gates_avx2;
    default: return &strata_gates_reference;
    }
}

// The batch loops run their items as pool tasks when the call streams enough memory to pay for a hand-off
// (the GEMMs around them already use every thread). Below about 64 K values per call the loop is a few
// microseconds and stays on the calling thread. With fewer batch items than threads (a prediction tile is one
// item) each item splits into parts of at least 16 K values, so every core runs the gate math; the math is
// element-wise, so the split changes no result.
#define GATES_PARALLEL_MIN 65536
#define GATES_PART_MIN 16384

int strata_gate_parts(int B, size_t n) {
    int threads = strata_usable_threads();
    if ((size_t)B * n < GATES_PARALLEL_MIN || threads < 2) return 0;
    size_t parts = B >= threads ? 1 : (size_t)((threads + B - 1) / B), most = n / GATES_PART_MIN;
    if (parts > most) parts = most > 0 ? most : 1;
    return (size_t)B * parts > 1 ? (int)parts : 0;
}

typedef struct {
    const strata_gate_kernels *k;
    size_t n;
    int parts;
    const float *z, *w_ci, *w_cf, *w_co, *c_prev, *dh, *dc_next, *gates;
    float *h, *c, *gates_out, *dz, *dc_prev, *dw_ci, *dw_cf, *dw_co;
} lstm_job;

int strata_gate_task_range(size_t n, int parts, int task, size_t *lo, size_t *hi) {
    int b = task / parts, p = task % parts;
    *lo = p == 0 ? 0 : (n * (size_t)p / (size_t)parts) & ~(size_t)15;
    *hi = p == parts - 1 ? n : (n * (size_t)(p + 1) / (size_t)parts) & ~(size_t)15;
    return b;
}

static void lstm_forward_item(void *ctx, int item, int thread) {
    (void)thread;
    const lstm_job *j = ctx;
    size_t lo, hi, n = j->n;
    int b = strata_gate_task_range(n, j->parts, item, &lo, &hi);
    size_t s = (size_t)b * n + lo;
    const float *zb = j->z + (size_t)b * 4 * n + lo;
    float *gb = j->gates_out + (size_t)b * 4 * n + lo;
    j->k->lstm_forward(hi - lo, zb, zb + n, zb + 2 * n, zb + 3 * n, STRATA_OFFSET(j->w_ci, lo),
                       STRATA_OFFSET(j->w_cf, lo), STRATA_OFFSET(j->w_co, lo), j->c_prev + s, j->h + s, j->c + s, gb,
                       gb + n, gb + 2 * n, gb + 3 * n);
}

static void lstm_backward_item(void *ctx, int item, int thread) {
    (void)thread;
    const lstm_job *j = ctx;
    size_t lo, hi, n = j->n;
    int b = strata_gate_task_range(n, j->parts, item, &lo, &hi);
    size_t s = (size_t)b * n + lo;
    const float *gb = j->gates + (size_t)b * 4 * n + lo;
    float *dzb = j->dz + (size_t)b * 4 * n + lo;
    // Peephole gradients are sums over the items: they only ever run whole items in order (parts == 1).
    j->k->lstm_backward(hi - lo, j->dh + s, STRATA_OFFSET(j->dc_next, s), j->c_prev + s, gb, gb + n, gb + 2 * n,
                        gb + 3 * n, STRATA_OFFSET(j->w_ci, lo), STRATA_OFFSET(j->w_cf, lo), STRATA_OFFSET(j->w_co, lo),
                        dzb, dzb + n, dzb + 2 * n, dzb + 3 * n, j->dc_prev + s, j->dw_ci, j->dw_cf, j->dw_co);
}

void strata_lstm_cell_forward(int B, int Ch, int HW, const float *z, const float *w_ci, const float *w_cf,
                              const float *w_co, const float *c_prev, float *h, float *c, float *gates) {
    lstm_job j = {.k = strata_gate_kernels_active(), .n = (size_t)Ch * HW, .parts = 1, .z = z, .w_ci = w_ci,
                  .w_cf = w_cf, .w_co = w_co, .c_prev = c_prev, .h = h, .c = c, .gates_out = gates};
    int parts = strata_gate_parts(B, j.n);
    if (parts > 0) {
        j.parts = parts;
        strata_parallel_for(B * parts, lstm_forward_item, &j);
    } else {
        for (int b = 0; b < B; b++) lstm_forward_item(&j, b, 0);
    }
}

void strata_lstm_cell_backward(int B, int Ch, int HW, const float *dh, const float *dc_next, const float *c_prev,
                               const float *gates, const float *w_ci, const float *w_cf, const float *w_co,
                               float *dz, float *dc_prev, float *dw_ci, float *dw_cf, float *dw_co) {
    lstm_job j = {.k = strata_gate_kernels_active(), .n = (size_t)Ch * HW, .parts = 1, .dh = dh, .dc_next = dc_next,
                  .c_prev = c_prev, .gates = gates, .w_ci = w_ci, .w_cf = w_cf, .w_co = w_co, .dz = dz,
                  .dc_prev = dc_prev, .dw_ci = dw_ci, .dw_cf = dw_cf, .dw_co = dw_co};
    // With peephole gradients the items share their accumulators and run one after another, so the sums keep a
    // fixed order (deterministic); without, they are independent.
    int shared = dw_ci || dw_cf || dw_co, parts = shared ? 0 : strata_gate_parts(B, j.n);
    if (parts > 0) {
        j.parts = parts;
        strata_parallel_for(B * parts, lstm_backward_item, &j);
    } else {
        for (int b = 0; b < B; b++) lstm_backward_item(&j, b, 0);
    }
}

void strata_gru_reset_forward(int B, int Ch, int HW, const float *z_ru, const float *h_prev, float *gates, float *rh) {
    const strata_gate_kernels *k = strata_gate_kernels_active();
    size_t n = (size_t)Ch * HW;
    for (int b = 0; b < B; b++) {
        size_t g = (size_t)b * 2 * n, s = (size_t)b * n;
        k->gru_reset_forward(n, z_ru + g, z_ru + g + n, h_prev + s, gates + g, gates + g + n, rh + s);
    }
}

void strata_gru_output_forward(int B, int Ch, int HW, const float *z_n, const float *gates, const float *h_prev,
                               float *n_out, float *h) {
    const strata_gate_kernels *k = strata_gate_kernels_active();
    size_t n = (size_t)Ch * HW;
    for (int b = 0; b < B; b++) {
        size_t g = (size_t)b * 2 * n, s = (size_t)b * n;
        k->gru_output_forward(n, z_n + s, gates + g + n, h_prev + s, n_out + s, h + s);
    }
}

void strata_gru_output_backward(int B, int Ch, int HW, const float *dh, const float *h_prev, const float *gates,
                                const float *n_act, float *dz_n, float *dz_ru, float *dh_prev) {
    const strata_gate_kernels *k = strata_gate_kernels_active();
    size_t n = (size_t)Ch * HW;
    for (int b = 0; b < B; b++) {
        size_t g = (size_t)b * 2 * n, s = (size_t)b * n;
        k->gru_output_backward(n, dh + s, h_prev + s, gates + g + n, n_act + s, dz_n + s, dz_ru + g + n, dh_prev + s);
    }
}

void strata_gru_reset_backward(int B, int Ch, int HW, const float *drh, const float *h_prev, const float *gates,
                               float *dz_ru, float *dh_prev) {
    const strata_gate_kernels *k = strata_gate_kernels_active();
    size_t n = (size_t)Ch * HW;
    for (int b = 0; b < B; b++) {
        size_t g = (size_t)b * 2 * n, s = (size_t)b * n;
        k->gru_reset_backward(n, drh + s, h_prev + s, gates + g, dz_ru + g, dh_prev + s);
    }
}

void strata_rnn_cell_forward(size_t count, const float *z, float *h) {
    strata_gate_kernels_active()->tanh_forward(count, z, h);
}

void strata_rnn_cell_backward(size_t count, const float *dh, const float *h, float *dz) {
    strata_gate_kernels_active()->tanh_backward(count, dh, h, dz);
}

// Selection on the raw 32-bit patterns: no arithmetic touches the values, so NaN payloads and -0 survive. The loop
// is a plain select the compiler vectorizes; there is no transcendental math here to hand-vectorize.
static void select_state(size_t hw, size_t ch, const uint8_t *m, const float *fresh, const float *prev, float *out) {
    for (size_t c = 0; c < ch; c++) {
        const uint32_t *a = (const uint32_t *)(const void *)(fresh + c * hw);
        const uint32_t *p = (const uint32_t *)(const void *)(prev + c * hw);
        uint32_t *o = (uint32_t *)(void *)(out + c * hw);
        for (size_t j = 0; j < hw; j++) o[j] = m[j] ? a[j] : p[j];
    }
}

void strata_masked_state_update(int B, int Ch, int HW, const uint8_t *mask, const float *h_new, const float *h_prev,
                                float *h_out, const float *c_new, const float *c_prev, float *c_out) {
    size_t n = (size_t)Ch * HW;
    for (int b = 0; b < B; b++) {
        const uint8_t *m = mask + (size_t)b * HW;
        select_state((size_t)HW, (size_t)Ch, m, h_new + b * n, h_prev + b * n, h_out + b * n);
        if (c_new) select_state((size_t)HW, (size_t)Ch, m, c_new + b * n, c_prev + b * n, c_out + b * n);
    }
}

void strata_masked_state_backward(int B, int Ch, int HW, const uint8_t *mask, const float *d_out, float *d_new,
                                  float *d_prev) {
    for (int b = 0; b < B; b++) {
        const uint8_t *m = mask + (size_t)b * HW;
        for (int c = 0; c < Ch; c++) {
            size_t off = ((size_t)b * Ch + c) * HW;
            for (int j = 0; j < HW; j++) {
                float d = d_out[off + j];
                if (m[j]) d_new[off + j] = d;
                else { d_prev[off + j] += d; d_new[off + j] = 0.0f; }
            }
        }
    }
}
