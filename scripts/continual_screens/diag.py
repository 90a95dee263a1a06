# ruff: noqa
# Screen script of issue 20 round two (REPRODUCING.md §2d): run from the repository root with
# PYTHONPATH=. and SCREENS_DIR (where diag.py saves trained learners and the others read them).
"""Continual diagnostics: train phase A (0-4) then B (5-9) like run_continual, save the learner."""

import os
import sys, json, time, torch

torch.set_num_threads(1)
from neuroplastic.runs import Experiment, build_learner, load_data, method_params, resolve_device
from neuroplastic.train import LoopSettings, Trainer
from neuroplastic.params import build_params

tag = sys.argv[1]
over = dict(kv.split("=", 1) for kv in sys.argv[2:])
hidden = int(over.pop("hidden", 1000))
exp = Experiment(classes=list(range(10)), hidden=[hidden], seed=0, device="cpu", progress=False)
params = method_params("structural", over, False)
data = load_data(exp)
dev = torch.device("cpu")
learner = build_learner("structural", params, exp, data, dev)
settings = LoopSettings(epochs=params.epochs, batch_size=params.batch_size, seed=0)
out = {}
for phase, cls in (("A", [0, 1, 2, 3, 4]), ("B", [5, 6, 7, 8, 9])):
    lab = torch.tensor(cls)
    keep = torch.isin(data.train.y, lab)
    x, y = data.train.x[keep], data.train.y[keep]
    keep = torch.isin(data.val.y, lab)
    xv, yv = data.val.x[keep], data.val.y[keep]
    t = time.time()
    with learner.ledger.phase(phase):
        learner.begin_phase(phase)
        Trainer(learner, settings, progress=False).fit(x, y, xv, yv)
    print(phase, "done", time.time() - t, "connected", learner.connected_units(), flush=True)
torch.save(
    {
        "state": learner.state_dict(),
        "lstate": learner.learner_state(),
        "over": over,
        "hidden": hidden,
    },
    f"{os.environ.get('SCREENS_DIR', '.')}/{tag}.pt",
)


def acc(xx, yy):
    p = learner.predict(xx).argmax(1)
    return float((p == yy).float().mean())


for split in ("val", "test"):
    s = getattr(data, split)
    old = s.y < 5
    print(
        tag,
        split,
        "old %.4f new %.4f all %.4f"
        % (acc(s.x[old], s.y[old]), acc(s.x[~old], s.y[~old]), acc(s.x, s.y)),
        flush=True,
    )
