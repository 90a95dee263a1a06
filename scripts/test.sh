#!/usr/bin/env bash
# The test command (README and CI): lint, format check, types, then the test suite with coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install_postgres.sh  # real PostgreSQL server for the store tests
bash scripts/install_chromium.sh   # Debian chromium for the simulator's browser tests
bin=.venv/bin
# MNIST is needed by the tests marked `mnist` (end-to-end CLI runs); fetched once, verified.
"$bin/neuroplastic" data fetch mnist
echo "== ruff";  "$bin/ruff" check . && "$bin/ruff" format --check .
echo "== mypy";  "$bin/mypy"
echo "== pytest"
"$bin/pytest" --cov --cov-report=term:skip-covered "$@"
