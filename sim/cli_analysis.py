"""`cancelsim sensitivity`: which declared ranges move each result, and which conclusions
hold over all of them."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from sim.cli import (
    RunProgress,
    _terminate,
    _unit_label,
    err_console,
    input_errors_exit_2,
    jobs_option,
    out_console,
    report_failures,
    safe_name,
    seed_option,
    stopped,
)
from sim.errors import InputError
from sim.experiment.executors import check_cluster
from sim.experiment.output import open_results_folder
from sim.metrics import BY_NAME
from sim.model.builtin import located
from sim.project import results_root

SHOWN_FACTORS = 8  # rows per metric table in the terminal; effects.csv has them all


def _names(values: tuple[str, ...]) -> list[str]:
    """`--metrics a,b --metrics c` -> [a, b, c]."""
    return [v.strip() for text in values for v in text.split(",") if v.strip()]


@click.command("sensitivity")
@click.argument("scenario")
@click.option(
    "--method",
    type=click.Choice(["morris", "oat", "sobol"]),
    default="morris",
    show_default=True,
    help="morris: elementary-effects screening of every factor; oat: each factor alone to "
    "its low and high end (a quick look); sobol: variance-based indices of the --keep "
    "factors that a morris screening ranks highest.",
)
@click.option(
    "--metrics",
    "metrics",
    multiple=True,
    metavar="M1,M2,...",
    help="Metrics to analyse [default: refund times, failed cancels, auto-cancels, seller "
    "metrics, compensation, money held]; `cancelsim metrics` lists them all.",
)
@click.option(
    "--factors",
    "factors",
    multiple=True,
    metavar="K1,K2,...",
    help="Analyse only these declared ranges (keys as --list shows them).",
)
@click.option(
    "--trajectories",
    type=click.IntRange(2, 1000),
    default=10,
    show_default=True,
    help="Morris trajectories: (factors + 1) points each; more give tighter intervals.",
)
@click.option(
    "--samples",
    type=click.IntRange(2, 65536),
    default=32,
    show_default=True,
    help="Sobol base samples, a power of 2: samples x (kept factors + 2) points.",
)
@click.option(
    "--keep",
    type=click.IntRange(1, 100),
    default=4,
    show_default=True,
    help="Sobol: how many screened factors to keep.",
)
@click.option(
    "--reps",
    type=click.IntRange(1, 10_000),
    help="Replications per point [default: 1 for morris and sobol, the scenario's for oat].",
)
@seed_option
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a value as for `run`; a declared range that is set is held fixed.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Results folder [default: results/<scenario name>-sensitivity].",
)
@jobs_option
@click.option(
    "--executor",
    type=click.Choice(["process", "dask"]),
    default="process",
    show_default=True,
    help="process: a local process pool; dask: a Dask LocalCluster of --jobs workers.",
)
@click.option("--scheduler", metavar="ADDRESS", help="Run on an existing Dask cluster.")
@click.option("--no-report", is_flag=True, help="Skip report.html and plots/.")
@click.option("--list", "list_only", is_flag=True, help="List the declared ranges and stop.")
@input_errors_exit_2
def sensitivity_command(
    scenario: str,
    method: str,
    metrics: tuple[str, ...],
    factors: tuple[str, ...],
    trajectories: int,
    samples: int,
    keep: int,
    reps: int | None,
    seed: int | None,
    overrides: tuple[str, ...],
    out: Path | None,
    jobs: int,
    executor: str,
    scheduler: str | None,
    no_report: bool,
    list_only: bool,
) -> None:
    """Which declared ranges move the results of SCENARIO, and which conclusions hold
    over all of them.

    A number in a policy or scenario written as {value: 1.5h, range: [30m, 6h], why: ...}
    is a factor: ordinary runs use its value, this command moves it over its range. Every
    point runs with the same seed (common random numbers). Finished runs are kept in
    OUT/runs/: the same command again resumes.
    """
    from sim.analysis import DEFAULT_METRICS, factors_of, planned_runs, sensitivity

    study, chosen = factors_of(scenario, overrides, _names(factors))
    if list_only:
        print_factors(chosen)
        return
    if method == "sobol" and samples & (samples - 1):
        raise InputError.single("--samples", f"{samples} is not a power of 2 (8, 16, 32, 64...)")
    chosen_metrics = _names(metrics) or list(DEFAULT_METRICS)
    per_point = reps or (study.scenario.replications if method == "oat" else 1)
    total = planned_runs(study, chosen, method, per_point, trajectories, samples, keep)
    check_cluster(executor, scheduler)  # before anything is written
    root = results_root(located(scenario, "scenario"))
    folder = open_results_folder(
        out or root / "results" / f"{safe_name(study.scenario.name)}-sensitivity"
    )
    runs = RunProgress(f"{method} runs", total)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with runs:
            result = sensitivity(
                scenario,
                method=method,
                overrides=overrides,
                factors=_names(factors),
                metrics=chosen_metrics,
                replications=reps,
                trajectories=trajectories,
                samples=samples,
                keep=keep,
                seed=seed,
                jobs=jobs,
                executor=executor,
                scheduler=scheduler,
                out=folder,
                progress=runs.done,
            )
        result.write(folder)
        print_sensitivity(result.summary, study.scenario.currency)
        written = "sensitivity.json, effects.csv, points.csv, meta.json"
        if not no_report:
            with err_console.status("drawing the report"):
                result.report(folder)
            written += ", report.html, plots/"
    except (KeyboardInterrupt, Exception) as exc:
        runs.bar.stop()
        stopped(exc, folder, runs.finished, total)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    out_console.print(
        f"Results in {folder}/ ({written}); {total} runs in {result.meta['wall_seconds']:.1f} s.",
        markup=False,
        soft_wrap=True,
    )
    report_failures(runs.failed, folder)


def print_factors(factors: list[Any]) -> None:
    table = Table(title=f"{len(factors)} declared ranges")
    for column in ("factor", "value", "range", "dist", "why"):
        table.add_column(column, overflow="fold")
    for f in factors:
        table.add_row(f.key, f.shown(f.value), f.range_text, f.dist, f.why)
    out_console.print(table)


def print_sensitivity(summary: dict[str, Any], currency: str) -> None:
    """Findings first, then per metric the factors with the largest effects."""
    for name, stage in summary["stages"].items():
        head = {
            "screening": "Morris screening",
            "oat": "one at a time",
            "sobol": "Sobol indices",
        }[name]
        out_console.print(
            f"\n[bold]{summary['scenario']}: {head}[/bold] of {len(stage['factors'])} factors, "
            f"{stage['points']} points x {summary['replications']} replication(s), "
            f"seed {summary['seed']}"
        )
        for heading, holds in (
            ("Holds at every point tried:", True),
            ("Flips:", False),
            ("Within sampling noise at the base:", None),
        ):
            chosen = [f for f in stage["findings"] if f["holds"] is holds]
            if chosen:
                out_console.print(heading)
            for f in chosen:
                out_console.print(f"  {f['text']}", markup=False)
        for metric, by_target in stage["effects"].items():
            print_effects(name, stage, metric, by_target, currency)
    out_console.print(EFFECT_NOTE[summary["method"]])


EFFECT_NOTE = {
    "morris": "effect: mu*, the mean absolute change of the metric when the factor moves "
    "over its whole range; (x): its 95% interval includes 0",
    "oat": "effect: the change of the metric from the factor's low end to its high end, "
    "the others at their values; (x): its 95% interval includes 0",
    "sobol": "effect: mu* in the screening; then the total-order Sobol index, the share of "
    "the metric's variance that the factor accounts for, alone or with others; (x): its "
    "95% interval includes 0",
}


def print_effects(
    stage_name: str,
    stage: dict[str, Any],
    metric: str,
    by_target: dict[str, list[dict[str, Any]]],
    currency: str,
) -> None:
    unit = BY_NAME[metric].unit
    index = stage_name == "sobol"
    shown = "index" if index else _unit_label(unit, currency).replace("%", "pct points")
    table = Table(title=f"{metric} ({shown})", title_justify="left")
    table.add_column("factor", overflow="fold")
    for target in by_target:
        table.add_column(target, justify="right")
    score: dict[str, float] = {}
    for ranked in by_target.values():
        top = max((r["effect"] for r in ranked), default=0.0)
        for r in ranked:
            score[r["factor"]] = max(score.get(r["factor"], 0.0), r["effect"] / top if top else 0)
    order = sorted(score, key=lambda k: (-score[k], k))
    cells = {t: {r["factor"]: r for r in ranked} for t, ranked in by_target.items()}
    for factor in order[:SHOWN_FACTORS]:
        table.add_row(factor, *[_effect(cells[t][factor], unit, index) for t in by_target])
    out_console.print(table)
    if len(order) > SHOWN_FACTORS:
        out_console.print(
            f"  and {len(order) - SHOWN_FACTORS} more factors with smaller effects (effects.csv)"
        )


def _effect(row: dict[str, Any], unit: str, index: bool) -> str:
    x = row["effect"]
    text = f"{x:.2f}" if index else (f"{x * 100:.2f}" if unit == "share" else f"{x:.3g}")
    return f"({text})" if row["negligible"] else text
