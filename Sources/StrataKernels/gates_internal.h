// Private: the per-batch-item ("row") gate kernels each ISA provides, as a table gates.c dispatches through.
// A row is one batch item's n = Ch·HW elements of each block; gates.c does the batch loop and the block offsets,
// so the variants only see flat, equally long arrays. Peephole pointers (w*, dw*) may be NULL. The LSTM's activated
// gates may be written over its pre-activations (ai over zi, ...) and its gradients over the gates (dzi over ai, ...):
// every variant reads an element's inputs before it writes that element.
#ifndef STRATA_GATES_INTERNAL_H
#define STRATA_GATES_INTERNAL_H
#include <math.h>
#include <stddef.h>

typedef struct {
    void (*lstm_forward)(size_t n, const float *zi, const float *zf, const float *zg, const float *zo,
                         const float *wci, const float *wcf, const float *wco, const float *c_prev,
                         float *h, float *c, float *ai, float *af, float *ag, float *ao);
    void (*lstm_backward)(size_t n, const float *dh, const float *dc_next, const float *c_prev,
                          const float *ai, const float *af, const float *ag, const float *ao,
                          const float *wci, const float *wcf, const float *wco,
                          float *dzi, float *dzf, float *dzg, float *dzo, float *dc_prev,
                          float *dwci, float *dwcf, float *dwco);
    void (*gru_reset_forward)(size_t n, const float *zr, const float *zu, const float *h_prev,
                              float *r, float *u, float *rh);
    void (*gru_output_forward)(size_t n, const float *zn, const float *u, const float *h_prev, float *cand, float *h);
    void (*gru_output_backward)(size_t n, const float *dh, const float *h_prev, const float *u, const float *cand,
                                float *dzn, float *dzu, float *dh_prev);
    void (*gru_reset_backward)(size_t n, const float *drh, const float *h_prev, const float *r, float *dzr,
                               float *dh_prev);
    void (*tanh_forward)(size_t n, const float *z, float *h);
    void (*tanh_backward)(size_t n, const float *dh, const float *h, float *dz);
} strata_gate_kernels;

extern const strata_gate_kernels strata_gates_reference;
extern const strata_gate_kernels strata_gates_avx2;
extern const strata_gate_kernels strata_gates_avx512;

// The row kernels of the active ISA (gates.c).
const strata_gate_kernels *strata_gate_kernels_active(void);

// How gates.c and gates_bf16.c spread B batch items of n elements over the pool: the number of parts each item
// splits into (items × parts pool tasks), or 0 to run the items in order on the calling thread.
int strata_gate_parts(int B, size_t n);

// Pool task `task` of items × `parts`: its batch item (returned) and element range [*lo, *hi) of that item, ranges
// starting on 16-element boundaries (whole vectors).
int strata_gate_task_range(size_t n, int parts, int task, size_t *lo, size_t *hi);

// Reference element functions. sigmoid never overflows: e = exp(-|x|) is in (0, 1].
static inline float strata_sigmoid_ref(float x) {
    float e = expf(-fabsf(x));
    float s = 1.0f / (1.0f + e);
    return x < 0.0f ? e * s : s;
}

// c_t = f⊙c_{t-1} + i⊙g, one expression for the reference forward and backward, so the backward's recomputed c_t
// (and tanh(c_t)) are bit-identical to the forward's.
static inline float strata_lstm_cell_state_ref(float f, float c_prev, float i, float g) { return f * c_prev + i * g; }

// Offsets a nullable pointer (vector variants hand their tail to the reference).
#define STRATA_OFFSET(p, j) ((p) ? (p) + (j) : NULL)
#endif
