"""Fine-pruning: personalise a trained model to one user's unlabelled data by pruning alone.

Our reconstruction of Bingham, Zonouz & Aran (Patterns 2025; the method section was not
available to us). No label and no gradient is used; only forward passes.

Algorithm ("use it or lose it"). Split the user's unlabelled adaptation data into a part for
statistics (``1 − holdout``) and a held-out part for the stopping rule. Record the unpruned
model's predictions on the held-out part. Then, in rounds r = 1 .. R:

1. Collect usage statistics with forward hooks on the statistics part
   (:mod:`neuroplastic.finepruning.stats`): per input unit j of every linear / convolutional
   layer, the mean absolute activation ``a_j = E|x_j|`` or the activity frequency
   ``f_j = P(x_j ≠ 0)`` (``criterion``), and how often each output unit wins the arg-max.
2. Output units used on fewer than ``output_min_use`` of the samples are removed (their incoming
   synapses and bias are pruned; a removed output unit cannot fire, see the door).
3. Score what exists and remove the least used, per layer, up to the round's sparsity
   ``s_r = s_0 + r (s_target − s_0) / R``, spread over the layers by ``allocation`` (uniform,
   or Erdős–Rényi-kernel: small layers such as the first convolution are kept denser,
   :func:`layer_targets`):

   - ``weight``: synapse ``w_ij`` scores ``u_j · |w_ij|`` (u = a or f of its input unit j;
     ``criterion="magnitude"`` sets u = 1: plain magnitude pruning, the data-free control);
   - ``neuron``: input unit j of every layer scores ``u_j · Σ_i |w_ij|`` (a channel for a
     convolution, summed over the kernel); removing it prunes all its outgoing synapses;
   - ``channel``: as ``neuron`` but only convolutional layers are pruned (structured pruning
     of channels); linear layers stay dense.
   With ``compensate_bias`` the mean drive that the removed synapses gave each output unit,
   ``Δb_i = Σ_{j removed} w_ij E[x_j]`` (E[x_j] from the same statistics; for a convolution
   summed over the kernel with the channel mean), is added to the unit's bias, so the unit's
   mean input is unchanged (a bias write through ``Synapses.apply``, counted in M0/M1).
4. Stopping rule (no labels; ``stop``): the candidate masks are tried with a forward pass on the
   held-out part (weights substituted, nothing written). ``agreement``: the fraction of held-out
   samples whose prediction equals the unpruned model's, among those whose unpruned prediction
   is a still existing output unit, must stay ≥ ``min_agreement``. ``entropy``: the mean
   prediction entropy (nats) must not exceed the unpruned model's by more than
   ``max_entropy_increase``. ``none``: always accept. A rejected round is retried with half the
   step (at most ``retries`` times); then pruning stops at the last accepted masks.
5. An accepted round is written through the door: ``Synapses.prune`` in the ledger's phase
   ``personalise``.

Optionally (``bn_reestimate``) the running statistics of every batch-norm layer are then
re-estimated on the statistics part (a cumulative average over one forward pass in train mode;
they are buffers, not synapses, so the ledger does not count them: the record reports how many
entries changed). Compute is reported as samples forwarded (no backward pass exists).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn
from torch.func import functional_call

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import DataError, ParameterError
from neuroplastic.finepruning.door import PrunableLayer, SynapticModel
from neuroplastic.finepruning.stats import UsageStats, collect_usage

PHASE = "personalise"


class FinePruneParams(BaseModel):
    """Options of fine-pruning (label-free, gradient-free personalisation)."""

    model_config = ConfigDict(extra="forbid")
    granularity: Literal["weight", "neuron", "channel"] = Field(
        "weight", description="what is removed: single synapses, units, or conv channels only"
    )
    criterion: Literal["activation", "frequency", "magnitude"] = Field(
        "activation",
        description="usage of an input unit: E|x|, P(x ≠ 0), or 1 (magnitude, data-free)",
    )
    target_sparsity: float = Field(
        0.7, ge=0.0, lt=1.0, description="fraction of each layer's weights to remove, in [0, 1)"
    )
    allocation: Literal["erk", "uniform"] = Field(
        "erk",
        description="per-layer sparsity: Erdős–Rényi-kernel (small layers kept denser) or uniform",
    )
    rounds: int = Field(5, ge=1, le=100, description="pruning rounds to reach the target")
    stop: Literal["agreement", "entropy", "none"] = Field(
        "agreement", description="label-free stopping rule on held-out user data"
    )
    min_agreement: float = Field(
        0.97, gt=0.0, le=1.0, description="least agreement with the unpruned model (fraction)"
    )
    max_entropy_increase: float = Field(
        0.1, ge=0.0, description="largest rise of mean prediction entropy (nats)"
    )
    retries: int = Field(2, ge=0, le=10, description="halvings of a rejected round's step")
    holdout: float = Field(
        0.25, gt=0.0, lt=1.0, description="fraction of the adaptation data kept for stopping"
    )
    prune_outputs: bool = Field(True, description="remove output units the user never uses")
    output_min_use: float = Field(
        0.01, ge=0.0, lt=1.0, description="arg-max share below which an output unit is removed"
    )
    min_samples: int = Field(
        64, ge=2, description="least adaptation samples for the statistics and the holdout"
    )
    compensate_bias: bool = Field(
        True, description="add a removed synapse's mean drive w_ij E[x_j] to its neuron's bias"
    )
    bn_reestimate: bool = Field(
        False, description="re-estimate batch-norm statistics on the user's data afterwards"
    )
    batch_size: int = Field(500, ge=1, description="samples per forward pass")


class RoundRecord(BaseModel):
    """One accepted or rejected pruning round."""

    round: int
    sparsity: float
    accepted: bool
    agreement: float | None = None
    entropy: float | None = None
    removed_outputs: list[int] = Field(default_factory=list)


class FinePruneRecord(BaseModel):
    """What one fine-pruning run did and cost (everything label-free)."""

    params: FinePruneParams
    stopping_rule: str
    stop_reason: str
    sparsity: float
    n_weights: int
    n_existing: int
    removed_outputs: list[int]
    rounds: list[RoundRecord]
    forward_samples: int
    backward_samples: int = 0
    mask_writes: int
    pruned_abs: float
    ledger_m0: float
    bn_entries_changed: int = 0
    n_adapt: int
    n_holdout: int
    wall_seconds: float
    gradients: bool = False


@dataclass
class FinePruneResult:
    """The personalised model (behind its door) and the record of what was done."""

    model: SynapticModel
    record: FinePruneRecord


def stopping_rule_text(p: FinePruneParams) -> str:
    """The stopping rule in words (goes into the record)."""
    if p.stop == "agreement":
        return (
            f"stop before a round whose predictions on {p.holdout:.0%} held-out unlabelled user "
            f"data agree with the unpruned model's on < {p.min_agreement:.3f} of the samples "
            "(counted over samples the unpruned model assigns to a still existing output unit)"
        )
    if p.stop == "entropy":
        return (
            f"stop before a round that raises the mean prediction entropy on {p.holdout:.0%} "
            f"held-out unlabelled user data by more than {p.max_entropy_increase} nats"
        )
    return f"none: prune to the target sparsity {p.target_sparsity}"


def _usage(stats: UsageStats | None, layer: PrunableLayer, criterion: str) -> Tensor:
    if criterion == "magnitude" or stats is None:  # the data-free control: |w| alone
        return torch.ones(layer.n_in, dtype=layer.weight.w.dtype, device=layer.weight.w.device)
    s = stats.layers[layer.name]
    u = s.activation if criterion == "activation" else s.frequency
    return u.to(layer.weight.w.dtype)


def _weight_scores(layer: PrunableLayer, usage: Tensor) -> Tensor:
    """``u_j · |w_ij|`` shaped like the weights (u broadcast over outputs and kernel)."""
    w = layer.weight.w.detach().abs()
    shape = [1, layer.n_in] + [1] * (w.ndim - 2)
    return w * usage.reshape(shape)


def _unit_scores(layer: PrunableLayer, usage: Tensor) -> Tensor:
    """``u_j · Σ_i |w_ij|`` per input unit j (over outputs and kernel)."""
    w = layer.weight.w.detach().abs()
    per_unit = w.transpose(0, 1).reshape(layer.n_in, -1).sum(1)
    return per_unit * usage


def _layer_candidate(
    layer: PrunableLayer,
    mask: Tensor,
    usage: Tensor,
    target: float,
    granularity: str,
) -> Tensor:
    """New weight mask of ``layer`` with ``round(target · n)`` weights removed in all."""
    n = mask.numel()
    k = round(target * n) - (n - int(mask.sum()))
    if k <= 0:
        return mask
    if granularity == "channel" and not layer.is_conv:
        return mask
    if granularity == "weight":
        scores = _weight_scores(layer, usage).masked_fill(~mask, math.inf).reshape(-1)
        drop = torch.topk(scores, k, largest=False).indices
        new = mask.clone().reshape(-1)
        new[drop] = False
        return new.reshape(mask.shape)
    # neuron / channel: remove whole input units, least used first, until k weights are gone
    unit_alive = mask.transpose(0, 1).reshape(layer.n_in, -1)
    alive_count = unit_alive.sum(1)
    scores = _unit_scores(layer, usage).masked_fill(alive_count == 0, math.inf)
    order = torch.argsort(scores)
    cum = torch.cumsum(alive_count[order], 0)
    n_units = int(torch.searchsorted(cum, torch.tensor(k, device=cum.device))) + 1
    n_units = min(n_units, int((alive_count > 0).sum()) - 1)  # never remove the last unit
    new = mask.clone()
    if n_units > 0:
        new[:, order[:n_units]] = False
    return new


def _bias_delta(layer: PrunableLayer, old: Tensor, new: Tensor, mean: Tensor) -> Tensor:
    """``Δb_i = Σ_j w_ij E[x_j]`` over the synapses removed from ``old`` to ``new``."""
    w = layer.weight.w.detach()
    removed = w * (old & ~new)
    per_in = removed.reshape(layer.n_out, layer.n_in, -1).sum(2)
    return per_in @ mean.to(w.dtype)


def layer_targets(layers: list[PrunableLayer], overall: float, allocation: str) -> list[float]:
    """Per-layer sparsities whose weighted mean is ``overall``.

    ``uniform``: every layer ``overall``. ``erk`` (Erdős–Rényi-kernel, Evci et al. 2020):
    layer density ``d_l = ε · Σ shape / Π shape`` (for a convolution ``(c_out + c_in + k_h + k_w)
    / (c_out c_in k_h k_w)``), ε solved so that ``Σ d_l n_l = (1 − overall) Σ n_l``; layers that
    would exceed density 1 stay dense and ε is solved again for the rest.
    """
    if allocation == "uniform" or overall <= 0:
        return [overall] * len(layers)
    sizes = [float(layer.weight.n_total) for layer in layers]
    raw = [sum(layer.weight.w.shape) / n for layer, n in zip(layers, sizes, strict=True)]
    dense: set[int] = set()
    keep_total = (1.0 - overall) * sum(sizes)
    while True:
        free = [i for i in range(len(layers)) if i not in dense]
        budget = keep_total - sum(sizes[i] for i in dense)
        eps = budget / sum(raw[i] * sizes[i] for i in free) if free else 0.0
        over = [i for i in free if eps * raw[i] > 1.0]
        if not over:
            break
        dense.update(over)
    return [0.0 if i in dense else max(0.0, 1.0 - eps * raw[i]) for i in range(len(layers))]


def _entropy(logits: Tensor) -> Tensor:
    """Mean prediction entropy −Σ p log p (nats) over existing outputs (−∞ logits skipped)."""
    logp = torch.log_softmax(logits, 1)
    p = logp.exp()
    return -(p * logp.nan_to_num(0.0, neginf=0.0)).sum(1).mean()


class _Trial:
    """Forward passes with candidate masks substituted (nothing is written)."""

    def __init__(self, model: SynapticModel) -> None:
        self.model = model
        self.param_names = {
            id(p): name for name, p in model.net.named_parameters(remove_duplicate=False)
        }

    @torch.no_grad()
    def logits(
        self,
        x: Tensor,
        masks: dict[str, Tensor],
        batch_size: int,
        bias_delta: dict[str, Tensor] | None = None,
    ) -> Tensor:
        subs: dict[str, Tensor] = {}
        deltas = bias_delta or {}
        for layer in self.model.layers:
            for syn in (layer.weight, layer.bias):
                if syn is None:
                    continue
                m = masks.get(syn.name)
                if m is not None:
                    w = syn.w.detach()
                    if syn.name in deltas:
                        w = w + deltas[syn.name]
                    subs[self.param_names[id(syn.w)]] = w * m
        out = []
        for i in range(0, x.shape[0], batch_size):
            out.append(functional_call(self.model.net, subs, (x[i : i + batch_size],)))
        logits = torch.cat(out)
        out_layer = self.model.output_layer
        w_mask = masks.get(out_layer.weight.name, out_layer.weight.mask)
        alive = w_mask.reshape(out_layer.n_out, -1).any(1)
        if out_layer.bias is not None:
            alive = alive | masks.get(out_layer.bias.name, out_layer.bias.mask)
        return logits.masked_fill(~alive, float("-inf"))


def _check_data(x: Tensor, p: FinePruneParams) -> tuple[Tensor, Tensor]:
    if not isinstance(x, Tensor) or x.ndim < 2 or not x.is_floating_point():
        raise DataError("adaptation data must be a floating-point tensor (samples first)")
    n = int(x.shape[0])
    n_hold = round(p.holdout * n) if p.stop != "none" else 0
    n_stat = n - n_hold
    need_hold = 0 if p.stop == "none" else max(16, p.min_samples // 4)
    if n_stat < p.min_samples or n_hold < need_hold:
        raise DataError(
            f"adaptation data too small: {n} samples give {n_stat} for the statistics "
            f"(need >= {p.min_samples}) and {n_hold} held out (need >= {need_hold})"
        )
    if not bool(torch.isfinite(x).all()):
        raise DataError("adaptation data contain NaN or infinity")
    return x[:n_stat], x[n_stat:]


def reestimate_batchnorm(net: nn.Module, x: Tensor, batch_size: int = 500) -> tuple[int, int]:
    """Replace every batch-norm layer's running mean and variance by their values on ``x``.

    One forward pass in train mode with ``momentum=None`` (a cumulative average over batches);
    no parameter changes (affine weights are untouched). Returns ``(entries changed, samples
    forwarded)``; a model without batch norm returns ``(0, 0)`` and forwards nothing.
    """
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0, 0
    stats: list[tuple[Tensor, Tensor]] = []
    for m in bns:
        assert isinstance(m.running_mean, Tensor) and isinstance(m.running_var, Tensor)
        stats.append((m.running_mean, m.running_var))
    before = [(mean.clone(), var.clone()) for mean, var in stats]
    momenta = [m.momentum for m in bns]
    was_training = net.training
    net.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            xb = x[i : i + batch_size]
            if xb.shape[0] > 1:
                net(xb)
    for m, mom in zip(bns, momenta, strict=True):
        m.momentum = mom
        m.eval()
    net.train(was_training)
    changed = 0
    for m, (mean0, var0) in zip(bns, before, strict=True):
        assert isinstance(m.running_mean, Tensor) and isinstance(m.running_var, Tensor)
        changed += int((m.running_mean != mean0).sum()) + int((m.running_var != var0).sum())
    return changed, int(x.shape[0])


def fine_prune(
    model: nn.Module | SynapticModel,
    x_adapt: Tensor,
    params: FinePruneParams | None = None,
    ledger: Ledger | None = None,
) -> FinePruneResult:
    """Personalise ``model`` to the unlabelled ``x_adapt`` by pruning (see the module doc).

    ``model`` is deep-copied (a :class:`SynapticModel` is used as it is and pruned further).
    Runs under ``torch.no_grad``; no gradient is computed.
    """
    p = params if params is not None else FinePruneParams()
    t0 = time.perf_counter()
    x_stat, x_hold = _check_data(x_adapt, p)
    syn_model = model if isinstance(model, SynapticModel) else SynapticModel(model, ledger)
    if p.granularity == "channel" and not any(layer.is_conv for layer in syn_model.layers):
        raise ParameterError(
            "granularity 'channel' prunes convolution channels, but the model has no "
            "convolutional layer; use 'neuron' or 'weight'"
        )
    dev = syn_model.layers[0].weight.w.device
    x_stat, x_hold = x_stat.to(dev), x_hold.to(dev)
    lg = syn_model.ledger
    before = lg.counts(phase=PHASE)
    trial = _Trial(syn_model)
    forward = 0
    with torch.no_grad(), lg.phase(PHASE):
        ref_pred: Tensor | None = None
        ref_entropy = 0.0
        if p.stop != "none":
            ref_logits = trial.logits(x_hold, {}, p.batch_size)
            forward += x_hold.shape[0]
            ref_pred = ref_logits.argmax(1)
            ref_entropy = float(_entropy(ref_logits))
        s0 = syn_model.sparsity()
        history: list[RoundRecord] = []
        stop_reason = "target sparsity reached"
        step = (p.target_sparsity - s0) / p.rounds
        current = s0
        r = 0
        retries_left = p.retries
        while True:  # at least one round (unused output units go even at target 0)
            r += 1
            stats: UsageStats | None = None
            if p.criterion != "magnitude" or p.prune_outputs:
                stats = collect_usage(syn_model, x_stat, p.batch_size)
                forward += stats.forward_samples
            target = min(p.target_sparsity, current + step)
            masks = {g.name: g.mask.clone() for g in syn_model.groups()}
            removed_out: list[int] = []
            out_layer = syn_model.output_layer
            if p.prune_outputs and stats is not None:
                already = out_layer.removed_outputs()
                drop = (stats.output_use < p.output_min_use).to(dev) & ~already
                if int((~(already | drop)).sum()) >= 2:  # keep at least two classes
                    removed_out = [int(i) for i in torch.nonzero(drop).flatten()]
                    if removed_out:
                        masks[out_layer.weight.name][drop] = False
                        if out_layer.bias is not None:
                            masks[out_layer.bias.name][drop] = False
            bias_delta: dict[str, Tensor] = {}
            pruned_layers = [
                layer for layer in syn_model.layers if p.granularity != "channel" or layer.is_conv
            ]
            targets = dict(
                zip(
                    (layer.name for layer in pruned_layers),
                    layer_targets(pruned_layers, target, p.allocation),
                    strict=True,
                )
            )
            for layer in syn_model.layers:
                usage = _usage(stats, layer, p.criterion).to(dev)
                old = masks[layer.weight.name]
                masks[layer.weight.name] = new = _layer_candidate(
                    layer, old, usage, targets.get(layer.name, 0.0), p.granularity
                )
                if p.compensate_bias and stats is not None and layer.bias is not None:
                    mean = stats.layers[layer.name].mean.to(dev)
                    bias_delta[layer.bias.name] = _bias_delta(layer, old, new, mean)
            agreement = entropy = None
            accepted = True
            if p.stop != "none":
                assert ref_pred is not None
                logits = trial.logits(x_hold, masks, p.batch_size, bias_delta)
                forward += x_hold.shape[0]
                alive_ref = torch.isfinite(logits.gather(1, ref_pred[:, None])).flatten()
                pred = logits.argmax(1)
                n_alive = int(alive_ref.sum())
                agreement = (
                    float((pred[alive_ref] == ref_pred[alive_ref]).float().mean())
                    if n_alive
                    else 0.0
                )
                entropy = float(_entropy(logits))
                if p.stop == "agreement":
                    accepted = agreement >= p.min_agreement
                else:
                    accepted = entropy <= ref_entropy + p.max_entropy_increase
            sparsity_candidate = (
                1.0
                - sum(int(masks[layer.weight.name].sum()) for layer in syn_model.layers)
                / syn_model.n_weights()
            )
            history.append(
                RoundRecord(
                    round=r,
                    sparsity=sparsity_candidate,
                    accepted=accepted,
                    agreement=agreement,
                    entropy=entropy,
                    removed_outputs=removed_out,
                )
            )
            if accepted:
                for g in syn_model.groups():
                    g.prune(~masks[g.name])
                    if g.name in bias_delta and bool((bias_delta[g.name] != 0).any()):
                        g.apply(bias_delta[g.name])  # masked: removed units stay removed
                current = target
                if current >= p.target_sparsity - 1e-9:
                    break
                continue
            if retries_left == 0 or step <= 1e-6:
                shown = (
                    f"agreement {agreement:.4f}"
                    if p.stop == "agreement" and agreement is not None
                    else f"entropy {entropy:.4f} nats (unpruned {ref_entropy:.4f})"
                )
                stop_reason = (
                    f"stopping rule at candidate sparsity {sparsity_candidate:.3f} ({shown}); "
                    "kept the last accepted masks"
                )
                break
            retries_left -= 1
            step /= 2
        bn_changed = 0
        if p.bn_reestimate:
            bn_changed, n_bn = reestimate_batchnorm(syn_model.net, x_stat, p.batch_size)
            forward += n_bn
    after = lg.counts(phase=PHASE)
    record = FinePruneRecord(
        params=p,
        stopping_rule=stopping_rule_text(p),
        stop_reason=stop_reason,
        sparsity=syn_model.sparsity(),
        n_weights=syn_model.n_weights(),
        n_existing=syn_model.n_existing_weights(),
        removed_outputs=[
            int(i) for i in torch.nonzero(syn_model.output_layer.removed_outputs()).flatten()
        ],
        rounds=history,
        forward_samples=forward,
        mask_writes=after.pruned - before.pruned,
        pruned_abs=after.pruned_abs - before.pruned_abs,
        ledger_m0=after.m0 - before.m0,
        bn_entries_changed=bn_changed,
        n_adapt=int(x_stat.shape[0]),
        n_holdout=int(x_hold.shape[0]),
        wall_seconds=time.perf_counter() - t0,
    )
    return FinePruneResult(syn_model, record)


def record_summary(record: FinePruneRecord) -> dict[str, Any]:
    """The few numbers a table shows."""
    return {
        "sparsity": record.sparsity,
        "forward_samples": record.forward_samples,
        "mask_writes": record.mask_writes,
        "removed_outputs": record.removed_outputs,
        "stop_reason": record.stop_reason,
    }
