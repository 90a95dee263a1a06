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

echo "setting up .venv (torch: $torch_spec)"
[[ -x .venv/bin/python ]] || "${PYTHON:-python3}" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# torch first and exactly: an open torch spec may pull a multi-GB CUDA build.
"${pip[@]}" "$torch_spec"
"${pip[@]}" -c requirements/constraints.txt -e ".[dev,postgres]"
echo "$want" > "$stamp"
echo ".venv ready"
