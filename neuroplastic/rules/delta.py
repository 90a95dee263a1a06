"""The delta rule (Widrow–Hoff / LMS), a local rule for a linear readout.

For a batch of presynaptic activities x (B × n_in), outputs y = x Wᵀ + b (B × n_out) and
targets t (B × n_out)::

    ΔW_ji = η · (1/B) Σ_b (t_bj − y_bj) · x_bi        (ΔW = η (t − y)ᵀ x / B)
    Δb_j  = η · (1/B) Σ_b (t_bj − y_bj)

It is gradient descent on the mean squared error ½‖t − y‖², computed from quantities local to
each synapse (its presynaptic activity and its neuron's error).
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import ShapeError


class DeltaRuleParams(BaseModel):
    """Delta rule (LMS)."""

    model_config = ConfigDict(extra="forbid")
    eta: float = Field(0.01, gt=0, le=10, description="learning rate η per batch")


def delta_rule(x: Tensor, y: Tensor, target: Tensor, p: DeltaRuleParams) -> tuple[Tensor, Tensor]:
    """Proposed ``(ΔW, Δb)`` for a batch: x (B, n_in), y and target (B, n_out)."""
    if x.dim() != 2 or y.dim() != 2 or y.shape != target.shape or x.shape[0] != y.shape[0]:
        raise ShapeError(
            f"delta rule: x {tuple(x.shape)}, y {tuple(y.shape)}, target {tuple(target.shape)} "
            "must be (B, n_in), (B, n_out), (B, n_out)"
        )
    err = target - y
    batch = x.shape[0]
    return p.eta * (err.T @ x) / batch, p.eta * err.mean(0)


def normalized_covariance_delta(
    h: Tensor, h_mean: Tensor, y: Tensor, target: Tensor, eta: float
) -> tuple[Tensor, Tensor]:
    """Normalised covariance delta rule (NLMS on centred presynaptic activity).

    ``ΔW = (η / B) Σ_b (t_b − y_b)(h_b − h̄)ᵀ / ‖h_b − h̄‖²``,  ``Δb = η mean_b (t_b − y_b)``, where
    h̄ is each presynaptic unit's running mean activity (a local trace). Normalising each sample
    by its own power makes the step independent of how many units are active. Together with the
    bias update, one sample's output moves by 2η·(t − y), so the rule is stable for 0 < η < 1 at
    any width (samples with ‖h_b − h̄‖² < 1e-6 are skipped).
    """
    if h.dim() != 2 or y.shape != target.shape or h.shape[0] != y.shape[0]:
        raise ShapeError(
            f"delta rule: h {tuple(h.shape)}, y {tuple(y.shape)}, target {tuple(target.shape)}"
        )
    centred = h - h_mean
    power = (centred * centred).sum(1, keepdim=True)
    scaled = torch.where(power > 1e-6, centred / power.clamp(min=1e-6), torch.zeros_like(centred))
    err = target - y
    return eta * (err.T @ scaled) / h.shape[0], eta * err.mean(0)


def softmax_delta(h: Tensor, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Local error signal of a single softmax readout layer: ``(G_W, G_b)``.

    With ``p_b = softmax(logits_b)``, the cross-entropy ``−Σ_j t_bj log p_bj`` has the gradient
    ``G_W = (1/B) Σ_b (p_b − t_b) h_bᵀ`` and ``G_b = mean_b (p_b − t_b)``: each synapse uses its
    presynaptic activity h and its own output unit's error p − t, nothing from other layers,
    so this is the delta rule with a softmax output (the update is ``ΔW = −η d(G_W)`` for an
    optimizer direction d, e.g. plain SGD ``d = G`` or Adam).
    """
    if h.dim() != 2 or logits.shape != target.shape or h.shape[0] != logits.shape[0]:
        raise ShapeError(
            f"softmax delta: h {tuple(h.shape)}, logits {tuple(logits.shape)}, "
            f"target {tuple(target.shape)} must be (B, n_in), (B, n_out), (B, n_out)"
        )
    err = torch.softmax(logits, dim=1) - target
    return err.T @ h / h.shape[0], err.mean(0)


def margin_perceptron_delta(
    h: Tensor, logits: Tensor, labels: Tensor, margin: float
) -> tuple[Tensor, Tensor]:
    """Multi-class margin perceptron: the *increment* ``(ΔW, Δb)`` for a batch, step size 1.

    For sample b with true class c_b and rival r_b = argmax_{j ≠ c_b} logits_bj, the sample is a
    margin violation when ``logits_b,c − logits_b,r < margin``. Only violations teach:
    ``ΔW = (1/B) Σ_b v_b (e_c − e_r) h_bᵀ``, ``Δb = (1/B) Σ_b v_b (e_c − e_r)`` with v_b ∈ {0, 1}.
    Each synapse uses its presynaptic activity and whether its own output unit is the target or
    the leading rival of a violating sample; correct samples with margin write nothing. A logit
    of −inf (a class not taught yet) is never the rival.
    """
    if h.dim() != 2 or logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ShapeError(
            f"margin perceptron: h {tuple(h.shape)}, logits {tuple(logits.shape)}, labels "
            f"{tuple(labels.shape)} must be (B, n_in), (B, n_out), (B,)"
        )
    if h.shape[0] != logits.shape[0] or logits.shape[1] < 2:
        raise ShapeError(
            f"margin perceptron: h {tuple(h.shape)} and logits {tuple(logits.shape)} need the same "
            "batch and at least two classes"
        )
    true = logits.gather(1, labels[:, None])
    others = logits.scatter(1, labels[:, None], float("-inf"))
    best_other, rival = others.max(1, keepdim=True)
    violated = ((true - best_other) < margin).to(h.dtype)
    sign = torch.zeros_like(logits, dtype=h.dtype)
    sign.scatter_(1, labels[:, None], violated)
    sign.scatter_add_(1, rival, -violated)
    return sign.T @ h / h.shape[0], sign.mean(0)
