# ruff: noqa
# Screen script of issue 20 round two (REPRODUCING.md §2d): run from the repository root with
# PYTHONPATH=. and SCREENS_DIR (where diag.py saves trained learners and the others read them).
"""Analyse a saved continual learner: where do new-digit errors go?"""

import sys, torch

from saved import load_saved

L, data = load_saved(sys.argv[1])
print(
    "unit_phase counts",
    torch.bincount(L.unit_phase + 1).tolist(),
    "connected",
    L.connected_units(),
    "phase_index",
    L.phase_index,
)
print("class_phase", L.class_phase.tolist())
for split in ("val", "test"):
    s = getattr(data, split)
    x, y = s.x, s.y
    h = L.hidden_code(x)
    out = h @ L.readout.w.T + L.readout_bias.w
    truth_phase = (y >= 5).long()
    A = torch.softmax(out[:, :5], 1)
    B = torch.softmax(out[:, 5:], 1)
    cA, cB = A.max(1).values, B.max(1).values
    gate = (cB > cA).long()
    print(
        split,
        "gate acc old %.4f new %.4f"
        % ((gate[y < 5] == 0).float().mean(), (gate[y >= 5] == 1).float().mean()),
    )
    # oracle-gated accuracy
    predA = out[:, :5].argmax(1)
    predB = out[:, 5:].argmax(1) + 5
    orc = torch.where(truth_phase == 1, predB, predA)
    print(
        split,
        "oracle-gate acc old %.4f new %.4f"
        % ((orc[y < 5] == y[y < 5]).float().mean(), (orc[y >= 5] == y[y >= 5]).float().mean()),
    )
    pred = L.predict(x).argmax(1)
    cm = torch.zeros(10, 10, dtype=torch.long)
    cm.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    if split == "test":
        print(cm)
    # confidence stats per true phase
    for nm, c in (("cA", cA), ("cB", cB)):
        print(split, nm, "on old mean %.3f on new mean %.3f" % (c[y < 5].mean(), c[y >= 5].mean()))
