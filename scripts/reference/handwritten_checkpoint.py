"""Writes a Strata checkpoint by hand with numpy and safetensors only: the worked example of
docs/formats-checkpoint.md, kept runnable so that the doc cannot drift from what Strata loads (a Swift test
checks that the doc's example is the block between the markers below, and loads this script's output).

Model: one ConvLSTM layer (2 input bands, 3 hidden channels, 3×3 kernel) and a 1×1 sigmoid head with 1 output.
Every weight is filled with the pattern ((i mod 17) − 8) / 16 over its flat index i (exact in float32), so the
test can recompute the values without reading this script.

Run from the repository root:  /work/.venv-torch/bin/python scripts/reference/handwritten_checkpoint.py [PATH]
Writes Tests/StrataModelTests/Fixtures/handwritten/handwritten.safetensors unless PATH is given.
"""
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "Tests/StrataModelTests/Fixtures/handwritten/handwritten.safetensors"

# --- example (docs/formats-checkpoint.md) ---
import json

import numpy as np
from safetensors.numpy import save_file

CIN, CH, K, OUTPUTS = 2, 3, 3, 1     # input bands, hidden channels, kernel size, head outputs


def pattern(shape):
    """Stand-in weights: ((i mod 17) - 8) / 16 over the flat index i. Use your trained arrays instead."""
    count = int(np.prod(shape))
    return (((np.arange(count) % 17) - 8) / 16).astype(np.float32).reshape(shape)


# ModelConfig: every key is required except peephole_size, forecast_steps and space_to_depth.
config = {
    "cell": "convlstm", "input_channels": CIN, "hidden": [CH], "kernel": [K],
    "peephole": "none", "bidirectional": False, "output": "last", "architecture": "stack",
    "head": {"kind": "conv1x1", "outputs": OUTPUTS, "activation": "sigmoid"},
}
# PyTorch layout: gate convolution [4·Ch, Cin+Ch, K, K], blocks i, f, g, o; input channels x then h.
tensors = {
    "layers.0.weight": pattern((4 * CH, CIN + CH, K, K)),
    "layers.0.bias": pattern((4 * CH,)),
    "head.weight": pattern((OUTPUTS, CH, 1, 1)),
    "head.bias": pattern((OUTPUTS,)),
}
normalization = {"mean": [0.05, 0.25], "std": [0.02, 0.1], "count": [1000, 1000]}
task = {"kind": "segmentation", "band_names": ["red", "nir"], "target_names": ["burned"],
        "patch_size": [32, 32], "min_input_steps": 3}
metadata = {                          # values must be strings: nested JSON goes in as json.dumps(...)
    "format": "strata-checkpoint/1",
    "config": json.dumps(config),
    "normalization": json.dumps(normalization),
    "task": json.dumps(task),
}
save_file(tensors, path, metadata=metadata)
# --- end of example ---
print("wrote", path)
