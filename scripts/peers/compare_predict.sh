#!/usr/bin/env bash
# Strata against the script a user would write (rasterio windows + PyTorch), on the same stacks, checkpoints, tile
# and overlap: `strata bench predict` and scripts/peers/rasterio_predict.py alternately (A, B, A, B ...), each run
# in a fresh process, then a table (medians) and, for small sizes, how closely the two predictions agree.
#
# Usage:
#   scripts/peers/compare_predict.sh                       # 2000 px, both models, 1 repeat
#   SIZES="2000 5000" REPEATS=3 scripts/peers/compare_predict.sh
# Environment: STRATA (.build/release/strata), PYTHON (/work/.venv-torch/bin/python: torch, rasterio, safetensors),
# SIZES, MODELS ("pixel convlstm"), TILE (256), THREADS (2), REPEATS (1), WORK (stacks, checkpoints, predictions;
# reused), OUT (results folder), GDAL_CACHEMAX (64), AGREE_MAX (largest size whose outputs are compared, 2000).
set -euo pipefail

STRATA=${STRATA:-.build/release/strata}
PYTHON=${PYTHON:-/work/.venv-torch/bin/python}
SIZES=${SIZES:-2000}
MODELS=${MODELS:-pixel convlstm}
TILE=${TILE:-256}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-1}
WORK=${WORK:-${TMPDIR:-/tmp}/strata-bench-predict}
OUT=${OUT:-$(mktemp -d -t strata-compare-predict-XXXXXX)}
AGREE_MAX=${AGREE_MAX:-2000}
export GDAL_CACHEMAX=${GDAL_CACHEMAX:-64}
here=$(cd "$(dirname "$0")" && pwd)
results="$OUT/results.jsonl"
: > "$results"

# The peer takes the OpenBLAS/threads settings of a normal user shell: drop stale tuning variables (docs/benchmarks.md).
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

for size in $SIZES; do
    for model in $MODELS; do
        # Stack and checkpoint (written once, reused): one JSON line naming them.
        spec=$("$STRATA" bench predict --prepare-only --size "$size" --model "$model" --work "$WORK")
        checkpoint=$(echo "$spec" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["checkpoint"])')
        mapfile -t inputs < <(echo "$spec" | "$PYTHON" -c 'import json,sys; print("\n".join(json.load(sys.stdin)["inputs"]))')
        for repeat in $(seq 1 "$REPEATS"); do
            echo "size $size, model $model, run $repeat: strata" >&2
            "$STRATA" bench predict --json --size "$size" --model "$model" --tile "$TILE" --threads "$THREADS" \
                --gdal-cache "$GDAL_CACHEMAX" --work "$WORK" | tee -a "$results"
            echo "size $size, model $model, run $repeat: pytorch-rasterio" >&2
            "$PYTHON" "$here/rasterio_predict.py" --checkpoint "$checkpoint" --model "$model" --tile "$TILE" \
                --threads "$THREADS" --out "$WORK/$size/peer_${model}_$TILE.tif" "${inputs[@]}" | tee -a "$results"
        done
    done
done
"$PYTHON" "$here/rasterio_predict_compare.py" "$results" --agree-max "$AGREE_MAX" | tee "$OUT/table.md"
echo "results: $results, table: $OUT/table.md" >&2
