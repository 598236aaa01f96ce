"""Seller metrics, evaluated the way a platform evaluates them.

The run counts each seller's orders and counted events per local day. A platform looks
at those counts on its evaluation days (every day, each Sunday, or each month's last day),
over a window behind each (N whole days, or N calendar months), and flags a seller whose
counted share is above its threshold once the window holds the minimum counts.

Two readings come out: the platform's (`sellers_flagged_share`,
`seller_weeks_flagged_share`, and the flagged share per seller-size band) and the raw
one kept for comparison with earlier results (`sellers_over_threshold_share`,
`seller_days_over_threshold_share`: every daily window, no minimum counts).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from sim.model.policy import Minimum, Window

WEEK = 7


@dataclass(frozen=True)
class Evaluation:
    """How a platform evaluates its seller metric."""

    window: Window
    cadence: str  # daily, weekly or monthly
    minimum: Minimum
    threshold: float


def evaluation_days(first_date: dt.date, days: int, cadence: str) -> np.ndarray:
    """Indices of the days (counted from `first_date`) that end with an evaluation."""
    dates = [first_date + dt.timedelta(d) for d in range(days)]
    if cadence == "daily":
        keep = [True] * days
    elif cadence == "weekly":
        keep = [d.weekday() == 6 for d in dates]  # the end of Sunday
    else:
        keep = [(d + dt.timedelta(1)).month != d.month for d in dates]  # a month's last day
    return np.flatnonzero(np.array(keep, dtype=bool))


def window_starts(first_date: dt.date, ends: np.ndarray, window: Window) -> np.ndarray:
    """The first day of the window behind each evaluation day (0 at the earliest: a
    window reaching before the run holds only the run's days)."""
    if window.days:
        return np.maximum(ends - window.days + 1, 0)
    starts = []
    for end in ends.tolist():
        after = first_date + dt.timedelta(end + 1)  # the window ends with day `end`
        month = after.month - 1 - window.months
        year = after.year + month // 12
        day = min(after.day, _month_length(year, month % 12 + 1))
        starts.append(max((dt.date(year, month % 12 + 1, day) - first_date).days, 0))
    return np.array(starts, dtype=np.int64)


def _month_length(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(1)).day


def windowed(counts: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per seller, the sum of `counts` over days starts[e]..ends[e] for each evaluation e."""
    prefix = np.zeros((counts.shape[0], counts.shape[1] + 1), dtype=np.int64)
    np.cumsum(counts, axis=1, out=prefix[:, 1:])
    return prefix[:, ends + 1] - prefix[:, starts]


def flagged(
    orders: np.ndarray, counted: np.ndarray, threshold: float, minimum: Minimum
) -> np.ndarray:
    """Windows above the threshold that also hold the minimum counts (and an order)."""
    return (
        (orders >= max(minimum.orders, 1))
        & (counted >= minimum.counted)
        & (counted > threshold * orders)
    )


@dataclass(frozen=True)
class SizeBand:
    """Sellers with at least `low` measured orders a week (and fewer than the next band's)."""

    label: str
    low: float


def evaluate(
    orders: np.ndarray,
    counted: np.ndarray,
    rule: Evaluation,
    first_date: dt.date,
    first_day: int,
    judged: np.ndarray,
    bands: tuple[SizeBand, ...] = (),
    measured_days: float | None = None,
) -> tuple[dict[str, float], dict[str, list[int]]]:
    """The flagged shares of one run, and per size band [sellers flagged, sellers].

    `orders` and `counted` are seller x day counts; days before `first_day` (the warm-up)
    fill windows but are not evaluated. Only sellers in `judged` count (a seller whose
    orders the platform fulfils has no seller metric). `measured_days` is the length of
    the measured period in days, for a last day only partly in the run (a start that is
    not at midnight); by default every day from `first_day` on is whole."""
    days = orders.shape[1]
    if measured_days is None:
        measured_days = days - first_day
    measured_orders = orders[:, first_day:].sum(axis=1)
    sellers = judged & (measured_orders > 0)
    out: dict[str, float] = {}

    # The raw reading: every day's window, no minimum counts.
    every_day = np.arange(days)
    starts = window_starts(first_date, every_day, rule.window)
    raw_orders = windowed(orders, starts, every_day)[:, first_day:]
    raw_counted = windowed(counted, starts, every_day)[:, first_day:]
    active = (raw_orders > 0) & judged[:, None]
    over = active & (raw_counted > rule.threshold * raw_orders)
    out["seller_days_over_threshold_share"] = _share(over.sum(), active.sum())
    out["sellers_over_threshold_share"] = _share(over.any(axis=1)[sellers].sum(), sellers.sum())

    # The platform's reading: its evaluation days, window and minimum counts.
    ends = evaluation_days(first_date, days, rule.cadence)
    starts = window_starts(first_date, ends, rule.window)
    w_orders = windowed(orders, starts, ends)
    w_counted = windowed(counted, starts, ends)
    flags = flagged(w_orders, w_counted, rule.threshold, rule.minimum) & judged[:, None]
    evaluated = (w_orders > 0) & judged[:, None]
    measured = ends >= first_day
    ever = flags[:, measured].any(axis=1)
    out["sellers_flagged_share"] = _share(ever[sellers].sum(), sellers.sum())

    # Each measured week is judged by the latest evaluation at or before its last day.
    whole_days = first_day + math.floor(measured_days + 1e-9)  # a partial last day ends
    week_ends = np.arange(first_day + WEEK - 1, whole_days, WEEK)  # no week
    latest = np.searchsorted(ends, week_ends, side="right") - 1
    latest = latest[latest >= 0]
    week_evaluated = evaluated[:, latest]
    week_flagged = flags[:, latest]
    out["seller_weeks_flagged_share"] = _share(week_flagged.sum(), week_evaluated.sum())

    per_week = measured_orders / max(measured_days / WEEK, 1e-9)
    by_band: dict[str, list[int]] = {}
    for i, band in enumerate(bands):
        high = bands[i + 1].low if i + 1 < len(bands) else math.inf
        members = sellers & (per_week >= band.low) & (per_week < high)
        by_band[band.label] = [int(ever[members].sum()), int(members.sum())]
    return out, by_band


def _share(part: int, whole: int) -> float:
    """part / whole; NaN (undefined) when there is nothing to take a share of."""
    return float(part / whole) if whole else math.nan
