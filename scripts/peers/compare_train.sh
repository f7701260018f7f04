#!/usr/bin/env bash
# Strata against the PyTorch peer on the reference ConvLSTM training configurations, side by side in one run.
#
# For every configuration, precision and thread count it runs `strata bench train` and then the PyTorch peer
# straight after (each in a fresh process), so the two see the same machine state; then it prints one table with
# the ratios. Keras/TensorFlow is not installed here, so there is no Keras column (docs/benchmarks.md quotes the
# issue's Keras numbers instead).
#
#   scripts/peers/compare_train.sh                       # a, b, c x fp32, bf16 x 1, 2 threads, 10 steps
#   CONFIGS=c PRECISIONS=fp32 THREADS=2 STEPS=5 scripts/peers/compare_train.sh
#
# Environment: STRATA (default .build/release/strata, build it with `swift build -c release` first), PYTHON (default
# /work/.venv-torch/bin/python, a virtualenv with torch, see scripts/peers/README.md), CONFIGS, PRECISIONS, THREADS,
# STEPS, WARMUP, OUT (folder for the JSON lines and the table, default a new folder under /tmp).
set -euo pipefail
cd "$(dirname "$0")/../.."

STRATA=${STRATA:-.build/release/strata}
PYTHON=${PYTHON:-/work/.venv-torch/bin/python}
CONFIGS=${CONFIGS:-a,b,c}
PRECISIONS=${PRECISIONS:-fp32,bf16}
THREADS=${THREADS:-1,2}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-2}
OUT=${OUT:-$(mktemp -d /tmp/compare-train.XXXXXX)}
PEER=scripts/peers/pytorch_convlstm_bench.py
mkdir -p "$OUT"

[[ -x $STRATA ]] || { echo "no $STRATA: run swift build -c release first" >&2; exit 1; }

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on this machine and make OpenBLAS-backed code choose slow
# kernels: unset them for the peer only (Strata does not use OpenBLAS).
peer() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PYTHON" "$PEER" "$@"; }

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "uptime: $(uptime)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "strata: $(git rev-parse --short HEAD 2>/dev/null || echo '?') STRATA_ISA=${STRATA_ISA:-<best>}"
  peer --show-config
} > "$OUT/machine.txt"

: > "$OUT/strata.jsonl"
: > "$OUT/pytorch.jsonl"
for config in ${CONFIGS//,/ }; do
  for precision in ${PRECISIONS//,/ }; do
    for threads in ${THREADS//,/ }; do
      echo "config $config $precision $threads thread(s): load $(cut -d' ' -f1 /proc/loadavg)" >&2
      "$STRATA" bench train --json --config "$config" --precision "$precision" --threads "$threads" \
        --steps "$STEPS" --warmup "$WARMUP" | tee -a "$OUT/strata.jsonl" >&2
      peer --json --config "$config" --precision "$precision" --threads "$threads" \
        --steps "$STEPS" --warmup "$WARMUP" | tee -a "$OUT/pytorch.jsonl" >&2
    done
  done
done

# The table: ratio = PyTorch time / Strata time (above 1: Strata is faster); memory ratio = Strata / PyTorch.
python3 - "$OUT/strata.jsonl" "$OUT/pytorch.jsonl" <<'PY' | tee "$OUT/table.md"
import json, sys
load = lambda path: {(r["config"], r["precision"], r["threads"]): r for r in map(json.loads, open(path)) if r}
strata, torch = load(sys.argv[1]), load(sys.argv[2])
print("| config | precision | threads | Strata s/step | PyTorch s/step | speed-up (PyTorch / Strata) "
      "| Strata RSS MiB | PyTorch RSS MiB | memory (Strata / PyTorch) | Strata GFLOP/s | Strata % peak |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for key in sorted(strata):
    s, t = strata[key], torch.get(key)
    if t is None:
        continue
    print(f"| {key[0]} | {key[1]} | {key[2]} | {s['seconds_per_step']:.4f} | {t['seconds_per_step']:.4f} "
          f"| {t['seconds_per_step'] / s['seconds_per_step']:.2f} | {s['peak_rss_mib']:.0f} | {t['peak_rss_mib']:.0f} "
          f"| {s['peak_rss_mib'] / t['peak_rss_mib']:.2f} | {s['gflops']:.1f} | {s['percent_of_peak']:.1f} |")
PY
echo "JSON lines, machine and torch build information: $OUT" >&2
