#!/usr/bin/env bash
# Peak resident memory of tiled prediction on a large raster stack, to check that it follows the image width and the
# tile (docs/prediction.md, "Memory") and not the image area.
#
# The stack is SIZE × SIZE pixels, 4 bands, 12 dates (20 000² × 4 × 12 float32 would be ~77 GB): each date is a VRT
# that upsamples a small compressed GeoTIFF (nearest neighbour), so the disk holds a few MB and every window read
# is real GDAL I/O. GDAL's block cache is capped (GDAL_CACHEMAX, MB) so it does not dominate the measurement.
#
# Usage:
#   scripts/bench/predict_memory.sh --prepare-only        # write the stack, print its paths
#   CHECKPOINT=model.safetensors scripts/bench/predict_memory.sh
# Environment: STRATA (default .build/release/strata), SIZE (20000), TILE (512), DTYPE (uint8), WORK (a temp folder),
# GDAL_CACHEMAX (64), PREDICT_ARGS (extra arguments for `strata predict`, e.g. "--blend gaussian").
set -euo pipefail

STRATA=${STRATA:-.build/release/strata}
SIZE=${SIZE:-20000}
TILE=${TILE:-512}
DTYPE=${DTYPE:-uint8}
DATES=12
BANDS=4
SEED=1000   # side of the small source rasters, pixels
export GDAL_CACHEMAX=${GDAL_CACHEMAX:-64}
WORK=${WORK:-$(mktemp -d -t strata-predict-bench-XXXXXX)}
mkdir -p "$WORK"

for tool in gdal_create gdal_translate gdalinfo; do
    command -v "$tool" >/dev/null || { echo "predict_memory: $tool not found (install gdal-bin)" >&2; exit 2; }
done

# 10 m pixels in UTM 33N: SIZE pixels span SIZE × 10 m.
ulx=399960
uly=5000040
lrx=$((ulx + SIZE * 10))
lry=$((uly - SIZE * 10))
inputs=()
for t in $(seq 1 $DATES); do
    month=$(printf "%02d" "$t")
    seed="$WORK/seed_$month.tif"
    vrt="$WORK/scene_2021-$month-15.vrt"
    if [[ ! -f "$vrt" ]]; then
        # A constant per date and band, DEFLATE-compressed: a few KB per date.
        gdal_create -q -of GTiff -outsize $SEED $SEED -bands $BANDS -ot Float32 \
            -burn $((t * 10 + 1)) -burn $((t * 10 + 2)) -burn $((t * 10 + 3)) -burn $((t * 10 + 4)) \
            -a_srs EPSG:32633 -a_ullr $ulx $uly $lrx $lry -a_nodata -9999 \
            -co COMPRESS=DEFLATE -co TILED=YES "$seed"
        gdal_translate -q -of VRT -outsize "$SIZE" "$SIZE" -r nearest "$seed" "$vrt"
    fi
    inputs+=("$vrt")
done
echo "stack: ${#inputs[@]} dates × $BANDS bands × ${SIZE}×${SIZE} px in $WORK ($(du -sh "$WORK" | cut -f1) on disk)"

# The buffers the job itself holds (TiledPrediction.bufferBytes) for K = 1 output; T = 12, C = 4.
K=1
rows=$((TILE < SIZE ? TILE : SIZE))
bound=$((rows * SIZE * (4 * (K + 1) + 1) + 4 * K * rows * SIZE + TILE * TILE * (4 * DATES * BANDS + DATES + 4 * K)))
echo "job buffers (docs/prediction.md formula, K=$K): $((bound / 1048576)) MiB; GDAL cache ≤ ${GDAL_CACHEMAX} MiB"

if [[ "${1:-}" == "--prepare-only" ]]; then
    printf '%s\n' "${inputs[@]}"
    exit 0
fi

: "${CHECKPOINT:?set CHECKPOINT to a model checkpoint (or pass --prepare-only)}"
if ! "$STRATA" predict --help >/dev/null 2>&1; then
    echo "predict_memory: '$STRATA predict' is not available yet (build the CLI with the predict subcommand)" >&2
    exit 2
fi
output="$WORK/prediction.tif"
log="$WORK/time.log"
# shellcheck disable=SC2086
/usr/bin/time -v "$STRATA" predict "${inputs[@]}" --checkpoint "$CHECKPOINT" --output "$output" \
    --tile "$TILE" --output-dtype "$DTYPE" --json ${PREDICT_ARGS:-} 2> "$log"
peak_kb=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$log")
seconds=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$log")
echo "peak RSS: $((peak_kb / 1024)) MiB (job buffers $((bound / 1048576)) MiB), wall clock $seconds"
