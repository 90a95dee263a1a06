"""The four learning rules: hand-computed weights and theory limits."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from neuroplastic.errors import ParameterError
from neuroplastic.memory.counters import Counters
from neuroplastic.memory.patterns import binomial_activity, constant_activity
from neuroplastic.memory.rules import RuleParams, ane_statistics, derive_weights


def counters_from(u: torch.Tensor, v: torch.Tensor) -> Counters:
    c = Counters(u.shape[1], v.shape[1])
    c.add(u, v)
    return c


U = torch.tensor([[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float32)
V = torch.tensor([[1, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float32)


def test_willshaw_and_covariance_by_hand() -> None:
    c = counters_from(U, V)
    w, b = derive_weights(c, RuleParams(rule="willshaw"))
    assert torch.equal(w, torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]))
    assert torch.equal(b, torch.zeros(2))
    w, _ = derive_weights(c, RuleParams(rule="covariance"))
    p, q = float(U.mean()), float(V.mean())
    want = (U - p).T @ (V - q)
    assert torch.allclose(w, want, atol=1e-5)


def test_bayes_is_naive_bayes_log_odds() -> None:
    """x_j = ln P(v_j=1|ũ)/P(v_j=0|ũ) computed directly from the conditional probabilities."""
    g = torch.Generator().manual_seed(0)
    u = binomial_activity(60, 6, 3, g)
    v = binomial_activity(60, 4, 2, g)
    c = counters_from(u, v)
    p01, p10, alpha = 0.1, 0.2, 1e-3
    w, b = derive_weights(c, RuleParams(rule="bayes", p01=p01, p10=p10, pseudo_count=alpha))
    query = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    x = query @ w + b
    for j in range(4):
        m1 = float(v[:, j].sum())
        m0 = 60 - m1
        logit = math.log((m1 + alpha) / (m0 + alpha))
        for i in range(6):
            m11 = float((u[:, i] * v[:, j]).sum())
            m10 = float((u[:, i] * (1 - v[:, j])).sum())
            m01, m00 = m1 - m11, m0 - m10
            p1_on = (m11 * (1 - p10) + m01 * p01 + alpha) / (m1 + 2 * alpha)
            p1_off = (m10 * (1 - p10) + m00 * p01 + alpha) / (m0 + 2 * alpha)
            if query[i] > 0:
                logit += math.log(p1_on / p1_off)
            else:
                logit += math.log((1 - p1_on) / (1 - p1_off))
        assert x[j].item() == pytest.approx(logit, rel=1e-4, abs=1e-4)


def test_bcpnn_by_hand() -> None:
    c = counters_from(U, V)
    a, ap = 0.01, 0.02
    w, b = derive_weights(c, RuleParams(rule="bcpnn", bcpnn_alpha=a, bcpnn_alpha_prime=ap))
    norm = 4 + ap
    pi = (U.sum(0) + a) / norm
    pj = (V.sum(0) + a) / norm
    pij = (U.T @ V + ap * pi[:, None] * pj[None, :]) / norm
    assert torch.allclose(w, torch.log(pij / (pi[:, None] * pj[None, :])), atol=1e-5)
    assert torch.allclose(b, torch.log(pj), atol=1e-6)


def test_bayes_reduces_to_covariance_for_dense_patterns() -> None:
    """p = 1/2, large M: ln(M11 M00/(M10 M01)) ≈ (16/M)·covariance (first order in C/M)."""
    g = torch.Generator().manual_seed(1)
    u = binomial_activity(4000, 40, 20, g)
    v = binomial_activity(4000, 30, 15, g)
    c = counters_from(u, v)
    wb, _ = derive_weights(c, RuleParams(rule="bayes", p01=0.0, p10=0.0))
    wc, _ = derive_weights(c, RuleParams(rule="covariance"))
    corr = torch.corrcoef(torch.stack([wb.flatten(), wc.flatten()]))[0, 1]
    assert corr > 0.99
    slope = float((wb * wc).sum() / (wc * wc).sum())
    assert slope == pytest.approx(16 / 4000, rel=0.05)


def test_bayes_reduces_to_bcpnn_and_willshaw_for_sparse_patterns() -> None:
    """Sparse: M00 ≈ M, M10 ≈ mu_i, M01 ≈ mv_j, so ln(M11 M00/(M10 M01)) ≈ ln(M11 M/(mu mv))
    (BCPNN) where M11 > 0, and the weight of M11 = 0 synapses falls far below every potentiated
    one when p01 = 0 (Willshaw: an unpotentiated synapse vetoes the unit)."""
    g = torch.Generator().manual_seed(2)
    u = constant_activity(2000, 400, 4, g)
    v = constant_activity(2000, 400, 4, g)
    c = counters_from(u, v)
    wb, _ = derive_weights(c, RuleParams(rule="bayes", p01=0.0, p10=0.0, pseudo_count=1e-6))
    wp, _ = derive_weights(c, RuleParams(rule="bcpnn", bcpnn_alpha=1e-6, bcpnn_alpha_prime=1e-6))
    on = c.m11 > 0
    assert 0.1 < float(on.float().mean()) < 0.3
    corr = torch.corrcoef(torch.stack([wb[on], wp[on]]))[0, 1]
    assert corr > 0.995
    assert float((wb[on] - wp[on]).abs().mean()) < 0.15  # O(M11/mu) ≈ 0.1 here
    assert float(wb[~on].max()) < float(wb[on].min()) - 5.0
    ww, _ = derive_weights(c, RuleParams(rule="willshaw"))
    assert torch.equal(ww > 0, on)


def test_exclude_diagonal_and_ane_statistics() -> None:
    g = torch.Generator().manual_seed(3)
    u = constant_activity(50, 20, 4, g)
    c = counters_from(u, u)
    for rule in ("willshaw", "covariance", "bayes", "bcpnn"):
        w, _ = derive_weights(c, RuleParams(rule=rule), exclude_diagonal=True)
        assert torch.equal(torch.diagonal(w), torch.zeros(20))
    w, _ = derive_weights(c, RuleParams(rule="willshaw"), exclude_diagonal=True)
    win, wbg = ane_statistics(c, w, exclude_diagonal=True)
    assert torch.allclose(win, torch.ones(20))  # co-active synapses are all potentiated
    assert torch.allclose(wbg, w.sum(0) / 19)


def test_rule_errors() -> None:
    c = Counters(3, 4)
    with pytest.raises(ParameterError, match="m == n"):
        derive_weights(c, RuleParams(), exclude_diagonal=True)
    with pytest.raises(ParameterError, match="query noise"):
        derive_weights(c, RuleParams(rule="bayes"), noise=(1.2, 0.0))
    with pytest.raises(ValidationError):
        RuleParams(rule="hebb")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="bcpnn_alpha_prime"):
        RuleParams(bcpnn_alpha=0.5, bcpnn_alpha_prime=0.1)
