import math

import pytest
import torch

from neuroplastic.errors import DataError
from neuroplastic.models.diehl_cook import (
    DiehlCookParams,
    input_currents,
    normalized,
    poisson_events,
    simulate,
)


def test_poisson_rates_and_silent_pixels():
    x = torch.tensor([[0.0, 0.5, 1.0]])
    g = torch.Generator().manual_seed(0)
    ev = poisson_events(x, 63.75, 20_000, 1.0, g)
    counts = torch.bincount(ev.i, minlength=3).float() / 20.0  # spikes per second
    assert counts[0] == 0
    assert counts[1].item() == pytest.approx(31.875, rel=0.1)
    assert counts[2].item() == pytest.approx(63.75, rel=0.1)
    assert bool((ev.t[1:] >= ev.t[:-1]).all())


@pytest.mark.parametrize("bad", [float("nan"), -0.1, 1.5])
def test_bad_intensities_raise(bad):
    with pytest.raises(DataError):
        poisson_events(torch.tensor([[0.2, bad]]), 63.75, 10, 1.0, None)


def test_input_currents_sum_active_columns():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 9, generator=g)
    ev = poisson_events(x, 400.0, 30, 1.0, g)
    w_in_major = torch.rand(9, 4, generator=g)
    dense = torch.zeros(30, 3, 9)
    dense[ev.t, ev.b, ev.i] = 1.0
    torch.testing.assert_close(input_currents(ev, w_in_major), dense @ w_in_major)


def test_lif_spike_times_by_hand():
    # constant 2 mV per step from rest: v_t = −65 + 2 Σ_k a^k; threshold −52 first crossed when
    # 2 (1 − a^n)/(1 − a) ≥ 13 with a = e^(−1/100): n = 7 → spike at step index 6
    p = DiehlCookParams(steps=12, theta_plus=0.0, refractory=5.0)
    cur = torch.full((12, 1, 1), 2.0)
    raster = simulate(cur, torch.zeros(1), p)
    a = math.exp(-0.01)
    n = next(n for n in range(1, 20) if 2 * (1 - a**n) / (1 - a) >= 13)
    assert n == 7
    assert raster[:, 0, 0].nonzero().flatten().tolist() == [6]  # refractory through step 11


def test_lateral_inhibition_and_one_spike():
    p = DiehlCookParams(steps=40, theta_plus=0.0, w_inh=50.0)
    cur = torch.tensor([3.0, 2.9]).expand(40, 1, 2).clone()
    raster = simulate(cur, torch.zeros(2), p)
    assert raster[:, 0, 0].sum() >= 1 and raster[:, 0, 1].sum() == 0  # the weaker is silenced
    both = simulate(cur, torch.zeros(2), p.model_copy(update={"w_inh": 0.0}))
    assert both[:, 0, 1].sum() >= 1
    assert int(both.sum(2).max()) == 1  # never two spikes in one step


def test_adaptive_threshold_reduces_firing():
    p = DiehlCookParams(steps=200, theta_plus=0.0)
    cur = torch.full((200, 1, 1), 3.0)
    low = simulate(cur, torch.zeros(1), p).sum()
    high = simulate(cur, torch.full((1,), 5.0), p).sum()
    assert high < low


def test_normalized_rows():
    w = torch.tensor([[1.0, 3.0], [0.0, 0.0]])
    out = normalized(w, 8.0)
    torch.testing.assert_close(out, torch.tensor([[2.0, 6.0], [0.0, 0.0]]))
