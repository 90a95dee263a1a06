"""Judging the claims, the narrow terminal tables and the plots of ``neuroplastic evaluate``.

Criteria (stated so a reader can disagree with them; backprop on the same architecture and data
is the reference of every comparison):

- **sparse weights, not enforced**: the silent fraction at 1 % of max|w| is at least
  ``SPARSE_MARGIN`` above backprop's, the method pruned nothing (a budget or pruning
  schedule enforces sparsity: its ledger's ``pruned`` > 0 says so) and every potential site
  exists (sites absent without pruning were never connected: a fixed connectivity mask, such
  as the localised random projection's receptive fields, enforces sparsity by construction);
- **sparse activity**: population sparseness at least ``SPARSE_MARGIN`` above backprop's;
- **lognormal weights**: the signed lognormal fits the input weights better than a normal
  (Vuong z > 1.96) *and* log|w| is close to normal in shape (KS distance ≤ ``KS_CLOSE``);
- **Dale's law, not enforced**: no group has Dale signs and at least ``DALE_FRACTION`` of the
  neurons (all weight groups) conform;
- **better from few examples**: at every shot count the method's probe beats *both* baselines
  (backprop on the same examples, backprop from its features) by more than two standard errors
  of the paired per-draw difference;
- **more robust than backprop**: :func:`~neuroplastic.metrics.adversarial.robustness_claim`.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from neuroplastic.metrics.adversarial import AttackSettings, RobustnessReport, robustness_claim

if TYPE_CHECKING:
    from neuroplastic.experiments.evaluate import Claim, EvaluationReport
    from neuroplastic.methods import Learner
    from neuroplastic.metrics.few_shot import FewShotRow
    from neuroplastic.results import ResultRecord

SPARSE_MARGIN = 0.1
KS_CLOSE = 0.05
DALE_FRACTION = 0.9
BASELINE = "backprop"


def _pct(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}"


# ------------------------------------------------------------------------------ claims
def judge_claims(report: EvaluationReport) -> list[Claim]:
    """Every claim for every method except backprop (the reference)."""
    from neuroplastic.experiments.evaluate import Claim

    base = next((r for r in report.records if r.method == BASELINE), None)
    claims: list[Claim] = []
    for rec in report.records:
        if rec.method == BASELINE:
            continue
        for claim, (ok, why) in _signature_claims(rec, base).items():
            claims.append(Claim(claim=claim, method=rec.method, supported=ok, evidence=why))
    rows = {r.name: r for r in report.few_shot}
    for row in report.few_shot:
        if not row.name.endswith("(probe)"):
            continue
        ok, why = _few_shot_claim(row, rows)
        claims.append(
            Claim(claim="better from few examples", method=row.method, supported=ok, evidence=why)
        )
    by_method = {r.method: r for r in report.robustness}
    bp = by_method.get(BASELINE)
    for rob in report.robustness:
        if rob.method == BASELINE:
            continue
        tol = report.attack_settings.tolerance(rob.samples) if report.attack_settings else 0.0
        ok, why = robustness_claim(rob, bp, tol)
        claims.append(
            Claim(claim="more robust than backprop", method=rob.method, supported=ok, evidence=why)
        )
    return claims


def _signature_claims(rec: ResultRecord, base: ResultRecord | None) -> dict[str, tuple[bool, str]]:
    out: dict[str, tuple[bool, str]] = {}
    sig, ref = rec.signatures, base.signatures if base is not None else None
    if sig is None or ref is None:
        return {"sparse weights": (False, "no signatures to compare")}
    ws, rws = (
        sig.weight_sparsity.silent_fraction_relative,
        ref.weight_sparsity.silent_fraction_relative,
    )
    pruned = rec.ledger.pruned
    absent = rec.synapses_dense - rec.synapses_total
    ok = ws >= rws + SPARSE_MARGIN and pruned == 0 and absent == 0
    why = f"silent {_pct(ws)} % vs backprop {_pct(rws)} %"
    if pruned:
        why += f"; enforced by pruning ({pruned:,} synapses pruned)"
    elif absent:
        why += f"; enforced by construction ({absent:,} sites never connected: a fixed mask)"
    out["sparse weights, not enforced"] = (ok, why)
    if sig.activity is not None and ref.activity is not None:
        a, b = sig.activity.population_sparseness, ref.activity.population_sparseness
        ok = a is not None and b is not None and a >= b + SPARSE_MARGIN
        out["sparse activity"] = (
            ok,
            f"population sparseness {a if a is None else round(a, 3)} vs backprop "
            f"{b if b is None else round(b, 3)}; active {_pct(sig.activity.fraction_active)} % vs "
            f"{_pct(ref.activity.fraction_active)} %",
        )
    ln = sig.lognormal
    if ln is None:
        out["lognormal weights"] = (False, "fewer than 8 non-silent weights")
    else:
        ok = ln.vuong_z > 1.96 and ln.ks_distance <= KS_CLOSE
        out["lognormal weights"] = (
            ok,
            f"Vuong z {ln.vuong_z:.1f}, KS {ln.ks_distance:.3f}, K² p {ln.normality_p:.2g} "
            f"(n={ln.n:,}, μ={ln.log_mean:.2f}, σ={ln.log_sd:.2f})",
        )
    d = sig.dale
    frac = d.fraction_conforming
    ok = d.enforced == "none" and frac is not None and frac >= DALE_FRACTION
    out["Dale's law, not enforced"] = (
        ok,
        f"{_pct(frac)} % of neurons conform; Dale signs enforced in {d.enforced} of the groups",
    )
    return out


def _paired(a: list[float], b: list[float]) -> tuple[float, float]:
    d = [x - y for x, y in zip(a, b, strict=True)]
    se = statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("inf")
    return statistics.fmean(d), se


def _few_shot_claim(row: FewShotRow, rows: dict[str, FewShotRow]) -> tuple[bool, str]:
    refs = [rows.get(f"{BASELINE} (same examples)"), rows.get(f"{BASELINE} from {row.method}")]
    parts, ok = [], True
    for ref in refs:
        if ref is None:
            ok = False
            continue
        for mine, theirs in zip(row.results, ref.results, strict=True):
            diff, se = _paired(mine.accuracies, theirs.accuracies)
            ok &= diff > 2 * se
        parts.append(
            f"vs {ref.name}: "
            + ", ".join(
                f"{m.shots}: {100 * (m.mean - t.mean):+.1f}"
                for m, t in zip(row.results, ref.results, strict=True)
            )
        )
    return ok, "; ".join(parts) + " (points, per shots/class)"


# ------------------------------------------------------------------------------ tables
def signature_table(records: list[ResultRecord]) -> Table:
    """method | silent % | active % | pop S | Dale % | enforced | log|w| μ σ | Vuong z."""
    t = Table(title="signatures (test inputs; input-layer weights for log|w|)")
    for col in ("method", "silent%", "active%", "popS", "Dale%", "enf", "μ,σ log|w|", "z"):
        t.add_column(col, justify="left" if col == "method" else "right")
    for r in records:
        s = r.signatures
        if s is None:
            t.add_row(r.method, *["-"] * 7)
            continue
        a = s.activity
        ln = s.lognormal
        pop = a.population_sparseness if a is not None else None
        t.add_row(
            r.method,
            _pct(s.weight_sparsity.silent_fraction_relative),
            _pct(a.fraction_active) if a else "-",
            "-" if pop is None else f"{pop:.2f}",
            _pct(s.dale.fraction_conforming),
            s.dale.enforced,
            "-" if ln is None else f"{ln.log_mean:.1f},{ln.log_sd:.1f}",
            "-" if ln is None else f"{ln.vuong_z:.0f}",
        )
    return t


def robustness_table(
    reports: list[RobustnessReport], settings: AttackSettings | None = None
) -> Table:
    """method | clean | worst-case accuracy at each ε | checks; the title gives the inputs
    attacked, the PGD steps and the Square queries."""
    eps = sorted({r.eps for rep in reports for r in rep.per_eps})
    how = (
        f"; {settings.samples} inputs, PGD-{settings.steps}, Square {settings.square_queries} "
        "queries"
        if settings is not None
        else ""
    )
    t = Table(title=f"worst-case robust accuracy % (FGSM, PGD, transfer, Square{how})")
    t.add_column("method")
    t.add_column("clean", justify="right")
    for e in eps:
        t.add_column(f"ε={e:g}", justify="right")
    t.add_column("checks")
    for rep in reports:
        if rep.error is not None:
            t.add_row(rep.method, "-", *["-"] * len(eps), "not attackable")
            continue
        worst = {r.eps: r.worst for r in rep.per_eps}
        failed = [c.name for c in rep.checks if not c.passed]
        t.add_row(
            rep.method,
            _pct(rep.clean_accuracy),
            *(_pct(worst.get(e)) for e in eps),
            "pass" if not failed else "FAIL: " + ", ".join(failed),
        )
    return t


PROTOCOL_DRAWS = 10
"""Draws per shot count that the protocol asks for (the issue: at least 10)."""


def few_shot_table(rows: list[FewShotRow], draws: int | None = None) -> Table:
    """row | saw unlabelled | accuracy mean±sd per shot count; the title says how many draws,
    and that they are fewer than the protocol's where they are (quick mode)."""
    shots = sorted({r.shots for row in rows for r in row.results})
    if draws is None:
        draws = max((len(r.accuracies) for row in rows for r in row.results), default=0)
    short = (
        f" (FEWER than the protocol's {PROTOCOL_DRAWS}: not a protocol result)"
        if draws < PROTOCOL_DRAWS
        else ""
    )
    t = Table(title=f"few-shot test accuracy %, mean±sd over {draws} draws{short}")
    t.add_column("row")
    t.add_column("unlab.")
    for k in shots:
        t.add_column(f"{k}/class", justify="right")
    for row in rows:
        by = {r.shots: r for r in row.results}
        t.add_row(
            row.name,
            "yes" if row.saw_unlabelled else "no",
            *(f"{100 * by[k].mean:.1f}±{100 * by[k].sd:.1f}" if k in by else "-" for k in shots),
        )
    return t


def claims_table(claims: list[Claim]) -> Table:
    """claim | method | supported."""
    t = Table(title="claims (evidence in the JSON and REPRODUCING.md)")
    t.add_column("claim")
    t.add_column("method")
    t.add_column("supported")
    for c in claims:
        t.add_row(c.claim, c.method, "yes" if c.supported else "no")
    return t


def tables(report: EvaluationReport) -> list[Table]:
    """The tables ``evaluate`` prints (each fits 80 columns for a handful of methods)."""
    out = [signature_table(report.records)]
    if report.robustness:
        out.append(robustness_table(report.robustness, report.attack_settings))
    if report.few_shot:
        draws = report.few_shot_settings.draws if report.few_shot_settings else None
        out.append(few_shot_table(report.few_shot, draws))
    if report.claims:
        out.append(claims_table(report.claims))
    return out


# ------------------------------------------------------------------------------- plots
def write_plots(report: EvaluationReport, learners: dict[str, Learner], out: Path) -> list[str]:
    """Robust accuracy against ε, few-shot accuracy against shots (sd bands), weight
    histograms of log10|w| (input layer, non-silent); the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: list[str] = []
    if report.robustness:
        fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
        for rep in report.robustness:
            if rep.error is not None or not rep.per_eps:
                continue
            eps = [0.0, *(r.eps for r in rep.per_eps)]
            clean = 100 * (rep.clean_accuracy or 0)
            worst = [clean, *(100 * r.worst for r in rep.per_eps)]
            (line,) = ax.plot(eps, worst, marker="o", label=f"{rep.method} (worst)")
            pgd = [clean, *(100 * (r.pgd or 0) for r in rep.per_eps)]
            ax.plot(eps, pgd, ls="--", color=line.get_color(), alpha=0.6)
        ax.set_xlabel("ε (L∞, pixels in [0, 1])")
        ax.set_ylabel("robust test accuracy (%)")
        ax.set_title("solid: worst case over attacks; dashed: PGD", fontsize="small")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
        path = out / "robustness.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(str(path))
    if report.few_shot:
        fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
        for row in report.few_shot:
            k = [r.shots for r in row.results]
            m = [100 * r.mean for r in row.results]
            sd = [100 * r.sd for r in row.results]
            (line,) = ax.plot(k, m, marker="o", label=row.name)
            ax.fill_between(k, [a - b for a, b in zip(m, sd, strict=True)],
                            [a + b for a, b in zip(m, sd, strict=True)],
                            color=line.get_color(), alpha=0.15)  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("labelled examples per class")
        ax.set_ylabel("test accuracy (%), mean ± sd")
        ax.legend(fontsize="x-small")
        ax.grid(alpha=0.3, which="both")
        path = out / "few_shot.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(str(path))
    if learners:
        fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
        for name, learner in learners.items():
            first = learner.input_synapses()
            a = first.w.detach()[first.mask].abs()
            logs = a[a > 0].double().log10().cpu().numpy()
            if logs.size > 0:
                ax.hist(logs, bins=80, histtype="step", density=True, label=name)
        ax.set_xlabel("log10 |w| (input layer, non-silent)")
        ax.set_ylabel("density")
        ax.legend(fontsize="small")
        path = out / "weight_histograms.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(str(path))
    return files
