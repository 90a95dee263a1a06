# ruff: noqa
# Screen script of issue 20 round two (REPRODUCING.md §2d): run from the repository root with
# PYTHONPATH=. and SCREENS_DIR (where diag.py saves trained learners and the others read them).
import os
import sys, torch

torch.set_num_threads(1)
exec(open(os.path.join(os.path.dirname(__file__), "gate2.py")).read().split("tr = data.train")[0])
tr = data.train
sv = stats(data.val.x)
yv = data.val.y
truth = (yv >= 5).float()
st = stats(tr.x[:20000])
yt = tr.y[:20000]
keys = sorted(sv)


def mat(S):
    X = torch.stack([S[k] for k in keys], 1)
    return X


Xt, Xv = mat(st), mat(sv)
mu, sd = Xt.mean(0), Xt.std(0) + 1e-6
Xt, Xv = (Xt - mu) / sd, (Xv - mu) / sd
tt = (yt >= 5).float()
# upper bound: logistic regression on these per-phase statistics trained with BOTH phases' labels (illegitimate)
w = torch.zeros(Xt.shape[1], requires_grad=True)
b = torch.zeros(1, requires_grad=True)
opt = torch.optim.LBFGS([w, b], max_iter=200)


def clos():
    opt.zero_grad()
    l = torch.nn.functional.binary_cross_entropy_with_logits(Xt @ w + b, tt)
    l.backward()
    return l


opt.step(clos)
g = (Xv @ w + b) > 0
print(
    "upper bound gate (LR on",
    len(keys),
    "stats, trained with old+new):",
    (~g[truth == 0]).float().mean().item(),
    g[truth == 1].float().mean().item(),
)
# full-code upper bound: LR on the hidden code h (all units) -> old vs new
Ht = L.hidden_code(tr.x[:20000])
Hv = L.hidden_code(data.val.x)
w2 = torch.zeros(Ht.shape[1], requires_grad=True)
b2 = torch.zeros(1, requires_grad=True)
opt = torch.optim.LBFGS([w2, b2], max_iter=300)


def clos2():
    opt.zero_grad()
    l = (
        torch.nn.functional.binary_cross_entropy_with_logits(Ht @ w2 + b2, tt)
        + 1e-4 * (w2**2).sum()
    )
    l.backward()
    return l


opt.step(clos2)
g = (Hv @ w2 + b2) > 0
print(
    "upper bound gate (LR on code):",
    (~g[truth == 0]).float().mean().item(),
    g[truth == 1].float().mean().item(),
)
