"""AdaBelief direction against steps computed by hand, and routed through Synapses."""

import math

import pytest
import torch

from neuroplastic import Ledger, Synapses
from neuroplastic.rules.optimizers import AdaBeliefParams, Optimizer, adabelief_direction


def test_first_step_by_hand():
    # t=1: m = 0.1 g, s = 0.001 (0.9 g)^2 + eps_root; m̂ = g, ŝ = 0.81 g² + 1000 eps_root
    p = AdaBeliefParams(lr=1e-3, eps=0.0, eps_root=0.0)
    g = torch.tensor([2.0, -0.5], dtype=torch.float64)
    d = adabelief_direction(g, torch.zeros_like(g), {}, p)
    assert d.tolist() == pytest.approx([1 / 0.9, -1 / 0.9])
    # a zero gradient gives a zero step with the default eps (no 0/0)
    z = adabelief_direction(torch.zeros(1), torch.zeros(1), {}, AdaBeliefParams())
    assert float(z) == 0.0


def test_two_steps_by_hand():
    p = AdaBeliefParams(beta1=0.5, beta2=0.75, eps=1e-3, eps_root=1e-4, weight_decay=0.1)
    w = torch.tensor([1.0], dtype=torch.float64)
    state: dict = {}
    g1, g2 = 1.0, -3.0
    adabelief_direction(torch.tensor([g1], dtype=torch.float64), w, state, p)
    d2 = adabelief_direction(torch.tensor([g2], dtype=torch.float64), w, state, p)
    # by hand (weight decay adds 0.1 * w = 0.1 to each gradient)
    a1, a2 = g1 + 0.1, g2 + 0.1
    m1 = 0.5 * a1
    s1 = 0.25 * (a1 - m1) ** 2 + 1e-4
    m2 = 0.5 * m1 + 0.5 * a2
    s2 = 0.75 * s1 + 0.25 * (a2 - m2) ** 2 + 1e-4
    expected = (m2 / (1 - 0.5**2)) / (math.sqrt(s2 / (1 - 0.75**2)) + 1e-3)
    assert float(d2) == pytest.approx(expected, rel=1e-12)
    assert state["step"] == 2


def test_through_synapses_is_counted():
    ledger = Ledger()
    syn = Synapses("w", torch.tensor([0.5, -0.5]), ledger=ledger)
    opt = Optimizer("adabelief", AdaBeliefParams(lr=0.01))
    before = syn.w.detach().clone()
    syn.apply(opt.direction("w", torch.tensor([1.0, -2.0]), syn.w.detach()), alpha=-opt.lr)
    diff = syn.w.detach() - before
    assert diff.tolist() == pytest.approx([-0.01 / 0.9, 0.01 / 0.9], rel=1e-5)
    assert ledger.counts().m1 == pytest.approx(float(diff.abs().sum()))
    assert opt.state_dict()["state"]["w"]["step"] == 1
