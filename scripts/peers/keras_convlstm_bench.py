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
import os
import resource
import statistics
import time

from peer_bench import CONFIGS, flops_per_step, main


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


if __name__ == "__main__":
    main(__doc__.split("\n")[0], __file__, measure)
