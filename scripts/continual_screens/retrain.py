# ruff: noqa
# Screen script of issue 20 round two (REPRODUCING.md §2d): run from the repository root with
# PYTHONPATH=. and SCREENS_DIR (where diag.py saves trained learners and the others read them).
"""Retrain phase B's readout on a saved continual learner with different schemes; score val."""

import sys, torch

from saved import load_saved

L, data = load_saved(sys.argv[1])
scheme = sys.argv[2]
epochs = 4
connected = L.hidden.mask.any(1)
newu = connected & ~L.consolidated
W = L.readout.w.detach().clone()
b = L.readout_bias.w.detach().clone()
W[5:] = 0
b[5:] = 0
tr = data.train
keep = tr.y >= 5
x, y = tr.x[keep], tr.y[keep]
g = torch.Generator().manual_seed(0)
H = L.hidden_code(x)
for ep in range(epochs):
    eta = 1.0 * (1 - ep / epochs)
    perm = torch.randperm(len(x), generator=g)
    for s in range(0, len(x), 100):
        idx = perm[s : s + 100]
        h = H[idx]
        t = torch.nn.functional.one_hot(y[idx], 10).float()
        out = h @ W.T + b
        if scheme == "phase":
            o = out.clone()
            o[:, :5] = -float("inf")
        else:
            o = out
        err = torch.softmax(o, 1) - t
        gW = err.T @ h / len(h)
        gb = err.mean(0)
        mask = torch.zeros_like(W)
        mask[5:] = newu.float()
        bm = torch.zeros_like(b)
        bm[5:] = 1
        if scheme == "inhibit":  # old rows learn only from new units
            mask[:5] = newu.float()
        if scheme == "inhibit_b":
            mask[:5] = newu.float()
            bm[:5] = 1
        W -= eta * gW * mask
        b -= eta * gb * bm


def evaluate(split):
    s = getattr(data, split)
    h = L.hidden_code(s.x)
    out = h @ W.T + b
    if scheme == "phase":
        cA = torch.softmax(out[:, :5], 1).max(1).values
        cB = torch.softmax(out[:, 5:], 1).max(1).values
        out = out.clone()
        out[cB > cA, :5] = -1e4
        out[cB <= cA, 5:] = -1e4
    p = out.argmax(1)
    old = s.y < 5
    return "old %.4f new %.4f all %.4f" % (
        (p[old] == s.y[old]).float().mean(),
        (p[~old] == s.y[~old]).float().mean(),
        (p == s.y).float().mean(),
    )


print(scheme, "val", evaluate("val"))
