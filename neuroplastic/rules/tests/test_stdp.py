import math

import pytest
import torch

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.models.diehl_cook import DiehlCookParams
from neuroplastic.params import build_params
from neuroplastic.rules.stdp import (
    STDPParams,
    stdp_delta,
    stdp_event_sums,
    stdp_step_sums,
    stdp_trace_sums,
)


def sums_from_raster(pre, post, p):
    """(A, D) by the fast event path from dense rasters pre (T, B, n_in), post (T, B, n)."""
    steps, batch, n_in = pre.shape
    cols = torch.nonzero(torch.ones(batch, n_in))
    raster = pre.permute(0, 1, 2).reshape(steps, batch * n_in)
    ev = torch.nonzero(post)
    return stdp_event_sums(
        raster, cols[:, 0], cols[:, 1], (ev[:, 0], ev[:, 1], ev[:, 2]), n_in, post.shape[2], p
    )


def one_pair_raster():
    # one input, one neuron: input spikes at steps 0 and 3 (and 2), output spike at step 2
    pre = torch.zeros(5, 1, 1, dtype=torch.bool)
    post = torch.zeros(5, 1, 1, dtype=torch.bool)
    pre[0, 0, 0] = pre[3, 0, 0] = True
    post[2, 0, 0] = True
    return pre, post


def test_hand_computed_pair_update():
    p = STDPParams(eta_post=0.01, eta_pre=1e-4, tau_pre=20, tau_post=20)
    pre, post = one_pair_raster()
    a, d = sums_from_raster(pre, post, p)
    # pre at 0, post at 2: x_pre(2) = e^(-2/20); pre at 3 meets x_post = e^(-1/20)
    assert a.item() == pytest.approx(math.exp(-0.1), rel=1e-6)
    assert d.item() == pytest.approx(math.exp(-0.05), rel=1e-6)
    dw = stdp_delta(a, d, torch.tensor([1.0]), torch.tensor([[0.2]]), p)
    assert dw.item() == pytest.approx(0.01 * 0.904837418 - 1e-4 * 0.951229425, rel=1e-6)


def test_hand_computed_weight_dependent_update():
    # Diehl & Cook's variant: Δw = η_post (x_pre − x_tar)(w_max − w)^μ on the post spike
    p = STDPParams(eta_post=0.01, eta_pre=1e-4, x_tar=0.5, mu=1.0, w_max=1.0)
    pre, post = one_pair_raster()
    a, d = sums_from_raster(pre, post, p)
    dw = stdp_delta(a, d, torch.tensor([1.0]), torch.tensor([[0.2]]), p)
    expected = 0.01 * (0.904837418 - 0.5) * 0.8 - 1e-4 * 0.951229425
    assert dw.item() == pytest.approx(expected, rel=1e-6)


def test_simultaneous_spikes_potentiate_with_full_trace():
    p = STDPParams()
    pre = torch.zeros(3, 1, 1, dtype=torch.bool)
    post = torch.zeros(3, 1, 1, dtype=torch.bool)
    pre[1, 0, 0] = post[1, 0, 0] = True
    a, d = sums_from_raster(pre, post, p)
    assert a.item() == pytest.approx(1.0) and d.item() == 0.0


def test_event_sums_equal_step_by_step_traces():
    g = torch.Generator().manual_seed(3)
    steps, batch, n_in, n = 60, 3, 7, 5
    pre = torch.rand(steps, batch, n_in, generator=g) < 0.1
    post = torch.rand(steps, batch, n, generator=g) < 0.05
    p = STDPParams(tau_pre=8.0, tau_post=15.0)
    a, d = sums_from_raster(pre, post, p)
    ev = torch.nonzero(pre)
    rows = ev[:, 0] * batch + ev[:, 1]
    a_ref, d_ref = stdp_trace_sums(rows, ev[:, 2], post, n_in, p)
    # and an explicit per-step loop over the trace equations of the module docstring
    a_loop, d_loop = torch.zeros(n, n_in), torch.zeros(n, n_in)
    for b in range(batch):
        x_pre, x_post = torch.zeros(n_in), torch.zeros(n)
        for t in range(steps):
            x_post_seen = x_post * math.exp(-1 / 15.0)
            x_pre = x_pre * math.exp(-1 / 8.0) + pre[t, b].float()
            d_loop += torch.outer(torch.ones(n), pre[t, b].float()) * x_post_seen[:, None]
            a_loop += torch.outer(post[t, b].float(), x_pre)
            x_post = x_post_seen + post[t, b].float()
    torch.testing.assert_close(a, a_loop, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(d, d_loop, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a_ref, a_loop, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(d_ref, d_loop, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("model", "key", "value", "bound"),
    [
        (STDPParams, "eta_pre", -0.1, "greater than or equal to 0"),
        (STDPParams, "eta_post", -1, "greater than or equal to 0"),
        (STDPParams, "tau_pre", 0, "greater than 0"),
        (DiehlCookParams, "tau_theta", 0, "greater than 0"),
        (DiehlCookParams, "max_rate_hz", -5, "greater than 0"),
    ],
)
def test_bad_parameters_fail_in_one_line(model, key, value, bound):
    with pytest.raises(ParameterError) as err:
        build_params(model, {key: value}, "stdp")
    msg = str(err.value)
    assert "\n" not in msg and key in msg and bound in msg and str(value) in msg


def test_shape_errors():
    p = STDPParams()
    with pytest.raises(ShapeError):
        stdp_delta(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3), torch.zeros(2, 3), p)
    with pytest.raises(ShapeError):
        stdp_event_sums(
            torch.zeros(4, 2, dtype=torch.bool),
            torch.zeros(3, dtype=torch.long),
            torch.zeros(2, dtype=torch.long),
            (torch.zeros(1, dtype=torch.long),) * 3,
            2,
            1,
            p,
        )


def test_hand_computed_nearest_spike_triplet_update():
    # Diehl & Cook's published code: traces set to 1 at a spike; potentiation gated by the slow
    # post trace before the spike (τ_post2 = 40 ms). Input spikes at 0, 1, 3; output at 2, 5.
    pre = torch.zeros(6, 1, 1)
    post = torch.zeros(6, 1, 1)
    pre[[0, 1, 3], 0, 0] = 1.0
    post[[2, 5], 0, 0] = 1.0
    p = STDPParams(trace="nearest", tau_post2=40.0)
    a, d = stdp_step_sums(pre, post, p)
    # post at 2 is the first: no potentiation; post at 5 meets x_pre = e^(−2/20) (the input at 3
    # only) gated by x_post2 = e^(−3/40); the input at 3 meets x_post = e^(−1/20)
    assert a.item() == pytest.approx(math.exp(-0.1) * math.exp(-0.075), rel=1e-6)
    assert d.item() == pytest.approx(math.exp(-0.05), rel=1e-6)
    # the additive pair rule on the same spikes (and its closed form)
    lin = STDPParams()
    a2, d2 = stdp_step_sums(pre, post, lin)
    x2 = math.exp(-0.1) + math.exp(-0.05)  # at 2: inputs at 0, 1
    x5 = math.exp(-0.25) + math.exp(-0.2) + math.exp(-0.1)
    assert a2.item() == pytest.approx(x2 + x5, rel=1e-6)
    assert d2.item() == pytest.approx(math.exp(-0.05), rel=1e-6)
    assert sums_from_raster(pre.bool(), post.bool(), lin)[0].item() == pytest.approx(x2 + x5)
    with pytest.raises(ParameterError, match="event sums need trace='additive'"):
        sums_from_raster(pre.bool(), post.bool(), p)
