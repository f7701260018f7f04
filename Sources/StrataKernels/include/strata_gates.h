// Fused element-wise gate math for ConvLSTM, ConvGRU and ConvRNN cells, forward and backward.
//
// Legend: B batch, Ch hidden channels, HW = H·W pixels, G gates. All tensors are dense fp32, NCHW-style:
// a "[B, G·Ch, HW]" tensor holds, for each batch item, G consecutive blocks of Ch·HW values (gate-major).
// The convolutions that produce the gate pre-activations live in strata_conv.h; these kernels do everything between
// them in one pass over memory. Each kernel dispatches on strata_isa_active(): AVX-512 or AVX2/FMA vector code
// (with a polynomial exp/tanh good to a few ulp), or, with STRATA_ISA=scalar, the scalar reference built on libm's
// expf/tanhf that the vector variants are tested against. sigmoid(x) is evaluated as 1/(1+e^-|x|) (times e^-|x|
// for x < 0), so no exponent ever overflows, whatever |x| is; NaN inputs give NaN outputs.
//
// In-place use: an overwritten output may alias an input of the same shape, since each element is read before it is
// written (c_t over c_{t-1} and gates over z in the LSTM forward, dc_prev over dc_next and dz over gates in its
// backward, dh_prev over dh in the GRU output backward, h over z in the RNN). Accumulated (+=) outputs must not alias
// any input.
#ifndef STRATA_GATES_H
#define STRATA_GATES_H
#include <stddef.h>
#include <stdint.h>

// ---- ConvLSTM (Shi et al. 2015), gate order i, f, g, o (PyTorch / Keras) -------------------------------------
//   i = σ(z_i + w_ci⊙c_{t-1})   f = σ(z_f + w_cf⊙c_{t-1})   g = tanh(z_g)
//   c_t = f⊙c_{t-1} + i⊙g       o = σ(z_o + w_co⊙c_t)       h_t = o⊙tanh(c_t)
// Peephole weights w_ci, w_cf, w_co are [Ch, HW] (Ch·H·W), shared over the batch; pass NULL for none (each may be
// NULL on its own). The gates [B, 4·Ch, HW] (blocks i, f, g, o, activated) are all that backward needs besides
// c_{t-1}: it recomputes c_t = f⊙c_{t-1} + i⊙g and tanh(c_t) with the same expressions as the forward, so from the
// same bits. gates may alias z and dz may alias gates, so one [B, 4·Ch, HW] buffer per step serves as the
// pre-activations, then the gates, then their gradients.

/// z [B, 4·Ch, HW] pre-activations; c_prev [B, Ch, HW]; w_* [Ch, HW] or NULL.
/// Writes h [B, Ch, HW], c [B, Ch, HW] (may alias c_prev) and gates [B, 4·Ch, HW] (may alias z).
void strata_lstm_cell_forward(int B, int Ch, int HW, const float *z, const float *w_ci, const float *w_cf,
                              const float *w_co, const float *c_prev, float *h, float *c, float *gates);

/// dh [B, Ch, HW] gradient of the loss w.r.t. h_t; dc_next [B, Ch, HW] gradient w.r.t. c_t from step t+1 (NULL at
/// the last step); c_prev [B, Ch, HW]; gates from the forward; w_* as in the forward.
/// Writes dz [B, 4·Ch, HW] (i, f, g, o pre-activation gradients; may alias gates) and dc_prev [B, Ch, HW] (may alias
/// dc_next); accumulates (+=, summed over the batch) dw_ci, dw_cf, dw_co [Ch, HW], each ignored when its w is NULL.
void strata_lstm_cell_backward(int B, int Ch, int HW, const float *dh, const float *dc_next, const float *c_prev,
                               const float *gates, const float *w_ci, const float *w_cf, const float *w_co,
                               float *dz, float *dc_prev, float *dw_ci, float *dw_cf, float *dw_co);

// bf16 gate store (gates_bf16.c): the same two kernels with the gates, and then dz, kept as bf16 bits, for a cell
// under precision bf16 whose convolutions read dz in bf16 anyway. Each equals the fp32 kernel followed by rounding
// the gates (forward) or preceded by widening them and followed by rounding dz (backward); h, c and dc stay fp32.

/// strata_lstm_cell_forward writing the activated gates [B, 4·Ch, HW] as bf16 (z is not modified).
void strata_lstm_cell_forward_bf16(int B, int Ch, int HW, const float *z, const float *w_ci, const float *w_cf,
                                   const float *w_co, const float *c_prev, float *h, float *c, uint16_t *gates);

/// strata_lstm_cell_backward reading bf16 gates and writing dz [B, 4·Ch, HW] as bf16 (dz may alias gates).
void strata_lstm_cell_backward_bf16(int B, int Ch, int HW, const float *dh, const float *dc_next,
                                    const float *c_prev, const uint16_t *gates, const float *w_ci, const float *w_cf,
                                    const float *w_co, uint16_t *dz, float *dc_prev, float *dw_ci, float *dw_cf,
                                    float *dw_co);

// ---- ConvGRU (Ballas et al. 2016), gate order r, u (update), n (candidate) --------------------------------------
//   r = σ(z_r)   u = σ(z_u)   n = tanh(z_n)   h_t = (1 - u)⊙n + u⊙h_{t-1}    (PyTorch's convention for u)
// where [z_r, z_u] = Conv_ru([x_t, h_{t-1}]) and z_n = Conv_n([x_t, r⊙h_{t-1}]). Because r⊙h feeds a convolution
// (Ballas et al.; unlike PyTorch's GRU, which applies r after the hidden matmul), a step is two fused kernels around
// that convolution:
//   forward:  conv_ru -> strata_gru_reset_forward (r, u, r⊙h) -> conv_n -> strata_gru_output_forward (n, h_t)
//   backward: strata_gru_output_backward (dz_n, dz_u, dh_prev) -> conv_n backward (d[x, r⊙h]) ->
//             strata_gru_reset_backward (dz_r, dh_prev +=) -> conv_ru backward
// gates [B, 2·Ch, HW] holds the activated r and u blocks; n [B, Ch, HW] is the activated candidate. As in the LSTM,
// each result may be written over what it is computed from, so a step needs one [B, 2·Ch, HW] and one [B, Ch, HW]
// buffer for pre-activations, activations and gradients: gates over z_ru, n over z_n, dz_n over n, and dz_ru over
// gates (the u block by the output backward, then the r block by the reset backward, which reads only r).

/// z_ru [B, 2·Ch, HW] (blocks r, u); h_prev [B, Ch, HW]. Writes gates [B, 2·Ch, HW] and rh = r⊙h_prev [B, Ch, HW].
void strata_gru_reset_forward(int B, int Ch, int HW, const float *z_ru, const float *h_prev, float *gates, float *rh);

/// z_n [B, Ch, HW]; gates and h_prev as above. Writes n [B, Ch, HW] and h [B, Ch, HW] (h may alias h_prev only if
/// the caller no longer needs h_prev; backward does).
void strata_gru_output_forward(int B, int Ch, int HW, const float *z_n, const float *gates, const float *h_prev,
                               float *n, float *h);

/// dh [B, Ch, HW] gradient w.r.t. h_t (from the loss and from step t+1); h_prev, gates, n from the forward.
/// Writes dz_n [B, Ch, HW], the u block of dz_ru [B, 2·Ch, HW], and dh_prev [B, Ch, HW] = dh⊙u (overwritten).
void strata_gru_output_backward(int B, int Ch, int HW, const float *dh, const float *h_prev, const float *gates,
                                const float *n, float *dz_n, float *dz_ru, float *dh_prev);

/// drh [B, Ch, HW] gradient w.r.t. r⊙h_prev (from conv_n's input gradient); h_prev, gates from the forward.
/// Writes the r block of dz_ru [B, 2·Ch, HW]; accumulates dh_prev [B, Ch, HW] += drh⊙r.
void strata_gru_reset_backward(int B, int Ch, int HW, const float *drh, const float *h_prev, const float *gates,
                               float *dz_ru, float *dh_prev);

// ---- Plain ConvRNN: h_t = tanh(z), z = Conv([x_t, h_{t-1}]) -----------------------------------------------------

/// z [count] -> h [count] = tanh(z) (h may alias z). count = B·Ch·HW.
void strata_rnn_cell_forward(size_t count, const float *z, float *h);
/// dh, h [count] -> dz [count] = dh⊙(1 - h²) (dz may alias dh).
void strata_rnn_cell_backward(size_t count, const float *dh, const float *h, float *dz);

// ---- Masked state update (missing / invalid pixels keep their state) ------------------------------------------
// mask [B, HW] uint8, non-zero = valid; broadcast over the Ch channels. Pure selection, so bit-exact.

/// h_out = m ? h_new : h_prev, and likewise for c when c_new is not NULL (GRU / RNN pass NULL for all c pointers).
/// Each *_out [B, Ch, HW] may alias its *_new or *_prev.
void strata_masked_state_update(int B, int Ch, int HW, const uint8_t *mask, const float *h_new, const float *h_prev,
                                float *h_out, const float *c_new, const float *c_prev, float *c_out);

/// Backward of the update for one state tensor: d_new = m ? d_out : 0 (overwritten); d_prev += m ? 0 : d_out.
/// All [B, Ch, HW]; d_new may alias d_out.
void strata_masked_state_backward(int B, int Ch, int HW, const uint8_t *mask, const float *d_out, float *d_new,
                                  float *d_prev);
#endif
