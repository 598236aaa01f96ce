"""The `cancelsim` command: parses arguments, calls the Python API, prints.

Bad input (any file problem) prints one line per problem to stderr and exits with
status 2, before anything is written.
"""

from __future__ import annotations

if __name__ == "__main__":  # `python -m sim.cli`: run the package's module, not this copy
    import importlib

    importlib.import_module("sim.cli").main(prog_name="cancelsim")

import math
import os
import signal
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from sim.api import Results, run_points, seller_view
from sim.engine.trace import parquet_available
from sim.errors import InputError
from sim.experiment import store as run_store
from sim.experiment.budget import too_big
from sim.experiment.executors import check_cluster, default_jobs
from sim.experiment.levers import LEVERS, VIEW_METRICS, is_seller_view
from sim.experiment.output import check_lever_folders, open_results_folder
from sim.experiment.plan import Axis, load_points
from sim.experiment.runner import RunFailure
from sim.metrics import BY_NAME, CATALOGUE
from sim.model.builtin import located
from sim.model.load import Override
from sim.project import default_scenario, results_root, safe_name
from sim.tables import FORMATS, fit_table, render_records, run_records
from sim.visible import visible

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="How to print the results: table (fitted to the terminal), or json, csv or "
    "markdown on stdout with nothing else there (progress and notes go to stderr).",
)

HEADLINE = (
    "refund_issued_hours_p50",
    "refund_issued_hours_p90",
    "money_back_hours_p50",
    "money_back_hours_p90",
    "self_cancel_share",
    "instant_refund_share",
    "request_cancel_share",
    "seller_cancel_share",
    "auto_cancel_share",
    "failed_cancel_share",
    "late_ship_share",
    "seller_fault_cancel_share",
    "platform_metric_rate",
    "sellers_flagged_share",
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


def _say(line: str) -> None:
    err_console.print(line, markup=False, soft_wrap=True)


run_store.say = _say  # a stored run's notice: one whole line, above the progress bar


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


jobs_option = click.option(
    "--jobs",
    type=click.IntRange(1, 1024),
    default=default_jobs,
    show_default="all cores",
    help="Runs at once (local processes, or Dask workers).",
)
seed_option = click.option(
    "--seed", type=click.IntRange(0), help="Root seed [default: the scenario's]."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cancelsim")
def main() -> None:
    """Compare marketplace cancellation and refund rules by simulation.

    Policies (the rules of Amazon, Taobao, JD...) are YAML files; a scenario (the market:
    orders, sellers, buyers) names the policies to compare. Every policy sees the same
    orders and buyers (common random numbers). The bundled files go by builtin:NAME
    (builtin:baseline, builtin:amazon); `cancelsim init DIR` starts a study of your own.
    """


@main.command("run")
@click.argument("scenario", required=False)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Results folder [default: results/<scenario name> beside the study's scenario; "
    "for a bundled scenario, in the current folder].",
)
@click.option(
    "--reps", type=click.IntRange(1, 10_000), help="Replications [default: the scenario's]."
)
@seed_option
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a scenario value (buyers.cancel_intent=0.1) or a policy value by "
    "its key (amazon.self_cancel.window=2h). Repeatable.",
)
@click.option(
    "--sweep",
    multiple=True,
    metavar="KEY=V1,V2,...",
    help="Run every combination of these values (full factorial; replaces the scenario's "
    "sweep: block). KEY as for --set. Repeatable.",
)
@jobs_option
@click.option(
    "--executor",
    type=click.Choice(["process", "dask"]),
    default="process",
    show_default=True,
    help="process: a local process pool; dask: a Dask LocalCluster of --jobs workers.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (implies dask).",
)
@click.option(
    "--trace",
    is_flag=True,
    help="Also write each run's per-order trace to OUT/trace/ (streamed to disk).",
)
@click.option(
    "--trace-format",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="Trace file format; parquet needs pyarrow installed.",
)
@click.option("--no-report", is_flag=True, help="Skip report.html and plots/.")
@click.option(
    "--no-levers",
    is_flag=True,
    help="A one-seller scenario: skip playing the seller's levers (3 more runs per run).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Run even when the scenario seems too large for this machine's memory.",
)
@click.option(
    "--uncertainty",
    type=click.IntRange(2, 10_000),
    metavar="N",
    help="Also run N points drawn from the declared ranges (a Latin hypercube) and give "
    "each result the band that this input uncertainty spans.",
)
@format_option
@input_errors_exit_2
def run_command(
    scenario: str | None,
    out: Path | None,
    reps: int | None,
    seed: int | None,
    overrides: tuple[str, ...],
    sweep: tuple[str, ...],
    jobs: int,
    executor: str,
    scheduler: str | None,
    trace: bool,
    trace_format: str,
    no_report: bool,
    no_levers: bool,
    force: bool,
    uncertainty: int | None,
    fmt: str = "table",
) -> None:
    """Simulate SCENARIO under each of its policies and compare them.

    SCENARIO is a file or a bundled scenario (builtin:quick); without it, the scenario.yaml
    of the study this folder is in (see `cancelsim init`), else builtin:baseline. Finished
    runs are kept in OUT/runs/: the same command again resumes an interrupted experiment,
    re-running only what is missing.
    """
    if scenario is None:
        scenario = default_scenario(Path.cwd())
        err_console.print(f"Playing {scenario} (no SCENARIO given).", markup=False, soft_wrap=True)
    if trace and trace_format == "parquet" and not parquet_available():
        raise click.UsageError("--trace-format parquet needs pyarrow: pip install pyarrow")
    points, studies = load_points(
        scenario, [Override.parse(o) for o in overrides], [Axis.parse(a) for a in sweep]
    )
    reps = reps or studies[0].scenario.replications
    total = reps * sum(len(s.policies) for s in studies)
    one_seller = len(studies) == 1 and is_seller_view(studies[0])
    levers = len(LEVERS) if one_seller and not no_levers else 0
    total += levers * reps * len(studies[0].policies)  # a seller's own view: its levers
    if uncertainty:
        if len(studies) > 1:
            raise InputError.single(
                "--uncertainty", "cannot be combined with a sweep: run one point at a time"
            )
        if not studies[0].factors:
            raise InputError.single(
                str(scenario),
                "--uncertainty: the scenario and its policies declare no ranges "
                "({value: ..., range: [low, high], why: ...})",
            )
        total += uncertainty * reps * len(studies[0].policies)
    if not force and not scheduler:  # a remote cluster's workers have their own memory
        for study in studies:
            message = too_big(study.scenario, min(jobs, total))
            if message:
                raise InputError.single(str(scenario), message)
    check_cluster(executor, scheduler)  # no Dask, a bad or silent scheduler: exit 2, no files
    default_out = results_root(located(scenario)) / "results" / safe_name(studies[0].scenario.name)
    if levers:  # a lever's folder that cannot be written: before anything is touched
        check_lever_folders(out or default_out)
    folder = open_results_folder(out or default_out)
    runs = RunProgress("runs", total)
    # From here on SIGTERM stops like Ctrl-C; the caller's handler comes back afterwards
    # (the command may run inside another program, a test runner or a notebook).
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with runs:
            results = run_points(
                points,
                studies,
                replications=reps,
                seed=seed,
                jobs=jobs,
                executor=executor,
                scheduler=scheduler,
                out=folder,
                progress=runs.done,
                # absolute: a Dask worker writes the traces, from a working folder of its own
                trace_dir=folder.absolute() / "trace" if trace else None,
                trace_format=trace_format,
            )
            if one_seller and results.runs:
                seller_view(
                    results,
                    jobs=jobs,
                    executor=executor,
                    scheduler=scheduler,
                    out=folder,
                    progress=runs.done,
                    levers=not no_levers,
                )
            if uncertainty and results.runs:
                from sim.analysis import uncertainty as input_bands

                input_bands(
                    results,
                    uncertainty,
                    jobs=jobs,
                    executor=executor,
                    scheduler=scheduler,
                    out=folder,
                    progress=runs.done,
                )
        results.write(folder)
        if fmt == "table":
            print_tables(results)
            print_uncertainty(results)
            print_seller_view(results.summary)
        else:
            print_records(results.summary, fmt, HEADLINE)
        written = "summary.json, runs.csv, meta.json"
        if not no_report and results.runs:
            with err_console.status("drawing the report"):
                results.report(folder)
            written += ", report.html, plots/"
    except (KeyboardInterrupt, Exception) as exc:
        runs.bar.stop()
        stopped(exc, folder, runs.finished, total)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    (out_console if fmt == "table" else err_console).print(
        f"Results in {folder}/ ({written}); {total} run{'s' if total != 1 else ''} "
        f"in {results.meta['wall_seconds']:.1f} s.",
        markup=False,
        soft_wrap=True,
    )
    report_failures(runs.failed, folder)


class RunProgress:
    """The progress bar of a batch of runs (a context manager), counting the runs done
    and the failed ones; `done` is the callback the runners take."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.finished = 0
        self.failed: list[str] = []
        self.bar = _progress_bar()
        self.task: Any = None

    def __enter__(self) -> RunProgress:
        self.bar.__enter__()
        self.task = self.bar.add_task(self.label, total=self.total, failed=0)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def done(self, spec: Any, outcome: Any, cached: bool) -> None:
        self.finished += 1
        if isinstance(outcome, RunFailure):
            self.failed.append(outcome.describe())
        self.bar.update(self.task, advance=1, failed=len(self.failed))


def stopped(exc: BaseException, folder: Path, finished: int, total: int) -> None:
    """Ctrl-C or SIGTERM: say what is kept and exit 130 or 143; a full disk: exit 1. Any
    other exception returns, for the caller to raise."""
    stop = _interruption(exc)
    if stop is not None:
        err_console.print(
            f"{'Stopped' if isinstance(stop, Terminated) else 'Interrupted'}: {finished} "
            f"of {total} runs are kept in {folder}/runs/; run the same command again to "
            "resume.",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(143 if isinstance(stop, Terminated) else 130)
    if isinstance(exc, OSError):
        _cannot_write(folder, exc)


def report_failures(failed: list[str], folder: Path) -> None:
    """Failed runs, one line each, and exit status 1; nothing when none failed."""
    if failed:
        where = f"{folder}/runs/*.failed.json"
        if any("(lever " in line for line in failed):
            where += f", a lever's in {folder}/levers/LEVER/runs/"
        count = f"{len(failed)} run{'s' if len(failed) > 1 else ''}"
        err_console.print(
            f"{count} failed (details in {where}):",
            markup=False,
            soft_wrap=True,
        )
        for line in sorted(failed):
            err_console.print(f"  {line}", markup=False, soft_wrap=True)
        sys.exit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: finished runs are kept, the command can be resumed."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def _interruption(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind an exception: a signal can land inside an import or a
    C extension, which then fails with an error of its own that wraps it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _cannot_write(folder: Path, exc: OSError) -> None:
    err_console.print(
        f"{folder}: cannot write the results: {exc.strerror or exc}; finished "
        "runs are kept in runs/, free space or choose another --out and run "
        "again",
        markup=False,
        soft_wrap=True,
    )
    sys.exit(1)


def _progress_bar() -> Any:
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
        TextColumn("failed {task.fields[failed]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=err_console, transient=True)


@main.command("validate")
@click.argument("files", nargs=-1, required=True)
def validate_command(files: tuple[str, ...]) -> None:
    """Check FILES: policies, scenarios and expectation files, each told by its keys.

    A file may be a bundled one (builtin:amazon). Exit 0 if all are valid, 2 otherwise.
    """
    from sim.model.builtin import located
    from sim.model.kinds import KIND_NAMES, kind_of
    from sim.model.yamlfile import read_document

    failed = False
    for file in files:
        try:
            path = located(file)
            kind = kind_of(read_document(path).data) or _kind_by_shape(read_document(path).data)
            what = _validated(path, kind)
            name = KIND_NAMES[kind].split(" (")[0].removeprefix("a ").removeprefix("an ")
            out_console.print(f"{file}: valid {name}{what}", markup=False, soft_wrap=True)
        except InputError as exc:
            failed = True
            for problem in exc.problems:
                err_console.print(str(problem), markup=False, soft_wrap=True)
    sys.exit(2 if failed else 0)


def _kind_by_shape(data: Any) -> str:
    """A file whose keys tell no kind: a scenario if it names policies or a base."""
    if isinstance(data, dict) and {"policies", "extends"} & set(data):
        return "scenario"
    return "policy"


def _validated(path: Path, kind: str) -> str:
    """Validate a file as `kind` (raising its problems); what it holds, for the line."""
    from sim.model.load import load_policy, load_study
    from sim.model.uncertain import declared
    from sim.model.yamlfile import read_document

    if kind == "expectation":
        from sim.checks.runner import load_file, study_of

        loaded = load_file(path)
        study_of(loaded)  # its scenario, set: and policies too
        cases = len(loaded.spec.cases)
        return f" ({cases} case{'s' * (cases != 1)}, on {loaded.spec.scenario})"
    if kind == "scenario":
        factors = len(load_study(path).factors)
    else:
        load_policy(path)
        factors = len(declared(read_document(path))[0])
    return f" ({factors} declared ranges)" if factors else ""


@main.command("report")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@input_errors_exit_2
def report_command(folder: Path) -> None:
    """Rebuild report.html and plots/ of a results FOLDER without simulating again."""
    from sim.report import rebuild

    with err_console.status("drawing the report"):
        path = rebuild(folder)
    out_console.print(f"Report: {path}", markup=False, soft_wrap=True)


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-k",
    "expression",
    metavar="EXPR",
    help="Only cases whose name, file or keywords match, e.g. 'amazon and not metric'.",
)
@jobs_option
@input_errors_exit_2
def test_command(paths: tuple[Path, ...], expression: str | None, jobs: int) -> None:
    """Run policy regression tests: the expectation files PATHS (files or folders).

    Without PATHS: the tests/policies/ folder of the study or project this folder is in
    (found by going up, as git finds its repository). Exit status 0 when every case
    passes, 1 when one fails, 2 on a bad file.
    """
    from sim.checks.runner import judge, load_file, matches, run_file
    from sim.project import EXPECTATIONS, expectation_folder

    if not paths:
        found = expectation_folder(Path.cwd())
        if found is None:
            raise InputError.single(
                str(EXPECTATIONS),
                "no such folder here or in any folder above; give the expectation files, "
                "or run inside a study (cancelsim init DIR makes one)",
            )
        paths = (Path(os.path.relpath(found)),)
    files = _expectation_files(paths)
    loaded, problems = [], []
    for file in files:  # report the problems of every file, not only the first bad one
        try:
            loaded.append(load_file(file))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    passed = failed = 0
    for item in loaded:
        chosen = [
            i
            for i, case in enumerate(item.spec.cases)
            if not expression or _matches(matches, expression, item.case_keywords(case))
        ]
        if not chosen:
            continue
        with err_console.status(f"running {item.path}"):
            results = run_file(item, jobs=jobs)
        for i in chosen:
            verdict = judge(item, i, results)
            if verdict.passed:
                passed += 1
                case = visible(verdict.case)  # a name's bidi controls or line breaks, escaped
                out_console.print(
                    f"PASS {item.path}:{verdict.line}: {case}", markup=False, soft_wrap=True
                )
            else:
                failed += 1
                for line in verdict.failure().splitlines():
                    out_console.print(f"FAIL {line}", markup=False, soft_wrap=True)
    if not passed and not failed:
        err_console.print(f"no case matches -k {expression!r}", markup=False, soft_wrap=True)
        sys.exit(5)  # as pytest: nothing was tested
    out_console.print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def _matches(match: Any, expression: str, words: set[str]) -> bool:
    try:
        return bool(match(expression, words))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _expectation_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError.single(str(path), "no such file or folder of expectation files")
    if not files:
        raise InputError.single(", ".join(map(str, paths)), "no expectation files (*.yaml) here")
    return files


@main.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--scenario",
    "scenario_path",
    help="The market to play both versions in [default: the scenario.yaml of the study "
    "NEW is in, else of the study this folder is in, else builtin:baseline].",
)
@click.option(
    "--reps", type=click.IntRange(2, 10_000), help="Replications [default: the scenario's]."
)
@seed_option
@jobs_option
@format_option
@input_errors_exit_2
def diff_command(
    old: str,
    new: str,
    scenario_path: str | None,
    reps: int | None,
    seed: int | None,
    jobs: int,
    fmt: str = "table",
) -> None:
    """Compare two versions of a policy: OLD and NEW are files or path@gitrev.

    Lists the rule changes, then plays both versions through the scenario under common
    random numbers. Exit status 0 when no metric moved significantly, 1 when some did,
    2 on bad input.
    """
    from sim.checks.diff import paired_study, read_source, rule_changes

    before, after = read_source(old), read_source(new)
    changes = rule_changes(before.doc.data, after.doc.data)
    notes = out_console if fmt == "table" else err_console
    notes.print(f"Rule changes, {old} -> {new}:", markup=False)
    for line in changes or ["(none)"]:
        notes.print(f"  {line}", markup=False, soft_wrap=True)
    from sim.project import scenario_for_policy

    market = located(scenario_path or scenario_for_policy(new, Path.cwd()), "scenario")
    study = paired_study(before, after, market)
    reps = reps or max(study.scenario.replications, 2)
    with err_console.status("simulating both versions"):
        results = run_points(*_single_point(study), replications=reps, seed=seed, jobs=jobs)
    if fmt == "table":
        moved = print_diff_table(results, old, new)
    else:
        moved = moved_metrics(results.summary)
        print_records(
            results.summary,
            fmt,
            [m.name for m in CATALOGUE],
            {"old": old, "new": new, "rule_changes": changes, "moved": moved},
        )
    if results.failures:
        for failure in results.failures:
            err_console.print(f"failed: {failure.describe()}", markup=False, soft_wrap=True)
        err_console.print(f"{len(results.failures)} run(s) failed; the comparison is incomplete")
        sys.exit(1)
    if moved:
        notes.print(f"{len(moved)} metric(s) moved significantly: {', '.join(moved)}")
    else:
        notes.print("No metric moved significantly.")
    sys.exit(1 if moved else 0)


def moved_metrics(summary: dict[str, Any]) -> list[str]:
    """The metrics whose paired difference is significant, or defined on one side only."""
    diff = summary["comparisons"]["new-vs-old"]
    return [
        m.name
        for m in CATALOGUE
        if diff[m.name]["significant"] or diff[m.name].get("definitions_differ")
    ]


def print_records(
    summary: dict[str, Any],
    fmt: str,
    metrics: Any,
    head: dict[str, Any] | None = None,
) -> None:
    """The results as json, csv or markdown on stdout, nothing else there."""
    about = {
        "scenario": summary["scenario"],
        "replications": summary["replications"],
        "seed": summary["seed"],
        **(head or {}),
    }
    click.echo(render_records(run_records(summary, list(metrics)), fmt, about))


def _single_point(study: Any) -> tuple[list[Any], list[Any]]:
    from sim.experiment.plan import sweep_points

    return sweep_points([]), [study]


def print_diff_table(results: Results, old: str, new: str) -> list[str]:
    """Every metric: old, new, the paired difference; returns the metrics that moved."""
    summary = results.summary
    policies, diff = summary["policies"], summary["comparisons"]["new-vs-old"]
    currency = results.study.scenario.currency
    rows = []
    moved = []
    for m in CATALOGUE:
        d = diff[m.name]
        cell = difference_cell(d, m.unit)
        if d["significant"] or d.get("definitions_differ"):  # or defined on one side only
            moved.append(m.name)
        rows.append(
            [
                m.name,
                _unit_label(m.unit, currency),
                format_cell(policies["old"]["metrics"][m.name], m.unit),
                format_cell(policies["new"]["metrics"][m.name], m.unit),
                cell,
            ]
        )
    fit_table(
        out_console,
        f"{summary['scenario']}: {summary['replications']} replications, "
        f"seed {summary['seed']}; new = {new}, old = {old}",
        ["metric", "unit"],
        ["old", "new", "new - old"],
        rows,
    )
    out_console.print("* the 95% interval of the paired difference excludes 0")
    if any(d.get("definitions_differ") for d in diff.values()):
        out_console.print(DIFFER_NOTE)
    if any(d.get("definition_changed") for d in diff.values()):
        out_console.print(CHANGED_NOTE)
    print_notes(summary, [summary])
    return moved


@main.command("init")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--from",
    "base",
    default="baseline",
    show_default=True,
    metavar="NAME",
    help="The bundled scenario to start from (see `cancelsim init --list`).",
)
@click.option("--list", "show", is_flag=True, help="List the bundled scenarios and policies.")
@jobs_option
@input_errors_exit_2
def init_command(folder: Path | None, base: str, show: bool, jobs: int) -> None:
    """Start a study in FOLDER (new or empty): a scenario that extends a bundled one, copies
    of its policies to edit, regression tests and a README.

    The tests pin what the study gives today: they are measured once, now, on a small
    version of it (a few seconds).
    """
    from sim.init_study import init_study
    from sim.model.builtin import names

    if show:
        out_console.print(f"scenarios: {', '.join(names('scenario'))}", markup=False)
        out_console.print(f"policies: {', '.join(names('policy'))}", markup=False)
        return
    if folder is None:
        raise click.UsageError("Missing argument 'FOLDER'.")
    with err_console.status("measuring the study for its regression tests"):
        made = init_study(folder, base, jobs=jobs)
    import shlex

    from sim.visible import visible

    count = len(made.policies)
    out_console.print(
        visible(
            f"A study in {folder}/ from builtin:{base.removeprefix('builtin:')}: scenario.yaml, "
            f"{count} polic{'ies' if count != 1 else 'y'} in policies/, "
            f"tests/policies/{made.expectations.name}, README.md. "
            f"Next: cd {shlex.quote(str(folder))} && cancelsim run"
        ),
        markup=False,
        soft_wrap=True,
    )


@main.command("schema")
@click.argument("kind", type=click.Choice(["policy", "scenario", "test"]))
def schema_command(kind: str) -> None:
    """Print the JSON Schema (draft-07) of policy, scenario or test (expectation) files."""
    import json

    from sim.model.schema import json_schema

    click.echo(json.dumps(json_schema(kind), indent=2, ensure_ascii=False))


@main.command("metrics")
@format_option
def metrics_command(fmt: str = "table") -> None:
    """Print the metric catalogue: name, unit, better direction, meaning."""
    if fmt != "table":
        records = [
            {
                "metric": m.name,
                "label": m.label,
                "unit": m.unit,
                "better": m.better,
                "description": m.description,
            }
            for m in CATALOGUE
        ]
        click.echo(render_records(records, fmt))
        return
    table = Table(title="cancelsim metrics", show_lines=False)
    for column in ("metric", "unit", "better", "description"):
        table.add_column(column, overflow="fold")
    for m in CATALOGUE:
        better = {True: "higher", False: "lower", None: "-"}[m.higher_is_better]
        table.add_row(m.name, m.unit, better, m.description)
    out_console.print(table)


def first_levers(view: dict[str, Any]) -> dict[str, Any]:
    return next(iter(view["policies"].values()))["levers"]


def print_seller_view(summary: dict[str, Any]) -> None:
    """A one-seller scenario: the seller's projected metric and what its levers do."""
    view = summary.get("seller_view")
    if not view:
        return
    fit_table(
        out_console,
        "the seller's own view, projected under each policy",
        ["policy"],
        ["platform metric, %", "flagged in a given week, %"],
        [
            [policy, *[format_cell(entry[m], "share") for m in VIEW_METRICS]]
            for policy, entry in view["policies"].items()
        ],
    )
    if not first_levers(view):
        return
    rows = []
    for policy, entry in view["policies"].items():
        for key, lever in entry["levers"].items():
            mark = " *" if key == entry["moves_most"] else ""
            cells = [format_cell(lever[m], "share") for m in VIEW_METRICS]
            rows.append([policy, lever["label"] + mark, *cells])
    fit_table(
        out_console,
        "the seller's levers: change, lever minus as-is (paired)",
        ["policy", "lever"],
        ["metric, points", "weeks flagged, points"],
        rows,
    )
    if any(entry["moves_most"] for entry in view["policies"].values()):
        out_console.print(
            "* lowers the platform metric most, among the levers that lower it significantly.",
            soft_wrap=True,
        )
    else:
        out_console.print("No lever lowers the platform metric significantly.", soft_wrap=True)


def print_tables(results: Results) -> None:
    """The comparison tables: metrics per policy, paired differences, or the sweep."""
    if "points" in results.summary:
        print_sweep_table(results)
    else:
        print_table(results)
        print_comparisons(results)


def print_table(results: Results) -> None:
    """Headline metrics as rows, policies as columns, mean ± CI half-width."""
    summary = results.summary
    currency = results.study.scenario.currency
    rows = [
        [
            name,
            _unit_label(BY_NAME[name].unit, currency),
            *[
                format_cell(entry["metrics"][name], BY_NAME[name].unit)
                for entry in summary["policies"].values()
            ],
        ]
        for name in HEADLINE
    ]
    fit_table(
        out_console,
        f"{summary['scenario']}: {summary['replications']} replication(s), seed {summary['seed']}",
        ["metric", "unit"],
        list(summary["policies"]),
        rows,
    )
    print_notes(summary, [summary])
    print_bands(summary)


def print_uncertainty(results: Results) -> None:
    """Each headline metric's replication interval next to its input-uncertainty band."""
    block = results.summary.get("uncertainty")
    if not block:
        return
    currency = results.study.scenario.currency
    rows = []
    for name in COMPARED:
        unit = BY_NAME[name].unit
        cells = []
        for key, bands in block["policies"].items():
            here = results.summary["policies"][key]["metrics"][name]
            cells.append(f"{format_cell(here, unit)}\n{band_cell(bands[name], unit)}")
        rows.append([name, _unit_label(unit, currency), *cells])
    fit_table(
        out_console,
        f"input uncertainty: {block['points']} points of the declared ranges "
        f"(Latin hypercube), {len(block['factors'])} factors",
        ["metric", "unit"],
        list(block["policies"]),
        rows,
    )
    out_console.print(
        "each cell: the base run (mean ± replication interval), then \\[5th, 95th "
        "percentile] over the points drawn from the declared ranges"
    )
    flips = [
        f"{name}: {metric}"
        for name, metrics in block["comparisons"].items()
        for metric in COMPARED
        if metric in metrics and metrics[metric]["points"] and not metrics[metric]["same_sign"]
    ]
    if flips:
        out_console.print(
            "paired differences whose sign changes over the declared ranges: " + "; ".join(flips),
            markup=False,
            soft_wrap=True,
        )


def band_cell(band: dict[str, Any], unit: str) -> str:
    if band["band90"] is None:
        return "-"
    low, high = band["band90"]
    if unit == "share":
        return f"[{low * 100:.2f}, {high * 100:.2f}]"
    return f"[{low:.4g}, {high:.4g}]"


def print_bands(summary: dict[str, Any]) -> None:
    """Sellers flagged by the platform's own evaluation, per seller-size band."""
    judged = {k: e["bands"] for k, e in summary["policies"].items() if "bands" in e}
    if not judged:
        return
    labels = list(next(iter(judged.values())))
    rows = []
    for label in labels:
        first = next(iter(judged.values()))[label]
        cells = [format_cell(bands[label]["flagged_share"], "share") for bands in judged.values()]
        rows.append([label, f"{first['sellers']:.1f}", *cells])
    fit_table(
        out_console,
        "sellers flagged, by size (measured orders a week)",
        ["size band", "sellers"],
        [f"{key} (%)" for key in judged],
        rows,
    )


def print_notes(summary: dict[str, Any], blocks: list[dict[str, Any]]) -> None:
    """What the cells' forms mean: ± or [low, high], and ~ where a block has it."""
    if summary["replications"] > 1:
        out_console.print(
            "mean ± half-width of the 95% confidence interval across replications; "
            "\\[low, high] where the interval is cut at the metric's bound (0, or 100% for a share)"
        )
    if any(
        "flat" in v
        for block in blocks
        for entry in block["policies"].values()
        for v in entry["metrics"].values()
    ):
        out_console.print(FLAT_NOTE)


COMPARED = (
    "refund_issued_hours_p50",
    "money_back_hours_p50",
    "money_back_hours_p90",
    "self_cancel_share",
    "request_cancel_share",
    "failed_cancel_share",
    "seller_fault_cancel_share",
    "platform_metric_rate",
    "sellers_flagged_share",
    "buyer_money_hours_held",
)


def print_comparisons(results: Results) -> None:
    """Paired differences (common random numbers) of the headline metrics."""
    comparisons = results.summary["comparisons"]
    if not comparisons or results.summary["replications"] < 2:
        return
    currency = results.study.scenario.currency
    rows = [
        [
            metric,
            _unit_label(BY_NAME[metric].unit, currency),
            *[
                difference_cell(values[metric], BY_NAME[metric].unit)
                for values in comparisons.values()
            ],
        ]
        for metric in COMPARED
    ]
    fit_table(
        out_console,
        "paired differences (first policy minus second)",
        ["metric", "unit"],
        list(comparisons),
        rows,
    )
    out_console.print("* the 95% interval of the paired difference excludes 0")
    if any(v[m].get("definitions_differ") for v in comparisons.values() for m in COMPARED):
        out_console.print(DIFFER_NOTE)
    if any(v[m].get("definition_changed") for v in comparisons.values() for m in COMPARED):
        out_console.print(CHANGED_NOTE)


DIFFER_NOTE = (
    "definitions differ: the two policies define their seller metric differently (what "
    "counts, window, cadence, minimums or threshold), so a difference would compare "
    "definitions, not policies; seller_fault_cancel_share is defined the same everywhere"
)


CHANGED_NOTE = (
    "† the policy's own definition of this metric changed (what counts, window, cadence, "
    "minimums or threshold): the difference is the edit's effect, definition and all"
)


def difference_cell(value: dict[str, Any], unit: str) -> str:
    """A paired difference, starred when its interval excludes 0."""
    if value.get("definitions_differ"):
        return "definitions differ"
    cell = format_cell(value, unit)
    if value.get("definition_changed"):
        cell += " †"
    return f"{cell} *" if value["significant"] else cell


SWEPT = (
    "money_back_hours_p50",
    "money_back_hours_p90",
    "self_cancel_share",
    "request_cancel_share",
    "failed_cancel_share",
    "platform_metric_rate",
    "sellers_flagged_share",
)


SHORT = {
    "money_back_hours_p50": "back\np50",
    "money_back_hours_p90": "back\np90",
    "self_cancel_share": "self-\ncancel",
    "request_cancel_share": "on\nrequest",
    "failed_cancel_share": "failed",
    "platform_metric_rate": "seller\nrate",
    "sellers_flagged_share": "sellers\nflagged",
}


def print_sweep_table(results: Results) -> None:
    """One row per sweep point and policy; key metrics as columns."""
    summary = results.summary
    keys = summary["sweep"]["keys"]
    title = (
        f"{summary['scenario']}: sweep of {', '.join(keys)}; "
        f"{summary['replications']} replication(s), seed {summary['seed']}"
        + (
            ""
            if len(summary["points"][0]["policies"]) > 1
            else f"; policy {next(iter(summary['points'][0]['policies']))}"
        )
    )
    several = len(summary["points"][0]["policies"]) > 1
    headers = []
    for metric in SWEPT:
        label = "%" if BY_NAME[metric].unit == "share" else BY_NAME[metric].unit
        headers.append(f"{SHORT.get(metric, metric)} ({label})")
    rows = []
    for point in summary["points"]:
        for key, entry in point["policies"].items():
            cells = [format_cell(entry["metrics"][m], BY_NAME[m].unit) for m in SWEPT]
            rows.append([*[point["point"][k] for k in keys], *([key] if several else []), *cells])
    fit_table(
        out_console,
        title,
        [*keys, *(["policy"] if several else [])],
        headers,
        rows,
    )
    out_console.print(
        "back p50, p90: money_back_hours_p50, _p90; self-cancel, on request, failed: "
        "self_cancel_share, request_cancel_share, failed_cancel_share; seller rate: "
        "platform_metric_rate; sellers flagged: sellers_flagged_share"
        + (
            "; mean ± half-width of the 95% interval, \\[low, high] where it is cut at a bound"
            if summary["replications"] > 1
            else ""
        )
    )
    if any(
        "flat" in v
        for point in summary["points"]
        for entry in point["policies"].values()
        for v in entry["metrics"].values()
    ):
        out_console.print(FLAT_NOTE)


def _unit_label(unit: str, currency: str) -> str:
    return "%" if unit == "share" else unit.replace("currency", currency)


FLAT_NOTE = (
    "~ few refunds lie near this median or 90th percentile (the refunds 2% on either side "
    "of it are more than a factor of 3 and a quarter hour apart; summary.json gives them as "
    "`flat`): a small change moves it far, so read it with the refund-time figure"
)


def format_cell(value: dict[str, Any], unit: str = "") -> str:
    """`1.81 ± 0.11`: shares in percent, other values to 4 significant digits; an interval
    cut at the metric's bound (`0.15 [0.00, 0.78]`) is shown by its ends."""
    mean, ci = value["mean"], value["ci95"]
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    share = unit == "share"

    def number(x: float, grouped: bool = True) -> str:
        if share:
            return f"{x * 100:.2f}"
        if abs(x) >= 10_000:
            return f"{x:,.0f}" if grouped else f"{x:.0f}"
        return f"{x:.4g}"

    text, mark = number(mean), " ~" if value.get("flat") else ""
    if ci is None:
        return text + mark
    low, high = ci
    if not math.isclose(mean - low, high - mean, rel_tol=1e-9, abs_tol=1e-12):
        return f"{text} [{number(low, False)}, {number(high, False)}]{mark}"
    half = (high - low) / 2
    if share:
        return f"{text} ± {half * 100:.2f}{mark}"
    return f"{text} ± " + (f"{half:,.0f}" if half >= 100 else f"{half:.2g}") + mark


def _register_commands() -> None:
    from sim.cli_analysis import sensitivity_command
    from sim.cli_orders import calibrate_command, import_command

    main.add_command(import_command)
    main.add_command(calibrate_command)
    main.add_command(sensitivity_command)


_register_commands()

if __name__ == "__main__":
    main()
