#!/usr/bin/env bash
# Savings table of restricted plasticity and synaptic caching (issue 5; spec energy-of-learning).
#
# The same configurations as a sweep spec, run in parallel on Ray (this machine or a cluster) into
# the run store, resumable: `neuroplastic sweep sweeps/energy_savings.yaml [--address HOST:PORT]`
# (then `neuroplastic runs compare --sweep energy-savings --by p ...`). This script runs them one
# after another and writes per-run JSONs for scripts/energy_savings_report.py.
#
# Runs the batch-1 energy protocol (`neuroplastic run energy`) for every configuration below and
# writes one JSON per run under $OUT (default results/energy/savings); existing JSONs are kept,
# so the script resumes where it stopped. Then scripts/energy_savings_report.py aggregates them
# into a markdown table (mean ± sd over seeds, saving factor against plain backprop at the same
# N) and two plots (energy vs accuracy, energy vs N_hid).
#
# Environment (defaults = the full table of the issue):
#   SEEDS="0 1 2"  NHIDS="100 1000 10000"  SECTIONS="top balanced path pathtop controls cache"
#   (add "combo" for restriction + caching: top 3 % / balanced 1 % with a cache, COMBO_THETAS)
#   MAX_EPOCHS=5 (the protocol's cap; lower it to bound runs that never reach 95 %)
#   THETAS="0.01 0.02 ... 0.1" (caching scan, 784-100-10 only)
#   PS, BAL_PS, KS, PATHTOP_KS: the lists of p and k values (defaults: the issue's)
# Example (what fits a loaded 2-core CPU in minutes): SEEDS=0 NHIDS="100 1000" bash $0
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-results/energy/savings}
SEEDS=${SEEDS:-"0 1 2"}
NHIDS=${NHIDS:-"100 1000 10000"}
SECTIONS=${SECTIONS:-"top balanced path pathtop controls cache"}
MAX_EPOCHS=${MAX_EPOCHS:-5}
THETAS=${THETAS:-"0.01 0.02 0.03 0.04 0.05 0.06 0.07 0.08 0.09 0.1"}
PS=${PS:-"1 0.3 0.1 0.03 0.01"}          # top-p fractions
BAL_PS=${BAL_PS:-"0.1 0.03 0.01"}        # balanced fractions (input layer)
KS=${KS:-"30 100 300"}                   # path sizes
PATHTOP_KS=${PATHTOP_KS:-"30 100"}       # path + top-10 % sizes
COMBO_THETAS=${COMBO_THETAS:-"0.001 0.003 0.01 0.03"}  # restriction + cache thresholds
mkdir -p "$OUT"

run() {  # run NAME SEED ARGS...
  local name=$1 seed=$2
  shift 2
  local json="$OUT/${name}_s${seed}.json"
  if [[ -f "$json" ]]; then return; fi
  echo "[$(date +%H:%M:%S)] $name seed $seed" >&2
  "$PY" -m neuroplastic.cli run energy --seed "$seed" --no-progress --json "$json" \
    --max-epochs "$MAX_EPOCHS" "$@" >"$OUT/${name}_s${seed}.log" 2>&1 ||
    echo "  failed: see $OUT/${name}_s${seed}.log" >&2
}

has() { [[ " $SECTIONS " == *" $1 "* ]]; }

for n in $NHIDS; do
  for seed in $SEEDS; do
    if has top; then
      for p in $PS; do
        run "n${n}_top_p${p}" "$seed" --n-hid "$n" --restrict top --p "$p"
      done
    fi
    if has balanced; then
      for p in $BAL_PS; do
        run "n${n}_balanced_p${p}" "$seed" --n-hid "$n" --restrict balanced --p "$p"
      done
    fi
    if has path; then
      for k in $KS; do
        if ((k <= n)); then run "n${n}_path_k${k}" "$seed" --n-hid "$n" --restrict path --k "$k"; fi
      done
    fi
    if has pathtop; then
      for k in $PATHTOP_KS; do
        if ((k <= n)); then
          run "n${n}_pathtop_k${k}_p0.1" "$seed" --n-hid "$n" --restrict path-top --k "$k" --p 0.1
        fi
      done
    fi
    if has combo; then  # restriction + caching without decay (toward the issue's aim)
      for th in $COMBO_THETAS; do
        run "n${n}_top_p0.03_cache_tnone_th${th}" "$seed" --n-hid "$n" --restrict top --p 0.03 \
          --cache --tau none --c 0.001 --theta "$th"
      done
      run "n${n}_balanced_p0.01_cache_tnone_th0.003" "$seed" --n-hid "$n" --restrict balanced \
        --p 0.01 --cache --tau none --c 0.001 --theta 0.003
      run "n${n}_top_p0.03_cache_t1000_th0.003" "$seed" --n-hid "$n" --restrict top --p 0.03 \
        --cache --tau 1000 --c 0.001 --theta 0.003
      run "n${n}_top_p1_cache_tnone_th0.003" "$seed" --n-hid "$n" --cache --tau none --c 0.001 \
        --theta 0.003
    fi
    if has controls; then
      run "n${n}_random_p0.1" "$seed" --n-hid "$n" --restrict random --p 0.1
      run "n${n}_weight_p0.1" "$seed" --n-hid "$n" --restrict weight --p 0.1
      run "n${n}_frozen" "$seed" --n-hid "$n" --restrict frozen-hidden
    fi
  done
done

# synaptic caching with the eLife settings: 784-100-10, logistic units, MSE, eta 0.1, tau 1000,
# c 0.001, theta scanned; plain backprop with the same settings is the reference row
if has cache; then
  for seed in $SEEDS; do
    elife=(--n-hid 100 --activation sigmoid --output sigmoid --lr 0.1)
    run "elife_plain" "$seed" "${elife[@]}"
    for th in $THETAS; do
      run "elife_cache_theta${th}" "$seed" "${elife[@]}" --cache --tau 1000 --c 0.001 --theta "$th"
    done
  done
fi

"$PY" scripts/energy_savings_report.py "$OUT"
