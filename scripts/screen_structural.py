"""Screen variants of the structural rule on the validation split (issue 20, round two).

The hidden layer is trained once per hidden setting (its plastic epochs, exactly as
``neuroplastic run structural`` trains it: same data split, seed, batch order and code), then
each readout variant continues from a copy of it for the remaining epochs. One JSON line per
hidden setting and per variant: validation accuracy after each readout epoch, total M1, the
readout's M1 and M1_min, synapse count. The default variant reproduces the CLI run exactly
(seed 0: val 95.94 %, M1 28,573.6). Never reads the test split.

Usage (one thread)::

    OMP_NUM_THREADS=1 python scripts/screen_structural.py --hidden-set '{"budget": 30}' \\
        --variants '[{}, {"eta_softmax": 0.5}]' --tag budget30
    # a second structural layer on the default hidden layer's code (784-1000-H2-10):
    OMP_NUM_THREADS=1 python scripts/screen_structural.py --second-layer 1000 \\
        --variants '[{}, {"budget": 30}]' --tag layer2
"""

from __future__ import annotations

import argparse
import copy
import json
import time

import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.methods import BuildContext, Learner, get_method
from neuroplastic.runs.build import build_learner
from neuroplastic.runs.data import load_data
from neuroplastic.runs.settings import Experiment
from neuroplastic.train import accuracy, epoch_order


def run_epochs(
    learner: Learner,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: range,
    seed: int,
    batch: int,
    after_epoch=None,
    order_offset: int = 0,
) -> list:
    """Train ``learner`` through ``epochs`` (the loop's batch order), calling ``after_epoch``."""
    out = []
    for epoch in epochs:
        order = epoch_order(x.shape[0], seed, epoch + order_offset)
        for b in range(0, x.shape[0], batch):
            idx = order[b : b + batch]
            learner.train_step(x[idx], y[idx])
        learner.on_epoch_end(epoch)
        if after_epoch is not None:
            out.append(after_epoch(learner, epoch))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden-set", default="{}", help="JSON parameters of the hidden setting")
    ap.add_argument("--variants", default="[{}]", help="JSON list of readout variants")
    ap.add_argument("--hidden", type=int, default=1000, help="hidden units")
    ap.add_argument(
        "--second-layer",
        type=int,
        default=0,
        help="H2 > 0: variants are a second structural learner on layer 1's code",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="screen")
    a = ap.parse_args()
    torch.set_num_threads(1)
    base = json.loads(a.hidden_set)
    exp = Experiment(hidden=[a.hidden], seed=a.seed, progress=False)
    data = load_data(exp)
    x, y, xv, yv = data.train.x, data.train.y, data.val.x, data.val.y
    method = get_method("structural")
    p0 = method.params_model.model_validate(base)
    layer1 = build_learner("structural", p0, exp, data, torch.device("cpu"))
    start = time.perf_counter()
    run_epochs(layer1, x, y, range(p0.plastic_epochs()), a.seed, p0.batch_size)
    m1_hidden = layer1.ledger.counts().m1
    h = layer1.hidden_code(xv[:2000])
    print(
        json.dumps(
            {
                "tag": a.tag,
                "base": base,
                "m1_hidden": round(m1_hidden, 1),
                "syn_hidden": layer1.hidden.n_existing,
                "hidden_s": round(time.perf_counter() - start, 1),
                "h_active_mean": round(float((h > 0).float().sum(1).mean()), 1),
            }
        ),
        flush=True,
    )
    if a.second_layer:
        code = torch.cat([layer1.hidden_code(x[i : i + 5000]) for i in range(0, len(x), 5000)])
        code_val = layer1.hidden_code(xv)
    for variant in json.loads(a.variants):
        start = time.perf_counter()
        if a.second_layer:  # layer 2: its own hidden epochs and readout on layer 1's code
            pv = method.params_model.model_validate(variant)
            ctx = BuildContext(
                code.shape[1],
                data.n_classes,
                (a.second_layer,),
                Ledger(),
                torch.Generator().manual_seed(a.seed + 1),
                torch.device("cpu"),
            )
            learner = method.build(ctx, pv)
            inputs, val_inputs, first = code, code_val, 0
            extra_syn = layer1.hidden.n_existing + layer1.hidden_bias.n_existing
            extra_m1 = m1_hidden
        else:
            pv = method.params_model.model_validate({**base, **variant})
            learner = copy.deepcopy(layer1)
            learner.p = pv
            if pv.readout_batches > 1 and not hasattr(learner, "readout_pending"):
                learner.register_buffer("readout_trace", torch.zeros_like(learner.readout.w))
                learner.register_buffer(
                    "readout_bias_trace", torch.zeros_like(learner.readout_bias.w)
                )
                learner.register_buffer("readout_pending", torch.zeros((), dtype=torch.long))
            inputs, val_inputs, first = x, xv, pv.plastic_epochs()
            extra_syn, extra_m1 = 0, 0.0

        def evaluate(lr, epoch, pv=pv, val_inputs=val_inputs, extra_m1=extra_m1):
            if epoch < pv.plastic_epochs():
                return None
            return (
                round(accuracy(lr, val_inputs, yv) * 100, 2),
                round(lr.ledger.counts().m1 + extra_m1),
            )

        curve = [
            c
            for c in run_epochs(
                learner,
                inputs,
                y,
                range(first, pv.epochs),
                a.seed,
                pv.batch_size,
                evaluate,
                order_offset=10 if a.second_layer else 0,  # layer 2's own batch orders
            )
            if c is not None
        ]
        group = learner.ledger.summary()["per_group"]["readout.weight"]
        print(
            json.dumps(
                {
                    "tag": a.tag,
                    "variant": variant,
                    "val": curve[-1][0],
                    "m1": curve[-1][1],
                    "curve": curve,
                    "synapses": extra_syn + sum(g.n_existing for g in learner.synapses()),
                    "readout_m1": round(group["m1"]),
                    "readout_m1_min": round(group["m1_min"]),
                    "s": round(time.perf_counter() - start, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
