#!/usr/bin/env bash
# GPU check of spiking-exact (issue 14, item 4), for a session lent a GPU: one call, ~8 minutes.
#
#   1. the CUDA path against the CPU on 3 batches of 1000 (loss rtol 1e-4, weights atol 1e-4)
#   2. training for as many epochs as fit in 6 minutes; samples/s and accuracy per epoch
#
# Results: $OUT/spiking_gpu_check.json (or ./spiking_gpu_check.json without $OUT), exit 1 if the
# agreement check fails. The device machine cannot download: carry MNIST with the worktree, e.g.
#   cp -r /root/.cache/neuroplastic/mnist out/mnist     (out/ is git-ignored)
#   run(command="bash benchmarks/spiking_gpu_check.sh", carry=["out/mnist"], timeout_s=540)
# (NEUROPLASTIC_MNIST_DIR defaults to that folder). PYTHON names the interpreter (one with
# torch+CUDA and this package's requirements); DEVICE=cpu MAX_SECONDS=20 gives a dry run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export NEUROPLASTIC_MNIST_DIR="${NEUROPLASTIC_MNIST_DIR:-$PWD/out/mnist}"
export NEUROPLASTIC_HOME="${NEUROPLASTIC_HOME:-$(mktemp -d)}"
DEVICE="${DEVICE:-cuda}"
MAX_SECONDS="${MAX_SECONDS:-360}"
nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || true
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
exec "$PYTHON" benchmarks/spiking_gpu_check.py --device "$DEVICE" --max-seconds "$MAX_SECONDS" "$@"
