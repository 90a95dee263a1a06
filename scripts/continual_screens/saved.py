"""Load a learner saved by diag.py (the continual screens' shared start).

Run the screens from the repository root with PYTHONPATH=. ; SCREENS_DIR is where diag.py saved
the trained learners (default: the current directory).
"""

import os

import torch

from neuroplastic.runs import Experiment, build_learner, load_data, method_params


def load_saved(tag: str):
    """The structural learner saved as ``SCREENS_DIR/<tag>.pt`` and the full MNIST splits."""
    torch.set_num_threads(1)
    ck = torch.load(f"{os.environ.get('SCREENS_DIR', '.')}/{tag}.pt")
    exp = Experiment(
        classes=list(range(10)), hidden=[ck["hidden"]], seed=0, device="cpu", progress=False
    )
    params = method_params("structural", ck["over"], False)
    data = load_data(exp)
    learner = build_learner("structural", params, exp, data, torch.device("cpu"))
    learner.load_state_dict(ck["state"])
    learner.load_learner_state(ck["lstate"])
    return learner, data
