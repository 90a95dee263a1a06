"""Train ``spiking-exact`` on MNIST and write the result record plus a per-epoch trend.

    python -m neuroplastic.spiking.reproduce --epochs 5 --seed 0 --out results/spiking/seed0.json

The standard run (``neuroplastic run spiking-exact``) gives the shared record; this driver
uses the same runner pieces (data split, learner, training loop, record) and adds what the
paper reports: per epoch the training loss and accuracy, validation accuracy with and without
pseudospikes, spikes per hidden neuron and synaptic events per sample, and the wall time;
and it fills the record's spiking fields from the test split. The test split is evaluated
once per epoch for the trend only; nothing is selected on it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from neuroplastic.methods.spiking_exact import SpikingExactLearner
from neuroplastic.results import ResultRecord
from neuroplastic.runner import (
    Experiment,
    build_learner,
    load_data,
    make_record,
    method_params,
    resolve_device,
)
from neuroplastic.train import LoopSettings, Trainer

METHOD = "spiking-exact"


def spiking_fields(
    learner: SpikingExactLearner, x: torch.Tensor, y: torch.Tensor
) -> dict[str, Any]:
    """The record's spiking fields measured on (x, y)."""
    return dict(learner.record_fields(x, y))


class _EpochTrend(Trainer):
    """The shared loop, with the spiking statistics written after every epoch."""

    def __init__(self, *args: Any, trend_path: Path, data: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trend_path = trend_path
        self.data = data
        self.t0 = time.perf_counter()
        self.trend: list[dict[str, Any]] = []

    def log_epoch(self) -> None:
        learner = self.learner
        assert isinstance(learner, SpikingExactLearner)
        train = learner.history[-1] if learner.history else {}
        val = learner.spiking_details(self.data.val.x, self.data.val.y)
        test = learner.spiking_details(self.data.test.x, self.data.test.y)
        self.trend.append(
            {
                "epoch": learner.epoch,
                "wall_s": time.perf_counter() - self.t0,
                "train": train,
                "val": val,
                "test": test,
            }
        )
        self.trend_path.parent.mkdir(parents=True, exist_ok=True)
        self.trend_path.write_text(json.dumps({"trend": self.trend}, indent=2) + "\n")
        print(
            f"epoch {learner.epoch}: train acc {train.get('accuracy', 0):.4f} "
            f"val {val['accuracy']:.4f} (ordinary {val['accuracy_no_pseudospikes']:.4f}) "
            f"test {test['accuracy']:.4f} spikes/hidden {val['spikes_per_hidden_neuron']:.3f} "
            f"wall {time.perf_counter() - self.t0:.0f}s",
            flush=True,
        )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, log each epoch, write and return the JSON payload."""
    torch.set_num_threads(args.threads)
    exp = Experiment(seed=args.seed, device=args.device, quick=args.quick, progress=False)
    overrides: dict[str, Any] = {"epochs": args.epochs}
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    params = method_params(METHOD, overrides, exp.quick)
    data = load_data(exp)
    device = resolve_device(exp.device)
    learner = build_learner(METHOD, params, exp, data, device)
    assert isinstance(learner, SpikingExactLearner)
    settings = LoopSettings(epochs=params.epochs, batch_size=params.batch_size, seed=exp.seed)
    out = Path(args.out)
    trainer = _EpochTrend(learner, settings, trend_path=out, data=data)
    original = learner.on_epoch_end

    def on_epoch_end(epoch: int) -> None:
        original(epoch)
        trainer.log_epoch()

    learner.on_epoch_end = on_epoch_end  # type: ignore[method-assign]
    x, y = data.train.x.to(device), data.train.y.to(device)
    trainer.fit(x, y, data.val.x.to(device), data.val.y.to(device))
    record: ResultRecord = make_record(METHOD, learner, trainer, exp, params, data, device)
    record = record.model_copy(
        update=spiking_fields(learner, data.test.x.to(device), data.test.y.to(device))
    )
    payload = {
        "record": record.model_dump(mode="json"),
        "trend": trainer.trend,
        "hardware": {"device": str(device), "threads": args.threads},
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")
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
    parser.add_argument("--out", default="results/spiking/mnist-seed0.json")
    payload = run(parser.parse_args(argv))
    rec = payload["record"]
    print(
        f"test accuracy {rec['test_accuracy']:.4f} "
        f"(ordinary spikes {rec['accuracy_no_pseudospikes']:.4f}), "
        f"spikes/hidden neuron {rec['spikes_per_hidden_neuron']:.3f}, wall {rec['wall_s']:.0f}s"
    )


if __name__ == "__main__":
    main()
