"""Adversarial robustness on equal terms, with the checks that expose gradient masking.

Protocol (``structural-plasticity.md`` §4; attacks from torchattacks, Kim 2020, with its
standard parameters): inputs in [0, 1] pixels, L∞ budgets ε (default 0.05, 0.1, 0.2, 0.3),
on the same ``samples`` test inputs for every method:

- **FGSM** (Goodfellow et al. 2015): one signed-gradient step of size ε;
- **PGD** (Madry et al. 2018): ``steps`` = 40 steps of α = 2.5 ε / steps from a uniformly random
  start in the ε-ball, cross-entropy on the scores (:mod:`~neuroplastic.metrics.attack_forward`
  divides them by a fixed temperature so the loss does not saturate);
- **transfer**: PGD examples crafted on the backprop model of the same run, evaluated on the
  method (black box: needs no gradient of the method);
- **Square** (Andriushchenko et al. 2020): gradient-free random search, ``square_queries``
  queries, margin loss.

The *worst case* at each ε is the lowest accuracy over these attacks. A white-box attack goes
through the method's differentiable forward pass, with a straight-through (BPDA) surrogate for
a non-differentiable step (:func:`~neuroplastic.metrics.attack_forward.attack_forward`).

**Gradient masking** (Athalye, Carlini & Wagner 2018) is detected two ways: the input gradient
of the loss through the *true* forward is zero (or not finite) for more than
``MASKED_FRACTION`` of the inputs, or a black-box attack beats the white-box PGD.

**Sanity checks** (each names what it found): robust accuracy does not rise with ε (within the
tolerance); PGD is not weaker than FGSM; PGD is not weaker than the black-box attacks; the
white-box gradients are usable (not masked, or a surrogate replaces the masked step); and
PGD with ε = 0.3 and ``unbounded_steps`` steps drives *backprop* near 0 (at most
``near_zero``), which shows the attack is run correctly. The tolerance is two binomial standard
errors at p = 0.5, ``2 · √(0.25 / samples)``. A robustness claim is *supported* only if every
check passes and the method's worst case is above backprop's by more than the tolerance at
every ε.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import Tensor, nn

from neuroplastic.errors import ParameterError
from neuroplastic.params import validate_settings

if TYPE_CHECKING:
    from neuroplastic.metrics.attack_forward import AttackForward

MASKED_FRACTION = 0.1
"""Above this fraction of inputs with a zero or non-finite input gradient, gradients are masked."""


class AttackSettings(BaseModel):
    """Budgets and strengths of the attacks (torchattacks' standard parameters)."""

    model_config = ConfigDict(extra="forbid")

    eps: list[float] = Field(
        default_factory=lambda: [0.05, 0.1, 0.2, 0.3], description="L∞ budgets on [0, 1] pixels"
    )
    steps: int = Field(40, ge=1, le=10_000, description="PGD steps")
    alpha_factor: float = Field(2.5, gt=0, description="PGD step α = alpha_factor · ε / steps")
    random_start: bool = Field(True, description="PGD starts uniformly in the ε-ball")
    square_queries: int = Field(1000, ge=0, le=100_000, description="Square queries (0: none)")
    unbounded_steps: int = Field(200, ge=1, description="PGD steps of the ε = 0.3 backprop check")
    near_zero: float = Field(0.02, ge=0, le=1, description="'near 0' for that check")
    samples: int = Field(1000, ge=1, description="test inputs attacked")
    batch_size: int = Field(500, ge=1, description="inputs per attack call")
    seed: int = Field(0, ge=0, description="seed of random starts and Square")

    @field_validator("eps")
    @classmethod
    def _eps_in_unit_interval(cls, value: list[float]) -> list[float]:
        bad = [e for e in value if not 0.0 <= e <= 1.0 or math.isnan(e)]
        if bad:
            raise ValueError(f"ε must be in [0, 1] (pixels are in [0, 1]); got {bad}")
        if not value:
            raise ValueError("at least one ε is needed")
        return sorted(value)

    def tolerance(self, n: int) -> float:
        """Two binomial standard errors at p = 0.5 for n inputs."""
        return 2.0 * math.sqrt(0.25 / max(n, 1))


def attack_settings(**values: Any) -> AttackSettings:
    """Validated settings; a bad ε fails as a ParameterError naming it."""
    return validate_settings(AttackSettings, values, "adversarial")


class EpsResult(BaseModel):
    """Robust accuracy of each attack at one ε (fractions; None: not run)."""

    model_config = ConfigDict(extra="forbid")

    eps: float
    fgsm: float | None = None
    pgd: float | None = None
    transfer: float | None = None
    square: float | None = None
    worst: float
    worst_attack: str


class MaskingCheck(BaseModel):
    """Whether the true forward's input gradients vanish (gradient masking)."""

    model_config = ConfigDict(extra="forbid")

    zero_gradient_fraction: float
    nonfinite_gradient_fraction: float
    masked: bool = Field(description=f"more than {MASKED_FRACTION:.0%} of inputs: zero gradient")
    surrogate: bool = Field(description="a BPDA surrogate replaces the non-differentiable step")


class Check(BaseModel):
    """One sanity check of the attack results."""

    model_config = ConfigDict(extra="forbid")

    name: str
    passed: bool
    detail: str


class RobustnessReport(BaseModel):
    """The adversarial evaluation of one method (error set: it could not be attacked)."""

    model_config = ConfigDict(extra="forbid")

    method: str
    samples: int = 0
    clean_accuracy: float | None = None
    forward: str = Field("", description="exact or surrogate, and how")
    temperature: float | None = None
    per_eps: list[EpsResult] = Field(default_factory=list)
    masking: MaskingCheck | None = None
    unbounded_pgd: float | None = Field(
        None, description="ε = 0.3 PGD with unbounded_steps (backprop only)"
    )
    checks: list[Check] = Field(default_factory=list)
    error: str | None = None

    @property
    def checks_pass(self) -> bool:
        return self.error is None and all(c.passed for c in self.checks)


# ------------------------------------------------------------------------------ helpers
class AttackLibraryMissingError(ParameterError):
    """torchattacks is not importable."""


TORCHATTACKS_INSTALL = "pip install --no-deps torchattacks==3.5.1"
"""How to install the attack library (``scripts/setup.sh`` does it; see the ``eval`` extra)."""


def torchattacks_module() -> Any:
    """The torchattacks module, or a one-line error saying how to install it."""
    try:
        import torchattacks
    except ImportError:
        raise AttackLibraryMissingError(
            "adversarial: the attack library torchattacks is not installed; install it with "
            f"'{TORCHATTACKS_INSTALL}' (without its declared torchvision, which would replace "
            "torch; scripts/setup.sh does this)"
        ) from None
    return torchattacks


def _batches(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


@torch.no_grad()
def accuracy_on(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    """Fraction of x classified as y by ``model`` (argmax of its scores)."""
    correct = 0
    for sl in _batches(len(x), batch_size):
        correct += int((model(x[sl]).argmax(1) == y[sl]).sum())
    return correct / max(len(x), 1)


def gradient_masking(model: nn.Module, x: Tensor, y: Tensor, *, surrogate: bool) -> MaskingCheck:
    """Input gradients of the cross-entropy through ``model`` (the true forward): the fraction
    of inputs where it is exactly zero everywhere, and where it is not finite."""
    x = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y, reduction="sum")
    grad = None
    if loss.requires_grad:  # a forward with no autograd graph at all has zero gradient
        (grad,) = torch.autograd.grad(loss, x, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(x)
    flat = grad.flatten(1)
    finite = torch.isfinite(flat).all(1)
    zero = (flat == 0).all(1)
    zero_fraction = float(zero.double().mean())
    nonfinite = float((~finite).double().mean())
    return MaskingCheck(
        zero_gradient_fraction=zero_fraction,
        nonfinite_gradient_fraction=nonfinite,
        masked=zero_fraction + nonfinite > MASKED_FRACTION,
        surrogate=surrogate,
    )


def _attack_batched(
    atk: Callable[[Tensor, Tensor], Tensor], x: Tensor, y: Tensor, size: int
) -> Tensor:
    return torch.cat([atk(x[sl], y[sl]) for sl in _batches(len(x), size)])


def fgsm_examples(model: nn.Module, x: Tensor, y: Tensor, eps: float, s: AttackSettings) -> Tensor:
    """FGSM examples (torchattacks)."""
    torchattacks = torchattacks_module()

    return _attack_batched(torchattacks.FGSM(model, eps=eps), x, y, s.batch_size)


def pgd_examples(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    s: AttackSettings,
    steps: int | None = None,
    alpha: float | None = None,
) -> Tensor:
    """L∞ PGD examples with a random start (torchattacks), seeded by ``s.seed``."""
    torchattacks = torchattacks_module()

    steps = steps or s.steps
    alpha = alpha if alpha is not None else s.alpha_factor * eps / steps
    torch.manual_seed(s.seed)
    atk = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=s.random_start)
    return _attack_batched(atk, x, y, s.batch_size)


def square_examples(
    model: nn.Module, x: Tensor, y: Tensor, eps: float, s: AttackSettings
) -> Tensor:
    """Square attack examples (gradient-free; torchattacks), ``s.square_queries`` queries."""
    torchattacks = torchattacks_module()

    atk = torchattacks.Square(
        model, norm="Linf", eps=eps, n_queries=s.square_queries, n_restarts=1, seed=s.seed
    )
    return _attack_batched(atk, x, y, s.batch_size)


def transfer_set(source: nn.Module, x: Tensor, y: Tensor, s: AttackSettings) -> dict[float, Tensor]:
    """PGD examples crafted on ``source`` (the backprop model) at every ε."""
    return {eps: pgd_examples(source, x, y, eps, s) for eps in s.eps}


# --------------------------------------------------------------------------- evaluation
def evaluate_robustness(
    method: str,
    model: AttackForward,
    x: Tensor,
    y: Tensor,
    s: AttackSettings,
    *,
    transfer: dict[float, Tensor] | None = None,
    backprop_unbounded: float | None = None,
    is_backprop: bool = False,
) -> RobustnessReport:
    """Every attack at every ε on (x, y) (images in [0, 1]), the masking check and the sanity
    checks. ``backprop_unbounded`` is backprop's ε = 0.3 unbounded PGD accuracy (measured here
    when ``is_backprop``)."""
    n = len(x)
    tol = s.tolerance(n)
    clean = accuracy_on(model, x, y, s.batch_size)
    masking = gradient_masking(
        model.true_forward(),
        x[: s.batch_size],
        y[: s.batch_size],
        surrogate=model.exactness == "surrogate",
    )
    rows: list[EpsResult] = []
    for eps in s.eps:
        acc: dict[str, float | None] = {
            "fgsm": accuracy_on(model, fgsm_examples(model, x, y, eps, s), y, s.batch_size),
            "pgd": accuracy_on(model, pgd_examples(model, x, y, eps, s), y, s.batch_size),
            "transfer": None,
            "square": None,
        }
        if transfer is not None and eps in transfer:
            acc["transfer"] = accuracy_on(model, transfer[eps], y, s.batch_size)
        if s.square_queries > 0:
            acc["square"] = accuracy_on(
                model, square_examples(model, x, y, eps, s), y, s.batch_size
            )
        ran = {k: v for k, v in acc.items() if v is not None}
        worst_attack = min(ran, key=lambda k: ran[k])
        rows.append(EpsResult(eps=eps, **acc, worst=ran[worst_attack], worst_attack=worst_attack))
    unbounded = None
    if is_backprop:
        adv = pgd_examples(model, x, y, 0.3, s, steps=s.unbounded_steps, alpha=0.01)
        unbounded = backprop_unbounded = accuracy_on(model, adv, y, s.batch_size)
    report = RobustnessReport(
        method=method,
        samples=n,
        clean_accuracy=clean,
        forward=f"{model.exactness}: {model.spec.note}",
        temperature=model.temperature,
        per_eps=rows,
        masking=masking,
        unbounded_pgd=unbounded,
    )
    report.checks = sanity_checks(report, clean, tol, backprop_unbounded, s.near_zero)
    return report


def sanity_checks(
    report: RobustnessReport,
    clean: float,
    tol: float,
    backprop_unbounded: float | None,
    near_zero: float,
) -> list[Check]:
    """The checks of the module docstring, each with what it found."""
    rows = report.per_eps
    checks: list[Check] = []
    worst = [clean, *(r.worst for r in rows)]
    rises = [
        f"ε={rows[i].eps:g}: {worst[i + 1]:.3f} > {worst[i]:.3f}"
        for i in range(len(rows))
        if worst[i + 1] > worst[i] + tol
    ]
    checks.append(Check(name="falls with ε", passed=not rises, detail="; ".join(rises) or "ok"))
    weak = [
        f"ε={r.eps:g}: PGD {r.pgd:.3f} > FGSM {r.fgsm:.3f}"
        for r in rows
        if r.pgd is not None and r.fgsm is not None and r.pgd > r.fgsm + tol
    ]
    checks.append(Check(name="PGD ≤ FGSM", passed=not weak, detail="; ".join(weak) or "ok"))
    black = []
    for r in rows:
        box = [v for v in (r.transfer, r.square) if v is not None]
        if r.pgd is not None and box and min(box) < r.pgd - tol:
            black.append(f"ε={r.eps:g}: black box {min(box):.3f} < PGD {r.pgd:.3f}")
    checks.append(
        Check(
            name="PGD ≤ black box",
            passed=not black,
            detail="; ".join(black) + " (gradient masking suspected)" if black else "ok",
        )
    )
    m = report.masking
    if m is not None:
        usable = not m.masked or m.surrogate
        detail = (
            f"{m.zero_gradient_fraction:.0%} zero, {m.nonfinite_gradient_fraction:.0%} non-finite"
            + ("; surrogate (BPDA) used" if m.masked and m.surrogate else "")
        )
        checks.append(Check(name="gradients usable", passed=usable, detail=detail))
    if backprop_unbounded is None:
        checks.append(
            Check(name="backprop ε=0.3 → 0", passed=False, detail="backprop not attacked")
        )
    else:
        checks.append(
            Check(
                name="backprop ε=0.3 → 0",
                passed=backprop_unbounded <= near_zero,
                detail=f"{backprop_unbounded:.3f} (≤ {near_zero:g} needed)",
            )
        )
    return checks


def robustness_claim(
    report: RobustnessReport, backprop: RobustnessReport | None, tol: float
) -> tuple[bool, str]:
    """Whether 'more robust than backprop under the worst-case attack' is supported, and why."""
    if report.error is not None:
        return False, report.error
    failed = [c.name for c in report.checks if not c.passed]
    if backprop is None or backprop.error is not None:
        return False, "no backprop result to compare with"
    ours = {r.eps: r.worst for r in report.per_eps}
    theirs = {r.eps: r.worst for r in backprop.per_eps}
    diffs = [(e, ours[e] - theirs[e]) for e in ours if e in theirs]
    text = ", ".join(f"ε={e:g}: {d:+.3f}" for e, d in diffs)
    if failed:
        return False, f"checks failed: {', '.join(failed)} (worst case − backprop: {text})"
    ok = bool(diffs) and all(d > tol for _, d in diffs)
    return ok, f"worst case − backprop: {text} (tolerance {tol:.3f})"


def as_images(x: Tensor) -> Tensor:
    """(B, side²) → (B, 1, side, side), as image attacks (Square) expect."""
    side = math.isqrt(x.shape[1])
    if side * side != x.shape[1]:
        raise ParameterError(f"adversarial: inputs of {x.shape[1]} features are not square images")
    return x.reshape(len(x), 1, side, side)


def summarise(reports: Sequence[RobustnessReport]) -> dict[str, Any]:
    """JSON-ready form of several reports."""
    return {r.method: r.model_dump() for r in reports}
