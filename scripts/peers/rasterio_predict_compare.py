#!/usr/bin/env python3
"""Table of `strata bench predict` against scripts/peers/rasterio_predict.py, and how closely their outputs agree.

Reads the JSON lines compare_predict.sh collected (both frameworks print the same keys), prints a Markdown table of
medians per size and model, then, for sizes up to --agree-max, compares the two GeoTIFFs band by band:
change_probability by its largest and mean absolute difference, change_date by its largest difference and the
pixels that differ at all (Strata blends the date band, so overlaps hold weighted means of equal integers).

Usage: python rasterio_predict_compare.py results.jsonl [--agree-max 2000]
"""
import argparse
import json
import statistics
from collections import defaultdict

import numpy as np
import rasterio


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results")
    parser.add_argument("--agree-max", type=int, default=2000)
    args = parser.parse_args()
    runs = defaultdict(list)
    with open(args.results) as f:
        for line in f:
            if line.startswith("{"):
                row = json.loads(line)
                runs[(row["size"], row["model"], row["framework"])].append(row)

    print("| size | model | framework | runs | seconds (median) | Mpx/s | peak RSS MiB (max) | load |")
    print("|---:|---|---|---:|---:|---:|---:|---|")
    for key in sorted(runs):
        rows = runs[key]
        loads = sorted(r["load_average"] for r in rows)
        print(f"| {key[0]} | {key[1]} | {key[2]} | {len(rows)} | "
              f"{statistics.median(r['seconds'] for r in rows):.1f} | "
              f"{statistics.median(r['megapixels_per_second'] for r in rows):.3f} | "
              f"{max(r['peak_rss_mib'] for r in rows):.0f} | {loads[0]:.1f}-{loads[-1]:.1f} |")

    print()
    for size, model in sorted({(k[0], k[1]) for k in runs}):
        strata, peer = runs.get((size, model, "strata")), runs.get((size, model, "pytorch-rasterio"))
        if not strata or not peer or size > args.agree_max:
            continue
        with rasterio.open(strata[-1]["output"]) as a, rasterio.open(peer[-1]["output"]) as b:
            pa, pb = a.read(1), b.read(1)
            da, db = a.read(2), b.read(2)
        diff = np.abs(pa.astype(np.float64) - pb)
        print(f"agreement {model} {size} px: change_probability max |diff| {diff.max():.3g}, mean {diff.mean():.3g}; "
              f"change_date max |diff| {np.abs(da.astype(np.float64) - db).max():.3g} "
              f"(differs at {np.count_nonzero(da != db)} of {da.size} pixels)")


if __name__ == "__main__":
    main()
