"""Retrieval: low-load recall (hypothesis), k-WTA, thresholds, iteration, clamping, ANE."""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.memory.ane import estimate_correct_units, quantised_noise
from neuroplastic.memory.core import MemoryCore
from neuroplastic.memory.patterns import constant_activity, exact_miss_query, indices_to_dense
from neuroplastic.memory.patterns import constant_activity_indices as cai
from neuroplastic.memory.retrieval import RetrievalParams, kwta, project, retrieve
from neuroplastic.memory.rules import RULES, RuleParams


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    count=st.integers(1, 5),
    rule=st.sampled_from(RULES),
    auto=st.booleans(),
)
def test_low_load_noise_free_retrieval_returns_the_stored_pattern(
    seed: int, count: int, rule: str, auto: bool
) -> None:
    g = torch.Generator().manual_seed(seed)
    n, k = 64, 4
    u = constant_activity(count, n, k, g)
    v = u if auto else constant_activity(count, n, k, g)
    # "low load" also means little overlap: two stored patterns sharing k - 1 units make a
    # k-WTA tie in auto-association without self-connections (a real ambiguity, not a bug)
    overlap = u @ u.T - torch.diag(torch.diag(u @ u.T))
    assume(int(overlap.max()) <= k // 2)
    core = MemoryCore(n, n, RuleParams(rule=rule, p10=0.0), auto=auto)  # type: ignore[arg-type]
    core.store(u, None if auto else v)
    out = retrieve(core, u, RetrievalParams(winners=k)).output
    assert torch.equal(out, v)


def test_kwta_and_project() -> None:
    x = torch.tensor([[0.1, 3.0, 2.0, -1.0], [5.0, 4.0, 0.0, 0.0]])
    assert torch.equal(kwta(x, 2), torch.tensor([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]]))
    with pytest.raises(ParameterError, match="winners"):
        kwta(x, 5)
    g = torch.Generator().manual_seed(0)
    w = torch.randn(64, 7, generator=g)
    sparse = constant_activity(5, 64, 3, g)  # gather path
    dense = (torch.rand(5, 64, generator=g) < 0.5).float()  # matmul path
    for s in (sparse, dense):
        assert torch.allclose(project(s, w), s @ w, atol=1e-5)


def test_threshold_defaults() -> None:
    g = torch.Generator().manual_seed(1)
    u = constant_activity(3, 50, 5, g)
    v = constant_activity(3, 40, 4, g)
    for rule in ("willshaw", "bayes"):
        core = MemoryCore(50, 40, RuleParams(rule=rule, p10=0.0))  # type: ignore[arg-type]
        core.store(u, v)
        assert torch.equal(retrieve(core, u, RetrievalParams(mode="threshold")).output, v)
    core = MemoryCore(50, 40, RuleParams(rule="covariance"))
    core.store(u, v)
    with pytest.raises(ParameterError, match="no natural threshold"):
        retrieve(core, u, RetrievalParams(mode="threshold"))
    got = retrieve(core, u, RetrievalParams(mode="threshold", threshold=2.0)).output
    assert torch.equal(got, v)


def test_iterative_retrieval_completes_half_queries_and_clamps() -> None:
    g = torch.Generator().manual_seed(2)
    n, k = 128, 6
    idx = cai(60, n, k, g)
    target = indices_to_dense(idx, n)
    query = indices_to_dense(exact_miss_query(idx, 0.5, g), n)
    for rule in RULES:
        core = MemoryCore(n, n, RuleParams(rule=rule), auto=True)  # type: ignore[arg-type]
        core.store_indices(idx)
        one = retrieve(core, query, RetrievalParams(iterations=1))
        many = retrieve(core, query, RetrievalParams(iterations=4))
        err1 = float((one.output != target).sum())
        errn = float((many.output != target).sum())
        assert errn <= err1 and many.steps >= 2
        clamped = retrieve(core, query, RetrievalParams(iterations=4, clamp=True)).output
        assert bool((clamped >= query).all())  # the query's units stay on
        ane = retrieve(core, query, RetrievalParams(iterations=4, ane=True))
        assert ane.c_hat is not None and ane.c_hat.shape == (60,)
        assert float((ane.output != target).sum()) <= errn + 0.05 * 60 * k
        if rule == "bayes":
            assert errn / (60 * k) < 0.05


def test_ane_estimator_on_willshaw() -> None:
    """ĉ recovers the number of correct units of a half query (low load: near exact)."""
    g = torch.Generator().manual_seed(3)
    n, k = 512, 10
    idx = cai(100, n, k, g)
    core = MemoryCore(n, n, RuleParams(rule="willshaw"), auto=True)
    core.store_indices(idx)
    state = indices_to_dense(exact_miss_query(idx, 0.3, g), n)  # 7 correct units, no false
    w, _ = core.weights(None, True)
    win, wbg = core.ane_stats(True)
    c_hat = estimate_correct_units(state @ w, state.sum(1), win, wbg, k)
    assert float((c_hat - 7).abs().mean()) < 1.0
    noise = quantised_noise(torch.tensor([5.0]), torch.tensor([10.0]), 10, n, 4)
    assert noise == [(pytest.approx(5.5 / 503, abs=1e-6), 0.5)]


def test_retrieval_errors() -> None:
    core = MemoryCore(10, 8, RuleParams())
    with pytest.raises(ParameterError, match="empty"):
        retrieve(core, torch.zeros(2, 10), RetrievalParams())
    core.store(torch.eye(10)[:3], torch.eye(8)[:3])
    with pytest.raises(ShapeError, match=r"\(B, 10\)"):
        retrieve(core, torch.zeros(2, 9), RetrievalParams())
    with pytest.raises(ParameterError, match="auto-association"):
        retrieve(core, torch.zeros(2, 10), RetrievalParams(iterations=3))
    with pytest.raises(ParameterError, match="auto-association"):
        retrieve(core, torch.zeros(2, 10), RetrievalParams(clamp=True))
    with pytest.raises(ParameterError, match="winners"):
        retrieve(core, torch.zeros(2, 10), RetrievalParams(winners=9))
    with pytest.raises(ValidationError):
        RetrievalParams(iterations=0)
    with pytest.raises(ParameterError, match="m == n"):
        MemoryCore(4, 5, auto=True)
    with pytest.raises(ParameterError, match="output patterns"):
        core.store(torch.eye(10)[:1])
