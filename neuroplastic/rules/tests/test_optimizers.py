"""Our optimizers, routed through Synapses, must write exactly what torch.optim writes."""

import pytest
import torch

from neuroplastic import Ledger, Synapses
from neuroplastic.rules.optimizers import AdamParams, Optimizer, SGDParams


def _loss(ws, x):
    w1, w2 = ws
    return (torch.tanh(x @ w1.T) @ w2.T).pow(2).mean()


@pytest.mark.parametrize(
    ("name", "params", "torch_cls", "torch_kwargs"),
    [
        ("sgd", SGDParams(lr=0.1), torch.optim.SGD, {"lr": 0.1}),
        (
            "sgd",
            SGDParams(lr=0.05, momentum=0.9, weight_decay=0.01),
            torch.optim.SGD,
            {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01},
        ),
        (
            "sgd",
            SGDParams(lr=0.05, momentum=0.5, nesterov=True),
            torch.optim.SGD,
            {"lr": 0.05, "momentum": 0.5, "nesterov": True},
        ),
        ("adam", AdamParams(lr=0.01), torch.optim.Adam, {"lr": 0.01}),
        (
            "adam",
            AdamParams(lr=0.01, beta1=0.5, beta2=0.9, weight_decay=0.1),
            torch.optim.Adam,
            {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.1},
        ),
    ],
)
def test_matches_torch_optim(name, params, torch_cls, torch_kwargs):
    g = torch.Generator().manual_seed(0)
    init = [
        torch.randn(4, 3, generator=g, dtype=torch.float64),
        torch.randn(2, 4, generator=g, dtype=torch.float64),
    ]
    ref = [p.clone().requires_grad_(True) for p in init]
    opt = torch_cls(ref, **torch_kwargs)
    ledger = Ledger()
    syns = [Synapses(f"w{i}", p, ledger=ledger, requires_grad=True) for i, p in enumerate(init)]
    ours = Optimizer(name, params)
    written = 0.0
    for _ in range(5):
        x = torch.randn(8, 3, generator=g, dtype=torch.float64)
        opt.zero_grad()
        _loss(ref, x).backward()
        opt.step()
        grads = torch.autograd.grad(_loss([s.w for s in syns], x), [s.w for s in syns])
        for syn, grad in zip(syns, grads):
            before = syn.w.detach().clone()
            syn.apply(ours.direction(syn.name, grad, syn.w.detach()), alpha=-ours.lr)
            written += float((syn.w.detach() - before).abs().sum())
    for syn, p in zip(syns, ref):
        torch.testing.assert_close(syn.w.detach(), p.detach(), rtol=1e-10, atol=1e-12)
    assert ledger.counts().m1 == pytest.approx(written)
