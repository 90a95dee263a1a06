"""The phase form against the membrane equation τ dV/dt = V(V − 1) + I0 (+ kicks)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplastic.spiking.theta import ThetaParams, phi_of_v, theta_period, transfer, v_of_phi

P = ThetaParams()


def rk4_spike_time(v0: float, p: ThetaParams, kick: tuple[float, float] | None = None) -> float:
    """Integrate the membrane equation with RK4 until V blows up; return the spike time.

    The step shrinks as V grows (h = h0 / (1 + |V|), a fixed relative change of V per step); past V = 1e4 the rest of the way to +∞ is
    added analytically (dV/dt ≈ V²/τ, so the time left is τ/V).
    """

    def f(v: float) -> float:
        return (v * (v - 1) + p.i0) / p.tau

    t, v, h0 = 0.0, v0, 1e-3
    t_kick, w = kick if kick is not None else (math.inf, 0.0)
    while v < 1e4:
        h = h0 / (1 + abs(v))
        if t < t_kick <= t + h:
            h = t_kick - t
        k1 = f(v)
        k2 = f(v + h / 2 * k1)
        k3 = f(v + h / 2 * k2)
        k4 = f(v + h * k3)
        v += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t += h
        if abs(t - t_kick) < 1e-15:
            v += w
            t_kick = math.inf
    return t + p.tau / v


def test_period_of_the_paper_values():
    assert P.period == pytest.approx(6.0)
    assert theta_period(1.0, 0.5) == pytest.approx(math.pi / 0.5)


def test_phi_and_its_inverse():
    phi = torch.linspace(0.01, 5.99, 50, dtype=torch.float64)
    assert torch.allclose(phi_of_v(v_of_phi(phi, P), P), phi, atol=1e-10)
    assert float(phi_of_v(torch.tensor(-math.inf), P)) == pytest.approx(0.0)
    assert float(phi_of_v(torch.tensor(math.inf), P)) == pytest.approx(6.0)
    assert torch.isfinite(v_of_phi(torch.tensor([0.0, 6.0]), P)).all()


@pytest.mark.parametrize("v0", [-3.0, 0.0, 0.5, 2.0])
def test_free_spike_time_matches_ode(v0):
    phi0 = float(phi_of_v(torch.tensor(v0, dtype=torch.float64), P))
    assert rk4_spike_time(v0, P) == pytest.approx(P.period - phi0, abs=1e-5)


@pytest.mark.parametrize(
    ("v0", "t_kick", "w"), [(0.0, 0.5, 0.8), (-1.0, 1.0, -0.7), (1.0, 0.3, 2.5)]
)
def test_kicked_spike_time_matches_ode(v0, t_kick, w):
    p = ThetaParams(tau=1.3, i0=0.9)
    phi0 = float(phi_of_v(torch.tensor(v0, dtype=torch.float64), p))
    phi_after = float(
        transfer(torch.tensor(phi0 + t_kick, dtype=torch.float64), torch.tensor(w), p)
    )
    predicted = t_kick + p.period - phi_after
    assert rk4_spike_time(v0, p, (t_kick, w)) == pytest.approx(predicted, abs=1e-5)


def test_transfer_ends_and_zero_kick():
    w = torch.tensor([-3.0, -0.1, 0.0, 0.4, 10.0], dtype=torch.float64)
    assert torch.equal(transfer(torch.zeros_like(w), w, P), torch.zeros_like(w))
    assert torch.allclose(transfer(torch.full_like(w, 6.0), w, P), torch.full_like(w, 6.0))
    phi = torch.linspace(0, 6, 13, dtype=torch.float64)
    assert torch.allclose(transfer(phi, torch.zeros_like(phi), P), phi, atol=1e-12)


def test_transfer_gradient_is_finite_at_the_ends():
    phi = torch.tensor([0.0, 6.0], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([0.7, -0.7], dtype=torch.float64, requires_grad=True)
    transfer(phi, w, P).sum().backward()
    assert torch.isfinite(phi.grad).all() and torch.isfinite(w.grad).all()
    assert torch.allclose(phi.grad, torch.ones(2, dtype=torch.float64))


@settings(max_examples=50, deadline=None)
@given(
    phi=st.floats(0.0, 6.0),
    a=st.floats(-5.0, 5.0),
    b=st.floats(-5.0, 5.0),
)
def test_kicks_add_in_voltage(phi, a, b):
    t = torch.tensor(phi, dtype=torch.float64)
    once = transfer(t, torch.tensor(a + b, dtype=torch.float64), P)
    twice = transfer(
        transfer(t, torch.tensor(a, dtype=torch.float64), P),
        torch.tensor(b, dtype=torch.float64),
        P,
    )
    assert float(once) == pytest.approx(float(twice), abs=1e-9)
    assert 0.0 <= float(once) <= 6.0
    # H is monotone in the kick
    assert (
        float(transfer(t, torch.tensor(max(a, b), dtype=torch.float64), P))
        >= float(transfer(t, torch.tensor(min(a, b), dtype=torch.float64), P)) - 1e-12
    )
