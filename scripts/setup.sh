#!/usr/bin/env bash
# Create .venv with neuroplastic and its pinned dependencies. Idempotent: a second run with
# unchanged pyproject.toml and constraints returns at once.
#
#   NEUROPLASTIC_TORCH   torch requirement installed first (default torch==2.13.0, the CPU build
#                        this project is developed on; any torch >= 2.4 works)
#   PYTHON               interpreter used to create the venv (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."

torch_spec=${NEUROPLASTIC_TORCH:-torch==2.13.0}
stamp=.venv/.neuroplastic-setup
want=$(cat pyproject.toml requirements/constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
want="$want $torch_spec"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

echo "setting up .venv (torch: $torch_spec); this takes a few minutes the first time"
if [[ ! -x .venv/bin/python ]]; then
  echo "[1/3] creating .venv with ${PYTHON:-python3}"
  "${PYTHON:-python3}" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --progress-bar off --disable-pip-version-check)
# pip's lines that say what is fetched and installed (the rest of its log is long)
show() { awk '/^(Collecting|Installing collected|Successfully installed)/ { print "  " $0; fflush() }'; }
# torch first and exactly: an open torch spec may pull a multi-GB CUDA build.
echo "[2/3] installing $torch_spec (CPU build)"
"${pip[@]}" "$torch_spec" | show
echo "[3/3] installing neuroplastic (editable) and its dependencies, pinned by requirements/constraints.txt"
"${pip[@]}" -c requirements/constraints.txt -e ".[dev,postgres,app,sweep,fast,eval,meter]" | show
# the eval extra's attack library: torchattacks declares torchvision, whose PyPI build replaces or
# breaks torch 2.13.0, so it is installed without dependencies (its attacks need only torch,
# numpy and scipy; see the eval extra in pyproject.toml).
echo "      + torchattacks (eval extra) without its declared dependencies (torchvision would replace torch)"
"${pip[@]}" -c requirements/constraints.txt --no-deps torchattacks | show
# the meter extra's Zeus: it declares amdsmi, whose wheel breaks `import ray` on machines without
# ROCm (KeyError 'libamd_smi.so'); its other needs come with the meter extra.
echo "      + zeus (meter extra) without its declared dependencies (amdsmi would break Ray)"
"${pip[@]}" -c requirements/constraints.txt --no-deps zeus | show
echo "$want" > "$stamp"
echo ".venv ready"
