# ruff: noqa
# Screen script of issue 20 round two (REPRODUCING.md §2d): run from the repository root with
# PYTHONPATH=. and SCREENS_DIR (where diag.py saves trained learners and the others read them).
import sys, torch

from neuroplastic.rules.competitive import template_code
from saved import load_saved

L, data = load_saved(sys.argv[1])
w = L.hidden.w.detach()
connected = L.hidden.mask.any(1)
uphase = torch.where(L.consolidated, L.unit_phase, torch.full_like(L.unit_phase, 1))
uphase = torch.where(connected, uphase, torch.full_like(uphase, -1))


def stats(x):
    h = L.hidden_code(x)
    out = h @ L.readout.w.T + L.readout_bias.w
    m = (x @ w.T) / w.sum(1).clamp(min=1e-12)
    d = x @ w.T - 0.5 * (w * w).sum(1)
    S = {}
    for p, sl in ((0, slice(0, 5)), (1, slice(5, 10))):
        o = out[:, sl]
        u = uphase == p
        S[("msp", p)] = torch.softmax(o, 1).max(1).values
        S[("maxlogit", p)] = o.max(1).values
        S[("lse", p)] = torch.logsumexp(o, 1)
        S[("tmpl", p)] = m[:, u].max(1).values
        S[("tmpl_top5", p)] = m[:, u].topk(5, 1).values.mean(1)
        S[("match", p)] = d[:, u].max(1).values
        S[("hsum", p)] = h[:, u].sum(1)
        S[("hmean", p)] = h[:, u].mean(1)
        # raw code without centering: template matches of phase units, top-10 mean
        S[("tmpl_top20", p)] = m[:, u].topk(20, 1).values.mean(1)
    return S


tr = data.train
Str = {p: stats(tr.x[(tr.y >= 5) == bool(p)][:10000]) for p in (0, 1)}
sv = stats(data.val.x)
yv = data.val.y
truth = (yv >= 5).long()
names = sorted({k[0] for k in sv})
for n in names:
    a, b = sv[(n, 0)], sv[(n, 1)]
    g_raw = (b > a).long()
    # z-normalise with each phase's stats on its own training data
    za = (a - Str[0][(n, 0)].mean()) / Str[0][(n, 0)].std()
    zb = (b - Str[1][(n, 1)].mean()) / Str[1][(n, 1)].std()
    g_z = (zb > za).long()
    # percentile
    pa = torch.searchsorted(Str[0][(n, 0)].sort().values, a.contiguous()).float() / len(
        Str[0][(n, 0)]
    )
    pb = torch.searchsorted(Str[1][(n, 1)].sort().values, b.contiguous()).float() / len(
        Str[1][(n, 1)]
    )
    g_p = (pb > pa).long()

    # likelihood ratio on statistic of phase A only: A-data stats vs B-data (seen in phase B) stats
    def acc(g):
        return "%.3f/%.3f" % (
            (g[truth == 0] == 0).float().mean(),
            (g[truth == 1] == 1).float().mean(),
        )

    print(f"{n:12s} raw {acc(g_raw)}  z {acc(g_z)}  pct {acc(g_p)}")
# 1-D threshold on phase-A statistic alone, threshold from A-train vs B-train (both seen legitimately)
for n in names:
    a_on_A = Str[0][(n, 0)]
    a_on_B = Str[1][(n, 0)]
    best = None
    for q in torch.linspace(0, 1, 201):
        t = torch.quantile(torch.cat([a_on_A, a_on_B]), q)
        accb = 0.5 * ((a_on_A >= t).float().mean() + (a_on_B < t).float().mean())
        if best is None or accb > best[0]:
            best = (accb, t)
    g = (sv[(n, 0)] < best[1]).long()
    print(
        f"{n:12s} A-stat threshold (train bal acc {best[0]:.3f}) val old/new {(g[truth == 0] == 0).float().mean():.3f}/{(g[truth == 1] == 1).float().mean():.3f}"
    )
