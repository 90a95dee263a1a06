"""Public contract checks: the no-bypass check and :func:`check_learner`.

In the spirit of scikit-learn's ``check_estimator``: a plug-in author runs
``check_learner("my-method")`` (a registered name) or ``check_learner(make)`` (a function
``make(ctx: BuildContext) -> Learner``) in their own test-suite, and the project's contract test
(``neuroplastic/methods/tests/test_contract.py``) runs it for every registered method. Each
failure is a :class:`~neuroplastic.errors.ContractError` whose message names the check and the
method.

The no-bypass check (:class:`DoorAudit`, :func:`check_no_bypass`). Every synaptic change must go
through a door (:class:`~neuroplastic.synapses.CountedWriter`: ``Synapses``, the bit-packed
memory) that tells the ledger. The audit copies every writer's state, lets a step run, and then
compares, per group, the ledger's change ΔM0 / ΔM1 with what the state actually changed by:

- without a cache, the change of ``w``: ``nnz(w₁ − w₀) = ΔM0`` and ``Σ|w₁ − w₀| = ΔM1``;
- with a synaptic cache (``w = s + l``), the change of the persistent ``l = w − s`` equals the
  counted persistent writes (consolidations, ΔM1), and, where s does not decay, the change of
  ``w`` equals the transient writes (``Δtransient_m0``, ``Δtransient_m1``);
- the bit-packed memory: bits flipped = ΔM0 = ΔM1.

Equality is exact for M0 and holds to float rounding for M1 (relative 1e-4 plus a bound on the
rounding of ``w − s``) when the group was written at most once in the step and neither pruned
nor grown. When a group is written several times in one step the triangle inequality only gives
``actual ≤ counted`` (plus the pruned magnitude where synapses were removed), which is checked
instead. A change with nothing counted always fails.
"""

from __future__ import annotations

import copy
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

from neuroplastic.energy.ledger import Counts, Ledger
from neuroplastic.energy.synops import measure_synops
from neuroplastic.errors import BypassError, ContractError
from neuroplastic.methods import get_method
from neuroplastic.methods.base import BuildContext, Learner
from neuroplastic.restrict import CacheParams, RestrictParams, attach_cache, attach_restriction
from neuroplastic.restrict import describe as describe_policy
from neuroplastic.synapses import AuditChange, CountedWriter

__all__ = [
    "CHECKS",
    "DoorAudit",
    "check_learner",
    "check_no_bypass",
]

_M1_RTOL = 1e-4


def _counts_of(writer: CountedWriter) -> Counts:
    return Counts() if writer.ledger is None else writer.ledger.counts(group=writer.name)


def _diff(after: Counts, before: Counts) -> Counts:
    values = {
        f.name: getattr(after, f.name) - getattr(before, f.name)
        for f in fields(Counts)
        if f.name != "m_alpha"
    }
    return Counts(**values)


def _close(actual: float, counted: float, tol: float) -> bool:
    return abs(actual - counted) <= _M1_RTOL * max(abs(actual), abs(counted)) + tol + 1e-12


def _verify(d: Counts, c: AuditChange, decays: bool, cached: bool, m0_slack: float) -> str | None:
    """The first mismatch between counted ``d`` and actual ``c`` for one group, or None."""
    exact = d.applies <= 1 and d.created == 0 and d.pruned == 0
    if exact:
        if not cached and (c.m0 > d.m0 or d.m0 - c.m0 > m0_slack * d.m0):
            return f"{c.m0:g} entries changed but the ledger counted ΔM0 = {d.m0:g}"
        if not _close(c.m1, d.m1, c.tol):
            return (
                f"the weights changed by Σ|Δ| = {c.m1:.6g} but the ledger counted ΔM1 = {d.m1:.6g}"
            )
        if cached and not decays:
            if c.w_m0 != d.transient_m0:
                return (
                    f"{c.w_m0:g} entries of w changed but the ledger counted "
                    f"{d.transient_m0:g} transient writes"
                )
            if not _close(c.w_m1, d.transient_m1, c.tol):
                return (
                    f"w changed by Σ|Δ| = {c.w_m1:.6g} but the ledger counted transient "
                    f"ΔM1 = {d.transient_m1:.6g}"
                )
        return None
    removed = d.pruned_abs + (c.s_abs if cached else 0.0)
    if not cached and c.m0 > d.m0 + d.pruned:
        return (
            f"{c.m0:g} entries changed but the ledger counted ΔM0 = {d.m0:g} (+{d.pruned} pruned)"
        )
    if c.m1 > (1 + _M1_RTOL) * (d.m1 + removed) + c.tol + 1e-12:
        return (
            f"the weights changed by Σ|Δ| = {c.m1:.6g}, more than the ledger counted "
            f"(ΔM1 = {d.m1:.6g}, pruned {d.pruned_abs:.6g})"
        )
    if cached and not decays and c.w_m1 > (1 + _M1_RTOL) * (d.transient_m1 + removed) + c.tol:
        return f"w changed by Σ|Δ| = {c.w_m1:.6g}, more than the transient writes counted"
    return None


class DoorAudit:
    """Compares, step by step, every writer's counted change with its actual change.

    ``audit = DoorAudit(learner.synapses())``; after each step ``audit.check()`` raises
    :class:`~neuroplastic.errors.BypassError` naming the group and the mismatch, then takes
    the state as the start of the next step.

    ``m0_slack``: the fraction by which ΔM0 may *exceed* the entries that changed (never the
    other way round, so a bypass is still caught). Default 0. The batch-1 rank-1 paths
    (``Synapses.apply_outer``, ``OuterBatch``) count the proposed ``nnz(a)·nnz(b)``, which
    exceeds the entries changed where float rounding swallows a change below half an ulp of
    w; audit them with a small slack (e.g. 0.01).
    """

    def __init__(
        self, writers: Iterable[CountedWriter], *, label: str = "", m0_slack: float = 0.0
    ) -> None:
        self.writers = list(writers)
        self.m0_slack = m0_slack
        for w in self.writers:
            if not isinstance(w, CountedWriter):
                raise ContractError(f"{type(w).__name__} is not a CountedWriter (no audit_state)")
        self.label = label
        self._snapshot()

    def _snapshot(self) -> None:
        self._states = [w.audit_state() for w in self.writers]
        self._counts = [_counts_of(w) for w in self.writers]

    def check(self, step: str = "") -> None:
        """Raise :class:`BypassError` on the first group whose change the ledger did not count."""
        for writer, state, before in zip(self.writers, self._states, self._counts, strict=True):
            change = writer.audit_change(state)
            d = _diff(_counts_of(writer), before)
            cached = getattr(writer, "cache_s", None) is not None
            problem = _verify(d, change, writer.audit_decays(), cached, self.m0_slack)
            if problem is not None:
                where = " ".join(x for x in (self.label, step) if x)
                raise BypassError(
                    f"{writer.name}{' (' + where + ')' if where else ''}: {problem}; "
                    "a write bypassed the door"
                )
        self._snapshot()


def check_no_bypass(
    writers: Sequence[CountedWriter], step: Callable[[], object], *, label: str = ""
) -> None:
    """Run ``step()`` once and check every writer's change against its ledger counts."""
    audit = DoorAudit(writers, label=label)
    step()
    audit.check()


# ------------------------------------------------------------------ check_learner
Make = Callable[[BuildContext], Learner]

N_FEATURES, N_CLASSES, BATCH = 10, 4, 8


def toy_context(seed: int, hidden: tuple[int, ...]) -> BuildContext:
    """The contract checks' task: N_FEATURES inputs, N_CLASSES classes, the given hidden widths,
    a fresh ledger and weights drawn from ``seed``, on the CPU (also the method tests' toy)."""
    return BuildContext(
        N_FEATURES,
        N_CLASSES,
        hidden,
        Ledger(),
        torch.Generator().manual_seed(seed),
        torch.device("cpu"),
    )


def _batch(i: int, n: int = BATCH) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(1000 + i)
    return torch.rand(n, N_FEATURES, generator=g), torch.randint(0, N_CLASSES, (n,), generator=g)


def _fail(name: str, check: str, message: str) -> ContractError:
    return ContractError(f"{name}: {check}: {message}")


@dataclass
class _Subject:
    name: str
    make: Make
    hidden: tuple[int, ...]
    restrict: RestrictParams | None = None
    cache: CacheParams | None = None

    def build(self, seed: int = 0) -> Learner:
        torch.manual_seed(seed)
        learner = self.make(toy_context(seed, self.hidden))
        if self.restrict is not None:
            attach_restriction(learner.roles(self.name), self.restrict)
        if self.cache is not None:
            attach_cache(learner.synapses(), self.cache)
        return learner


def check_shapes(s: _Subject) -> None:
    """predict gives (B, n_classes); the architecture names n_features and n_classes; every
    synapse group has a unique name and is registered in the learner's ledger."""
    learner = s.build()
    x, _ = _batch(0)
    shape = tuple(learner.predict(x).shape)
    if shape != (BATCH, N_CLASSES):
        raise _fail(s.name, "shapes", f"predict gave {shape}, expected {(BATCH, N_CLASSES)}")
    arch = learner.architecture
    if not (arch.startswith(f"{N_FEATURES}-") and arch.endswith(f"-{N_CLASSES}")):
        raise _fail(s.name, "shapes", f"architecture {arch!r} does not read {N_FEATURES}-…-4")
    names = [g.name for g in learner.synapses()]
    if not names or len(names) != len(set(names)):
        raise _fail(s.name, "shapes", f"synapse group names must be unique and non-empty: {names}")
    if set(names) != set(learner.ledger.groups):
        raise _fail(s.name, "shapes", "the ledger's groups are not the learner's synapses")


def _weights(learner: Learner) -> list[Tensor]:
    return [g.w.detach().clone() for g in learner.synapses()]


def check_determinism(s: _Subject) -> None:
    """Same seed and batches give identical weights and counts; another seed differs."""
    a, b = s.build(3), s.build(3)
    for i in range(3):
        a.train_step(*_batch(i))
        b.train_step(*_batch(i))
    if not all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(b), strict=True)):
        raise _fail(s.name, "determinism", "two runs with the same seed gave different weights")
    if a.ledger.counts() != b.ledger.counts():
        raise _fail(s.name, "determinism", "two runs with the same seed counted differently")
    c = s.build(4)
    if all(torch.equal(p, q) for p, q in zip(_weights(a)[:1], _weights(c)[:1], strict=True)):
        c.train_step(*_batch(0))
        if all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(c), strict=True)):
            raise _fail(s.name, "determinism", "the seed has no effect on the weights")


def check_masks_and_signs(s: _Subject) -> None:
    """After pruning 30 % of every group, training never writes a removed synapse; Dale signs
    hold throughout."""
    learner = s.build()
    gen = torch.Generator().manual_seed(0)
    for syn in learner.synapses():
        syn.prune(torch.rand(syn.w.shape, generator=gen) < 0.3)
    for i in range(3):
        learner.train_step(*_batch(i))
        for syn in learner.synapses():
            w = syn.w.detach()
            if bool((w[~syn.mask] != 0).any()):
                raise _fail(s.name, "masks", f"{syn.name}: a removed synapse has a weight")
            if syn.sign is not None and bool(
                (((syn.sign > 0) & (w < 0)) | ((syn.sign < 0) & (w > 0))).any()
            ):
                raise _fail(s.name, "signs", f"{syn.name}: a weight violates its Dale sign")


def check_door(s: _Subject, steps: int = 5) -> None:
    """The no-bypass check after every training step and after ``end_of_training``; and
    (without a restriction, which may freeze what a short run trains) training writes."""
    learner = s.build()
    audit = DoorAudit(learner.synapses(), label=s.name)
    for i in range(steps):
        learner.train_step(*_batch(i))
        audit.check(f"step {i}")
    learner.end_of_training()
    audit.check("end_of_training")
    if (
        s.restrict is None
        and learner.ledger.counts().m0 + learner.ledger.counts().transient_m0 <= 0
    ):
        raise _fail(s.name, "door", f"{steps} training steps wrote nothing")


def _clone_state(learner: Learner) -> dict[str, Any]:
    buf = io.BytesIO()
    torch.save(
        {
            "learner": learner.state_dict(),
            "ledger": learner.ledger.state_dict(),
            "rng": torch.get_rng_state(),
        },
        buf,
    )
    buf.seek(0)
    state: dict[str, Any] = torch.load(buf, weights_only=False)
    return state


def check_resume(s: _Subject) -> None:
    """Checkpoint after 2 steps, resume in a fresh learner: the next 2 steps give identical
    weights and an identical ledger summary."""
    a = s.build(5)
    for i in range(2):
        a.train_step(*_batch(i))
    state = _clone_state(a)
    for i in range(2, 4):
        a.train_step(*_batch(i))
    b = s.build(6)  # another seed: everything must come from the checkpoint
    b.load_state_dict(copy.deepcopy(state["learner"]))
    b.ledger.load_state_dict(state["ledger"])
    torch.set_rng_state(state["rng"])
    for i in range(2, 4):
        b.train_step(*_batch(i))
    if not all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(b), strict=True)):
        raise _fail(s.name, "resume", "a resumed learner's weights differ from the uninterrupted")
    if a.ledger.summary() != b.ledger.summary():
        raise _fail(s.name, "resume", "a resumed learner's ledger differs from the uninterrupted")


def check_synops(s: _Subject) -> None:
    """Inference costs synaptic operations: SynOps per sample > 0 on the inference model."""
    learner = s.build()
    learner.train_step(*_batch(0))
    ops = measure_synops(learner.inference_model, _batch(1)[0])
    if not (ops.effective > 0 and math.isfinite(ops.effective)):
        raise _fail(s.name, "synops", f"inference SynOps per sample is {ops.effective}")


def check_local(s: _Subject) -> None:
    """A learner tagged ``local`` (or ``no_autograd``) builds no autograd graph and holds no
    weight that requires grad."""
    learner = s.build()
    if not (learner.tags.get("local", False) or learner.tags.get("no_autograd", False)):
        return

    tags = dict(learner.tags)

    def built(_t: Tensor) -> Tensor:
        raise _fail(s.name, "local", f"a learner tagged {tags} built an autograd graph")

    with torch.autograd.graph.saved_tensors_hooks(built, lambda t: t):
        learner.train_step(*_batch(0))
    if any(g.w.requires_grad for g in learner.synapses()):
        raise _fail(s.name, "local", f"a learner tagged {tags} has weights that require grad")


CHECKS: dict[str, Callable[[_Subject], None]] = {
    "shapes": check_shapes,
    "determinism": check_determinism,
    "masks_and_signs": check_masks_and_signs,
    "door": check_door,
    "resume": check_resume,
    "synops": check_synops,
    "local": check_local,
}


def check_learner(
    method: str | Make,
    *,
    hidden: tuple[int, ...] = (12,),
    checks: Sequence[str] | None = None,
    name: str | None = None,
    restrict: RestrictParams | None = None,
    cache: CacheParams | None = None,
) -> list[str]:
    """Run the learner contract on a registered method name or a builder; returns the checks run.

    ``method``: a name from :func:`neuroplastic.methods.available_methods` (built with its
    default parameters and ``batch_size=8``) or ``make(ctx: BuildContext) -> Learner``. The task
    is 10 features, 4 classes, hidden layers ``hidden``, CPU, batches of 8 random samples.
    ``checks``: a subset of :data:`CHECKS` (default: all). ``restrict`` / ``cache``: a
    restriction policy and a synaptic cache attached to every group after building. Raises
    :class:`~neuroplastic.errors.ContractError` at the first broken check.
    """
    make: Make
    if isinstance(method, str):
        registered = get_method(method)

        def make(ctx: BuildContext) -> Learner:
            return registered.build(ctx, registered.params_model(batch_size=BATCH))

        label = name or method
    else:
        make = method
        label = name or str(getattr(method, "__name__", "learner"))
    extras = [describe_policy(restrict)] if restrict is not None else []
    if cache is not None:
        extras.append(f"cache tau={cache.tau} mode={cache.mode}")
    if extras:
        label = f"{label} [{'; '.join(extras)}]"
    subject = _Subject(label, make, hidden, restrict, cache)
    selected = list(CHECKS) if checks is None else list(checks)
    unknown = [c for c in selected if c not in CHECKS]
    if unknown:
        raise ContractError(f"unknown checks {unknown}; available: {', '.join(CHECKS)}")
    for check in selected:
        CHECKS[check](subject)
    return selected
