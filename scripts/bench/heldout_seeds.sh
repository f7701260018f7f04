#!/usr/bin/env bash
# Scores a nowcast or yield checkpoint on several held-out synthetic scenes instead of one, so that a
# configuration is not chosen on one lucky scene (docs/benchmarks.md, Accuracy).
#
# usage: scripts/bench/heldout_seeds.sh nowcast|yield CHECKPOINT [SEEDS...]     (default seeds 2..9)
#   nowcast: 64 px scenes, 20 frames, the last 3 the truth (as `strata demo nowcast` holds out); prints lead-1 MSE,
#            persistence and their ratio per seed, and the pooled ratio per lead (Σ MSE / Σ persistence).
#   yield:   96 px seasons of 12 fields, 10 steps (as `strata demo yield`); prints per-field R² per seed and the
#            R² pooled over every field of every seed.
# env: STRATA (default .build/release/strata), WORK (default a temporary folder, removed at the end)
set -euo pipefail
task=$1; checkpoint=$2; shift 2
seeds=("$@"); [ ${#seeds[@]} -gt 0 ] || seeds=(2 3 4 5 6 7 8 9)
strata=${STRATA:-.build/release/strata}
work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
for seed in "${seeds[@]}"; do
  scene=$work/seed$seed
  case $task in
    nowcast)
      "$strata" synth nowcast --out "$scene" --seed "$seed" --size 64x64 --steps 20 > /dev/null
      mapfile -t frames < <(ls "$scene"/rain_*.tif)
      inputs=("${frames[@]:0:17}"); truth=("${frames[@]:17:3}")
      "$strata" predict --checkpoint "$checkpoint" --input "${inputs[@]}" --out "$scene/prediction.tif" > /dev/null
      gdalbuildvrt -q -separate "$scene/truth.vrt" "${truth[@]}"
      "$strata" evaluate --prediction "$scene/prediction.tif" --truth "$scene/truth.vrt" --task nowcast \
        --last-input "${inputs[-1]}" --json > "$scene/evaluation.json" ;;
    yield)
      "$strata" synth yield --out "$scene" --seed "$seed" --size 96x96 --steps 10 --fields 12 > /dev/null
      "$strata" predict --checkpoint "$checkpoint" --input "$scene"/season_*.tif --out "$scene/prediction.tif" > /dev/null
      "$strata" evaluate --prediction "$scene/prediction.tif" --truth "$scene/truth/yield.tif" --task yield \
        --fields "$scene/truth/fields.tif" --json > "$scene/evaluation.json" ;;
    *) echo "heldout_seeds.sh: task must be nowcast or yield, got '$task'" >&2; exit 2 ;;
  esac
done
python3 - "$task" "$work" "${seeds[@]}" <<'PY'
import json, sys
task, work, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
scores = {seed: json.load(open(f"{work}/seed{seed}/evaluation.json")) for seed in seeds}
if task == "nowcast":
    model, persistence = [0.0] * 3, [0.0] * 3
    for seed, d in scores.items():
        m, p = d["mse_by_lead"], d["mse_persistence_by_lead"]
        for i in range(len(m)):
            model[i] += m[i]
            persistence[i] += p[i]
        print(f"seed {seed}: lead-1 MSE {m[0]:.4f}, persistence {p[0]:.4f}, ratio {m[0] / p[0]:.3f}")
    print("pooled ratio by lead:", " ".join(f"{a / b:.3f}" for a, b in zip(model, persistence) if b > 0))
else:
    predicted, truth = [], []
    for seed, d in scores.items():
        fields = d["fields"]
        predicted += [row["prediction"] for row in fields["table"]]
        truth += [row["truth"] for row in fields["table"]]
        print(f"seed {seed}: per-field R² {fields['r2']:.3f}, RMSE {fields['rmse']:.3f} t/ha ({fields['count']} fields)")
    mean = sum(truth) / len(truth)
    residual = sum((p - t) ** 2 for p, t in zip(predicted, truth))
    total = sum((t - mean) ** 2 for t in truth)
    print(f"pooled per-field R² {1 - residual / total:.3f} over {len(truth)} fields")
PY
