"""The batched layer-by-layer simulation against the spec's global event loop, and its errors."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from neuroplastic.errors import ParameterError
from neuroplastic.spiking.events import EventBudgetError, spike_train_input, volley_input
from neuroplastic.spiking.simulate import run_layer, simulate_network
from neuroplastic.spiking.tests.helpers import reference_trial
from neuroplastic.spiking.theta import ThetaParams, transfer

P = ThetaParams()
T = 2.0


def random_net(sizes, seed, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    weights = [
        (torch.rand(b, a, generator=g, dtype=torch.float64) * 2 - 1) * scale / math.sqrt(a) + 0.3
        for a, b in itertools.pairwise(sizes)
    ]
    phi0 = [torch.rand(b, generator=g, dtype=torch.float64) * 4.0 + 1.0 for b in sizes[1:]]
    return weights, phi0


def test_single_neuron_spike_time_by_hand():
    # one input spike at t=0.5 of weight w onto a neuron starting at phase 3
    w = torch.tensor([[1.5]], dtype=torch.float64)
    inp = spike_train_input(torch.tensor([[0.5]], dtype=torch.float64), w, 4)
    res = run_layer(torch.tensor([3.0], dtype=torch.float64), inp, T, P)
    after = float(
        transfer(torch.tensor(3.5, dtype=torch.float64), torch.tensor(1.5, dtype=torch.float64), P)
    )
    expected = 0.5 + 6.0 - after
    if expected < T:
        assert float(res.first_spike) == pytest.approx(expected)
        assert float(res.final_phase) == pytest.approx(T - expected)
    else:
        assert math.isinf(float(res.first_spike))
        assert float(res.final_phase) == pytest.approx(after + T - 0.5)


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_global_event_loop(seed):
    sizes = [6, 5, 4, 3]
    weights, phi0 = random_net(sizes, seed)
    g = torch.Generator().manual_seed(100 + seed)
    times = torch.rand(4, sizes[0], generator=g, dtype=torch.float64) * 2.4  # some beyond T
    trial = simulate_network(spike_train_input(times, weights[0], 64), weights, phi0, T, P, 64)
    n_spikes = 0
    for b in range(times.shape[0]):
        spikes, final = reference_trial(times[b].tolist(), weights, phi0, T, P)
        for layer, res in enumerate(trial.layers):
            assert torch.allclose(
                res.final_phase[b], torch.tensor(final[layer]).double(), atol=1e-9
            )
            for j in range(res.final_phase.shape[1]):
                got = sorted(x for x in res.spike_times[b, :, j].tolist() if math.isfinite(x))
                assert got == pytest.approx(spikes[layer][j], abs=1e-9)
                n_spikes += len(got)
    assert n_spikes > 0  # the check is not vacuous


def test_volley_equals_simultaneous_spikes():
    sizes = [8, 5, 3]
    weights, phi0 = random_net(sizes, 3)
    active = (torch.rand(5, 8, generator=torch.Generator().manual_seed(1)) < 0.5).double()
    times = torch.where(active > 0, 0.02, math.inf).double()
    a = simulate_network(volley_input(active, 0.02, weights[0]), weights, phi0, T, P, 64)
    b = simulate_network(spike_train_input(times, weights[0], 64), weights, phi0, T, P, 64)
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert torch.allclose(la.final_phase, lb.final_phase, atol=1e-9)
        assert torch.equal(la.spike_counts, lb.spike_counts)


def test_event_budget_error_is_clear_not_nan():
    sizes = [6, 5, 4]
    weights, phi0 = random_net(sizes, 0, scale=6.0)
    active = torch.ones(3, 6, dtype=torch.float64)
    ok = simulate_network(volley_input(active, 0.1, weights[0]), weights, phi0, T, P, 64)
    hidden_max = int(ok.layers[0].spike_counts.sum(1).max())
    assert hidden_max >= 2
    with pytest.raises(EventBudgetError, match="max_events=1"):
        simulate_network(volley_input(active, 0.1, weights[0]), weights, phi0, T, P, 1)
    times = torch.rand(3, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(EventBudgetError, match="event budget"):
        spike_train_input(times, weights[0], 3)
    with pytest.raises(EventBudgetError, match="event budget"):
        simulate_network(spike_train_input(times, weights[0], 8), weights, phi0, T, P, 3)


def test_trial_must_be_shorter_than_the_period():
    inp = spike_train_input(torch.tensor([[0.1]]), torch.ones(1, 1), 4)
    with pytest.raises(ParameterError, match="shorter than"):
        run_layer(torch.zeros(1), inp, 7.0, P)


def test_batched_equals_one_by_one():
    sizes = [6, 5, 4, 3]
    weights, phi0 = random_net(sizes, 5)
    times = torch.rand(7, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    full = simulate_network(spike_train_input(times, weights[0], 64), weights, phi0, T, P, 64)
    for b in range(7):
        one = simulate_network(
            spike_train_input(times[b : b + 1], weights[0], 64), weights, phi0, T, P, 64
        )
        assert torch.allclose(one.output_first_spike, full.output_first_spike[b : b + 1])
        assert torch.allclose(one.layers[-1].final_phase, full.layers[-1].final_phase[b : b + 1])
