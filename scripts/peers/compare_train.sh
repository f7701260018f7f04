#!/usr/bin/env bash
# Strata against the PyTorch peer on the reference ConvLSTM training configurations, side by side in one run.
#
# For every configuration, precision and thread count it runs `strata bench train`, then the PyTorch peer and the
# Keras peer straight after (each in a fresh process), so all see the same machine state; then it prints one table
# with the ratios against each peer and against the faster of the two. The Keras column is left out when
# KERAS_PYTHON does not exist (a virtualenv with tensorflow-cpu and keras, see scripts/peers/README.md).
#
#   scripts/peers/compare_train.sh                       # a, b, c x fp32, bf16 x 1, 2 threads, 10 steps
#   CONFIGS=c PRECISIONS=fp32 THREADS=2 STEPS=5 scripts/peers/compare_train.sh
#
# Environment: STRATA (default .build/release/strata, build it with `swift build -c release` first), PYTHON (default
# /work/.venv-torch/bin/python, a virtualenv with torch, see scripts/peers/README.md), KERAS_PYTHON (default
# /work/.venv-tf/bin/python), CONFIGS, PRECISIONS, THREADS,
# STEPS, WARMUP, OUT (folder for the JSON lines and the table, default a new folder under /tmp).
set -euo pipefail
cd "$(dirname "$0")/../.."

STRATA=${STRATA:-.build/release/strata}
PYTHON=${PYTHON:-/work/.venv-torch/bin/python}
KERAS_PYTHON=${KERAS_PYTHON:-/work/.venv-tf/bin/python}
CONFIGS=${CONFIGS:-a,b,c}
PRECISIONS=${PRECISIONS:-fp32,bf16}
THREADS=${THREADS:-1,2}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-2}
OUT=${OUT:-$(mktemp -d /tmp/compare-train.XXXXXX)}
PEER=scripts/peers/pytorch_convlstm_bench.py
KERAS_PEER=scripts/peers/keras_convlstm_bench.py
mkdir -p "$OUT"

[[ -x $STRATA ]] || { echo "no $STRATA: run swift build -c release first" >&2; exit 1; }

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on this machine and make OpenBLAS-backed code choose slow
# kernels: unset them for the peer only (Strata does not use OpenBLAS).
peer() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PYTHON" "$PEER" "$@"; }
keras_peer() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$KERAS_PYTHON" "$KERAS_PEER" "$@"; }
[[ -x $KERAS_PYTHON ]] || echo "no $KERAS_PYTHON: no Keras column" >&2

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "uptime: $(uptime)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "strata: $(git rev-parse --short HEAD 2>/dev/null || echo '?') STRATA_ISA=${STRATA_ISA:-<best>}"
  peer --show-config
} > "$OUT/machine.txt"

: > "$OUT/strata.jsonl"
: > "$OUT/pytorch.jsonl"
: > "$OUT/keras.jsonl"
for config in ${CONFIGS//,/ }; do
  for precision in ${PRECISIONS//,/ }; do
    for threads in ${THREADS//,/ }; do
      echo "config $config $precision $threads thread(s): load $(cut -d' ' -f1 /proc/loadavg)" >&2
      "$STRATA" bench train --json --config "$config" --precision "$precision" --threads "$threads" \
        --steps "$STEPS" --warmup "$WARMUP" | tee -a "$OUT/strata.jsonl" >&2
      peer --json --config "$config" --precision "$precision" --threads "$threads" \
        --steps "$STEPS" --warmup "$WARMUP" | tee -a "$OUT/pytorch.jsonl" >&2
      if [[ -x $KERAS_PYTHON ]]; then
        keras_peer --json --config "$config" --precision "$precision" --threads "$threads" \
          --steps "$STEPS" --warmup "$WARMUP" | tee -a "$OUT/keras.jsonl" >&2
      fi
    done
  done
done

# The table: speed-up = peer time / Strata time (above 1: Strata is faster), "vs faster" against the faster of the
# two peers; memory = Strata / PyTorch.
python3 - "$OUT/strata.jsonl" "$OUT/pytorch.jsonl" "$OUT/keras.jsonl" <<'PY' | tee "$OUT/table.md"
import json, sys
load = lambda path: {(r["config"], r["precision"], r["threads"]): r for r in map(json.loads, open(path)) if r}
strata, torch, keras = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
print("| config | precision | threads | Strata s/step | PyTorch s/step | Keras s/step | vs PyTorch | vs Keras "
      "| vs faster peer | Strata RSS MiB | PyTorch RSS MiB | Keras RSS MiB | memory (Strata / PyTorch) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
cell = lambda x, f: f.format(x) if x is not None else "–"
for key in sorted(strata):
    s, t, k = strata[key], torch.get(key), keras.get(key)
    if t is None:
        continue
    st, tt, kt = s["seconds_per_step"], t["seconds_per_step"], k["seconds_per_step"] if k else None
    print(f"| {key[0]} | {key[1]} | {key[2]} | {st:.4f} | {tt:.4f} | {cell(kt, '{:.4f}')} | {tt / st:.2f} "
          f"| {cell(kt / st if kt else None, '{:.2f}')} | {min(tt, kt or tt) / st:.2f} | {s['peak_rss_mib']:.0f} "
          f"| {t['peak_rss_mib']:.0f} | {cell(k['peak_rss_mib'] if k else None, '{:.0f}')} "
          f"| {s['peak_rss_mib'] / t['peak_rss_mib']:.2f} |")
PY
echo "JSON lines, machine and torch build information: $OUT" >&2
