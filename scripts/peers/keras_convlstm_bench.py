#!/usr/bin/env python3
"""Keras 3 / TensorFlow peer of `strata bench train`: the same ConvLSTM configurations, model, head, loss and optimizer.

For comparison only; Keras and TensorFlow are never dependencies of Strata (see scripts/peers/README.md).

Model (as Strata's TrainBenchConfig and the PyTorch peer): a stack of keras.layers.ConvLSTM2D layers (padding 'same',
return_sequences, no peepholes: Keras has none; unit_forget_bias as Keras defaults), then a 1x1 Conv3D head with Cin
outputs over every step of the top layer; MSE against a random target shaped like the input; Adam (lr 1e-3). Keras is
channels-last, so the tensors are [B, T, H, W, C]. A training step is one `model.train_on_batch` on a model compiled
with Keras's defaults (jit_compile="auto"). bf16 sets the "mixed_bfloat16" policy before the model is built:
variables stay fp32, layers compute in bf16, as Keras documents for mixed precision.

Each number is the median of --steps timed training steps after --warmup untimed ones (the first step traces and
compiles); peak_rss_mib is ru_maxrss of a fresh child process that runs exactly one configuration, precision and
thread count. Threads: TensorFlow's intra-op and inter-op pools are both set to --threads.

    python scripts/peers/keras_convlstm_bench.py --json                      # everything, one child per case
    python scripts/peers/keras_convlstm_bench.py --config b --precision fp32 --threads 2 --steps 7
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

CONFIGS = {
    # name: batch, steps, size, input channels, hidden per layer, kernel (as in pytorch_convlstm_bench.py)
    "a": dict(batch=4, steps=10, size=64, cin=1, hidden=[64], kernel=5),
    "b": dict(batch=8, steps=12, size=32, cin=6, hidden=[32, 32], kernel=3),
    "c": dict(batch=16, steps=24, size=16, cin=4, hidden=[16], kernel=3),
}


def flops_per_step(cfg):
    """Convolution flops forward + 2x backward, counted exactly as Strata's TrainBenchConfig.flopsPerStep."""
    images, pixels = cfg["batch"] * cfg["steps"], cfg["size"] ** 2
    forward, below = 0.0, cfg["cin"]
    for ch in cfg["hidden"]:
        forward += 2 * 4 * ch * (below + ch) * cfg["kernel"] ** 2 * pixels * images
        below = ch
    forward += 2 * cfg["cin"] * below * pixels * images
    return 3 * forward


def measure(name, precision, threads, steps, warmup):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    keras.utils.set_random_seed(1)
    if precision == "bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    cfg = CONFIGS[name]
    shape = (cfg["batch"], cfg["steps"], cfg["size"], cfg["size"], cfg["cin"])
    inputs = keras.Input(shape=shape[1:], batch_size=cfg["batch"])
    y = inputs
    for ch in cfg["hidden"]:
        y = keras.layers.ConvLSTM2D(ch, cfg["kernel"], padding="same", return_sequences=True)(y)
    # The head's output is fp32 under mixed precision too, so the loss is computed in fp32 as in the PyTorch peer.
    outputs = keras.layers.Conv3D(cfg["cin"], 1, dtype="float32")(y)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    rng = np.random.default_rng(1)
    x = rng.random(shape, dtype=np.float32)
    target = rng.random(shape, dtype=np.float32)

    last = 0.0
    for _ in range(warmup):
        last = float(model.train_on_batch(x, target))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        last = float(model.train_on_batch(x, target))
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "framework": "keras", "config": name, "precision": precision, "threads": threads,
        "seconds_per_step": round(median, 5), "min_seconds_per_step": round(min(times), 5),
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "steps": steps, "warmup": warmup, "gflops": round(flops_per_step(cfg) / median / 1e9, 2),
        "percent_of_peak": None, "isa": f"keras {keras.__version__} tensorflow {tf.__version__}",
        "loss": round(last, 6),
    }


def table_row(r):
    return (f"{r['config']:<8}{r['precision']:<11}{r['threads']:<9}{r['seconds_per_step']:>12.4f}"
            f"{r['peak_rss_mib']:>11.1f}{r['gflops']:>10.1f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="a,b,c", help="comma-separated: a, b, c")
    p.add_argument("--precision", default="fp32,bf16", help="comma-separated: fp32, bf16")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--steps", type=int, default=10, help="timed steps (the median is reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (the first one compiles)")
    p.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    p.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    cases = [(c, pr, int(t)) for c in a.config.split(",") for pr in a.precision.split(",")
             for t in a.threads.split(",")]
    if not a.json:
        print(f"{'config':<8}{'precision':<11}{'threads':<9}{'s/step':>12}{'RSS MiB':>11}{'GFLOP/s':>10}")
    for c, pr, t in cases:
        if a.in_process:
            result = measure(c, pr, t, a.steps, a.warmup)
        else:
            # A fresh interpreter per case, so ru_maxrss is this case's peak alone and the policy is unset.
            out = subprocess.run([sys.executable, __file__, "--in-process", "--json", "--config", c, "--precision",
                                  pr, "--threads", str(t), "--steps", str(a.steps), "--warmup", str(a.warmup)],
                                 check=True, capture_output=True, text=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(result) if a.json else table_row(result), flush=True)


if __name__ == "__main__":
    main()
