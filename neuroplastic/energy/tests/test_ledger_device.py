"""Device-side ledger totals: no host sync per update, same totals, non-finite flagged."""

import pytest
import torch

from neuroplastic import Ledger, Synapses
from neuroplastic.errors import NonFiniteUpdateError


def _pair(host_checks: bool, seed: int = 0) -> tuple[Synapses, Ledger]:
    g = torch.Generator().manual_seed(seed)
    ledger = Ledger()
    w = torch.randn(7, 5, generator=g)
    syn = Synapses("w", w, mask=torch.rand(7, 5, generator=g) < 0.8, ledger=ledger)
    syn.host_checks = host_checks
    return syn, ledger


def test_device_totals_are_bit_identical_to_host_floats():
    """float64 device running total == Python float sums of the same float32 statistics."""
    host, host_ledger = _pair(True)
    dev, dev_ledger = _pair(False)
    g = torch.Generator().manual_seed(1)
    for step in range(40):
        dw = torch.randn(7, 5, generator=g) * 10.0 ** (step % 5 - 2)
        a = host.apply(dw, alpha=-0.3)
        b = dev.apply(dw, alpha=-0.3)
        assert (a.m0, a.m1, a.m2) == (b.m0, b.m1, b.m2)
        assert torch.equal(host.w, dev.w)
        if step == 20:  # a read in the middle, then more device-side updates
            assert host_ledger.counts() == dev_ledger.counts()
    with host_ledger.phase("other"), dev_ledger.phase("other"):
        host.apply(torch.ones(7, 5))
        dev.apply(torch.ones(7, 5))
    assert host_ledger.counts() == dev_ledger.counts()
    assert host_ledger.summary() == dev_ledger.summary()
    assert host_ledger.state_dict()["counts"] == dev_ledger.state_dict()["counts"]


def test_device_path_keeps_totals_on_the_device_until_read():
    dev, ledger = _pair(False)
    dev.apply(torch.ones(7, 5))
    assert ledger._pending  # not yet folded into the float counts
    assert ledger.counts().applies == 1
    assert not ledger._pending


def test_device_path_flags_a_non_finite_update_and_writes_nothing():
    dev, ledger = _pair(False)
    dev.apply(torch.ones(7, 5), alpha=0.1)
    before = dev.w.detach().clone()
    dw = torch.zeros(7, 5)
    dw[0, 0] = float("nan")
    dev.apply(dw)  # no exception here: no host sync
    assert torch.equal(dev.w.detach(), before)
    with pytest.raises(NonFiniteUpdateError, match="w:"):
        ledger.counts()
    # reported once; the counts hold the finite update only
    counts = ledger.counts()
    assert counts.applies == 2
    assert counts.m0 == float(dev.mask.sum())


def test_host_path_raises_before_writing():
    host, _ = _pair(True)
    before = host.w.detach().clone()
    with pytest.raises(NonFiniteUpdateError):
        host.apply(torch.full((7, 5), float("inf")))
    assert torch.equal(host.w.detach(), before)
