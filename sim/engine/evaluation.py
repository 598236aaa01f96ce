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

from sim.model.policy import Minimum, SellerMetric, Window

WEEK = 7


@dataclass(frozen=True)
class Evaluation:
    """How a platform evaluates its seller metric."""

    window: Window
    cadence: str  # daily, weekly or monthly
    minimum: Minimum
    threshold: float  # NaN: none published
    lag: int = 0  # whole days between the window's end and the evaluation

    @classmethod
    def of(cls, metric: SellerMetric | None) -> Evaluation | None:
        """How a policy's seller metric is evaluated (None: the policy has none)."""
        if metric is None:
            return None
        threshold = math.nan if metric.threshold is None else metric.threshold
        lag = round(metric.lag.amount / 24)
        return cls(metric.window, metric.cadence, metric.minimum, threshold, lag)


Schedule = tuple[tuple[int, "Evaluation | None"], ...]
"""How the platform evaluates, by the day (index from the run's first) from which each
way applies; None while the policy has no seller metric. The first entry is at day 0."""


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


def flags_sellers(rule: Evaluation | Schedule | None) -> bool:
    """A seller metric with a threshold in some version of the rules: only then are
    sellers flagged (and counted by size band)."""
    ways = [rule] if isinstance(rule, Evaluation) else [r for _, r in rule or ()]
    return any(r is not None and not math.isnan(r.threshold) for r in ways)


@dataclass(frozen=True)
class SizeBand:
    """Sellers with at least `low` measured orders a week (and fewer than the next band's)."""

    label: str
    low: float


def evaluate(
    orders: np.ndarray,
    counted: np.ndarray,
    rule: Evaluation | Schedule,
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
    not at midnight); by default every day from `first_day` on is whole. `rule` may be a
    schedule: each day is evaluated the way in force on it (a dated window, cadence,
    threshold or minimum)."""
    schedule: Schedule = ((0, rule),) if isinstance(rule, Evaluation) else rule
    days = orders.shape[1]
    if measured_days is None:
        measured_days = days - first_day
    measured_orders = orders[:, first_day:].sum(axis=1)
    sellers = judged & (measured_orders > 0)
    out: dict[str, float] = {}

    # The raw reading: every day's window, no minimum counts.
    every_day = np.arange(days)
    raw_orders, raw_counted, raw_over = _windows(
        orders, counted, every_day, schedule, first_date, minimum=False
    )
    raw_orders, raw_counted, raw_over = (
        a[:, first_day:] for a in (raw_orders, raw_counted, raw_over)
    )
    active = (raw_orders > 0) & judged[:, None]
    over = active & raw_over
    out["seller_days_over_threshold_share"] = _share(over.sum(), active.sum())
    out["sellers_over_threshold_share"] = _share(over.any(axis=1)[sellers].sum(), sellers.sum())

    # The platform's reading: its evaluation days, window and minimum counts.
    ends = _evaluation_ends(first_date, days, schedule)
    w_orders, _, flags = _windows(orders, counted, ends, schedule, first_date, minimum=True)
    flags = flags & judged[:, None]
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


def _in_force(schedule: Schedule, days: np.ndarray) -> np.ndarray:
    """For each day, the index of the schedule's entry in force on it."""
    return np.searchsorted([d for d, _ in schedule], days, side="right") - 1


def _evaluation_ends(first_date: dt.date, days: int, schedule: Schedule) -> np.ndarray:
    """The days ending with an evaluation, each by the cadence in force on it."""
    version = _in_force(schedule, np.arange(days))
    keep = np.zeros(days, dtype=bool)
    for i, (_, rule) in enumerate(schedule):
        if rule is not None:
            ends = evaluation_days(first_date, days, rule.cadence)
            keep[ends[version[ends] == i]] = True
    return np.flatnonzero(keep)


def _windows(
    orders: np.ndarray,
    counted: np.ndarray,
    ends: np.ndarray,
    schedule: Schedule,
    first_date: dt.date,
    *,
    minimum: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per seller and evaluation day in `ends`: orders and counted events in the window
    behind it, and whether the window is over the threshold (and, with `minimum`, holds
    the minimum counts), each by the way of evaluating in force on that day."""
    shape = (orders.shape[0], len(ends))
    w_orders = np.zeros(shape, dtype=np.int64)
    w_counted = np.zeros(shape, dtype=np.int64)
    over = np.zeros(shape, dtype=bool)
    version = _in_force(schedule, ends)
    for i, (_, rule) in enumerate(schedule):
        mine = np.flatnonzero(version == i)
        if rule is None or math.isnan(rule.threshold) or not len(mine):
            continue  # no metric, or no threshold to judge by: not evaluated
        last = ends[mine] - rule.lag  # the window's last day
        starts = window_starts(first_date, np.maximum(last, 0), rule.window)  # 0 if last < 0
        last = np.maximum(last, -1)  # a window wholly before the run holds nothing
        o = windowed(orders, starts, last)
        c = windowed(counted, starts, last)
        w_orders[:, mine], w_counted[:, mine] = o, c
        floor = rule.minimum if minimum else Minimum()
        over[:, mine] = flagged(o, c, rule.threshold, floor)
    return w_orders, w_counted, over


def _share(part: int, whole: int) -> float:
    """part / whole; NaN (undefined) when there is nothing to take a share of."""
    return float(part / whole) if whole else math.nan
