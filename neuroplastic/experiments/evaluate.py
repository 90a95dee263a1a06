"""``neuroplastic evaluate``: the Inoue et al. claims tested for every method on equal terms.

Every selected method is trained on the same split, widths and seed (``backprop`` is always
trained too: it is the baseline of every claim and the source of the transfer attack). Then:

1. **signatures** (:mod:`neuroplastic.metrics.signatures`, in every record) and a receptive-field
   PNG grid per method;
2. with ``adversarial``: FGSM, PGD, transfer from backprop and Square at every ε, the masking
   check and the sanity checks (:mod:`neuroplastic.metrics.adversarial`);
3. with ``few_shot``: the few-shot protocol (:mod:`neuroplastic.metrics.few_shot`);
4. the claims, each per method: supported or not, with the numbers
   (:mod:`neuroplastic.experiments.evaluate_report`).

Bad input that concerns one part (a method that cannot be attacked, a shot count larger than a
class's examples, a method that fails to train) is recorded in ``errors`` with a message naming
it; everything else is still measured and written, and :func:`run_evaluation` returns the
report (the CLI then exits with status 2 and prints the errors). An ε outside [0, 1] fails at
once, before anything is trained.

Quick mode (``quick``; a smoke test of the protocols, not a result): the run's quick split
(2,000 / 500 / 1,000 samples, at most 3 epochs), 200 attacked inputs, PGD-20, 50 Square queries,
50-step unbounded PGD (step 0.01), 3 few-shot draws (the protocol asks for 10: the few-shot
table's title says so) with 25 baseline steps and 100 readout steps on 500 test inputs. The
tables' titles state the draws, inputs, PGD steps and Square queries used.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console

from neuroplastic.atomic import write_text_atomic
from neuroplastic.data import DataSplits
from neuroplastic.errors import NeuroplasticError, ParameterError
from neuroplastic.methods import Learner, get_method
from neuroplastic.metrics.adversarial import (
    AttackSettings,
    RobustnessReport,
    as_images,
    evaluate_robustness,
    torchattacks_module,
    transfer_set,
)
from neuroplastic.metrics.attack_forward import attack_forward
from neuroplastic.metrics.few_shot import (
    FewShotRow,
    FewShotSettings,
    FitFn,
    backprop_fit,
    check_shots,
    probe_fit,
    run_rows,
)
from neuroplastic.metrics.receptive_fields import receptive_field_grid
from neuroplastic.provenance import Provenance, collect_provenance, utc_now
from neuroplastic.results import ResultRecord
from neuroplastic.runs import Experiment, load_data, method_params, run_method
from neuroplastic.store import RunStore

BASELINE = "backprop"
UNLABELLED_POOL = 5000
"""Unlabelled training inputs on which the probe's standardisation is measured."""

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "random-projection-localised": ("random-projection", {"receptive_field": 10}),
}
"""Configurations evaluated as methods of their own: label → (registered method, parameters).
The localised random projection (10 × 10 receptive fields, REPRODUCING §6) is a parameter of
``random-projection``, not a registered method; its record is labelled with the variant's name
(the run store keeps it as ``random-projection`` with ``receptive_field`` = 10)."""

ALL = "all"
"""``--methods all``: every registered method and every variant."""


def evaluation_methods(names: list[str]) -> list[str]:
    """The method labels to evaluate: ``all`` expands to every registered method (registration
    order) with each variant after its base; any other name must be registered or a variant."""
    from neuroplastic.methods import available_methods

    out: list[str] = []
    for name in names:
        if name == ALL:
            for m in available_methods():
                out.append(m)
                out += [v for v, (base, _) in VARIANTS.items() if base == m]
        else:
            out.append(name)
    known = available_methods()
    for name in out:
        if name not in VARIANTS and name not in known:
            raise ParameterError(
                f"evaluate: unknown method {name!r}; available: {', '.join(known)}, "
                f"{', '.join(VARIANTS)} or {ALL}"
            )
    return list(dict.fromkeys(out))


def base_method(label: str) -> tuple[str, dict[str, Any]]:
    """The registered method of ``label`` and the parameters its variant sets."""
    if label in VARIANTS:
        base, params = VARIANTS[label]
        return base, dict(params)
    return label, {}


def method_overrides(label: str, overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The variant's parameters, then the user's ``--set`` values for ``label``."""
    return {**base_method(label)[1], **overrides.get(label, {})}


class Claim(BaseModel):
    """One claim for one method: supported by our runs or not, and why (with numbers)."""

    model_config = ConfigDict(extra="forbid")

    claim: str
    method: str
    supported: bool
    evidence: str


class EvaluationReport(BaseModel):
    """Everything ``neuroplastic evaluate`` measured (stored in the run store and as JSON)."""

    model_config = ConfigDict(extra="forbid")

    methods: list[str]
    dataset: str
    classes: list[int]
    hidden: list[int]
    seed: int
    quick: bool
    records: list[ResultRecord] = Field(default_factory=list)
    attack_settings: AttackSettings | None = None
    robustness: list[RobustnessReport] = Field(default_factory=list)
    few_shot_settings: FewShotSettings | None = None
    few_shot: list[FewShotRow] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    wall_s: float = 0.0
    timings: dict[str, float] = Field(
        default_factory=dict, description="seconds per part: train, attacks, few_shot, report"
    )
    run_id: int | None = None
    provenance: Provenance | None = Field(
        None, description="code, software, machine, command and UTC times of the evaluation"
    )


def quick_attack_settings(**values: Any) -> dict[str, Any]:
    """The attack settings of quick mode (user values win)."""
    return {
        "samples": 200,
        "steps": 20,
        "square_queries": 50,
        "unbounded_steps": 50,
        **values,
    }


def quick_few_shot_settings(**values: Any) -> dict[str, Any]:
    """The few-shot settings of quick mode (user values win)."""
    return {
        "draws": 3,
        "backprop_steps": 25,
        "probe_steps": 100,
        "test_samples": 500,
        **values,
    }


def run_evaluation(
    methods: list[str],
    overrides: dict[str, dict[str, Any]],
    exp: Experiment,
    store: RunStore,
    out_dir: Path,
    *,
    attack: AttackSettings | None = None,
    few_shot: FewShotSettings | None = None,
    data: DataSplits | None = None,
    console: Console | None = None,
) -> EvaluationReport:
    """Train, measure and judge every method; write JSON, plots and PNGs under ``out_dir``."""
    from neuroplastic.experiments.evaluate_report import judge_claims, write_plots

    start, started_at = time.perf_counter(), utc_now()
    names = [BASELINE, *(m for m in methods if m != BASELINE)]
    if attack is not None:
        torchattacks_module()  # a missing attack library fails before any training
    for name in names:  # a bad name or parameter fails before any training
        method_params(base_method(name)[0], method_overrides(name, overrides), exp.quick)
    if data is None:
        data = load_data(exp, console)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = EvaluationReport(
        methods=names,
        dataset=data.dataset,
        classes=list(data.classes),
        hidden=list(exp.hidden),
        seed=exp.seed,
        quick=exp.quick,
        attack_settings=attack,
        few_shot_settings=few_shot,
    )
    learners: dict[str, Learner] = {}
    for name in names:
        if console is not None:
            console.print(f"[bold]{name}[/bold]: training ...")

        def keep(learner: Learner, name: str = name) -> None:
            learners[name] = learner

        try:
            record = run_method(
                base_method(name)[0],
                method_overrides(name, overrides),
                exp,
                store,
                data=data,
                console=console,
                on_trained=keep,
            )
        except NeuroplasticError as exc:
            report.errors.append(f"{name}: training failed: {exc}")
            continue
        if record.method != name:  # a variant: its label, not its registered method's name
            record = record.model_copy(update={"method": name})
        report.records.append(record)
    lap = time.perf_counter()
    report.timings["train"] = lap - start
    if attack is not None:
        _adversarial(report, learners, data, attack, console)
        report.timings["attacks"] = time.perf_counter() - lap
        lap = time.perf_counter()
    if few_shot is not None:
        _few_shot(report, learners, data, exp, few_shot, console)
        report.timings["few_shot"] = time.perf_counter() - lap
        lap = time.perf_counter()
    for name, learner in learners.items():
        _receptive_fields(report, name, learner, out_dir)
    report.claims = judge_claims(report)
    report.files += write_plots(report, learners, out_dir)
    report.timings["report"] = time.perf_counter() - lap
    report.wall_s = time.perf_counter() - start
    _store(report, store, exp, started_at)
    path = out_dir / "evaluation.json"
    report.files.append(str(path))
    write_text_atomic(path, report.model_dump_json(indent=2) + "\n")
    return report


def _receptive_fields(report: EvaluationReport, name: str, learner: Learner, out: Path) -> None:
    try:
        first = learner.input_synapses()
        path = receptive_field_grid(
            first.w, out / f"receptive_fields_{name}.png", mask=first.mask, title=name
        )
        report.files.append(str(path))
    except NeuroplasticError as exc:
        report.errors.append(f"{name}: receptive fields: {exc}")


def _adversarial(
    report: EvaluationReport,
    learners: dict[str, Learner],
    data: DataSplits,
    s: AttackSettings,
    console: Console | None,
) -> None:
    n = min(s.samples, data.test.n)
    x, y = data.test.x[:n], data.test.y[:n]
    device = next(iter(learners.values())).input_synapses().w.device if learners else x.device
    x, y = x.to(device), y.to(device)
    images = as_images(x)
    bp = learners.get(BASELINE)
    transfer = None
    unbounded = None
    if bp is not None:
        if console is not None:
            console.print(f"[bold]{BASELINE}[/bold]: attacks ...")
        source = attack_forward(bp, x, BASELINE)
        transfer = transfer_set(source, images, y, s)
        bp_report = evaluate_robustness(
            BASELINE, source, images, y, s, transfer=transfer, is_backprop=True
        )
        unbounded = bp_report.unbounded_pgd
        report.robustness.append(bp_report)
    for name, learner in learners.items():
        if name == BASELINE:
            continue
        if console is not None:
            console.print(f"[bold]{name}[/bold]: attacks ...")
        try:
            model = attack_forward(learner, x, name)
        except NeuroplasticError as exc:
            report.errors.append(str(exc))
            report.robustness.append(RobustnessReport(method=name, error=str(exc)))
            continue
        try:
            rob = evaluate_robustness(
                name, model, images, y, s, transfer=transfer, backprop_unbounded=unbounded
            )
        except NeuroplasticError as exc:
            report.errors.append(f"{name}: attacks failed: {exc}")
            rob = RobustnessReport(method=name, error=str(exc))
        report.robustness.append(rob)


def unsupervised_features(learner: Learner) -> bool:
    """Whether the learner's hidden layer learned without labels (a local rule with a code)."""
    return bool(learner.tags.get("local"))


def _few_shot(
    report: EvaluationReport,
    learners: dict[str, Learner],
    data: DataSplits,
    exp: Experiment,
    s: FewShotSettings,
    console: Console | None,
) -> None:
    classes = data.n_classes
    try:
        check_shots(data.train.y, classes, s.shots)
    except NeuroplasticError as exc:
        report.errors.append(str(exc))
        return
    device = next(iter(learners.values())).input_synapses().w.device if learners else None
    xtr, ytr = data.train.x.to(device), data.train.y.to(device)
    n_test = min(s.test_samples, data.test.n)
    xte, yte = data.test.x[:n_test].to(device), data.test.y[:n_test].to(device)
    hidden = tuple(exp.hidden)
    rows: dict[str, FitFn] = {
        f"{BASELINE} (same examples)": backprop_fit(hidden, classes, xte, yte, s)
    }
    meta: dict[str, tuple[str, str, bool]] = {
        f"{BASELINE} (same examples)": ("", "backprop on the labelled examples only", False)
    }
    for name, learner in learners.items():
        if not unsupervised_features(learner):
            continue
        try:
            probe = probe_fit(learner, xtr[:UNLABELLED_POOL], xte, yte, classes, s)
        except NeuroplasticError as exc:
            report.errors.append(f"{name}: few-shot: {exc}")
            continue
        rows[f"{name} (probe)"] = probe
        meta[f"{name} (probe)"] = (name, "linear readout on its frozen features", True)
        init = learner.input_synapses().w.detach()
        if len(hidden) == 1 and init.shape == (hidden[0], data.n_features):
            key = f"{BASELINE} from {name}"
            rows[key] = backprop_fit(hidden, classes, xte, yte, s, init_weights=init)
            meta[key] = (name, f"backprop initialised from {name}'s input weights", True)
    if console is not None:
        console.print(f"few-shot: {len(rows)} rows × {len(s.shots)} shot counts × {s.draws} draws")
    results = run_rows(xtr, ytr, classes, s, rows)
    for key, res in results.items():
        method, kind, saw = meta[key]
        report.few_shot.append(
            FewShotRow(name=key, method=method, kind=kind, saw_unlabelled=saw, results=res)
        )


def _store(
    report: EvaluationReport, store: RunStore, exp: Experiment, started_at: datetime
) -> None:
    """Keep the report, with its provenance, in the run store as a run of its own (method
    'evaluate')."""
    device = str(torch.device("cpu")) if exp.device == "auto" else exp.device
    run_id = store.start_run(
        method="evaluate",
        dataset=report.dataset,
        params={"methods": report.methods, "hidden": report.hidden, "quick": report.quick},
        seed=exp.seed,
        device=device,
    )
    report.run_id = run_id
    provenance = collect_provenance(device=device, seed=exp.seed, started_at=started_at)
    report.provenance = provenance = provenance.finished()
    payload = json.loads(report.model_dump_json(exclude={"records"}))
    payload["record_run_ids"] = [r.run_id for r in report.records]
    store.finish_run(run_id, payload, ended_at=provenance.ended_at)


def known_method(name: str) -> str:
    """The registered method of a label (a variant's base), checked against the registry (a
    ParameterError lists the known ones)."""
    return get_method(base_method(name)[0]).name
