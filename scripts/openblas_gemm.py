#!/usr/bin/env python3
"""OpenBLAS (or Intel MKL) fp32 GEMM on the shapes of `strata bench kernels`, for docs/benchmarks.md.

Times float32 A[M,K] · B[K,N] (row-major): the median of 7 runs after 2 warm-ups, the same protocol as the Strata
bench, one JSON object per line in the same format. By default through numpy's bundled OpenBLAS (numpy >= 2 ships
scipy-openblas, np.dot); with OPENBLAS_LIB set, `cblas_sgemm` of that library through ctypes instead, e.g. Debian's
0.3.21 (`apt-get install libopenblas0-pthread`; then set the libblas.so.3 alternative back to the reference BLAS,
or every GDAL-linked program loads OpenBLAS too, see docs/benchmarks.md).

Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (a stale value makes OpenBLAS pick slower kernels) and the
thread count fixed before the library loads:

    for t in 1 2; do env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$t python3 scripts/openblas_gemm.py; done
    OPENBLAS_LIB=/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 OPENBLAS_NUM_THREADS=1 \
        python3 scripts/openblas_gemm.py

OPENBLAS_LIB may name any CBLAS library. Intel's oneMKL from PyPI (`python3 -m venv mkl && mkl/bin/pip install mkl`)
is timed the same way; its lines say "mkl", and its thread count is MKL_NUM_THREADS:

    LD_LIBRARY_PATH=mkl/lib OPENBLAS_LIB=mkl/lib/libmkl_rt.so.3 MKL_NUM_THREADS=1 python3 scripts/openblas_gemm.py
"""
import ctypes
import json
import os
import time

import numpy as np


def cblas_product(path):
    """C = A · B through cblas_sgemm of the library at `path` (row-major, no transposes, alpha 1, beta 0)."""
    lib = ctypes.CDLL(path)
    pointer = ctypes.POINTER(ctypes.c_float)
    lib.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, pointer, ctypes.c_int, pointer, ctypes.c_int,
                                                     ctypes.c_float, pointer, ctypes.c_int]
    row_major, no_trans = 101, 111

    def product(a, b, c):
        m, k = a.shape
        n = b.shape[1]
        lib.cblas_sgemm(row_major, no_trans, no_trans, m, n, k, 1.0, a.ctypes.data_as(pointer), k,
                        b.ctypes.data_as(pointer), n, 0.0, c.ctypes.data_as(pointer), n)

    return product

SHAPES = [(512, 512, 512), (256, 4096, 1625), (128, 1024, 576)]


def median_seconds(product, a, b, warmups=2, repetitions=7):
    c = np.empty((a.shape[0], b.shape[1]), dtype=np.float32)
    for _ in range(warmups):
        product(a, b, c)
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        product(a, b, c)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main():
    rng = np.random.default_rng(1)
    library = os.environ.get("OPENBLAS_LIB")
    name = "mkl" if library and "mkl" in os.path.basename(library) else "openblas"
    threads = int(os.environ.get("MKL_NUM_THREADS" if name == "mkl" else "OPENBLAS_NUM_THREADS", "0")) or os.cpu_count()
    product = cblas_product(library) if library else (lambda a, b, c: np.dot(a, b, out=c))
    for m, n, k in SHAPES:
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
        seconds = median_seconds(product, a, b)
        print(json.dumps({"name": name, "isa": name, "precision": "fp32", "threads": threads,
                          "m": m, "n": n, "k": k, "gflops": round(2.0 * m * n * k / seconds / 1e9, 2),
                          "seconds": round(seconds, 6)}))


if __name__ == "__main__":
    main()
