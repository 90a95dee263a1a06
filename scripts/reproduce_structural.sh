#!/usr/bin/env bash
# Reproduce Table 2 of Stricker, Röhrbein & Knoblauch (2026) (digits 1, 2, 6; hidden 10, 30, 100,
# 200) and the ten-class comparison, writing JSON records and plots under results/structural/.
# Usage: bash scripts/reproduce_structural.sh [three|ten|all]   (default all; seed 0)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
np=.venv/bin/neuroplastic
out=results/structural
mkdir -p "$out"
what=${1:-all}
methods=backprop,nonneg-backprop,structural,random-projection

if [[ $what == three || $what == all ]]; then
  for hidden in 10 30 100 200; do
    "$np" compare --methods "$methods" --classes 1,2,6 --hidden "$hidden" --seed 0 --info \
      --set structural.preset=table2 --no-progress --json "$out/three_h$hidden.json" --plot "$out/three_h$hidden.png"
  done
fi
if [[ $what == ten || $what == all ]]; then
  "$np" compare --methods "$methods" --hidden 1000 --seed 0 --info --no-progress \
    --json "$out/ten_h1000.json" --plot "$out/ten_h1000.png"
fi
.venv/bin/python scripts/records_table.py "$out"/*.json
