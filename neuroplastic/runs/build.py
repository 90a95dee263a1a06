"""Build a method's learner for the data and budget, seeded, with restriction and cache."""

from __future__ import annotations

import torch

from neuroplastic.data import DataSplits
from neuroplastic.energy.ledger import Ledger
from neuroplastic.methods import BuildContext, Learner, TrainingParams, get_method
from neuroplastic.restrict import attach_cache, attach_restriction
from neuroplastic.runs.settings import Experiment


def build_learner(
    name: str, params: TrainingParams, exp: Experiment, data: DataSplits, device: torch.device
) -> Learner:
    """Build method ``name`` for this data and budget, seeded by the experiment's seed."""
    ctx = BuildContext(
        n_features=data.n_features,
        n_classes=data.n_classes,
        hidden=tuple(exp.hidden),
        ledger=Ledger(alphas=exp.alphas),
        generator=torch.Generator().manual_seed(exp.seed),
        device=device,
    )
    torch.manual_seed(exp.seed)
    learner = get_method(name).build(ctx, params).to(device)
    attach_plasticity_filters(learner, exp, params.batch_size, owner=f"method {name!r}")
    return learner


def attach_plasticity_filters(
    learner: Learner, exp: Experiment, batch_size: int, owner: str | None = None
) -> None:
    """Attach the experiment's restriction and synaptic cache to every synapse group.

    With batches the restriction filters the batch's summed update, and the cache counts one
    applied update as ``batch_size`` samples of decay and maintenance.
    """
    groups = learner.synapses()
    if exp.restrict is not None:
        attach_restriction(learner.roles(owner), exp.restrict)
    if exp.cache is not None:
        attach_cache(groups, exp.cache.model_copy(update={"samples_per_apply": batch_size}))
