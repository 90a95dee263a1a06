# ruff: noqa
# Screen script of issue 20 round two (REPRODUCING.md §2d): run from the repository root with
# PYTHONPATH=. and SCREENS_DIR (where diag.py saves trained learners and the others read them).
import sys, torch

from saved import load_saved

L, data = load_saved(sys.argv[1])
w = L.hidden.w.detach()
connected = L.hidden.mask.any(1)
A = L.consolidated & connected
B = connected & ~L.consolidated


def feats(x, kind):
    m = (x @ w.T) / w.sum(1).clamp(min=1e-12)
    if kind == "m":
        return m
    if kind == "h":
        return L.hidden_code(x)


tr = data.train
v = data.val
truth = v.y >= 5
oldtr, newtr = tr.x[tr.y < 5], tr.x[tr.y >= 5]
out = L.hidden_code(v.x) @ L.readout.w.T + L.readout_bias.w
predA = out[:, :5].argmax(1)
predB = out[:, 5:].argmax(1) + 5


def report(name, gateB):
    g = gateB
    pred = torch.where(g, predB, predA)
    o = ~truth
    print(
        f"{name:30s} gate {(~g[o]).float().mean():.3f}/{g[~o].float().mean():.3f}  acc old {(pred[o] == v.y[o]).float().mean():.4f} new {(pred[~o] == v.y[~o]).float().mean():.4f} all {(pred == v.y).float().mean():.4f}"
    )


for kind in ("m", "h"):
    for units_name, units in (("A", A), ("A+B", A | B)):
        fa, fb, fv = (
            feats(oldtr, kind)[:, units],
            feats(newtr, kind)[:, units],
            feats(v.x, kind)[:, units],
        )
        ma, mb = fa.mean(0), fb.mean(0)
        va, vb = fa.var(0) + 1e-4, fb.var(0) + 1e-4
        llr = (
            -((fv - mb) ** 2) / (2 * vb)
            - 0.5 * vb.log()
            + (fv - ma) ** 2 / (2 * va)
            + 0.5 * va.log()
        ).sum(1)
        report(f"NB {kind} units {units_name}", llr > 0)
        vp = 0.5 * (va + vb)
        lin = ((fv - 0.5 * (ma + mb)) * (mb - ma) / vp).sum(1)
        report(f"LDA-diag {kind} units {units_name}", lin > 0)
print("---- knn votes")
uph = torch.where(A, 0, torch.where(B, 1, -1))
mv = feats(v.x, "m")
score_sets = {"m": mv, "match": v.x @ w.T - 0.5 * (w * w).sum(1)}
# per-unit normalisation: unit's mean m on its own phase's training data where it is in the top-5 of its phase
for nm, S in list(score_sets.items()):
    S = S.masked_fill(~connected, float("-inf"))
    for k in (1, 3, 10, 30, 100):
        top = S.topk(k, 1).indices
        frac = (uph[top] == 1).float().mean(1)
        report(f"vote {nm} k={k}", frac > 0.5)
# per-unit z of m using each unit's stats on its own phase's data
mA = feats(oldtr[:10000], "m")
mB = feats(newtr[:10000], "m")
mu = torch.where(A, mA.mean(0), mB.mean(0))
sd = torch.where(A, mA.std(0), mB.std(0)) + 1e-6
Z = ((mv - mu) / sd).masked_fill(~connected, float("-inf"))
for k in (1, 10, 30, 100):
    top = Z.topk(k, 1).indices
    report(f"vote z-m k={k}", (uph[top] == 1).float().mean(1) > 0.5)
    za = Z.masked_fill(~A, float("-inf")).topk(k, 1).values.mean(1)
    zb = Z.masked_fill(~B, float("-inf")).topk(k, 1).values.mean(1)
    report(f"topk-mean z-m k={k}", zb > za)
# per-unit 95th percentile of m on own data -> normalise
q = torch.where(A, mA.quantile(0.99, 0), mB.quantile(0.99, 0)) + 1e-6
R = (mv / q).masked_fill(~connected, float("-inf"))
for k in (1, 10, 30):
    ra = R.masked_fill(~A, float("-inf")).topk(k, 1).values.mean(1)
    rb = R.masked_fill(~B, float("-inf")).topk(k, 1).values.mean(1)
    report(f"topk-mean m/q99 k={k}", rb > ra)
print("---- coverage")
present = (w > 0).float()


def cov_scores(x, units, k):
    m = ((x @ w.T) / w.sum(1).clamp(min=1e-12)).masked_fill(~units, float("-inf"))
    top = m.topk(k, 1)
    union = present[top.indices].amax(1)  # (B, 784)
    cov = (x * union).sum(1) / x.sum(1)
    return top.values.mean(1), cov


for k in (3, 10, 30, 60):
    ma, ca = cov_scores(v.x, A, k)
    mb, cb = cov_scores(v.x, B, k)
    report(f"coverage k={k}", cb > ca)
    report(f"m*cov k={k}", mb * cb > ma * ca)
    f1a = 2 * ma * ca / (ma + ca)
    f1b = 2 * mb * cb / (mb + cb)
    report(f"F1 k={k}", f1b > f1a)
print("---- per-class calibration")


def logits(x):
    return L.hidden_code(x) @ L.readout.w.T + L.readout_bias.w


lt = logits(tr.x[:30000])
yt = tr.y[:30000]
mu = torch.stack([lt[yt == c, c].mean() for c in range(10)])
sd = torch.stack([lt[yt == c, c].std() for c in range(10)])
lv = logits(v.x)


def rep_full(name, pred):
    o = ~truth
    print(
        f"{name:30s} acc old {(pred[o] == v.y[o]).float().mean():.4f} new {(pred[~o] == v.y[~o]).float().mean():.4f} all {(pred == v.y).float().mean():.4f}"
    )


rep_full("raw argmax", lv.argmax(1))
rep_full("z per class", ((lv - mu) / sd).argmax(1))
rep_full("centred per class", (lv - mu).argmax(1))
# phase-level z of max logit (ref)
# per phase logit centring: subtract phase's mean max-logit on own data
for p_, sl in ((0, slice(0, 5)), (1, slice(5, 10))):
    pass
# z of logit with phase-level stats (all classes of the phase share mean/std of the true-class logit)
mp = torch.tensor(
    [
        lt[(yt < 5), :5].gather(1, yt[yt < 5, None]).mean(),
        lt[(yt >= 5), 5:].gather(1, (yt[yt >= 5] - 5)[:, None]).mean(),
    ]
)
sp = torch.tensor(
    [
        lt[(yt < 5), :5].gather(1, yt[yt < 5, None]).std(),
        lt[(yt >= 5), 5:].gather(1, (yt[yt >= 5] - 5)[:, None]).std(),
    ]
)
ph = torch.tensor([0] * 5 + [1] * 5)
rep_full("z per phase (true logit)", ((lv - mp[ph]) / sp[ph]).argmax(1))
# within-phase softmax log-prob + per-class z
print("---- per-class stats in A-unit space")
for kind in ("m", "h"):
    for uname, U in (("A", A), ("all", A | B)):
        ft = feats(tr.x[:30000], kind)[:, U]
        fv = feats(v.x, kind)[:, U]
        mus = torch.stack([ft[yt == c].mean(0) for c in range(10)])
        vas = torch.stack([ft[yt == c].var(0) for c in range(10)]) + 1e-3
        d = torch.cdist(fv, mus)
        ncm = d.argmin(1)
        rep_full(f"NCM {kind} {uname} class", ncm)
        report(f"NCM {kind} {uname} gate", ncm >= 5)
        ll = torch.stack(
            [(-((fv - mus[c]) ** 2) / (2 * vas[c]) - 0.5 * vas[c].log()).sum(1) for c in range(10)],
            1,
        )
        rep_full(f"NB {kind} {uname} class", ll.argmax(1))
        report(f"NB {kind} {uname} gate", ll.argmax(1) >= 5)
        vp = vas.mean(0)
        ll2 = torch.stack([(-((fv - mus[c]) ** 2) / (2 * vp)).sum(1) for c in range(10)], 1)
        rep_full(f"LDAdiag {kind} {uname} class", ll2.argmax(1))
        report(f"LDAdiag {kind} {uname} gate", ll2.argmax(1) >= 5)
