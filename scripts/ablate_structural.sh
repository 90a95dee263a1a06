#!/usr/bin/env bash
# Ablations of the structural-plasticity rule on digits 1, 2, 6 at hidden 200 (seed 0): each
# ingredient switched off once. Records under results/structural/ablation_*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
np=.venv/bin/neuroplastic
out=results/structural
mkdir -p "$out"
run() {  # name, then --set overrides
  local name=$1; shift
  "$np" run structural --classes 1,2,6 --hidden 200 --seed 0 --no-progress \
    --set preset=table2 --json "$out/ablation_$name.json" "$@" > /dev/null
}
run full
run no-competition --set competition=none
run hard-wta --set competition=hard
run no-homeostasis --set homeostasis=false
run signed-weights --set nonnegative=false
run no-structure --set budget=0 --set growth=false --set silent_pruning=false --set reserve=false
run no-growth --set growth=false
run no-reserve --set reserve=false
run perturbation-readout --set readout=perturbation
.venv/bin/python scripts/records_table.py "$out"/ablation_*.json
