# ruff: noqa
# Screen script of issue 20 round two (REPRODUCING.md §2d): run from the repository root with
# PYTHONPATH=. and SCREENS_DIR (where diag.py saves trained learners and the others read them).
import sys, torch

from saved import load_saved

L, data = load_saved(sys.argv[1])
L.p = L.p.model_copy(update={"phase_gate": "off"})
DELTAS = (
    [float(v) for v in sys.argv[2].split(",")]
    if len(sys.argv) > 2
    else (0, 0.25, 0.5, 0.75, 1.0, 1.5)
)
n, tot, sq = L.gate_moments[:2].unbind(1)
mu = tot / n
sd = (sq / n - mu**2).sqrt()
for split in ("val", "test"):
    s = getattr(data, split)
    out = L.predict(s.x)
    zA = (out[:, :5].max(1).values - mu[0]) / sd[0]
    zB = (out[:, 5:].max(1).values - mu[1]) / sd[1]
    old = s.y < 5
    for d in DELTAS:
        gB = zB > zA + d
        pred = torch.where(gB, out[:, 5:].argmax(1) + 5, out[:, :5].argmax(1))
        print(
            split,
            "delta",
            d,
            "old %.4f new %.4f all %.4f"
            % (
                (pred[old] == s.y[old]).float().mean(),
                (pred[~old] == s.y[~old]).float().mean(),
                (pred == s.y).float().mean(),
            ),
        )
