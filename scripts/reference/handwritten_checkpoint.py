"""Writes a Strata checkpoint by hand with numpy and safetensors only: the worked example of
docs/formats-checkpoint.md, kept runnable so that the doc cannot drift from what Strata loads.

Model: one ConvLSTM layer (2 input bands, 3 hidden channels, 3×3 kernel) and a 1×1 sigmoid head with 1 output.
Every weight is filled with the pattern ((i mod 17) − 8) / 16 over its flat index i (exact in float32), so a
test can recompute the values without reading this script's output.

Run from the repository root:  /work/.venv-torch/bin/python scripts/reference/handwritten_checkpoint.py
Writes Tests/StrataModelTests/Fixtures/handwritten/handwritten.safetensors (or --out PATH).
"""
import argparse
import json

import numpy as np
from safetensors.numpy import save_file

CIN, CH, K, OUTPUTS = 2, 3, 3, 1


def pattern(shape):
    count = int(np.prod(shape))
    return (((np.arange(count) % 17) - 8) / 16).astype(np.float32).reshape(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="Tests/StrataModelTests/Fixtures/handwritten/handwritten.safetensors")
    args = parser.parse_args()

    # ModelConfig: every key below is required except peephole_size and forecast_steps.
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
    metadata = {
        "format": "strata-checkpoint/1",
        "config": json.dumps(config),
        "normalization": json.dumps(normalization),
        "task": json.dumps(task),
    }
    save_file(tensors, args.out, metadata=metadata)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
