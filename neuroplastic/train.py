"""One training loop for every learner: seeded batches, periodic evaluation, early stop at a
target accuracy, atomic checkpoints and exact resume.

The data order is a function of (seed, epoch) alone, so a run resumed from a checkpoint sees
exactly the batches the uninterrupted run would have seen. Evaluation during training uses the
*validation* split (never the test split); the target accuracy is checked there.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
from pydantic import BaseModel, ConfigDict, Field
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import Tensor

from neuroplastic.checkpoint import load_checkpoint, save_checkpoint
from neuroplastic.errors import (
    CheckpointError,
    DivergedError,
    NonFiniteUpdateError,
    ParameterError,
)
from neuroplastic.methods.base import Learner


class LoopSettings(BaseModel):
    """How the loop runs (shared by every method)."""

    model_config = ConfigDict(extra="forbid")
    epochs: int = Field(10, ge=1, le=10_000, description="passes over the training set")
    batch_size: int = Field(100, ge=1, le=100_000, description="samples per update")
    seed: int = Field(0, ge=0, description="seed of the data order")
    eval_every: int = Field(
        0, ge=0, description="evaluate on the validation split every N samples (0 = each epoch)"
    )
    target_accuracy: float | None = Field(
        None, gt=0, le=1, description="stop when validation accuracy reaches this"
    )
    checkpoint_every: int = Field(
        0, ge=0, description="checkpoint every N samples (0 = at every evaluation)"
    )


@dataclass
class EvalPoint:
    """One evaluation during training."""

    samples_seen: int
    val_accuracy: float
    wall_s: float
    m0: float
    m1: float
    objective: float | None = None  # mean training objective since the previous evaluation


@dataclass
class TrainOutcome:
    """What the loop did."""

    samples_seen: int = 0
    epochs_done: int = 0
    wall_s: float = 0.0
    curve: list[EvalPoint] = field(default_factory=list)
    samples_to_target: int | None = None
    ledger_at_target: dict[str, Any] | None = None
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


@torch.no_grad()
def accuracy(learner: Learner, x: Tensor, y: Tensor, batch_size: int = 2000) -> float:
    """Fraction of samples whose highest score is the true class."""
    if x.shape[0] == 0:
        raise ParameterError("cannot compute accuracy on an empty split")
    correct = 0
    for start in range(0, x.shape[0], batch_size):
        scores = learner.predict(x[start : start + batch_size])
        correct += int((scores.argmax(1) == y[start : start + batch_size]).sum())
    return correct / x.shape[0]


CHANCE_SIGMAS = 3.0
"""An accuracy within this many binomial standard errors of the chance level is 'at chance'."""


def chance_level(y: Tensor) -> float:
    """Accuracy of always answering the most frequent class of ``y`` (the chance level)."""
    if y.numel() == 0:
        raise ParameterError("cannot compute a chance level on an empty split")
    return float(torch.bincount(y.detach().cpu()).max()) / y.numel()


def at_chance(accuracy: float, y: Tensor) -> str | None:
    """Why ``accuracy`` on labels ``y`` is at chance, or None if it is clearly above it.

    At chance means ``accuracy <= p + 3·sqrt(p(1 − p)/n)``, with p the frequency of the most
    frequent class (what a constant answer scores) and n the number of samples.
    """
    p, n = chance_level(y), y.numel()
    bound = p + CHANCE_SIGMAS * math.sqrt(p * (1 - p) / n)
    if accuracy > bound:
        return None
    return (
        f"accuracy {accuracy:.2%} is at chance (the most frequent class is {p:.2%} of "
        f"{n:,} samples; above chance means over {bound:.2%})"
    )


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """The sample order of one epoch: a permutation determined by (seed, epoch) alone."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen)


EvalCallback = Callable[[EvalPoint], None]


class Trainer:
    """Runs a learner over a training split with evaluation, early stop and checkpoints."""

    def __init__(
        self,
        learner: Learner,
        settings: LoopSettings,
        *,
        checkpoint_path: Path | None = None,
        signature: str = "",
        owner: str | None = None,
        on_eval: EvalCallback | None = None,
        on_warning: Callable[[str], None] | None = None,
        progress: bool = False,
    ) -> None:
        self.learner = learner
        self.settings = settings
        self.checkpoint_path = checkpoint_path
        self.signature = signature
        self.owner = owner
        self.on_eval = on_eval
        self.on_warning = on_warning
        self._warned_chance = False
        self.progress = progress
        self.outcome = TrainOutcome()
        self._position = (0, 0)  # (epoch, next batch index within it)
        self._last_checkpoint = 0
        self._stopped = False
        self._batches_per_epoch = 0

    # ---------------------------------------------------------------- resume
    def resume(self) -> bool:
        """Continue from the checkpoint if one exists; returns whether one was loaded.

        A checkpoint of another configuration (or, when ``owner`` is set, of another run)
        raises CheckpointError.
        """
        if self.checkpoint_path is None or not self.checkpoint_path.is_file():
            return False
        self.restore(self.load_checkpoint())
        return True

    def load_checkpoint(self) -> dict[str, Any]:
        """Read and check this run's checkpoint (CheckpointError: missing, corrupt, foreign)."""
        if self.checkpoint_path is None:
            raise CheckpointError("this trainer keeps no checkpoint")
        return load_checkpoint(
            self.checkpoint_path, expect_signature=self.signature, expect_owner=self.owner
        )

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's ``state`` (from :meth:`load_checkpoint`)."""
        self.learner.load_state_dict(state["learner"])
        self.learner.ledger.load_state_dict(state["ledger"])
        out = state["outcome"]
        out["curve"] = [EvalPoint(**p) for p in out["curve"]]
        self.outcome = TrainOutcome(**out)
        self.outcome.resumed = True
        self._position = tuple(state["position"])
        self._stopped = bool(state["stopped"])
        torch.set_rng_state(state["torch_rng"])
        self._last_checkpoint = self.outcome.samples_seen

    def _checkpoint(self) -> None:
        if self.checkpoint_path is None:
            return
        save_checkpoint(
            self.checkpoint_path,
            {
                "signature": self.signature,
                **({"owner": self.owner} if self.owner is not None else {}),
                "learner": self.learner.state_dict(),
                "ledger": self.learner.ledger.state_dict(),
                "outcome": self.outcome.to_dict(),
                "position": list(self._position),
                "stopped": self._stopped,
                "torch_rng": torch.get_rng_state(),
            },
        )
        self._last_checkpoint = self.outcome.samples_seen

    # ------------------------------------------------------------------ loop
    def _evaluate(self, x_val: Tensor, y_val: Tensor, wall_s: float) -> EvalPoint:
        counts = self.learner.ledger.counts()
        point = EvalPoint(
            samples_seen=self.outcome.samples_seen,
            val_accuracy=accuracy(self.learner, x_val, y_val),
            wall_s=wall_s,
            m0=counts.m0,
            m1=counts.m1,
            objective=self.learner.take_objective(),
        )
        self.outcome.curve.append(point)
        target = self.settings.target_accuracy
        if (
            target is not None
            and self.outcome.samples_to_target is None
            and point.val_accuracy >= target
        ):
            self.outcome.samples_to_target = point.samples_seen
            self.learner.end_of_training()  # training stops: e.g. transient weights are paid
            self.outcome.ledger_at_target = self.learner.ledger.summary()
            self._stopped = True
        if self.on_eval is not None:
            self.on_eval(point)  # logged first: a non-finite objective is kept in the store
        self._check_diverged(point)
        reason = at_chance(point.val_accuracy, y_val) if self.learner.readout_trained else None
        if reason is not None and not self._warned_chance and self.on_warning is not None:
            self._warned_chance = True
            self.on_warning(f"validation {reason} after {point.samples_seen:,} samples")
        return point

    def _check_diverged(self, point: EvalPoint) -> None:
        """Raise DivergedError if the training objective or any weight is NaN or infinite."""
        step = self._position[0] * self._batches_per_epoch + self._position[1]
        if point.objective is not None and not math.isfinite(point.objective):
            raise DivergedError(
                f"diverged: the training objective {self.learner.objective_name} became "
                f"{point.objective} by {point.samples_seen} samples",
                step,
                point.samples_seen,
            )
        for syn in self.learner.synapses():
            if not bool(torch.isfinite(syn.w.detach()).all()):
                raise DivergedError(
                    f"diverged: weights of {syn.name} became NaN or infinite by "
                    f"{point.samples_seen} samples",
                    step,
                    point.samples_seen,
                )

    def fit(self, x: Tensor, y: Tensor, x_val: Tensor, y_val: Tensor) -> TrainOutcome:
        """Train on (x, y), evaluating on (x_val, y_val); returns the outcome."""
        s = self.settings
        n = x.shape[0]
        if n == 0:
            raise ParameterError("the training split is empty")
        eval_every = s.eval_every or n
        ckpt_every = s.checkpoint_every or eval_every
        batches_per_epoch = (n + s.batch_size - 1) // s.batch_size
        self._batches_per_epoch = batches_per_epoch
        start_wall = time.perf_counter() - self.outcome.wall_s
        next_eval = (self.outcome.samples_seen // eval_every + 1) * eval_every
        epoch0, batch0 = self._position
        total = s.epochs * batches_per_epoch
        with _progress_bar(self.progress) as bar:
            task = bar.add_task("train", total=total, completed=epoch0 * batches_per_epoch + batch0)
            for epoch in range(epoch0, s.epochs):
                if self._stopped:
                    break
                order = epoch_order(n, s.seed, epoch)
                first = batch0 if epoch == epoch0 else 0
                for b in range(first, batches_per_epoch):
                    idx = order[b * s.batch_size : (b + 1) * s.batch_size]
                    try:
                        self.learner.train_step(x[idx], y[idx])
                    except NonFiniteUpdateError as exc:
                        step = epoch * batches_per_epoch + b + 1
                        raise DivergedError(
                            f"diverged at step {step} (epoch {epoch + 1}, after "
                            f"{self.outcome.samples_seen} samples): {exc}",
                            step,
                            self.outcome.samples_seen,
                        ) from None
                    self.outcome.samples_seen += idx.numel()
                    self._position = (epoch, b + 1)
                    bar.advance(task)
                    if self.outcome.samples_seen >= next_eval:
                        next_eval += eval_every
                        wall = time.perf_counter() - start_wall
                        point = self._evaluate(x_val, y_val, wall)
                        bar.update(task, description=f"val {point.val_accuracy:.4f}")
                    if self._stopped:
                        break
                    if self.outcome.samples_seen - self._last_checkpoint >= ckpt_every:
                        self.outcome.wall_s = time.perf_counter() - start_wall
                        self._checkpoint()
                if not self._stopped:
                    self.learner.on_epoch_end(epoch)
                    self._position = (epoch + 1, 0)
                    self.outcome.epochs_done = epoch + 1
            if (
                not self.outcome.curve
                or self.outcome.curve[-1].samples_seen != self.outcome.samples_seen
            ):
                self._evaluate(x_val, y_val, time.perf_counter() - start_wall)
        self.learner.end_of_training()  # e.g. synaptic caching: the final flush is paid for
        self.outcome.wall_s = time.perf_counter() - start_wall
        self._checkpoint()
        return self.outcome


class _NullProgress:
    def __enter__(self) -> _NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def advance(self, *args: Any, **kwargs: Any) -> None:
        return None

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None


class _LineProgress(_NullProgress):
    """Progress for logs (stderr is not a terminal): one plain line per evaluation, e.g.
    ``progress: 300/900 batches (33%), val 0.8120, 12.3 s``, instead of a live bar that a file
    or CI log would not show."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.completed = 0
        self.start = time.perf_counter()

    def add_task(self, *args: Any, total: int = 0, completed: int = 0, **kwargs: Any) -> int:
        self.total, self.completed = total, completed
        return 0

    def advance(self, *args: Any, **kwargs: Any) -> None:
        self.completed += 1

    def update(self, *args: Any, description: str = "", **kwargs: Any) -> None:
        share = f" ({self.completed / self.total:.0%})" if self.total else ""
        elapsed = time.perf_counter() - self.start
        print(
            f"progress: {self.completed}/{self.total} batches{share}, {description}, "
            f"{elapsed:.1f} s",
            file=self.stream,
            flush=True,
        )


def _progress_bar(enabled: bool) -> Any:
    """A live bar on a terminal, plain lines when stderr is a file or pipe, or nothing."""
    if not enabled:
        return _NullProgress()
    if not sys.stderr.isatty():
        return _LineProgress(sys.stderr)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} batches"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
