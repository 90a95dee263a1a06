"""Signatures on constructed weights and codes whose answers are known."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from neuroplastic.metrics.receptive_fields import receptive_field_grid
from neuroplastic.metrics.signatures import (
    Signatures,
    activity_sparsity,
    dale_conformity,
    dale_group,
    learner_signatures,
    lognormality,
    vinje_gallant,
    weight_sparsity,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_weight_sparsity_counts_absent_and_small_weights() -> None:
    w = torch.tensor([[0.0, 0.5, 0.001], [1.0, -2.0, 0.3]])
    mask = torch.tensor([[True, True, True], [True, False, True]])  # -2.0 is absent
    s = weight_sparsity([w], [mask], eps=0.01)
    assert s.sites == 6
    assert s.silent_fraction == pytest.approx(3 / 6)  # 0.0, 0.001 and the absent site
    # relative: 1 % of max existing |w| = 0.01 -> same three
    assert s.silent_fraction_relative == pytest.approx(3 / 6)
    assert weight_sparsity([w], eps=0.4).silent_fraction == pytest.approx(3 / 6)


def test_vinje_gallant_extremes() -> None:
    one_hot = torch.zeros(4, 10)
    one_hot[:, 3] = 1.0
    assert vinje_gallant(one_hot, 1) == pytest.approx(torch.ones(4))  # one unit carries all
    flat = torch.ones(4, 10)
    assert vinje_gallant(flat, 1) == pytest.approx(torch.zeros(4))


def test_activity_sparsity_of_a_k_winner_code() -> None:
    h = torch.zeros(50, 20)
    for i in range(50):
        h[i, i % 20] = 1.0
        h[i, (i + 1) % 20] = 1.0  # 2 of 20 units active per input
    a = activity_sparsity(h)
    assert a.fraction_active == pytest.approx(0.1)
    # population: a = (2/20)^2 / (2/20) = 0.1 -> S = 0.9 / 0.95
    assert a.population_sparseness == pytest.approx(0.9 / 0.95)
    dense = activity_sparsity(torch.ones(50, 20))
    assert dense.fraction_active == 1.0
    assert dense.population_sparseness == pytest.approx(0.0)
    assert dense.lifetime_sparseness == pytest.approx(0.0)


def test_dale_conformity_counts_columns_that_share_a_sign() -> None:
    # 4 pre-neurons (columns): all +, all -, mixed, silent
    w = torch.tensor([[1.0, -1.0, 1.0, 0.0], [2.0, -0.5, -1.0, 0.0], [0.1, -0.2, 0.5, 0.0]])
    g = dale_group("w", w, enforced=False)
    assert g.neurons == 3
    assert g.fraction_conforming == pytest.approx(2 / 3)
    # chance: p = 5/9 positive, every counted neuron has 3 weights
    p = 5 / 9
    assert g.chance_fraction == pytest.approx(p**3 + (1 - p) ** 3)
    # a weight below eps does not break conformity
    assert dale_group("w", w, eps=0.6).fraction_conforming == pytest.approx(2 / 3)
    w2 = w.clone()
    w2[1, 2] = -0.5
    assert dale_group("w", w2, eps=0.6).fraction_conforming == pytest.approx(1.0)
    pooled = dale_conformity([g, dale_group("v", torch.ones(2, 5), enforced=True)])
    assert pooled.fraction_conforming == pytest.approx((2 + 5) / (3 + 5))
    assert pooled.enforced == "some"


def test_random_signs_rarely_conform() -> None:
    w = torch.randn(100, 300, generator=gen())
    g = dale_group("w", w)
    assert g.fraction_conforming == 0.0
    assert g.chance_fraction is not None and g.chance_fraction < 1e-20


def test_lognormal_weights_are_recognised() -> None:
    mu, sigma = -3.0, 0.7
    logs = mu + sigma * torch.randn(20000, generator=gen(1), dtype=torch.float64)
    signs = torch.where(torch.rand(20000, generator=gen(2)) < 0.8, 1.0, -1.0).double()
    fit = lognormality(signs * logs.exp())
    assert fit is not None
    assert fit.log_mean == pytest.approx(mu, abs=0.02)
    assert fit.log_sd == pytest.approx(sigma, abs=0.02)
    assert fit.normality_n == 5000
    assert fit.normality_p > 0.001  # a true lognormal is not rejected
    assert fit.ks_distance < 0.02
    assert fit.loglik_ratio_per_weight > 0.1 and fit.vuong_z > 10  # far better than a normal
    assert fit.positive_fraction == pytest.approx(0.8, abs=0.01)


def test_normal_weights_are_not_lognormal() -> None:
    w = 0.05 * torch.randn(20000, generator=gen(3), dtype=torch.float64)
    fit = lognormality(w)
    assert fit is not None
    assert fit.normality_p < 1e-6  # log|N| has a long left tail
    assert fit.log_skew < -0.5
    assert fit.loglik_ratio_per_weight < 0 and fit.vuong_z < -5


def test_lognormality_needs_enough_non_silent_weights() -> None:
    assert lognormality(torch.tensor([0.0, 0.0, 1.0, 2.0]), eps=0.0) is None
    assert lognormality(torch.zeros(100)) is None


def test_learner_signatures_of_a_method(tmp_path: Path) -> None:
    from neuroplastic.energy.ledger import Ledger
    from neuroplastic.methods import BuildContext, get_method

    def ctx() -> BuildContext:
        return BuildContext(16, 3, (8,), Ledger(), gen(), torch.device("cpu"))

    spec = get_method("nonneg-backprop")
    learner = spec.build(ctx(), spec.params_model())
    x = torch.rand(40, 16, generator=gen(4))
    sig = learner_signatures(learner, x)
    Signatures.model_validate(sig.model_dump())  # round trip
    assert sig.dale.enforced == "all"
    assert sig.dale.fraction_conforming == 1.0  # w >= 0 everywhere
    assert sig.weight_sparsity.sites == 16 * 8 + 8 * 3
    assert sig.activity is not None and sig.activity.inputs == 40 and sig.activity.units == 8
    assert sig.lognormal is not None and sig.lognormal.positive_fraction == 1.0
    spec = get_method("backprop")
    sig = learner_signatures(spec.build(ctx(), spec.params_model()), x)
    assert sig.dale.enforced == "none"


def test_receptive_field_grid_writes_a_png(tmp_path: Path) -> None:
    w = torch.randn(10, 49, generator=gen())
    mask = torch.ones(10, 49, dtype=torch.bool)
    mask[3] = False
    out = receptive_field_grid(w, tmp_path / "rf.png", mask=mask, n=8, title="t")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(Exception, match="square"):
        receptive_field_grid(torch.zeros(2, 10), tmp_path / "x.png")


def test_vuong_sign() -> None:
    # sanity of the likelihood formula: for a lognormal sample, the fitted lognormal log-density
    # equals the closed form at one point
    fit = lognormality(torch.tensor([math.e**k for k in (-1.0, 0.0, 1.0, -0.5, 0.5, 2, -2, 0.2)]))
    assert fit is not None and fit.log_mean == pytest.approx(
        sum((-1, 0, 1, -0.5, 0.5, 2, -2, 0.2)) / 8
    )
