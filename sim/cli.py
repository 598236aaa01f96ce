"""The `cancelsim` command: parses arguments, calls the Python API, prints.

Bad input (any file problem) prints one line per problem to stderr and exits with
status 2, before anything is written.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from sim.api import Results, load, run
from sim.errors import InputError
from sim.metrics import BY_NAME, CATALOGUE

HEADLINE = (
    "refund_hours_p50",
    "refund_hours_p90",
    "self_cancel_share",
    "instant_refund_share",
    "request_cancel_share",
    "seller_cancel_share",
    "auto_cancel_share",
    "failed_cancel_share",
    "late_ship_share",
    "seller_cancel_rate",
    "sellers_over_threshold_share",
    "compensation_paid",
    "buyer_money_hours_held",
)


def _console(stderr: bool = False) -> Console:
    """Rich console; when output is not a terminal, wide enough for the comparison table."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, highlight=False, width=120)
    return console


out_console = _console()
err_console = _console(stderr=True)


def input_errors_exit_2(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn `InputError` into one line per problem on stderr and exit status 2."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            for problem in exc.problems:
                err_console.print(str(problem), markup=False, soft_wrap=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cancelsim")
def main() -> None:
    """Compare marketplace cancellation and refund rules by simulation.

    Policies (the rules of Amazon, Taobao, JD...) are YAML files in policies/; a scenario
    (the market: orders, sellers, buyers) names the policies to compare. Every policy
    sees the same orders and buyers (common random numbers).
    """


@main.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Results folder [default: results/<scenario name>].",
)
@click.option(
    "--reps", type=click.IntRange(1, 10_000), help="Replications [default: the scenario's]."
)
@click.option("--seed", type=click.IntRange(0), help="Root seed [default: the scenario's].")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a scenario value (buyers.cancel_intent=0.1) or a policy value by "
    "its file stem (amazon.self_cancel.window=2h). Repeatable.",
)
@input_errors_exit_2
def run_command(
    scenario: Path, out: Path | None, reps: int | None, seed: int | None, overrides: tuple[str, ...]
) -> None:
    """Simulate SCENARIO under each of its policies and compare them."""
    study = load(scenario, overrides)
    reps = reps or study.scenario.replications
    total = reps * len(study.policies)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("runs", total=total)
        results = run(
            study, replications=reps, seed=seed, progress=lambda spec, _: bar.advance(task)
        )
    folder = results.write(out or Path("results") / study.scenario.name)
    print_table(results)
    out_console.print(
        f"Results in {folder}/ (summary.json, runs.csv, meta.json); "
        f"{total} runs in {results.meta['wall_seconds']:.1f} s."
    )


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate_command(files: tuple[Path, ...]) -> None:
    """Check policy and scenario FILES; exit 0 if all are valid, 2 otherwise."""
    from sim.model.load import load_policy, load_study
    from sim.model.yamlfile import read_document

    failed = False
    for file in files:
        try:
            doc = read_document(file)
            is_scenario = isinstance(doc.data, dict) and "policies" in doc.data
            (load_study if is_scenario else load_policy)(file)
            out_console.print(
                f"{file}: valid {'scenario' if is_scenario else 'policy'}", markup=False
            )
        except InputError as exc:
            failed = True
            for problem in exc.problems:
                err_console.print(str(problem), markup=False, soft_wrap=True)
    sys.exit(2 if failed else 0)


@main.command("metrics")
def metrics_command() -> None:
    """Print the metric catalogue: name, unit, better direction, meaning."""
    table = Table(title="cancelsim metrics", show_lines=False)
    for column in ("metric", "unit", "better", "description"):
        table.add_column(column, overflow="fold")
    for m in CATALOGUE:
        better = {True: "higher", False: "lower", None: "-"}[m.higher_is_better]
        table.add_row(m.name, m.unit, better, m.description)
    out_console.print(table)


def print_table(results: Results) -> None:
    """The comparison: headline metrics as rows, policies as columns, mean ± CI half-width."""
    summary = results.summary
    currency = results.study.scenario.currency
    table = Table(
        title=f"{summary['scenario']}: {summary['replications']} replication(s), "
        f"seed {summary['seed']}"
    )
    table.add_column("metric")
    table.add_column("unit")
    for key in summary["policies"]:
        table.add_column(key, justify="right")
    for name in HEADLINE:
        unit = BY_NAME[name].unit
        cells = [
            format_cell(entry["metrics"][name], unit) for entry in summary["policies"].values()
        ]
        label = "%" if unit == "share" else unit.replace("currency", currency)
        table.add_row(name, label, *cells)
    out_console.print(table)
    if summary["replications"] > 1:
        out_console.print("mean ± half-width of the 95% confidence interval across replications")


def format_cell(value: dict[str, Any], unit: str = "") -> str:
    """`1.81 ± 0.11`: shares in percent, other values to 4 significant digits."""
    mean, ci = value["mean"], value["ci95"]
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    scale, fmt = (100.0, "{:.2f}") if unit == "share" else (1.0, "{:.4g}")
    text = fmt.format(mean * scale)
    if ci is not None:
        text += " ± " + fmt.format((ci[1] - ci[0]) / 2 * scale)
    return text


if __name__ == "__main__":
    main()
