#!/usr/bin/env bash
# Scores a nowcast checkpoint on several held-out synthetic scenes instead of one, so a configuration is not
# chosen on one lucky wind (docs/benchmarks.md, Accuracy, Nowcast).
#
# usage: scripts/bench/nowcast_heldout.sh CHECKPOINT [SEEDS...]     (default seeds 2..9; 64 px, 20 frames,
#        the last 3 the truth, as `strata demo nowcast` holds out)
# env:   STRATA (default .build/release/strata), WORK (default a temporary folder, removed at the end)
# prints one line per seed (lead-1 MSE, persistence, ratio) and the pooled ratio per lead: Σ MSE / Σ persistence.
set -euo pipefail
checkpoint=$1; shift
seeds=("${@:-2 3 4 5 6 7 8 9}"); read -r -a seeds <<< "${seeds[*]}"
strata=${STRATA:-.build/release/strata}
work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
for seed in "${seeds[@]}"; do
  scene=$work/seed$seed
  "$strata" synth nowcast --out "$scene" --seed "$seed" --size 64x64 --steps 20 > /dev/null
  mapfile -t frames < <(ls "$scene"/rain_*.tif)
  inputs=("${frames[@]:0:17}"); truth=("${frames[@]:17:3}")
  "$strata" predict --checkpoint "$checkpoint" --input "${inputs[@]}" --out "$scene/forecast.tif" > /dev/null
  gdalbuildvrt -q -separate "$scene/truth.vrt" "${truth[@]}"
  "$strata" evaluate --prediction "$scene/forecast.tif" --truth "$scene/truth.vrt" --task nowcast \
    --last-input "${inputs[-1]}" --json > "$scene/evaluation.json"
done
python3 - "$work" "${seeds[@]}" <<'PY'
import json, sys
work, seeds = sys.argv[1], sys.argv[2:]
model, persistence = [0.0] * 3, [0.0] * 3
for seed in seeds:
    d = json.load(open(f"{work}/seed{seed}/evaluation.json"))
    m, p = d["mse_by_lead"], d["mse_persistence_by_lead"]
    for i in range(len(m)):
        model[i] += m[i]
        persistence[i] += p[i]
    print(f"seed {seed}: lead-1 MSE {m[0]:.4f}, persistence {p[0]:.4f}, ratio {m[0] / p[0]:.3f}")
print("pooled ratio by lead:", " ".join(f"{a / b:.3f}" for a, b in zip(model, persistence) if b > 0))
PY
