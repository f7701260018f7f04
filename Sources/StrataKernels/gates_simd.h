// Private: the vector gate kernels, written once against a small set of primitives and included by each ISA file
// (gates_avx2.c, gates_avx512.c), which first defines:
//   vf, VN (lanes), vld, vst, vset, vadd, vsub, vmul, vdiv, vfma(a,b,c)=a*b+c, vfnma(a,b,c)=c-a*b, vabs,
//   vmax_keepnan(c, x) (max, returning x when x is NaN), vsel_lt(a, b, x, y) = a < b ? x : y,
//   vcopysign(mag, s) (|mag| with the sign of s), vround (to nearest integer), vpow2i(n) (2^n for integral n),
//   and SIMD_TABLE, the name of the table to define.
// The main loop runs over whole vectors; the remaining n % VN elements go through the scalar reference.
#include "gates_internal.h"

// exp(x) for x <= 0 (all the gates need): range reduction x = k·ln2 + r, |r| <= ln2/2, then a degree-6 polynomial
// (Cephes expf coefficients) and scaling by 2^k. Clamping at -87.3 keeps 2^k a normal number; below it the true
// result is < 1.2e-38, which the clamp rounds up to about that: harmless for gate math. NaN passes through.
static inline vf v_exp_nonpos(vf x) {
    x = vmax_keepnan(vset(-87.3f), x);
    vf k = vround(vmul(x, vset(1.44269504088896341f)));
    vf r = vfnma(k, vset(0.693359375f), x);
    r = vfnma(k, vset(-2.12194440e-4f), r);
    vf p = vset(1.9875691500e-4f);
    p = vfma(p, r, vset(1.3981999507e-3f));
    p = vfma(p, r, vset(8.3334519073e-3f));
    p = vfma(p, r, vset(4.1665795894e-2f));
    p = vfma(p, r, vset(1.6666665459e-1f));
    p = vfma(p, r, vset(5.0000001201e-1f));
    p = vfma(vmul(p, r), r, vadd(r, vset(1.0f)));
    return vmul(p, vpow2i(k));
}

// σ(x) = 1/(1+e) for x >= 0, e/(1+e) for x < 0, with e = exp(-|x|) in (0, 1]: no overflow for any x.
static inline vf v_sigmoid(vf x) {
    vf e = v_exp_nonpos(vsub(vset(0.0f), vabs(x)));
    vf s = vdiv(vset(1.0f), vadd(vset(1.0f), e));
    return vsel_lt(x, vset(0.0f), vmul(e, s), s);
}

// tanh: for |x| < 0.625 an odd polynomial (Cephes tanhf), where (1-e)/(1+e) would lose digits to cancellation;
// above, (1 - e)/(1 + e) with e = exp(-2|x|), which tends to 1 without overflow.
static inline vf v_tanh(vf x) {
    vf a = vabs(x);
    vf z = vmul(a, a);
    vf p = vset(-5.70498872745e-3f);
    p = vfma(p, z, vset(2.06390887954e-2f));
    p = vfma(p, z, vset(-5.37397155531e-2f));
    p = vfma(p, z, vset(1.33314422036e-1f));
    p = vfma(p, z, vset(-3.33332819422e-1f));
    vf small = vfma(vmul(p, z), a, a);
    vf e = v_exp_nonpos(vmul(a, vset(-2.0f)));
    vf large = vdiv(vsub(vset(1.0f), e), vadd(vset(1.0f), e));
    return vcopysign(vsel_lt(a, vset(0.625f), small, large), x);
}

static inline vf v_ld_or_zero(const float *p, size_t j) { return p ? vld(p + j) : vset(0.0f); }

// z + w⊙c, or z alone when there is no peephole: never 0·c, which would turn an infinite c into NaN where the
// reference (which skips the term) does not.
static inline vf v_peep(const float *w, size_t j, vf c, vf z) { return w ? vfma(vld(w + j), c, z) : z; }

static void simd_lstm_forward(size_t n, const float *zi, const float *zf, const float *zg, const float *zo,
                              const float *wci, const float *wcf, const float *wco, const float *c_prev,
                              float *h, float *c, float *ai, float *af, float *ag, float *ao) {
    size_t j = 0;
    for (; j + VN <= n; j += VN) {
        vf cp = vld(c_prev + j);
        vf i = v_sigmoid(v_peep(wci, j, cp, vld(zi + j)));
        vf f = v_sigmoid(v_peep(wcf, j, cp, vld(zf + j)));
        vf g = v_tanh(vld(zg + j));
        vf ct = vfma(i, g, vmul(f, cp));
        vf o = v_sigmoid(v_peep(wco, j, ct, vld(zo + j)));
        vf t = v_tanh(ct);
        vst(ai + j, i); vst(af + j, f); vst(ag + j, g); vst(ao + j, o);
        vst(c + j, ct);
        vst(h + j, vmul(o, t));
    }
    if (j < n)
        strata_gates_reference.lstm_forward(n - j, zi + j, zf + j, zg + j, zo + j, STRATA_OFFSET(wci, j),
                                            STRATA_OFFSET(wcf, j), STRATA_OFFSET(wco, j), c_prev + j, h + j, c + j,
                                            ai + j, af + j, ag + j, ao + j);
}

// c_t and tanh(c_t) recomputed with the forward's expressions (same bits), as in the reference.
static void simd_lstm_backward(size_t n, const float *dh, const float *dc_next, const float *c_prev,
                               const float *ai, const float *af, const float *ag, const float *ao,
                               const float *wci, const float *wcf, const float *wco,
                               float *dzi, float *dzf, float *dzg, float *dzo, float *dc_prev,
                               float *dwci, float *dwcf, float *dwco) {
    const vf one = vset(1.0f);
    size_t j = 0;
    for (; j + VN <= n; j += VN) {
        vf cp = vld(c_prev + j), i = vld(ai + j), f = vld(af + j), g = vld(ag + j), o = vld(ao + j);
        vf ct = vfma(i, g, vmul(f, cp)), t = v_tanh(ct);
        vf d = vld(dh + j);
        vf d_o = vmul(vmul(d, t), vmul(o, vsub(one, o)));
        vf dc = vfma(vmul(d, o), vfnma(t, t, one), v_ld_or_zero(dc_next, j));
        dc = v_peep(wco, j, d_o, dc);
        vf d_i = vmul(vmul(dc, g), vmul(i, vsub(one, i)));
        vf d_f = vmul(vmul(dc, cp), vmul(f, vsub(one, f)));
        vf d_g = vmul(vmul(dc, i), vfnma(g, g, one));
        vst(dzi + j, d_i); vst(dzf + j, d_f); vst(dzg + j, d_g); vst(dzo + j, d_o);
        vf dcp = vmul(dc, f);
        dcp = v_peep(wcf, j, d_f, v_peep(wci, j, d_i, dcp));
        vst(dc_prev + j, dcp);
        if (wci && dwci) vst(dwci + j, vfma(d_i, cp, vld(dwci + j)));
        if (wcf && dwcf) vst(dwcf + j, vfma(d_f, cp, vld(dwcf + j)));
        if (wco && dwco) vst(dwco + j, vfma(d_o, ct, vld(dwco + j)));
    }
    if (j < n)
        strata_gates_reference.lstm_backward(n - j, dh + j, STRATA_OFFSET(dc_next, j), c_prev + j, ai + j, af + j,
                                             ag + j, ao + j, STRATA_OFFSET(wci, j), STRATA_OFFSET(wcf, j),
                                             STRATA_OFFSET(wco, j), dzi + j, dzf + j, dzg + j, dzo + j, dc_prev + j,
                                             STRATA_OFFSET(dwci, j), STRATA_OFFSET(dwcf, j), STRATA_OFFSET(dwco, j));
}

static void simd_gru_reset_forward(size_t n, const float *zr, const float *zu, const float *h_prev,
                                   float *r, float *u, float *rh) {
    size_t j = 0;
    for (; j + VN <= n; j += VN) {
        vf rj = v_sigmoid(vld(zr + j));
        vst(u + j, v_sigmoid(vld(zu + j)));
        vst(r + j, rj);
        vst(rh + j, vmul(rj, vld(h_prev + j)));
    }
    if (j < n) strata_gates_reference.gru_reset_forward(n - j, zr + j, zu + j, h_prev + j, r + j, u + j, rh + j);
}

static void simd_gru_output_forward(size_t n, const float *zn, const float *u, const float *h_prev, float *cand,
                                    float *h) {
    size_t j = 0;
    for (; j + VN <= n; j += VN) {
        vf c = v_tanh(vld(zn + j)), uj = vld(u + j);
        vst(cand + j, c);
        vst(h + j, vfma(uj, vld(h_prev + j), vmul(vsub(vset(1.0f), uj), c)));
    }
    if (j < n) strata_gates_reference.gru_output_forward(n - j, zn + j, u + j, h_prev + j, cand + j, h + j);
}

static void simd_gru_output_backward(size_t n, const float *dh, const float *h_prev, const float *u,
                                     const float *cand, float *dzn, float *dzu, float *dh_prev) {
    const vf one = vset(1.0f);
    size_t j = 0;
    for (; j + VN <= n; j += VN) {
        vf d = vld(dh + j), uj = vld(u + j), c = vld(cand + j);
        vst(dzn + j, vmul(vmul(d, vsub(one, uj)), vfnma(c, c, one)));
        vst(dzu + j, vmul(vmul(d, vsub(vld(h_prev + j), c)), vmul(uj, vsub(one, uj))));
        vst(dh_prev + j, vmul(d, uj));
    }
    if (j < n)
        strata_gates_reference.gru_output_backward(n - j, dh + j, h_prev + j, u + j, cand + j, dzn + j, dzu + j,
                                                   dh_prev + j);
}

static void simd_gru_reset_backward(size_t n, const float *drh, const float *h_prev, const float *r, float *dzr,
                                    float *dh_prev) {
    size_t j = 0;
    for (; j + VN <= n; j += VN) {
        vf d = vld(drh + j), rj = vld(r + j);
        vst(dzr + j, vmul(vmul(d, vld(h_prev + j)), vmul(rj, vsub(vset(1.0f), rj))));
        vst(dh_prev + j, vfma(d, rj, vld(dh_prev + j)));
    }
    if (j < n) strata_gates_reference.gru_reset_backward(n - j, drh + j, h_prev + j, r + j, dzr + j, dh_prev + j);
}

static void simd_tanh_forward(size_t n, const float *z, float *h) {
    size_t j = 0;
    for (; j + VN <= n; j += VN) vst(h + j, v_tanh(vld(z + j)));
    if (j < n) strata_gates_reference.tanh_forward(n - j, z + j, h + j);
}

static void simd_tanh_backward(size_t n, const float *dh, const float *h, float *dz) {
    size_t j = 0;
    for (; j + VN <= n; j += VN) {
        vf hj = vld(h + j);
        vst(dz + j, vmul(vld(dh + j), vfnma(hj, hj, vset(1.0f))));
    }
    if (j < n) strata_gates_reference.tanh_backward(n - j, dh + j, h + j, dz + j);
}

const strata_gate_kernels SIMD_TABLE = {
    simd_lstm_forward, simd_lstm_backward, simd_gru_reset_forward, simd_gru_output_forward,
    simd_gru_output_backward, simd_gru_reset_backward, simd_tanh_forward, simd_tanh_backward,
};
