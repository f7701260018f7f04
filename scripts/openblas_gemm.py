#!/usr/bin/env python3
"""OpenBLAS fp32 GEMM on the shapes of `strata bench kernels`, for docs/benchmarks.md.

numpy's bundled OpenBLAS (numpy >= 2 ships scipy-openblas) times np.dot on float32 A[M,K] · B[K,N]: the median of 7
runs after 2 warm-ups, the same protocol as the Strata bench, one JSON object per line in the same format.

Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (a stale value makes OpenBLAS pick slower kernels) and the
thread count fixed before numpy loads:

    for t in 1 2; do env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$t python3 scripts/openblas_gemm.py; done
"""
import json
import os
import time

import numpy as np

SHAPES = [(512, 512, 512), (256, 4096, 1625), (128, 1024, 576)]


def median_seconds(a, b, warmups=2, repetitions=7):
    for _ in range(warmups):
        np.dot(a, b)
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        np.dot(a, b)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main():
    rng = np.random.default_rng(1)
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "0")) or os.cpu_count()
    for m, n, k in SHAPES:
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
        seconds = median_seconds(a, b)
        print(json.dumps({"name": "openblas", "isa": "openblas", "precision": "fp32", "threads": threads,
                          "m": m, "n": n, "k": k, "gflops": round(2.0 * m * n * k / seconds / 1e9, 2),
                          "seconds": round(seconds, 6)}))


if __name__ == "__main__":
    main()
