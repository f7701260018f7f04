#!/usr/bin/env bash
# Peak resident memory of tiled prediction on large raster stacks, to check that it follows the image width and the
# tile (docs/prediction.md, "Memory") and not the image area. A thin wrapper over `strata bench predict`, which
# builds the stacks (12 dates x 4 bands, VRTs upsampling small GeoTIFFs: a few MB on disk whatever the size) and the
# checkpoints, and runs `strata predict` in a fresh child process per size (docs/benchmarks.md, "Prediction").
#
# Usage:
#   scripts/bench/predict_memory.sh                        # 2000, 5000, 10000 and 20000 px, per-pixel model
#   SIZES=20000 MODEL=convlstm scripts/bench/predict_memory.sh
# Environment: STRATA (.build/release/strata), SIZES, MODEL (pixel), TILE (256), DTYPE (float32), THREADS
# (default: all cores), GDAL_CACHEMAX (64), WORK (reused between runs). Prints one JSON line per size.
set -euo pipefail

STRATA=${STRATA:-.build/release/strata}
SIZES=${SIZES:-2000 5000 10000 20000}
args=(--json --size "${SIZES// /,}" --model "${MODEL:-pixel}" --tile "${TILE:-256}"
      --output-dtype "${DTYPE:-float32}" --gdal-cache "${GDAL_CACHEMAX:-64}")
[[ -n "${THREADS:-}" ]] && args+=(--threads "$THREADS")
[[ -n "${WORK:-}" ]] && args+=(--work "$WORK")
exec "$STRATA" bench predict "${args[@]}"
