"""Train ``spiking-exact`` on MNIST and write the result record plus a per-epoch trend.

    neuroplastic run spiking-reproduce --epochs 5 --seed 0 --json results/spiking/seed0.json
    python -m neuroplastic.experiments.spiking_reproduce --epochs 100 --seed 0 --threads 1 --resume

(``python -m neuroplastic.spiking.reproduce`` is the same driver under its old name.)

With ``--resume`` the driver checkpoints after every epoch (the learner, the ledger, the data
position and the per-epoch trend) under ``<home>/checkpoints/`` (see ``neuroplastic.paths``),
keyed by the configuration, so a run stopped by a session limit, Ctrl-C or ``kill -9``
continues with the same command through exactly the batches it would have seen.

The standard run (``neuroplastic run spiking-exact``) gives the shared record; this driver
uses the same runner pieces (data split, learner, training loop, record) and adds what the
paper reports: per epoch the training loss and accuracy, validation accuracy with and without
pseudospikes, spikes per hidden neuron and synaptic events per sample, and the wall time;
and it fills the record's spiking fields from the test split. The test split is evaluated
once per epoch for the trend only; nothing is selected on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from neuroplastic.atomic import write_json_atomic
from neuroplastic.experiments.registry import (
    ExperimentContext,
    ExperimentOutput,
    register_experiment,
)
from neuroplastic.experiments.spiking_trend_plot import plot_trend
from neuroplastic.methods.spiking_exact import SpikingExactLearner
from neuroplastic.paths import checkpoint_dir
from neuroplastic.results import ResultRecord
from neuroplastic.runs import (
    Experiment,
    build_learner,
    load_data,
    make_record,
    method_params,
    resolve_device,
)
from neuroplastic.train import LoopSettings, Trainer
from neuroplastic.version import code_version

METHOD = "spiking-exact"


def reproduction_signature(params: BaseModel, seed: int, quick: bool) -> str:
    """Key of a reproduction's checkpoint: the first 16 hex digits of the SHA-256 of
    ``{"params", "seed", "quick"}`` as sorted JSON (runs started before the move resume too)."""
    text = json.dumps(
        {"params": params.model_dump(mode="json"), "seed": seed, "quick": quick}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _EpochTrend(Trainer):
    """The shared loop, with the spiking statistics written after every epoch."""

    def __init__(self, *args: Any, trend_path: Path, data: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trend_path = trend_path
        self.data = data
        self.t0 = time.perf_counter()
        self.wall_before = 0.0  # wall time of the epochs done before a resume
        self.trend: list[dict[str, Any]] = []

    def resume(self) -> bool:
        """Continue from the checkpoint, trend included."""
        if not super().resume():
            return False
        assert self.checkpoint_path is not None
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=False)
        self.trend = list(state.get("trend", []))
        self.wall_before = float(self.trend[-1]["wall_s"]) if self.trend else 0.0
        return True

    def _checkpoint(self) -> None:
        if self.checkpoint_path is None:
            return
        from neuroplastic.checkpoint import load_checkpoint, save_checkpoint

        super()._checkpoint()
        state = load_checkpoint(self.checkpoint_path)
        state.pop("format", None)
        state["trend"] = self.trend
        save_checkpoint(self.checkpoint_path, state)

    def log_epoch(self) -> None:
        learner = self.learner
        assert isinstance(learner, SpikingExactLearner)
        train = learner.history[-1] if learner.history else {}
        val = learner.spiking_details(self.data.val.x, self.data.val.y)
        test = learner.spiking_details(self.data.test.x, self.data.test.y)
        self.trend.append(
            {
                "epoch": learner.epoch,
                "wall_s": self.wall_before + time.perf_counter() - self.t0,
                "train": train,
                "val": val,
                "test": test,
            }
        )
        self.trend_path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.trend_path, {"trend": self.trend})
        print(
            f"epoch {learner.epoch}: train acc {train.get('accuracy', 0):.4f} "
            f"val {val['accuracy']:.4f} (ordinary {val['accuracy_no_pseudospikes']:.4f}) "
            f"test {test['accuracy']:.4f} spikes/hidden {val['spikes_per_hidden_neuron']:.3f} "
            f"wall {self.wall_before + time.perf_counter() - self.t0:.0f}s",
            flush=True,
        )
        # checkpoint after the epoch's end, so a resume starts the next epoch with the trend,
        # the learner's history and its learning-rate epoch counter consistent
        self._position = (learner.epoch, 0)
        self.outcome.epochs_done = learner.epoch
        self.outcome.wall_s = time.perf_counter() - self.t0 + self.wall_before
        self._checkpoint()


class SpikingReproduceParams(BaseModel):
    """The reproduction's own settings (seed, device, quick and resume come from the caller)."""

    model_config = ConfigDict(extra="forbid")
    epochs: int = Field(5, ge=1, le=10_000, description="training epochs (the paper: 100)")
    batch_size: int = Field(0, ge=0, le=100_000, description="samples per update; 0 = 1000")
    threads: int = Field(2, ge=1, le=256, description="torch CPU threads")


@register_experiment(
    "spiking-reproduce",
    SpikingReproduceParams,
    "spiking-exact on MNIST with the paper's per-epoch trend (resumable per epoch)",
    options=("seed", "device", "quick", "resume"),
    dataset="mnist",
)
def run_reproduction(params: SpikingReproduceParams, ctx: ExperimentContext) -> ExperimentOutput:
    """The named experiment: the trend and record go to ``<output_dir>/mnist-seed<seed>.json``."""
    out = ctx.output_dir / f"mnist-seed{ctx.seed}.json"
    payload = reproduce(
        params,
        seed=ctx.seed,
        device=ctx.device,
        quick=ctx.quick,
        resume=ctx.resume,
        out=out,
        checkpoint=ctx.checkpoint_path,
    )
    accuracy = payload["record"]["test_accuracy"]
    return ExperimentOutput(
        payload=payload,
        files=[out, out.with_suffix(".png")],
        headline=f"test accuracy {accuracy:.2%}",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train with the command-line ``args``; write and return the JSON payload."""
    params = SpikingReproduceParams(
        epochs=args.epochs, batch_size=args.batch_size, threads=args.threads
    )
    return reproduce(
        params,
        seed=args.seed,
        device=args.device,
        quick=args.quick,
        resume=args.resume,
        out=Path(args.out),
    )


def reproduce(
    driver: SpikingReproduceParams,
    *,
    seed: int,
    device: str,
    quick: bool,
    resume: bool,
    out: Path,
    checkpoint: Path | None = None,
) -> dict[str, Any]:
    """Train, log each epoch to ``out``, write and return the JSON payload.

    With ``resume`` a checkpoint is written after every epoch to ``checkpoint`` (as a named
    experiment: the run store's path for the run, keyed by store and run) or, run standalone,
    ``checkpoint_dir()/spiking-reproduce-seed{seed}-{signature}.pt``, and continued from.
    """
    torch.set_num_threads(driver.threads)
    exp = Experiment(seed=seed, device=device, quick=quick, progress=False)
    overrides: dict[str, Any] = {"epochs": driver.epochs}
    if driver.batch_size:
        overrides["batch_size"] = driver.batch_size
    params = method_params(METHOD, overrides, exp.quick)
    data = load_data(exp)
    torch_device = resolve_device(exp.device)
    learner = build_learner(METHOD, params, exp, data, torch_device)
    assert isinstance(learner, SpikingExactLearner)
    settings = LoopSettings(
        epochs=params.epochs,
        batch_size=params.batch_size,
        seed=exp.seed,
        # checkpoints are written by the driver after each epoch's statistics, not mid-epoch
        checkpoint_every=params.epochs * data.train.x.shape[0] + 1,
    )
    signature = reproduction_signature(params, exp.seed, exp.quick)
    ckpt = checkpoint or checkpoint_dir() / f"spiking-reproduce-seed{exp.seed}-{signature}.pt"
    trainer = _EpochTrend(
        learner,
        settings,
        trend_path=out,
        data=data,
        checkpoint_path=ckpt if resume else None,
        signature=signature,
    )
    if resume and trainer.resume():
        done = trainer.trend[-1]["epoch"] if trainer.trend else 0
        print(f"resumed from {ckpt} after epoch {done}")
    original = learner.on_epoch_end

    def on_epoch_end(epoch: int) -> None:
        original(epoch)
        trainer.log_epoch()

    learner.on_epoch_end = on_epoch_end  # type: ignore[method-assign]
    x, y = data.train.x.to(torch_device), data.train.y.to(torch_device)
    trainer.fit(x, y, data.val.x.to(torch_device), data.val.y.to(torch_device))
    record: ResultRecord = make_record(METHOD, learner, trainer, exp, params, data, torch_device)
    payload = {
        "code_version": code_version().label,  # also in the file beside the figure
        "record": record.model_dump(mode="json"),
        "trend": trainer.trend,
        "hardware": {"device": str(torch_device), "threads": driver.threads},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, payload)
    plot_trend(trainer.trend, out.with_suffix(".png"))  # accuracy and spikes against epochs
    return payload


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=0, help="0 = the paper's 1000")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="checkpoint every epoch and continue from this configuration's checkpoint",
    )
    parser.add_argument("--out", default="results/spiking/mnist-seed0.json")
    payload = run(parser.parse_args(argv))
    rec = payload["record"]
    spiking = rec["method_fields"]
    print(
        f"test accuracy {rec['test_accuracy']:.4f} "
        f"(ordinary spikes {spiking['accuracy_no_pseudospikes']:.4f}), "
        f"spikes/hidden neuron {spiking['spikes_per_hidden_neuron']:.3f}, wall {rec['wall_s']:.0f}s"
    )


if __name__ == "__main__":
    main()
