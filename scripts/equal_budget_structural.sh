#!/usr/bin/env bash
# The contest at an equal synapse budget (ten MNIST classes, seed 0): for about 10k, 25k and 80k
# non-silent synapses (biases and readout included), the structural rule against
#   - a narrow dense backprop MLP 784-h-10 with 795 h + 10 ≈ budget synapses, and
#   - backprop at 784-1000-10 pruned by global magnitude to the budget, then fine-tuned.
# Records: results/structural/budget_<family>_<budget>.json; plot: results/structural/equal_budget.png
# Usage: bash scripts/equal_budget_structural.sh [budgets...]   (default: 10000 25000 80000)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
np=.venv/bin/neuroplastic
out=results/structural
mkdir -p "$out"
budgets=("${@:-10000 25000 80000}")
read -r -a budgets <<< "${budgets[*]}"

# Structural settings per budget: hidden width and per-unit input budget so that input synapses
# plus the readout (10 per connected unit) land near the budget. Chosen on the validation split.
structural_args() {
  case $1 in
    10000) echo "--hidden 400 --set budget=15" ;;
    25000) echo "--hidden 1000 --set budget=30" ;;
    80000) echo "--hidden 2000 --set budget=30 --set reserve=false" ;;
    *) echo "no structural setting for budget $1" >&2; exit 2 ;;
  esac
}

for b in "${budgets[@]}"; do
  h=$(( (b - 10 + 397) / 795 ))
  # shellcheck disable=SC2046
  "$np" run structural --seed 0 --no-progress $(structural_args "$b") \
    --set competition=hard --set epochs=7 --set prune_epoch=3 \
    --json "$out/budget_structural_$b.json" > /dev/null
  "$np" run backprop --seed 0 --no-progress --hidden "$h" \
    --json "$out/budget_narrow-backprop_$b.json" > /dev/null
  "$np" run pruned-backprop --seed 0 --no-progress --hidden 1000 --set budget="$b" \
    --set epochs=10 --json "$out/budget_pruned-backprop_$b.json" > /dev/null
done
.venv/bin/python scripts/plot_equal_budget.py "$out"/budget_*.json --out "$out/equal_budget.png"
.venv/bin/python scripts/records_table.py "$out"/budget_*.json
