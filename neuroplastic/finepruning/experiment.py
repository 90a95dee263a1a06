"""The named experiment ``fine-pruning``: every method on many users, per user and in aggregate.

For each base-model seed (an MLP and a CNN trained by :mod:`neuroplastic.finepruning.models`)
and each user kind, ``n_users`` random users are drawn (:func:`~.users.random_user`, user seed
``1000·seed + i``; users 0..n-1 of every seed are different people). On each user every method
personalises a copy of the base model on the user's unlabelled adaptation images and is scored
on the user's labelled test images:

========================  =========================================================
``base``                  the unpersonalised model
``fine-pruning``          :func:`~.prune.fine_prune` (label-free, forward passes only)
``fine-pruning+BN``       the same, then BN statistics re-estimated (the variant)
``fp-hidden-only``        fine-pruning without removing output units (a control)
``magnitude``             smallest |w| per layer to fine-pruning's sparsity (control)
``BN-adapt``              BN statistics on the user's data (CNN only)
``TENT@budget``           TENT given fine-pruning's compute (CNN only)
``TENT-1epoch``           TENT, one epoch over the adaptation data (CNN only)
``finetune-labels``       last layer fine-tuned with the user's labels (upper reference)
========================  =========================================================

Repeated personalisation (CNN): the user's data arrive in ``passes`` chunks of ``chunk``
images; after chunk k fine-pruning runs again (continuing from its masks) on chunks 1..k and
TENT adapts one more epoch on chunk k; accuracy is read after every pass.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from rich.table import Table
from torch import Tensor, nn

from neuroplastic.atomic import save_figure_atomic
from neuroplastic.errors import ParameterError
from neuroplastic.experiments.registry import (
    ExperimentContext,
    ExperimentOutput,
    register_experiment,
)
from neuroplastic.finepruning.baselines import (
    Adapted,
    Tent,
    bn_adapt,
    finetune_last_layer,
    magnitude_prune,
)
from neuroplastic.finepruning.models import accuracy, base_model
from neuroplastic.finepruning.prune import FinePruneParams, fine_prune
from neuroplastic.finepruning.users import UserData, UserSpec, make_user, random_user

METHODS = (
    "base",
    "fine-pruning",
    "fine-pruning+BN",
    "fp-hidden-only",
    "magnitude",
    "BN-adapt",
    "TENT@budget",
    "TENT-1epoch",
    "finetune-labels",
)


class FinePruningExperimentParams(BaseModel):
    """Parameters of the ``fine-pruning`` experiment."""

    model_config = ConfigDict(extra="forbid")
    archs: str = Field("cnn,mlp", description="base models, comma-separated (cnn, mlp)")
    kinds: str = Field("classes,both", description="user kinds: classes, style, both")
    n_users: int = Field(20, ge=1, le=1000, description="users per kind and seed")
    seeds: str = Field("0,1,2", description="base-model seeds, comma-separated")
    n_adapt: int = Field(600, ge=64, le=3000, description="unlabelled adaptation images")
    n_test: int = Field(600, ge=50, le=3000, description="labelled test images per user")
    granularity: str = Field("weight", description="fine-pruning granularity")
    criterion: str = Field("activation", description="fine-pruning usage criterion")
    target_sparsity: float = Field(0.7, ge=0.0, lt=1.0, description="fine-pruning target")
    rounds: int = Field(5, ge=1, le=50, description="fine-pruning rounds")
    stop: str = Field("agreement", description="stopping rule: agreement, entropy, none")
    min_agreement: float = Field(0.97, gt=0, le=1, description="agreement threshold")
    passes: int = Field(4, ge=0, le=10, description="repeated personalisation passes (0: off)")
    chunk: int = Field(300, ge=64, le=1000, description="new images per repeated pass")
    plot: bool = Field(True, description="write the accuracy-gain-against-sparsity plot")

    @field_validator("archs", "kinds", "seeds")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not [s for s in v.split(",") if s.strip()]:
            raise ValueError("must name at least one item")
        return v

    def fp_params(self, **update: Any) -> FinePruneParams:
        """The fine-pruning parameters these options describe."""
        base = {
            "granularity": self.granularity,
            "criterion": self.criterion,
            "target_sparsity": self.target_sparsity,
            "rounds": self.rounds,
            "stop": self.stop,
            "min_agreement": self.min_agreement,
        }
        return FinePruneParams.model_validate({**base, **update})


def _split(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _row(method: str, acc: float, base_acc: float, a: Adapted | None) -> dict[str, Any]:
    row: dict[str, Any] = {"method": method, "accuracy": acc, "gain": acc - base_acc}
    if a is not None:
        row.update(
            sparsity=a.sparsity,
            forward_samples=a.forward_samples,
            backward_samples=a.backward_samples,
            backward_scope=a.backward_scope,
            compute=a.compute,
            weight_writes=a.weight_writes,
            mask_writes=a.mask_writes,
            wall_seconds=a.wall_seconds,
            **a.extra,
        )
    else:
        row.update(
            sparsity=0.0,
            forward_samples=0,
            backward_samples=0,
            compute=0.0,
            weight_writes=0.0,
            mask_writes=0,
            wall_seconds=0.0,
        )
    return row


def _fp(model: nn.Module, x: Tensor, params: FinePruneParams, name: str) -> Adapted:
    res = fine_prune(model, x, params)
    r = res.record
    return Adapted(
        name,
        res.model,
        forward_samples=r.forward_samples,
        weight_writes=r.ledger_m0,
        mask_writes=r.mask_writes,
        sparsity=r.sparsity,
        wall_seconds=r.wall_seconds,
        extra={
            "removed_outputs": r.removed_outputs,
            "stop_reason": r.stop_reason,
            "rounds": len(r.rounds),
        },
    )


def evaluate_user(
    model: nn.Module, has_bn: bool, user: UserData, p: FinePruningExperimentParams, seed: int
) -> list[dict[str, Any]]:
    """Every method on one user: a row per method (accuracy, gain, sparsity, compute, ...)."""
    xa, xt, yt = user.x_adapt, user.x_test, user.y_test
    base_acc = accuracy(model, xt, yt)
    rows = [_row("base", base_acc, base_acc, None)]
    fp = _fp(model, xa, p.fp_params(), "fine-pruning")
    rows.append(_row("fine-pruning", accuracy(fp.model, xt, yt), base_acc, fp))
    if has_bn:
        fpb = _fp(model, xa, p.fp_params(bn_reestimate=True), "fine-pruning+BN")
        rows.append(_row("fine-pruning+BN", accuracy(fpb.model, xt, yt), base_acc, fpb))
    hid = _fp(model, xa, p.fp_params(prune_outputs=False), "fp-hidden-only")
    rows.append(_row("fp-hidden-only", accuracy(hid.model, xt, yt), base_acc, hid))
    mag = magnitude_prune(model, xa, fp.sparsity)
    rows.append(_row("magnitude", accuracy(mag.model, xt, yt), base_acc, mag))
    if has_bn:
        bn = bn_adapt(model, xa)
        rows.append(_row("BN-adapt", accuracy(bn.model, xt, yt), base_acc, bn))
        budget = max(2, int(fp.compute // 3))  # TENT: 1 forward + 1 backward (= 2) per sample
        tb = Tent(model).adapt(xa, budget, seed=seed)
        rows.append(_row("TENT@budget", accuracy(tb.model, xt, yt), base_acc, tb))
        t1 = Tent(model).adapt(xa, None, seed=seed)
        rows.append(_row("TENT-1epoch", accuracy(t1.model, xt, yt), base_acc, t1))
    ft = finetune_last_layer(model, xa, user.y_adapt, seed=seed)
    rows.append(_row("finetune-labels", accuracy(ft.model, xt, yt), base_acc, ft))
    return rows


def repeated_passes(
    model: nn.Module,
    spec: UserSpec,
    images: Any,
    labels: Any,
    p: FinePruningExperimentParams,
    seed: int,
) -> dict[str, list[float]]:
    """Accuracy after each of ``passes`` personalisation passes on growing user data."""
    big = make_user(
        spec.model_copy(update={"n_adapt": p.passes * p.chunk, "n_test": p.n_test}), images, labels
    )
    xt, yt = big.x_test, big.y_test
    out: dict[str, list[float]] = {"fine-pruning": [], "TENT": [], "base": []}
    base_acc = accuracy(model, xt, yt)
    fp_model: Any = model
    tent = Tent(model)
    for k in range(1, p.passes + 1):
        seen = big.x_adapt[: k * p.chunk]
        fp_model = fine_prune(fp_model, seen, p.fp_params()).model
        out["fine-pruning"].append(accuracy(fp_model, xt, yt))
        t = tent.adapt(big.x_adapt[(k - 1) * p.chunk : k * p.chunk], None, seed=seed + k)
        out["TENT"].append(accuracy(t.model, xt, yt))
        out["base"].append(base_acc)
    return out


def _mean_sd(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    if len(values) == 1:
        return values[0], 0.0
    return statistics.fmean(values), statistics.stdev(values)


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sd over users (and seeds) per architecture, user kind and method."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["arch"], r["kind"], r["method"]), []).append(r)
    out = []
    for (arch, kind, method), rs in groups.items():
        entry: dict[str, Any] = {"arch": arch, "kind": kind, "method": method, "n": len(rs)}
        for key in (
            "accuracy",
            "gain",
            "sparsity",
            "forward_samples",
            "backward_samples",
            "compute",
            "weight_writes",
            "mask_writes",
            "wall_seconds",
        ):
            m, s = _mean_sd([float(r[key]) for r in rs])
            entry[f"{key}_mean"], entry[f"{key}_sd"] = m, s
        entry["frac_improved"] = sum(r["gain"] > 0 for r in rs) / len(rs)
        out.append(entry)
    return out


def _table(agg: list[dict[str, Any]]) -> Table:
    t = Table(title="fine-pruning: mean ± sd over users (and seeds)")
    for col in (
        "arch",
        "users",
        "method",
        "n",
        "acc",
        "gain",
        "improved",
        "sparsity",
        "fwd",
        "bwd",
        "fwd-eq",
        "M0 w",
        "mask wr",
        "s",
    ):
        t.add_column(col)
    for e in agg:
        t.add_row(
            e["arch"],
            e["kind"],
            e["method"],
            str(e["n"]),
            f"{e['accuracy_mean']:.4f}±{e['accuracy_sd']:.4f}",
            f"{e['gain_mean']:+.4f}±{e['gain_sd']:.4f}",
            f"{e['frac_improved']:.0%}",
            f"{e['sparsity_mean']:.3f}±{e['sparsity_sd']:.3f}",
            f"{e['forward_samples_mean']:.0f}",
            f"{e['backward_samples_mean']:.0f}",
            f"{e['compute_mean']:.0f}",
            f"{e['weight_writes_mean']:.3g}",
            f"{e['mask_writes_mean']:.3g}",
            f"{e['wall_seconds_mean']:.2f}",
        )
    return t


def plot_gain_vs_sparsity(rows: list[dict[str, Any]], path: Any) -> None:
    """Accuracy gain against sparsity, one marker per user and method, a panel per setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(r["arch"], r["kind"]) for r in rows})
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), squeeze=False)
    cmap = plt.get_cmap("tab10")
    colours = {m: cmap(i) for i, m in enumerate(METHODS)}
    for ax, (arch, kind) in zip(axes[0], panels, strict=True):
        for method in METHODS:
            rs = [
                r for r in rows if r["arch"] == arch and r["kind"] == kind and r["method"] == method
            ]
            if not rs:
                continue
            xs = [r["sparsity"] for r in rs]
            ys = [100 * r["gain"] for r in rs]
            ax.scatter(xs, ys, s=10, alpha=0.4, color=colours[method])
            ax.errorbar(
                statistics.fmean(xs),
                statistics.fmean(ys),
                yerr=statistics.stdev(ys) if len(ys) > 1 else 0,
                fmt="o",
                ms=7,
                color=colours[method],
                label=method,
                mec="k",
            )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(f"{arch}, users: {kind}")
        ax.set_xlabel("sparsity (fraction of weights removed)")
        ax.set_ylabel("accuracy gain on the user's test data (points)")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)
    plt.close(fig)


@register_experiment(
    "fine-pruning",
    FinePruningExperimentParams,
    "personalise MLP/CNN to many MNIST users by pruning alone, against BN-adapt, TENT, "
    "magnitude pruning and labelled fine-tuning",
    options=("quick", "data_dir"),
    dataset="MNIST users (test images)",
)
def run_fine_pruning(p: FinePruningExperimentParams, ctx: ExperimentContext) -> ExperimentOutput:
    """Run the experiment (see the module doc); ``--quick``: 3 users, seed 0, CNN, 2 passes."""
    from neuroplastic.data import load_mnist

    torch.set_num_threads(1)
    archs, kinds, seeds = _split(p.archs), _split(p.kinds), [int(s) for s in _split(p.seeds)]
    if ctx.quick:
        p = p.model_copy(update={"n_users": min(p.n_users, 3), "passes": min(p.passes, 2)})
        archs, seeds = archs[:1], seeds[:1]
    for a in archs:
        if a not in ("cnn", "mlp"):
            raise ParameterError(f"fine-pruning: archs must be cnn or mlp (got {a!r})")
    p.fp_params()  # validates the fine-pruning options now
    arrays = load_mnist(ctx.data_dir)
    rows: list[dict[str, Any]] = []
    repeated: list[dict[str, Any]] = []
    base_meta: dict[str, Any] = {}
    t0 = time.perf_counter()
    for arch in archs:
        for seed in seeds:
            model, path, meta = base_model(arch, seed=seed, data=ctx.data_dir)
            base_meta[f"{arch}-seed{seed}"] = {**meta, "path": str(path)}
            has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
            for kind in kinds:
                for i in range(p.n_users):
                    spec = random_user(1000 * seed + i, kind, p.n_adapt, p.n_test)
                    user = make_user(spec, arrays.test_images, arrays.test_labels)
                    for r in evaluate_user(model, has_bn, user, p, seed):
                        rows.append(
                            {"arch": arch, "seed": seed, "kind": kind, "user": spec.to_spec(), **r}
                        )
                    if has_bn and p.passes > 0:
                        curves = repeated_passes(
                            model, spec, arrays.test_images, arrays.test_labels, p, seed
                        )
                        repeated.append(
                            {
                                "arch": arch,
                                "seed": seed,
                                "kind": kind,
                                "user": spec.to_spec(),
                                "accuracy": curves,
                            }
                        )
                    ctx.console.log(f"{arch} seed {seed} {kind} user {i}: done")
    agg = aggregate(rows)
    rep_summary: dict[str, Any] = {}
    for kind in kinds:
        runs: list[dict[str, list[float]]] = [r["accuracy"] for r in repeated if r["kind"] == kind]
        if runs:
            rep_summary[kind] = {
                m: [statistics.fmean(c[m][k] for c in runs) for k in range(len(runs[0][m]))]
                for m in runs[0]
            }
    files = []
    if p.plot and rows:
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        path = ctx.output_dir / "fine_pruning_gain_vs_sparsity.png"
        plot_gain_vs_sparsity(rows, path)
        files.append(path)
    payload = {
        "experiment": "fine-pruning",
        "params": p.model_dump(),
        "fine_pruning_params": p.fp_params().model_dump(),
        "seeds": seeds,
        "base_models": base_meta,
        "aggregate": agg,
        "repeated_mean_accuracy": rep_summary,
        "per_user": rows,
        "repeated": repeated,
        "wall_seconds": time.perf_counter() - t0,
        "threads": torch.get_num_threads(),
    }
    rep_table = Table(title="repeated personalisation: mean accuracy after each pass (CNN)")
    rep_table.add_column("users")
    rep_table.add_column("method")
    rep_table.add_column("accuracy after pass 1..K")
    for kind, curves_by_method in rep_summary.items():
        for m, vals in curves_by_method.items():
            rep_table.add_row(kind, m, "  ".join(f"{v:.4f}" for v in vals))
    return ExperimentOutput(payload=payload, tables=[_table(agg), rep_table], files=files)
