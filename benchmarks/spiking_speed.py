"""Benchmark: training and inference speed of ``spiking-exact`` (samples per second).

The paper's network (784-100-100-10, theta neurons, T = 2, batch 1000) on real MNIST batches,
at several activity levels: the silent start (initial phase Θ/2, the paper's initialisation)
and initial phases (0.67 Θ) that make the untrained network spike at least as much as a trained one
(spikes per hidden neuron per sample are measured and written beside each speed, since the
event loop runs once per spike reaching a layer). Per setting: training samples/s (forward,
backward through the event loop, AdaBelief step via ``Synapses.apply``) and inference
samples/s (forward only, no graph), median of ``--repeats``; on CUDA too when available
(untested here: no GPU on this machine). A ``torch.profiler`` table of one training step
(top operators by self CPU time) and the split of a step into forward / backward / update go
into the JSON.

    python benchmarks/spiking_speed.py --json results/spiking/speed.json

Reference point (issue 7): the JAX reference trains 100 epochs in about 119 s on one H100
(about 1.2 s per 60,000-sample epoch, i.e. about 50,000 samples/s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from neuroplastic.data import fetch_mnist, load_mnist
from neuroplastic.energy.ledger import Ledger
from neuroplastic.methods import BuildContext
from neuroplastic.methods.spiking_exact import SpikingExactLearner, SpikingExactParams
from neuroplastic.spiking.encoding import binarise
from neuroplastic.spiking.loss import spike_time_loss

BATCH = 1000


def load_batch(n: int) -> tuple[Tensor, Tensor]:
    """The first ``n`` MNIST training images (float in [0, 1]) and labels."""
    arrays = load_mnist(fetch_mnist(), verify=False)
    x = torch.from_numpy(arrays.train_images[:n].reshape(n, -1)).float() / 255
    return x, torch.from_numpy(arrays.train_labels[:n]).long()


def build(device: torch.device, phase_init: float) -> SpikingExactLearner:
    ctx = BuildContext(784, 10, (100,), Ledger(), torch.Generator().manual_seed(0), device)
    learner = SpikingExactLearner(ctx, SpikingExactParams(phase_init=phase_init))
    return learner.to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_time(fn: Any, repeats: int, device: torch.device) -> float:
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def step_split(learner: SpikingExactLearner, x: Tensor, y: Tensor) -> dict[str, float]:
    """Seconds of one training step spent in forward, backward and the weight update."""
    net = learner.network
    t0 = time.perf_counter()
    bits = binarise(x)
    trial = net.simulate(bits)
    loss = spike_time_loss(net.output_times(trial), y, net.t_end)
    t1 = time.perf_counter()
    groups = net.synapse_groups()
    grads = torch.autograd.grad(loss, [g.w for g in groups])
    t2 = time.perf_counter()
    for syn, grad in zip(groups, grads, strict=True):
        d = learner.optimizer.direction(syn.name, grad, syn.w.detach())
        syn.apply(d, alpha=-learner.lr)
    t3 = time.perf_counter()
    return {"forward_s": t1 - t0, "backward_s": t2 - t1, "update_s": t3 - t2}


def measure(device: torch.device, phase_init: float, repeats: int) -> dict[str, Any]:
    x, y = load_batch(BATCH)
    x, y = x.to(device), y.to(device)
    learner = build(device, phase_init)
    details = learner.spiking_details(x, y)
    state = {k: v.clone() for k, v in learner.state_dict().items() if isinstance(v, Tensor)}

    def train() -> None:
        learner.train_step(x, y)
        learner.load_state_dict(state, strict=False)  # same activity every repeat

    train()  # warm-up
    t_train = _median_time(train, repeats, device)
    t_infer = _median_time(lambda: learner.predict(x), repeats, device)
    return {
        "device": str(device),
        "phase_init": phase_init,
        "spikes_per_hidden_neuron": details["spikes_per_hidden_neuron"],
        "synaptic_events_per_sample": details["synaptic_events_per_sample"],
        "train_samples_per_s": BATCH / t_train,
        "inference_samples_per_s": BATCH / t_infer,
        "train_step_s": t_train,
        "inference_batch_s": t_infer,
        "step_split": step_split(learner, x, y),
    }


def profile_step(device: torch.device, phase_init: float, rows: int = 12) -> list[dict[str, Any]]:
    """Top operators (self CPU time) of one training step."""
    from torch.profiler import ProfilerActivity, profile

    x, y = load_batch(BATCH)
    learner = build(device, phase_init)
    learner.train_step(x.to(device), y.to(device))
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        learner.train_step(x.to(device), y.to(device))
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return [
        {
            "op": e.key,
            "calls": e.count,
            "self_cpu_ms": e.self_cpu_time_total / 1000,
            "share": e.self_cpu_time_total / total,
        }
        for e in events[:rows]
    ]


def worker(phase_init: float, repeats: int) -> dict[str, Any]:
    """``--worker``: training samples/s of whichever ``neuroplastic`` is on the path."""
    import neuroplastic

    row = measure(torch.device("cpu"), phase_init, repeats)
    row["code"] = str(Path(neuroplastic.__file__).parent)
    row["threads"] = torch.get_num_threads()
    return row


def export_tree(rev: str, into: Path) -> Path:
    """The ``neuroplastic`` package as of git revision ``rev``, unpacked under ``into``."""
    archive = subprocess.run(
        ["git", "archive", rev, "neuroplastic"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def compare(rev: str, phase_init: float, threads: list[int], rounds: int) -> dict[str, Any]:
    """Before/after in one run: ``rev``'s package and the working tree's, in subprocesses
    that alternate (before, after, before, ...) so both see the same machine load. The
    speed-up is the ratio of the medians per thread count."""
    here = Path(__file__).resolve().parent.parent
    out: dict[str, Any] = {"baseline_rev": rev, "phase_init": phase_init, "by_threads": {}}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": export_tree(rev, Path(tmp)), "after": here}
        for n in threads:
            rows: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
            for _ in range(rounds):
                for label, tree in trees.items():
                    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(n)}
                    cmd = [sys.executable, __file__, "--worker", "--threads", str(n)]
                    cmd += ["--phase-inits", str(phase_init), "--repeats", "3"]
                    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
                    rows[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
            speed = {
                k: statistics.median(r["train_samples_per_s"] for r in v) for k, v in rows.items()
            }
            out["by_threads"][str(n)] = {
                "train_samples_per_s_before": speed["before"],
                "train_samples_per_s_after": speed["after"],
                "ratio_after_before": speed["after"] / speed["before"],
                "spikes_per_hidden_neuron": rows["after"][0]["spikes_per_hidden_neuron"],
                "runs": rows,
            }
            print(
                f"{n} thread(s), phase {phase_init}Θ: before {speed['before']:.0f}/s, after "
                f"{speed['after']:.0f}/s, ratio {speed['after'] / speed['before']:.2f}",
                flush=True,
            )
    return out


def machine_load() -> str:
    """``uptime`` (the load average while measured)."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="results/spiking/speed.json")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--phase-inits", default="0.5,0.67", help="fractions of Θ, comma list")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--baseline-rev",
        default=None,
        help="git revision to compare against (before/after in this run, 1 and 2 threads)",
    )
    parser.add_argument("--compare-phase", type=float, default=0.66)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    phases = [float(v) for v in args.phase_inits.split(",")]
    if args.worker:
        print(json.dumps(worker(phases[0], args.repeats)))
        return
    if args.baseline_rev:
        load_before = machine_load()
        payload = {
            "benchmark": "spiking-exact training speed before/after (784-100-100-10, batch 1000)",
            "compare": compare(args.baseline_rev, args.compare_phase, [1, 2], args.rounds),
            "uptime_before": load_before,
            "uptime_after": machine_load(),
            "machine": {"platform": platform.platform(), "torch": torch.__version__},
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {path}")
        return
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    results = []
    for device in devices:
        for phase in phases:
            row = measure(device, phase, args.repeats)
            results.append(row)
            print(
                f"{row['device']} phase {phase:.2f}Θ: "
                f"spikes/hidden {row['spikes_per_hidden_neuron']:.3f}"
                f"  train {row['train_samples_per_s']:.0f}/s  infer "
                f"{row['inference_samples_per_s']:.0f}/s",
                flush=True,
            )
    payload = {
        "benchmark": "spiking-exact speed (784-100-100-10, batch 1000)",
        "results": results,
        "profile_train_step": {
            "device": "cpu",
            "phase_init": phases[-1],
            "top_ops": profile_step(torch.device("cpu"), phases[-1]),
        },
        "reference": "JAX spikegd on one H100: ~119 s for 100 epochs (~50,000 samples/s)",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "threads": args.threads,
            "torch": torch.__version__,
            "cuda": torch.cuda.is_available(),
            "note": "CPU shared with other jobs while measured (loaded)",
        },
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
