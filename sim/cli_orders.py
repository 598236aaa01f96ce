"""`cancelsim import`: order exports in, one normalised order log out."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from sim.errors import InputError
from sim.model.builtin import builtin_path, located
from sim.orderlog.formats import FORMATS

SHOWN_PROBLEMS = 20


def _origin(value: str | None) -> dt.datetime | None:
    """--time-origin: an ISO 8601 date and time with its UTC offset (one-line errors)."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError.single(
            "--time-origin", f"{value!r} is not an ISO 8601 date and time"
        ) from None
    if moment.tzinfo is None:
        raise InputError.single(
            "--time-origin", f"{value!r} has no UTC offset; add one, e.g. +08:00 or Z"
        )
    return moment


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "format_",
    required=True,
    type=click.Choice(FORMATS, case_sensitive=False),
    help="The export's format (see README, 'Your own orders').",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The order log to write: .parquet or .csv.",
)
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="csv: a log field's column (repeat).",
)
@click.option(
    "--map-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="csv: a YAML column mapping.",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="VALUE=STATUS",
    help="csv: read a status value as open, shipped or cancelled (repeat).",
)
@click.option(
    "--timezone", help="IANA zone of times written without an offset, e.g. Europe/Berlin."
)
@click.option(
    "--time-unit",
    type=click.Choice(["ms", "s", "min", "h", "d"]),
    help="csv: times are numbers of this unit after --time-origin.",
)
@click.option(
    "--time-origin",
    help="csv: the instant numeric times count from [default: 1970-01-01T00:00Z].",
)
@click.option("--currency", help="Currency of values when the export has no currency column.")
@click.option("--seller", help="The seller of a one-seller export (a seller id for every row).")
@click.option("--encoding", help="Text encoding [default: UTF-8, else GB18030 (GBK)].")
@click.option("--strict", is_flag=True, help="Exit 2, writing nothing, if any row is rejected.")
def import_command(
    files: tuple[Path, ...],
    format_: str,
    out: Path,
    pairs: tuple[str, ...],
    map_file: Path | None,
    statuses: tuple[str, ...],
    timezone: str | None,
    time_unit: str | None,
    time_origin: str | None,
    currency: str | None,
    seller: str | None,
    encoding: str | None,
    strict: bool,
) -> None:
    """Read order exports FILES into one normalised order log (one row per order).

    Rows that cannot be read are reported with file and line (or JSON path) and left out;
    the rest are imported. When one order id comes twice, the later row is kept. Every
    problem is also written beside the log, in ORDERS.problems.txt.

    \b
    Example:
      cancelsim import orders.csv --format csv --out orders.parquet \\
        --map order_id=id --map placed_at=created --map status=state --currency EUR
    """
    from sim.cli import err_console, input_errors_exit_2, out_console

    @input_errors_exit_2
    def go() -> None:
        from sim.orderlog.api import prepare

        reader, options = prepare(
            format_,
            map_file=map_file,
            columns=pairs,
            statuses=statuses,
            timezone=timezone,
            time_unit=time_unit,
            time_origin=_origin(time_origin),
            currency=currency,
            seller=seller,
            encoding=encoding,
        )
        try:
            summary = _import_with_progress(list(files), reader, options, out, strict, err_console)
        except OSError as error:
            where = error.filename or out
            err_console.print(
                f"{where}: cannot write the order log: {error.strerror or error}",
                markup=False,
                soft_wrap=True,
            )
            sys.exit(1)
        _print_summary(summary, out, strict, out_console, err_console)
        if strict and summary.reported:
            sys.exit(2)

    go()


def _import_with_progress(
    files: list[Path], reader: Any, options: Any, out: Path, strict: bool, console: Any
) -> Any:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from sim.orderlog.importer import import_orders

    columns = (
        SpinnerColumn(),
        TextColumn("importing: {task.completed:,} rows read"),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        task = progress.add_task("import", total=None)
        return import_orders(
            files,
            reader,
            options,
            out,
            progress=lambda n: progress.advance(task, n),
            strict=strict,
        )


def _print_summary(summary: Any, out: Path, strict: bool, console: Any, errors: Any) -> None:
    for problem in summary.problems[:SHOWN_PROBLEMS]:
        errors.print(str(problem), markup=False, soft_wrap=True)
    hidden = summary.reported - SHOWN_PROBLEMS
    listing = out.with_name(out.name + ".problems.txt")
    if hidden > 0:
        errors.print(
            f"... and {hidden:,} more, every one in {listing}", markup=False, soft_wrap=True
        )
    parts = [f"{summary.read:,} rows read from {summary.files} file{'s' * (summary.files != 1)}"]
    if summary.rejected:
        parts.append(f"{summary.rejected:,} rejected")
    if summary.duplicates:
        parts.append(f"{summary.duplicates:,} replaced by a later row of the same order id")
    for reason, count in sorted(summary.skipped.items()):
        parts.append(f"{count:,} skipped ({reason})")
    if strict and summary.reported:
        errors.print(
            "; ".join(parts) + f". --strict: nothing written to {out}", markup=False, soft_wrap=True
        )
        return
    console.print(
        "; ".join(parts)
        + f". {summary.written:,} order{'s' * (summary.written != 1)} written to {out}",
        markup=False,
        soft_wrap=True,
    )


def _bundled_baseline() -> Path:
    return builtin_path("baseline", "scenario")


@click.command("calibrate")
@click.argument("orders", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The scenario to write (.yaml).",
)
@click.option(
    "--base",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Scenario whose policies and assumptions fill what a log cannot tell "
    "[default: builtin:baseline, the bundled baseline].",
)
@click.option(
    "--hold",
    default="0m",
    show_default=True,
    help="The pending hold of the platform the log comes from (Amazon: 30m): time the "
    "platform held each order before the seller could pack it.",
)
@click.option(
    "--figure-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to draw calibration.png (observed against fitted) [default: OUT's name "
    "with -fit, beside it].",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Seed of the bootstrap intervals.",
)
def calibrate_command(
    orders: Path, out: Path, base: Path | None, hold: str, figure_dir: Path | None, seed: int
) -> None:
    """Fit a scenario's market to the order log ORDERS (from `cancelsim import`).

    Writes a commented scenario: arrival rate, daily and weekly profiles, promotion days,
    sellers and their sizes, packing and pickups, cancel shares, each with its estimate,
    95% interval and the orders behind it; what the log cannot tell is taken from the base
    scenario and marked as assumed. Prints observed against fitted and draws it.
    """
    from sim.cli import err_console, input_errors_exit_2, out_console

    @input_errors_exit_2
    def go() -> None:
        from sim.calibrate import run_calibration
        from sim.model.units import parse_duration

        if out.suffix not in (".yaml", ".yml"):
            raise InputError.single(str(out), "expected a scenario name ending in .yaml")
        try:
            if parse_duration(hold).business_days:
                raise ValueError("expected clock units (m, h, d), not business days")
        except ValueError as error:
            raise InputError.single("--hold", f"{hold!r}: {error}") from None
        folder = figure_dir or out.with_name(out.stem + "-fit")
        try:
            with err_console.status("fitting"):
                fit = run_calibration(
                    orders,
                    out,
                    located(base, "scenario") if base else _bundled_baseline(),
                    folder,
                    hold,
                    seed,
                )
        except OSError as error:
            err_console.print(
                f"{error.filename or out}: cannot write: {error.strerror or error}",
                markup=False,
                soft_wrap=True,
            )
            sys.exit(1)
        _print_calibration(fit, out, folder, out_console, err_console)

    go()


def _print_calibration(fit: Any, out: Path, folder: Path, console: Any, errors: Any) -> None:
    from rich.table import Table

    from sim.calibrate.estimate import number

    span = fit.span
    console.print(
        f"{fit.quality.orders:,} orders from {fit.sellers_seen:,} seller"
        f"{'s' * (fit.sellers_seen != 1)} over {span.days} local days "
        f"({span.date(0)} to {span.date(span.days - 1)}); scenario written to {out}",
        markup=False,
        soft_wrap=True,
    )
    estimates = Table(title="fitted (95% interval; n: what it rests on)")
    for column, justify in (
        ("quantity", "left"),
        ("estimate", "right"),
        ("95% CI", "right"),
        ("n", "right"),
    ):
        estimates.add_column(column, justify=justify)  # type: ignore[arg-type]
    for name, e in fit.estimate_rows():
        estimates.add_row(
            name, number(e.value), f"{number(e.low)}-{number(e.high)}", f"{e.n:,} {e.basis}"
        )
    console.print(estimates)
    rows = fit.report_rows()
    for profile in dict.fromkeys(r.profile for r in rows):
        mine = [r for r in rows if r.profile == profile]
        table = Table(title=f"{profile}: observed against fitted ({mine[0].unit})")
        table.add_column(profile if profile != "ship time" else "quantile, band")
        table.add_column("observed", justify="right")
        table.add_column("fitted", justify="right")
        for r in mine:
            table.add_row(r.label, number(r.observed), number(r.fitted))
        console.print(table)
    for note in fit.notes():
        errors.print(f"note: {note}", markup=False, soft_wrap=True)
    console.print(f"Figure: {folder / 'calibration.png'}", markup=False, soft_wrap=True)
