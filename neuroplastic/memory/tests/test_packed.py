"""Bit-packed Willshaw memory: compiled vs torch paths, incremental storage, snapshots,
retrieval equal to the dense path, and the packed capacity search equal to the dense one."""

from __future__ import annotations

import pytest
import torch

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.memory.capacity import find_capacity, willshaw_output_noise_finite
from neuroplastic.memory.core import MemoryCore
from neuroplastic.memory.packed import PackedWillshaw, retrieve_packed
from neuroplastic.memory.packed_native import kernels
from neuroplastic.memory.patterns import constant_activity_indices as cai
from neuroplastic.memory.patterns import exact_miss_query, indices_to_dense
from neuroplastic.memory.retrieval import RetrievalParams, retrieve
from neuroplastic.memory.rules import RuleParams

NATIVE = [False, True] if kernels() is not None else [False]


def _patterns(count: int, m: int, n: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return cai(count, m, k, g), cai(count, n, k, g)


@pytest.mark.parametrize("native", NATIVE)
def test_incremental_store_equals_store_all_at_once(native: bool) -> None:
    iu, iv = _patterns(300, 61, 45, 4, 0)
    once = PackedWillshaw(61, 45, native=native)
    inc = PackedWillshaw(61, 45, native=native)
    n_once = once.store_indices(iu, iv)
    n_inc = sum(inc.store_indices(iu[s : s + 37], iv[s : s + 37]) for s in range(0, 300, 37))
    assert torch.equal(once.bits, inc.bits)
    assert n_once == n_inc == once.popcount() == inc.potentiated
    dense = MemoryCore(61, 45, RuleParams(rule="willshaw"))
    dense.store_indices(iu, iv)
    assert torch.equal(once.dense(), dense.weights()[0])
    assert once.stored == inc.stored == 300


def test_compiled_and_torch_paths_agree_with_padding() -> None:
    if kernels() is None:
        pytest.skip("no C compiler: only the torch path exists here")
    iu, iv = _patterns(200, 70, 70, 5, 1)
    vu = torch.rand(iu.shape, generator=torch.Generator().manual_seed(3)) > 0.2
    vv = torch.rand(iv.shape, generator=torch.Generator().manual_seed(4)) > 0.2
    a, b = PackedWillshaw(70, 70, native=True), PackedWillshaw(70, 70, native=False)
    assert a.native and not b.native
    assert a.store_indices(iu, iv, vu, vv) == b.store_indices(iu, iv, vu, vv)
    assert torch.equal(a.bits, b.bits)
    assert b.store_indices(iu, iv, vu, vv, count=False) == -1  # torch path: not counted
    assert b.potentiated == a.potentiated  # recounted on demand
    q, qv = iu[:9], vu[:9]
    assert torch.equal(a.potentials(q, qv), b.potentials(q, qv))
    want = indices_to_dense(torch.where(qv, q, torch.full_like(q, -1)), 70) @ a.dense()
    assert torch.equal(a.potentials(q, qv), want)


def test_snapshot_restore_and_clear() -> None:
    iu, iv = _patterns(120, 50, 40, 4, 2)
    mem = PackedWillshaw(50, 40)
    mem.store_indices(iu[:60], iv[:60])
    snap = mem.snapshot()
    ref = mem.bits.clone()
    mem.store_indices(iu[60:], iv[60:])
    assert not torch.equal(mem.bits, ref)
    mem.restore(snap)
    assert torch.equal(mem.bits, ref) and mem.stored == 60
    assert mem.potentiated == mem.popcount()
    mem.clear()
    assert mem.popcount() == 0 and mem.potentiated == 0 and mem.stored == 0
    with pytest.raises(ShapeError, match="snapshot"):
        PackedWillshaw(9, 9).restore(snap)


@pytest.mark.parametrize(
    "params",
    [
        RetrievalParams(mode="kwta", winners=6, iterations=5),
        RetrievalParams(mode="kwta", winners=6, iterations=3, clamp=True),
        RetrievalParams(mode="threshold", iterations=1, self_connections=True),
    ],
)
def test_retrieve_packed_equals_dense_auto(params: RetrievalParams) -> None:
    n, k = 90, 6
    idx, _ = _patterns(150, n, n, k, 5)
    dense = MemoryCore(n, n, RuleParams(rule="willshaw"), auto=True)
    dense.store_indices(idx)
    packed = PackedWillshaw(n, n)
    packed.store_indices(idx, idx)
    q = indices_to_dense(exact_miss_query(idx[:40], 0.5, torch.Generator().manual_seed(0)), n)
    a = retrieve(dense, q, params)
    b = retrieve_packed(packed, q, params, auto=True)
    assert torch.equal(a.output, b.output) and a.steps == b.steps


def test_retrieve_packed_equals_dense_hetero_and_errors() -> None:
    iu, iv = _patterns(200, 80, 60, 5, 6)
    dense = MemoryCore(80, 60, RuleParams(rule="willshaw"))
    dense.store_indices(iu, iv)
    packed = PackedWillshaw(80, 60)
    packed.store_indices(iu, iv)
    q = indices_to_dense(iu[:30], 80)
    for p in (RetrievalParams(winners=5), RetrievalParams(mode="threshold")):
        assert torch.equal(
            retrieve(dense, q, p).output, retrieve_packed(packed, q, p, auto=False).output
        )
    with pytest.raises(ParameterError, match="ane"):
        retrieve_packed(packed, q, RetrievalParams(winners=5, ane=True), auto=False)
    with pytest.raises(ParameterError, match="iterative"):
        retrieve_packed(packed, q, RetrievalParams(winners=5, iterations=2), auto=False)
    with pytest.raises(ParameterError, match="winners"):
        retrieve_packed(packed, q, RetrievalParams(), auto=False)
    with pytest.raises(ParameterError, match="m == n"):
        retrieve_packed(packed, q, RetrievalParams(winners=5), auto=True)
    with pytest.raises(ShapeError, match="queries"):
        retrieve_packed(packed, q[:, :10], RetrievalParams(winners=5), auto=False)
    with pytest.raises(ParameterError, match="diagonal"):
        packed.diagonal()


def test_finite_noise_truncated_sum_equals_full_sum() -> None:
    m = n = 2000
    k = ell = 11
    for patterns in (50, 3000, 40000):
        trials = torch.arange(patterns, dtype=torch.float64)
        binom = torch.distributions.Binomial(
            patterns - 1, torch.tensor(ell / n, dtype=torch.float64)
        )
        full = (
            (n - ell)
            / ell
            * float((binom.log_prob(trials).exp() * (1 - (1 - k / m) ** trials) ** 6).sum())
        )
        got = willshaw_output_noise_finite(patterns, k, ell, m, n, 6)
        assert got == pytest.approx(full, rel=1e-9)


def test_search_never_goes_below_a_passed_load() -> None:
    """Grow-only memories: after a success at lo, every later load is >= lo."""
    calls: list[int] = []

    def evaluate(load: int) -> float:
        calls.append(load)
        return 0.0 if load <= 1234 else 1.0

    res = find_capacity(evaluate, 0.5, 300, 10**6, rel_tol=0.001, growth=1.2)
    assert res.capacity == 1234
    best = 0
    for load in calls:
        assert load >= best
        if load <= 1234:
            best = load
