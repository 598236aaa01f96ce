"""cancelsim: compare marketplace order-cancellation and refund rules by simulation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.api import Results, load, run
from sim.engine import RunResult, RunSpec, simulate
from sim.errors import InputError
from sim.model.load import load_policy, load_study

if TYPE_CHECKING:
    import pandas as pd

    from sim.analysis import Sensitivity
    from sim.calibrate import Calibration
    from sim.orderlog.importer import ImportSummary


def import_orders(
    files: str | Path | list[str | Path], *, format: str, out: str | Path, **options: Any
) -> ImportSummary:
    """`cancelsim import` from Python (see `sim.orderlog.api.import_orders`)."""
    from sim.orderlog.api import import_orders as run_import

    return run_import(files, format=format, out=out, **options)


def read_log(path: str | Path) -> pd.DataFrame:
    """An order log written by `cancelsim import`, as a pandas DataFrame."""
    from sim.orderlog.log import read_log as read

    return read(path)


def calibrate_scenario(
    orders: str | Path,
    out: str | Path,
    base: str | Path,
    *,
    hold: str | float = "0m",
    figure_dir: str | Path | None = None,
    seed: int = 0,
) -> Calibration:
    """`cancelsim calibrate` from Python (`sim.calibrate` is the package): fit a scenario
    to the order log `orders`, write it to `out` (and the fit figure to `figure_dir`);
    returns the `Calibration`, whose `estimate_rows()`, `report_rows()` and `notes()` are
    what the command prints."""
    from sim.calibrate import run_calibration

    return run_calibration(orders, out, base, figure_dir, hold, seed)


def sensitivity(scenario: str | Path, **options: Any) -> Sensitivity:
    """`cancelsim sensitivity` from Python (see `sim.analysis.sensitivity`): which declared
    ranges move each metric of each policy and each paired difference."""
    from sim.analysis import sensitivity as analyse

    return analyse(scenario, **options)


def uncertainty(results: Results, n: int, **options: Any) -> dict[str, Any]:
    """`cancelsim run --uncertainty N` from Python (see `sim.analysis.uncertainty`): adds
    the band of every result over N Latin-hypercube points of the declared ranges."""
    from sim.analysis import uncertainty as bands

    return bands(results, n, **options)


__version__ = "0.1.0"
__all__ = [
    "InputError",
    "calibrate_scenario",
    "import_orders",
    "read_log",
    "Results",
    "RunResult",
    "RunSpec",
    "load",
    "load_policy",
    "load_study",
    "run",
    "sensitivity",
    "simulate",
    "uncertainty",
]
