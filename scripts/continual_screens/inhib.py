# ruff: noqa
# Screen script of issue 20 round two (REPRODUCING.md §2d): run from the repository root with
# PYTHONPATH=. and SCREENS_DIR (where diag.py saves trained learners and the others read them).
"""Offline: after phase B, A-rows learn inhibitory weights from B-units on B data where the gate errs."""

import sys, torch

from saved import load_saved

L, data = load_saved(sys.argv[1])
eta = float(sys.argv[2])
margin = float(sys.argv[3])
epochs = int(sys.argv[4])
stat = sys.argv[5]
connected = L.hidden.mask.any(1)
Bu = (connected & ~L.consolidated).float()
W = L.readout.w.detach().clone()
b = L.readout_bias.w.detach().clone()
tr = data.train
Htr = L.hidden_code(tr.x)


def phase_stat(out):
    if stat == "maxlogit":
        return out[:, :5].max(1).values, out[:, 5:].max(1).values
    return torch.logsumexp(out[:, :5], 1), torch.logsumexp(out[:, 5:], 1)


o = Htr @ W.T + b
sa, _ = phase_stat(o[tr.y < 5])
_, sb = phase_stat(o[tr.y >= 5])
mA, sA, mB, sB = sa.mean(), sa.std(), sb.mean(), sb.std()
keep = tr.y >= 5
H = Htr[keep]
y = tr.y[keep]
g = torch.Generator().manual_seed(0)
for ep in range(epochs):
    perm = torch.randperm(len(H), generator=g)
    for s in range(0, len(H), 100):
        h = H[perm[s : s + 100]]
        out = h @ W.T + b
        a_, b_ = phase_stat(out)
        za = (a_ - mA) / sA
        zb = (b_ - mB) / sB
        err = (za > zb - margin).float()  # gate wrong (or within margin) on a new digit
        cstar = out[:, :5].argmax(1)
        onehot = torch.nn.functional.one_hot(cstar, 10).float() * err[:, None]
        W -= eta * (onehot.T @ h) / len(h) * Bu[None, :]


def evaluate(split):
    s = getattr(data, split)
    out = L.hidden_code(s.x) @ W.T + b
    a_, b_ = phase_stat(out)
    gB = (b_ - mB) / sB > (a_ - mA) / sA
    pred = torch.where(gB, out[:, 5:].argmax(1) + 5, out[:, :5].argmax(1))
    old = s.y < 5
    return "gate %.3f/%.3f old %.4f new %.4f all %.4f" % (
        (~gB[old]).float().mean(),
        gB[~old].float().mean(),
        (pred[old] == s.y[old]).float().mean(),
        (pred[~old] == s.y[~old]).float().mean(),
        (pred == s.y).float().mean(),
    )


print(sys.argv[2:], "val", evaluate("val"))
