import math

import pytest
import torch

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.rules.competitive import (
    CompetitiveParams,
    competition_signal,
    instar_from_coincidence,
    match_scores,
    modified_sigmoid,
    template_code,
)
from neuroplastic.rules.homeostasis import homeostatic_bias_delta, update_rate
from neuroplastic.rules.perturbation import (
    PerturbationParams,
    per_sample_perturbation_delta,
)


def test_modified_sigmoid():
    u = torch.tensor([-1.0, 0.0, 1.0, 50.0])
    expected = torch.tensor([0.0, 0.0, 2 / (1 + math.exp(-1)) - 1, 1.0])
    assert torch.allclose(modified_sigmoid(u), expected)


def test_match_scores_hand_computed():
    x = torch.tensor([[1.0, 0.0]])
    w = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    b = torch.tensor([0.0, 0.1])
    # unit 0: 1 - 0.5*1 = 0.5 ; unit 1: 0.5 - 0.5*0.5 + 0.1 = 0.35
    assert torch.allclose(match_scores(x, w, b), torch.tensor([[0.5, 0.35]]))
    with pytest.raises(ShapeError):
        match_scores(x, w, torch.zeros(3))


def test_competition_signals():
    s = torch.tensor([[0.1, 0.9, 0.5]])
    assert torch.equal(
        competition_signal(s, CompetitiveParams(competition="hard")),
        torch.tensor([[0.0, 1.0, 0.0]]),
    )
    kw = competition_signal(s, CompetitiveParams(competition="kwta", k=2))
    assert torch.equal(kw, torch.tensor([[0.0, 1.0, 1.0]]))
    soft = competition_signal(s, CompetitiveParams(competition="soft", temperature=1.0))
    assert torch.allclose(soft, torch.softmax(s, 1))
    with pytest.raises(ParameterError, match="k = 4 winners"):
        competition_signal(s, CompetitiveParams(competition="kwta", k=4))


def test_rank_signal_grades_the_k_best():
    from neuroplastic.rules.competitive import rank_signal

    s = torch.tensor([[0.1, 0.9, 0.5, 0.7], [0.4, 0.3, 0.2, 0.1]])
    got = rank_signal(s, 3, 0.5)
    assert torch.equal(got, torch.tensor([[0.0, 1.0, 0.25, 0.5], [1.0, 0.5, 0.25, 0.0]]))
    with pytest.raises(ParameterError, match="k = 5 winners"):
        rank_signal(s, 5, 0.5)


def test_instar_step_hand_computed():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # unit 0 wins both samples, unit 1 none
    w = torch.tensor([[0.2, 0.4], [0.3, 0.3]])
    # unit 0: η/B (Σ x − 2 w) = 0.1/2 * ([1, 1] − [0.4, 0.8]) = [0.03, 0.01]; unit 1 unchanged
    dw = instar_from_coincidence(y.T @ x, y.sum(0), w, eta=0.1, batch=2)
    assert torch.allclose(dw, torch.tensor([[0.03, 0.01], [0.0, 0.0]]))


def test_template_code_hand_computed():
    x = torch.tensor([[1.0, 1.0, 0.0]])
    w = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    # matches: 1.0, 0.5, 0 (no weights) -> mean 0.5 -> relative 0.5, 0, -0.5
    h = template_code(x, w, gain=2.0)
    assert torch.allclose(h, torch.tensor([[2 / (1 + math.exp(-1.0)) - 1, 0.0, 0.0]]))


def test_homeostasis_hand_computed():
    rate = torch.tensor([0.5, 0.0])
    new = update_rate(rate, torch.tensor([1.0, 0.0]), tau=10)
    assert torch.allclose(new, torch.tensor([0.55, 0.0]))
    assert torch.allclose(homeostatic_bias_delta(new, 0.25, 2.0), torch.tensor([-0.6, 0.5]))


def test_antithetic_perturbation_is_exact_for_a_linear_direction():
    """Two-sided ΔL of a quadratic loss is the exact directional derivative: no curvature."""
    g = torch.Generator().manual_seed(2)
    h, target = torch.rand(1, 3, generator=g), torch.rand(1, 2, generator=g)
    w, bias = torch.rand(2, 3, generator=g), torch.rand(2, generator=g)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    p = PerturbationParams(sigma=0.5, eta=1.0, antithetic=True)
    step = per_sample_perturbation_delta(h, target, w, bias, p, g1)
    xi = torch.randn(1, 2, 3, generator=g2)[0] * 0.5
    grad = (h @ w.T + bias - target).T @ h  # ∇_w ½‖w h + c − t‖²
    assert torch.allclose(step, -(grad * xi).sum() * xi / 0.25, atol=1e-5)


def test_per_sample_perturbation_estimates_the_mean_gradient():
    g = torch.Generator().manual_seed(1)
    h, target = torch.rand(8, 5, generator=g), torch.rand(8, 2, generator=g)
    w, bias = torch.rand(2, 5, generator=g), torch.rand(2, generator=g)
    grad = ((h @ w.T + bias - target).T @ h) / 8  # ∇ of the mean of ½‖w h_b + c − t_b‖²
    p = PerturbationParams(sigma=0.1, eta=1.0, antithetic=True)
    draws = [per_sample_perturbation_delta(h, target, w, bias, p, g) for _ in range(3000)]
    mean = torch.stack(draws).mean(0)
    assert torch.allclose(mean, -grad, atol=0.05 * float(grad.abs().max()) + 0.02)
    with pytest.raises(ShapeError, match="perturbation readout"):
        per_sample_perturbation_delta(h[:, :4], target, w, bias, p, g)
