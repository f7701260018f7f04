// Scalar reference gate kernels: the plain-C statement of each cell's math (see strata_gates.h), the fallback on
// CPUs without AVX2, and what the vector variants are tested against. libm's expf / tanhf give the accuracy bar.
#include "gates_internal.h"

static void lstm_forward(size_t n, const float *zi, const float *zf, const float *zg, const float *zo,
                         const float *wci, const float *wcf, const float *wco, const float *c_prev,
                         float *h, float *c, float *ai, float *af, float *ag, float *ao) {
    for (size_t j = 0; j < n; j++) {
        float cp = c_prev[j];
        float i = strata_sigmoid_ref(zi[j] + (wci ? wci[j] * cp : 0.0f));
        float f = strata_sigmoid_ref(zf[j] + (wcf ? wcf[j] * cp : 0.0f));
        float g = tanhf(zg[j]);
        float ct = strata_lstm_cell_state_ref(f, cp, i, g);
        float o = strata_sigmoid_ref(zo[j] + (wco ? wco[j] * ct : 0.0f));
        float t = tanhf(ct);
        ai[j] = i; af[j] = f; ag[j] = g; ao[j] = o;
        c[j] = ct;
        h[j] = o * t;
    }
}

// Chain rule through the forward above; c_t and tanh(c_t) are recomputed from the gates (the same expression and
// function the forward evaluated, so bit-identical) rather than stored: one tanh per element is cheaper than a fifth
// gate-sized buffer per step kept from forward to backward.
static void lstm_backward(size_t n, const float *dh, const float *dc_next, const float *c_prev,
                          const float *ai, const float *af, const float *ag, const float *ao,
                          const float *wci, const float *wcf, const float *wco,
                          float *dzi, float *dzf, float *dzg, float *dzo, float *dc_prev,
                          float *dwci, float *dwcf, float *dwco) {
    for (size_t j = 0; j < n; j++) {
        float cp = c_prev[j], i = ai[j], f = af[j], g = ag[j], o = ao[j];
        float ct = strata_lstm_cell_state_ref(f, cp, i, g), t = tanhf(ct);
        float d_o = dh[j] * t * o * (1.0f - o);
        float dc = (dc_next ? dc_next[j] : 0.0f) + dh[j] * o * (1.0f - t * t) + (wco ? d_o * wco[j] : 0.0f);
        float d_i = dc * g * i * (1.0f - i);
        float d_f = dc * cp * f * (1.0f - f);
        float d_g = dc * i * (1.0f - g * g);
        dzi[j] = d_i; dzf[j] = d_f; dzg[j] = d_g; dzo[j] = d_o;
        dc_prev[j] = dc * f + (wci ? d_i * wci[j] : 0.0f) + (wcf ? d_f * wcf[j] : 0.0f);
        if (wci && dwci) dwci[j] += d_i * cp;
        if (wcf && dwcf) dwcf[j] += d_f * cp;
        if (wco && dwco) dwco[j] += d_o * ct;
    }
}

static void gru_reset_forward(size_t n, const float *zr, const float *zu, const float *h_prev,
                              float *r, float *u, float *rh) {
    for (size_t j = 0; j < n; j++) {
        float rj = strata_sigmoid_ref(zr[j]);
        u[j] = strata_sigmoid_ref(zu[j]);
        r[j] = rj;
        rh[j] = rj * h_prev[j];
    }
}

static void gru_output_forward(size_t n, const float *zn, const float *u, const float *h_prev, float *cand, float *h) {
    for (size_t j = 0; j < n; j++) {
        float c = tanhf(zn[j]);
        cand[j] = c;
        h[j] = (1.0f - u[j]) * c + u[j] * h_prev[j];
    }
}

static void gru_output_backward(size_t n, const float *dh, const float *h_prev, const float *u, const float *cand,
                                float *dzn, float *dzu, float *dh_prev) {
    for (size_t j = 0; j < n; j++) {
        float d = dh[j], uj = u[j], c = cand[j];
        dzn[j] = d * (1.0f - uj) * (1.0f - c * c);
        dzu[j] = d * (h_prev[j] - c) * uj * (1.0f - uj);
        dh_prev[j] = d * uj;
    }
}

static void gru_reset_backward(size_t n, const float *drh, const float *h_prev, const float *r, float *dzr,
                               float *dh_prev) {
    for (size_t j = 0; j < n; j++) {
        float rj = r[j];
        dzr[j] = drh[j] * h_prev[j] * rj * (1.0f - rj);
        dh_prev[j] += drh[j] * rj;
    }
}

static void tanh_forward(size_t n, const float *z, float *h) {
    for (size_t j = 0; j < n; j++) h[j] = tanhf(z[j]);
}

static void tanh_backward(size_t n, const float *dh, const float *h, float *dz) {
    for (size_t j = 0; j < n; j++) dz[j] = dh[j] * (1.0f - h[j] * h[j]);
}

const strata_gate_kernels strata_gates_reference = {
    lstm_forward, lstm_backward, gru_reset_forward, gru_output_forward,
    gru_output_backward, gru_reset_backward, tanh_forward, tanh_backward,
};
