"""The one-pass write-and-count kernel (neuroplastic.fused) against the door's torch ops."""

import math

import pytest
import torch

from neuroplastic import fused
from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import NonFiniteUpdateError
from neuroplastic.synapses import Synapses
from neuroplastic.testing import DoorAudit

pytest.importorskip("numba")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [1, 15, 17, 2047, 2049, 5000])
def test_kernel_writes_what_torch_add_writes_and_counts_the_change(dtype, n):
    g = torch.Generator().manual_seed(n)
    w = torch.randn(n, generator=g, dtype=dtype)
    dw = torch.randn(n, generator=g, dtype=dtype) * 1e-3
    dw[::3] = 0.0
    dw[1::7] = 1e-12  # rounds to no change on most entries: not counted
    out = torch.empty_like(w)
    m0, m1, m2 = fused.add_and_count(w, dw, -0.1, out)
    expected = torch.add(w, dw, alpha=-0.1)
    assert torch.equal(out, expected)  # bit for bit
    delta = (expected - w).double()
    assert m0 == float(torch.count_nonzero(delta))
    assert m1 == pytest.approx(float(delta.abs().sum()), rel=1e-6)
    assert m2 == pytest.approx(float(delta.square().sum()), rel=1e-6)


def _pair(n_out: int = 400, n_in: int = 400) -> tuple[Synapses, Synapses]:
    w0 = torch.randn(n_out, n_in, generator=torch.Generator().manual_seed(0))
    return Synapses("big", w0, ledger=Ledger()), Synapses("big", w0, ledger=Ledger())


def test_door_with_and_without_the_kernel_agree(monkeypatch):
    fast, slow = _pair()
    assert fast.n_total >= fused.MIN_SIZE
    g = torch.Generator().manual_seed(1)
    audit = DoorAudit([fast])
    for _ in range(3):
        dw = torch.randn(400, 400, generator=g)
        dw[dw.abs() < 0.5] = 0.0
        fast.apply(dw, alpha=-0.01)
        audit.check()
        with monkeypatch.context() as m:
            m.setitem(fused._state, "ok", False)  # the torch ops
            slow.apply(dw, alpha=-0.01)
    assert torch.equal(fast.w, slow.w)
    cf, cs = fast.ledger.counts(), slow.ledger.counts()
    assert cf.m0 == cs.m0 and cf.applies == cs.applies == 3
    assert cf.m1 == pytest.approx(cs.m1, rel=1e-6)
    assert cf.m2 == pytest.approx(cs.m2, rel=1e-6)


def test_a_non_finite_proposal_writes_nothing():
    syn, _ = _pair()
    before = syn.w.detach().clone()
    for bad in (math.nan, math.inf):
        dw = torch.zeros(400, 400)
        dw[3, 4] = bad
        with pytest.raises(NonFiniteUpdateError, match="big"):
            syn.apply(dw)
        assert torch.equal(syn.w.detach(), before)
    assert syn.ledger.counts().applies == 0


def test_small_groups_and_policies_keep_the_torch_ops():
    assert not fused.fusable(torch.zeros(10, 10), torch.zeros(10, 10))
    big = torch.zeros(400, 400)
    assert fused.fusable(big, big)
    assert not fused.fusable(big, big.half().float().t())  # not contiguous
    dale = Synapses("dale", torch.rand(400, 400), sign=1, ledger=Ledger())
    assert not dale._fused_ok()
