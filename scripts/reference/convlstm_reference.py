#!/usr/bin/env python3
"""Reference ConvLSTM, ConvGRU and ConvRNN in plain PyTorch, and the fixtures Strata's tests compare against.

This is a clean, minimal reference: each recurrence is written out step by step with one `conv2d` per gate group,
no library cell, no fused kernel, no GPU. It computes in float64 so that the stored values are exact to ~1e-15
and a float32 engine can be held to 1e-5 relative. See README.md beside this file for the formulas, the weight
layouts and every tensor name in the fixtures.

Legend: B batch, T time steps, Cin input channels, Ch hidden channels, H height, W width, K kernel size,
G gates (4 for LSTM).

Usage (from the repository root, with the venv described in README.md):
    /work/.venv-torch/bin/python scripts/reference/convlstm_reference.py [--out Tests/StrataModelTests/Fixtures]
"""
import argparse
import hashlib
import json
import os
import struct

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_default_dtype(torch.float64)


# --- cells -------------------------------------------------------------------------------------------------------

def convlstm_layer(x, weight, bias, h0, c0, peepholes=None):
    """One ConvLSTM layer over a whole sequence.

    x [B, T, Cin, H, W]; weight [4Ch, Cin+Ch, K, K] (input channels: x first, then h; output blocks i, f, g, o);
    bias [4Ch]; h0, c0 [B, Ch, H, W]; peepholes None or (w_ci, w_cf, w_co), each [Ch, H, W] (Shi et al. 2015).
    Returns hidden [B, T, Ch, H, W] and the last cell state [B, Ch, H, W].
    """
    k = weight.shape[-1]
    h, c = h0, c0
    hidden = []
    for t in range(x.shape[1]):
        z = F.conv2d(torch.cat([x[:, t], h], dim=1), weight, bias, padding=k // 2)
        z_i, z_f, z_g, z_o = z.chunk(4, dim=1)
        if peepholes is not None:
            w_ci, w_cf, w_co = peepholes
            z_i = z_i + w_ci * c          # c_{t-1}
            z_f = z_f + w_cf * c
        i = torch.sigmoid(z_i)
        f = torch.sigmoid(z_f)
        g = torch.tanh(z_g)
        c = f * c + i * g
        if peepholes is not None:
            z_o = z_o + w_co * c          # c_t: the output gate looks at the new cell state
        o = torch.sigmoid(z_o)
        h = o * torch.tanh(c)
        hidden.append(h)
    return torch.stack(hidden, dim=1), c


def convgru_layer(x, weight_gates, bias_gates, weight_candidate, bias_candidate, h0):
    """One ConvGRU layer (reset gate applied to h before the candidate convolution).

    [r, z] = sigmoid(conv(cat(x_t, h_{t-1}), weight_gates [2Ch, Cin+Ch, K, K]) + bias_gates [2Ch])   blocks r, z
    n      = tanh(conv(cat(x_t, r * h_{t-1}), weight_candidate [Ch, Cin+Ch, K, K]) + bias_candidate [Ch])
    h_t    = (1 - z) * n + z * h_{t-1}                                (z weights the old state, as in torch.nn.GRU)
    Returns hidden [B, T, Ch, H, W].
    """
    k = weight_gates.shape[-1]
    h = h0
    hidden = []
    for t in range(x.shape[1]):
        gates = F.conv2d(torch.cat([x[:, t], h], dim=1), weight_gates, bias_gates, padding=k // 2)
        r, z = torch.sigmoid(gates).chunk(2, dim=1)
        n = torch.tanh(F.conv2d(torch.cat([x[:, t], r * h], dim=1), weight_candidate, bias_candidate,
                                padding=k // 2))
        h = (1 - z) * n + z * h
        hidden.append(h)
    return torch.stack(hidden, dim=1)


def convrnn_layer(x, weight, bias, h0):
    """One plain ConvRNN layer: h_t = tanh(conv(cat(x_t, h_{t-1}), weight [Ch, Cin+Ch, K, K]) + bias [Ch])."""
    k = weight.shape[-1]
    h = h0
    hidden = []
    for t in range(x.shape[1]):
        h = torch.tanh(F.conv2d(torch.cat([x[:, t], h], dim=1), weight, bias, padding=k // 2))
        hidden.append(h)
    return torch.stack(hidden, dim=1)


# --- initialisation ----------------------------------------------------------------------------------------------

def init_conv(gen, out_channels, in_channels, k):
    """PyTorch's default conv init: weight and bias uniform in +-1/sqrt(fan_in), fan_in = in_channels * K * K."""
    bound = 1.0 / (in_channels * k * k) ** 0.5
    weight = (torch.rand(out_channels, in_channels, k, k, generator=gen) * 2 - 1) * bound
    bias = (torch.rand(out_channels, generator=gen) * 2 - 1) * bound
    return weight, bias


def init_convlstm(gen, cin, ch, k):
    """Strata's ConvLSTM init: default conv weights, bias 0 except the forget block (rows Ch..2Ch), which is 1
    so that the cell remembers by default at the start of training."""
    weight, _ = init_conv(gen, 4 * ch, cin + ch, k)
    bias = torch.zeros(4 * ch)
    bias[ch:2 * ch] = 1.0
    return weight, bias


# --- fixture helpers ---------------------------------------------------------------------------------------------

def as_f32_exact(t):
    """Round to float32 and back, so inputs stored as F32 are exactly the values the float64 reference used."""
    return t.float().double()


def randn(gen, *shape, scale=1.0):
    return as_f32_exact(torch.randn(*shape, generator=gen) * scale)


def leaf(t):
    return t.clone().requires_grad_(True)


def write_fixture(path, inputs, outputs, config):
    """inputs are stored as F32 (exact: see as_f32_exact), outputs and gradients as F64.

    The metadata gets `config` (JSON string), `torch_version`, and `sha256`: the hex SHA-256 of the data buffer,
    the same convention Strata's writer uses; it is computed from the file itself and the file rewritten with it
    (the buffer does not change because the tensors do not).
    """
    tensors = {name: t.detach().float().contiguous() for name, t in inputs.items()}
    overlap = set(inputs) & set(outputs)
    assert not overlap, overlap
    tensors.update({name: t.detach().double().contiguous() for name, t in outputs.items()})
    metadata = {"config": json.dumps(config, sort_keys=True), "torch_version": torch.__version__}
    save_file(tensors, path, metadata=metadata)
    with open(path, "rb") as fh:
        raw = fh.read()
    (header_length,) = struct.unpack("<Q", raw[:8])
    metadata["sha256"] = hashlib.sha256(raw[8 + header_length:]).hexdigest()
    save_file(tensors, path, metadata=metadata)
    with open(path, "rb") as fh:
        raw = fh.read()
    (header_length,) = struct.unpack("<Q", raw[:8])
    assert hashlib.sha256(raw[8 + header_length:]).hexdigest() == metadata["sha256"]
    print(f"{os.path.basename(path)}: {len(tensors)} tensors, {len(raw)} bytes")


def grads_of(loss, named_leaves):
    names = list(named_leaves)
    values = torch.autograd.grad(loss, [named_leaves[n] for n in names])
    return {f"grad.{n}": g for n, g in zip(names, values)}


SIZES = dict(batch=2, time=4, input_channels=3, height=8, width=7)


# --- fixtures ----------------------------------------------------------------------------------------------------

def fixture_convlstm(out_dir, name, seed, hidden, k, peepholes):
    """(a) k=3, (b) peepholes with k=5, (c) k=1: one layer, nonzero h0/c0, loss = sum(hidden * upstream)."""
    gen = torch.Generator().manual_seed(seed)
    b, t, cin, hgt, wid = (SIZES[key] for key in ("batch", "time", "input_channels", "height", "width"))
    weight, bias = init_convlstm(gen, cin, hidden, k)
    # Perturb the bias so that a mix-up of gate blocks shows in the outputs (the init alone is 0/1 per block).
    bias = bias + torch.randn(4 * hidden, generator=gen) * 0.1
    params = {"cell.weight": leaf(as_f32_exact(weight)), "cell.bias": leaf(as_f32_exact(bias))}
    if peepholes:
        for gate in ("w_ci", "w_cf", "w_co"):
            params[f"cell.{gate}"] = leaf(randn(gen, hidden, hgt, wid, scale=0.3))
    data = {
        "input": leaf(randn(gen, b, t, cin, hgt, wid)),
        "h0": leaf(randn(gen, b, hidden, hgt, wid, scale=0.5)),
        "c0": leaf(randn(gen, b, hidden, hgt, wid, scale=0.5)),
    }
    upstream = randn(gen, b, t, hidden, hgt, wid)
    peep = tuple(params[f"cell.{g}"] for g in ("w_ci", "w_cf", "w_co")) if peepholes else None
    hidden_all, cell_last = convlstm_layer(data["input"], params["cell.weight"], params["cell.bias"],
                                           data["h0"], data["c0"], peep)
    loss = (hidden_all * upstream).sum()
    outputs = {"hidden": hidden_all, "cell_last": cell_last, "loss": loss}
    outputs.update(grads_of(loss, {**params, **data}))
    config = dict(SIZES, cell="convlstm", hidden_channels=hidden, kernel_size=k, peepholes=peepholes,
                  gate_order="i,f,g,o", loss="sum(hidden * upstream)", seed=seed)
    if k == 1 and not peepholes:
        check_against_torch_lstm(data, params, hidden_all, cell_last)
    write_fixture(os.path.join(out_dir, name), {**params, **data, "upstream": upstream}, outputs, config)


def pixels_as_batch(state):
    """[B, C, H, W] -> [1, B*H*W, C]: every pixel becomes one sequence of torch.nn.LSTM's batch."""
    return state.permute(0, 2, 3, 1).reshape(1, -1, state.shape[1])


def check_against_torch_lstm(data, params, hidden_all, cell_last):
    """With K = 1 a ConvLSTM is a per-pixel LSTM: torch.nn.LSTM must agree, which pins the i, f, g, o order and
    the x-then-h channel order to PyTorch's own convention."""
    x = data["input"].detach()
    b, t, cin, hgt, wid = x.shape
    ch = data["h0"].shape[1]
    lstm = torch.nn.LSTM(cin, ch, batch_first=True)
    with torch.no_grad():
        weight = params["cell.weight"].detach()[:, :, 0, 0]
        lstm.weight_ih_l0.copy_(weight[:, :cin])
        lstm.weight_hh_l0.copy_(weight[:, cin:])
        lstm.bias_ih_l0.copy_(params["cell.bias"].detach())
        lstm.bias_hh_l0.zero_()
        seq = x.permute(0, 3, 4, 1, 2).reshape(b * hgt * wid, t, cin)
        out, (_, c_n) = lstm(seq, (pixels_as_batch(data["h0"].detach()), pixels_as_batch(data["c0"].detach())))
        expected = out.reshape(b, hgt, wid, t, ch).permute(0, 3, 4, 1, 2)
    assert torch.allclose(expected, hidden_all.detach(), rtol=0, atol=1e-12), "per-pixel LSTM disagrees"
    assert torch.allclose(c_n.reshape(b, hgt, wid, ch).permute(0, 3, 1, 2), cell_last.detach(), atol=1e-12)
    print("k=1 ConvLSTM matches torch.nn.LSTM per pixel")


def fixture_stack(out_dir, name, seed, hiddens=(4, 6), k=3):
    """(d) two stacked ConvLSTM layers (zero initial state), a 1x1 conv head on the last layer's h_T, sigmoid,
    and binary cross-entropy (mean over B*H*W) against a random 0/1 target."""
    gen = torch.Generator().manual_seed(seed)
    b, t, cin, hgt, wid = (SIZES[key] for key in ("batch", "time", "input_channels", "height", "width"))
    params = {}
    channels_in = cin
    for index, ch in enumerate(hiddens):
        weight, bias = init_convlstm(gen, channels_in, ch, k)
        bias = bias + torch.randn(4 * ch, generator=gen) * 0.1
        params[f"layers.{index}.weight"] = leaf(as_f32_exact(weight))
        params[f"layers.{index}.bias"] = leaf(as_f32_exact(bias))
        channels_in = ch
    head_weight, head_bias = init_conv(gen, 1, hiddens[-1], 1)
    params["head.weight"] = leaf(as_f32_exact(head_weight))
    params["head.bias"] = leaf(as_f32_exact(head_bias))
    x = leaf(randn(gen, b, t, cin, hgt, wid))
    target = (torch.rand(b, 1, hgt, wid, generator=gen) < 0.5).double()

    outputs = {}
    sequence = x
    for index, ch in enumerate(hiddens):
        zeros = torch.zeros(b, ch, hgt, wid)
        sequence, cell_last = convlstm_layer(sequence, params[f"layers.{index}.weight"],
                                             params[f"layers.{index}.bias"], zeros, zeros)
        outputs[f"layers.{index}.hidden"] = sequence
        outputs[f"layers.{index}.cell_last"] = cell_last
    logits = F.conv2d(sequence[:, -1], params["head.weight"], params["head.bias"])
    probability = torch.sigmoid(logits)
    loss = F.binary_cross_entropy(probability, target)   # -mean(y log p + (1 - y) log(1 - p))
    outputs.update({"logits": logits, "probability": probability, "loss": loss})
    outputs.update(grads_of(loss, {**params, "input": x}))
    config = dict(SIZES, cell="convlstm", hidden_channels=list(hiddens), kernel_size=k, peepholes=False,
                  gate_order="i,f,g,o", initial_state="zeros", head="conv1x1(h_T of last layer) + sigmoid",
                  loss="binary_cross_entropy(probability, target), mean over B*H*W", seed=seed)
    write_fixture(os.path.join(out_dir, name), {**params, "input": x, "target": target}, outputs, config)


def fixture_gru(out_dir, name, seed, hidden=5, k=3):
    """(e) one ConvGRU layer like (a): nonzero h0, loss = sum(hidden * upstream)."""
    gen = torch.Generator().manual_seed(seed)
    b, t, cin, hgt, wid = (SIZES[key] for key in ("batch", "time", "input_channels", "height", "width"))
    weight_gates, bias_gates = init_conv(gen, 2 * hidden, cin + hidden, k)
    weight_candidate, bias_candidate = init_conv(gen, hidden, cin + hidden, k)
    params = {
        "cell.weight_gates": leaf(as_f32_exact(weight_gates)),
        "cell.bias_gates": leaf(as_f32_exact(bias_gates)),
        "cell.weight_candidate": leaf(as_f32_exact(weight_candidate)),
        "cell.bias_candidate": leaf(as_f32_exact(bias_candidate)),
    }
    data = {"input": leaf(randn(gen, b, t, cin, hgt, wid)), "h0": leaf(randn(gen, b, hidden, hgt, wid, scale=0.5))}
    upstream = randn(gen, b, t, hidden, hgt, wid)
    hidden_all = convgru_layer(data["input"], params["cell.weight_gates"], params["cell.bias_gates"],
                               params["cell.weight_candidate"], params["cell.bias_candidate"], data["h0"])
    loss = (hidden_all * upstream).sum()
    outputs = {"hidden": hidden_all, "loss": loss}
    outputs.update(grads_of(loss, {**params, **data}))
    config = dict(SIZES, cell="convgru", hidden_channels=hidden, kernel_size=k, gate_order="r,z",
                  candidate="tanh(conv(cat(x, r*h)))", update="(1-z)*n + z*h", loss="sum(hidden * upstream)",
                  seed=seed)
    write_fixture(os.path.join(out_dir, name), {**params, **data, "upstream": upstream}, outputs, config)


def fixture_rnn(out_dir, name, seed, hidden=5, k=3):
    """(e) one plain ConvRNN layer like (a): nonzero h0, loss = sum(hidden * upstream)."""
    gen = torch.Generator().manual_seed(seed)
    b, t, cin, hgt, wid = (SIZES[key] for key in ("batch", "time", "input_channels", "height", "width"))
    weight, bias = init_conv(gen, hidden, cin + hidden, k)
    params = {"cell.weight": leaf(as_f32_exact(weight)), "cell.bias": leaf(as_f32_exact(bias))}
    data = {"input": leaf(randn(gen, b, t, cin, hgt, wid)), "h0": leaf(randn(gen, b, hidden, hgt, wid, scale=0.5))}
    upstream = randn(gen, b, t, hidden, hgt, wid)
    hidden_all = convrnn_layer(data["input"], params["cell.weight"], params["cell.bias"], data["h0"])
    loss = (hidden_all * upstream).sum()
    outputs = {"hidden": hidden_all, "loss": loss}
    outputs.update(grads_of(loss, {**params, **data}))
    config = dict(SIZES, cell="convrnn", hidden_channels=hidden, kernel_size=k, loss="sum(hidden * upstream)",
                  seed=seed)
    write_fixture(os.path.join(out_dir, name), {**params, **data, "upstream": upstream}, outputs, config)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(root, "Tests", "StrataModelTests", "Fixtures"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    fixture_convlstm(args.out, "convlstm_k3.safetensors", seed=2015, hidden=5, k=3, peepholes=False)
    fixture_convlstm(args.out, "convlstm_peephole_k5.safetensors", seed=2016, hidden=5, k=5, peepholes=True)
    fixture_convlstm(args.out, "convlstm_k1.safetensors", seed=2017, hidden=5, k=1, peepholes=False)
    fixture_stack(args.out, "convlstm_stack_head.safetensors", seed=2018)
    fixture_gru(args.out, "convgru_k3.safetensors", seed=2019)
    fixture_rnn(args.out, "convrnn_k3.safetensors", seed=2020)


if __name__ == "__main__":
    main()
