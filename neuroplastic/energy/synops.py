"""Inference synaptic operations per sample, following NeuroBench's definitions.

For a dense layer ``y = W x + b`` (W of shape n_out × n_in) and one input sample x:

- dense SynOps     = n_out · n_in + n_out          (every connection, zeros included; bias = 1 op)
- effective SynOps = Σ_j Σ_i 1[x_i ≠ 0] · 1[W_ji ≠ 0] + nnz(b)
                                                   (only operations that can change y)

For real-valued activations these are MACs; for binary spikes they are accumulates (ACs).
As in NeuroBench (``binary_inputs`` in its ``SynapticOperations`` metric), a layer call whose
whole input batch lies in {−1, 0, 1} is a spiking layer and its operations are ACs; any other
value makes them MACs. Spiking models that report synaptic events directly
(:meth:`SynOpsCounter.add_events`) count ACs. Both are reported per sample, averaged over the
samples counted; ``dense_ac`` / ``effective_ac`` are the AC parts of ``dense`` / ``effective``
(the MAC parts are the differences).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class SynOps:
    """Synaptic operations per inference sample."""

    dense: float
    effective: float
    samples: int
    dense_ac: float = 0.0
    effective_ac: float = 0.0

    @property
    def dense_mac(self) -> float:
        """Dense operations of layers with real-valued (non-spike) inputs."""
        return self.dense - self.dense_ac

    @property
    def effective_mac(self) -> float:
        """Effective operations of layers with real-valued (non-spike) inputs."""
        return self.effective - self.effective_ac


class SynOpsCounter:
    """Accumulates SynOps over the forward passes of layers that report to it."""

    def __init__(self) -> None:
        self.dense = 0.0
        self.effective = 0.0
        self.dense_ac = 0.0
        self.effective_ac = 0.0
        self.samples = 0

    def add_events(self, dense: float, effective: float) -> None:
        """Count synaptic events of a spiking model (accumulates, ACs)."""
        self.dense += dense
        self.effective += effective
        self.dense_ac += dense
        self.effective_ac += effective

    def add_linear(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
        """Count one dense layer's forward pass on the batch ``x`` (B, n_in)."""
        with torch.no_grad():
            batch = x.shape[0]
            n_out, n_in = weight.shape
            nz_w = (weight != 0).to(x.dtype)
            nz_x = (x != 0).to(x.dtype)
            # Σ_b Σ_j Σ_i 1[x_bi≠0]·1[W_ji≠0]  =  (Σ_b 1[x_b≠0]) · (Σ_j 1[W_j≠0])
            effective = float(torch.dot(nz_x.sum(0), nz_w.sum(0)))
            dense = float(batch * n_out * n_in)
            if bias is not None:
                dense += batch * n_out
                effective += batch * float((bias != 0).sum())
            self.dense += dense
            self.effective += effective
            if bool(((x == 0) | (x == 1) | (x == -1)).all()):  # spikes: accumulates
                self.dense_ac += dense
                self.effective_ac += effective

    def result(self) -> SynOps:
        """Per-sample averages (zero when no sample was counted)."""
        if self.samples == 0:
            return SynOps(0.0, 0.0, 0)
        n = self.samples
        return SynOps(
            self.dense / n, self.effective / n, n, self.dense_ac / n, self.effective_ac / n
        )


_active: list[SynOpsCounter] = []


def active_counter() -> SynOpsCounter | None:
    """The counter that layers should report to, if a :func:`count_synops` block is open."""
    return _active[-1] if _active else None


@contextmanager
def count_synops() -> Iterator[SynOpsCounter]:
    """Count SynOps of every :class:`~neuroplastic.models.layers.DenseLayer` forward inside.

    The caller sets ``counter.samples`` (the number of samples passed through the model).
    """
    counter = SynOpsCounter()
    _active.append(counter)
    try:
        yield counter
    finally:
        _active.pop()


def measure_synops(model: nn.Module, x: Tensor, batch_size: int = 1000) -> SynOps:
    """Run ``model`` on ``x`` (in batches, no grad) and return SynOps per sample."""
    with count_synops() as counter, torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            model(x[start : start + batch_size])
        counter.samples = int(x.shape[0])
    return counter.result()
