"""Autograd through the event loop against finite differences (float64), and continuity of the
loss where a spike enters the trial through its end (the point of pseudospikes)."""

from __future__ import annotations

import math

import pytest
import torch

from neuroplastic.spiking.events import spike_train_input
from neuroplastic.spiking.loss import spike_time_loss
from neuroplastic.spiking.pseudospikes import output_times, pseudospike_times
from neuroplastic.spiking.simulate import simulate_network
from neuroplastic.spiking.tests.test_simulate import random_net
from neuroplastic.spiking.theta import ThetaParams

P = ThetaParams()
T = 2.0
SIZES = [5, 4, 4, 3]


def make_case(seed):
    weights, phi0 = random_net(SIZES, seed)
    g = torch.Generator().manual_seed(50 + seed)
    times = torch.rand(3, SIZES[0], generator=g, dtype=torch.float64) * 1.5
    y = torch.tensor([0, 1, 2])
    return weights, phi0, times, y


def loss_of(weights, phi0, times, y):
    trial = simulate_network(spike_train_input(times, weights[0], 64), weights, phi0, T, P, 64)
    pseudo = pseudospike_times(trial.final_phases, weights, T, P)
    return spike_time_loss(output_times(trial.output_first_spike, pseudo), y, T), trial


@pytest.mark.parametrize("seed", [0, 2, 4])
def test_gradients_match_finite_differences(seed):
    weights, phi0, times, y = make_case(seed)
    _, trial = loss_of(weights, phi0, times, y)
    hidden_spikes = sum(int(layer.spike_counts.sum()) for layer in trial.layers[:-1])
    assert hidden_spikes > 0
    leaves = [w.clone().requires_grad_() for w in weights] + [
        p.clone().requires_grad_() for p in phi0
    ]
    t_in = times.clone().requires_grad_()
    n = len(weights)

    def f(*args):
        return loss_of(list(args[:n]), list(args[n : 2 * n]), args[-1], y)[0]

    assert torch.autograd.gradcheck(f, (*leaves, t_in), eps=1e-7, atol=1e-5, rtol=1e-4)


def test_gradient_reaches_silent_network():
    # every neuron silent: the loss still has a gradient through the pseudospikes
    weights, phi0, times, y = make_case(0)
    weights = [w * 0.01 for w in weights]
    phi0 = [torch.full_like(p, 3.0) for p in phi0]
    leaves = [w.clone().requires_grad_() for w in weights]
    loss, trial = loss_of(leaves, phi0, times, y)
    assert all(int(layer.spike_counts.sum()) == 0 for layer in trial.layers)
    grads = torch.autograd.grad(loss, leaves)
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


def _scan_for_crossing(fn, lo, hi):
    """Bisect on c in [lo, hi] for the point where fn(c)'s spike count changes."""
    n_lo = fn(lo)[1]
    assert fn(hi)[1] != n_lo
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if fn(mid)[1] == n_lo:
            lo = mid
        else:
            hi = mid
    return lo, hi


@pytest.mark.parametrize("layer", [-1, 0])
def test_loss_continuous_when_a_spike_appears_at_the_trial_end(layer):
    """Scale one layer's weights by c; where a spike of that layer crosses T the loss and the
    gradient dL/dc stay continuous (no jump)."""
    weights, phi0, times, y = make_case(1)
    phi0 = [p * 0 + 3.8 for p in phi0]

    def fn(c, grad=False):
        cc = torch.tensor(c, dtype=torch.float64, requires_grad=grad)
        ws = list(weights)
        ws[layer] = weights[layer] * cc
        loss, trial = loss_of(ws, phi0, times, y)
        count = int(trial.layers[layer].spike_counts.sum())
        if grad:
            return float(loss.detach()), count, float(torch.autograd.grad(loss, cc)[0])
        return float(loss.detach()), count

    counts = [fn(c)[1] for c in torch.linspace(0.0, 3.0, 31).tolist()]
    assert len(set(counts)) > 1
    k = next(i for i in range(30) if counts[i] != counts[i + 1])
    lo, hi = _scan_for_crossing(fn, 0.1 * k, 0.1 * (k + 1))
    below, above = fn(lo, grad=True), fn(hi, grad=True)
    assert below[1] != above[1]  # a spike appeared or vanished between lo and hi
    assert above[0] == pytest.approx(below[0], abs=1e-8)  # the loss does not jump
    # one-sided finite differences agree with autograd on both sides of the crossing
    h = 1e-6
    assert below[2] == pytest.approx((fn(lo)[0] - fn(lo - h)[0]) / h, rel=1e-3, abs=1e-5)
    assert above[2] == pytest.approx((fn(hi + h)[0] - fn(hi)[0]) / h, rel=1e-3, abs=1e-5)
    assert math.isfinite(below[2]) and math.isfinite(above[2])
