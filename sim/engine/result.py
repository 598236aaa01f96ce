"""What one run returns: the catalogue's metrics and a few small arrays for plots."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.evaluation import Evaluation, Schedule, SizeBand, evaluate, flags_sellers
from sim.engine.recorder import (
    EDGES,
    FAILED,
    N_BINS,
    OUTCOME_INDEX,
    OUTCOMES,
    InvariantError,
    Recorder,
)
from sim.model.policy import Outcome


@dataclass
class RunResult:
    """Scalar metrics plus histograms and daily counts; never per-order records."""

    policy: str
    replication: int
    metrics: dict[str, float]
    money_back_hist: np.ndarray  # outcome x bin: hours until the money is back
    issued_hist: np.ndarray  # outcome x bin: hours until the platform issues the refund
    method_hist: np.ndarray  # payment method x bin
    methods: tuple[str, ...]
    daily_orders: np.ndarray  # per simulated day, all sellers
    daily_counted: np.ndarray
    seller_rates: np.ndarray  # each seller's rate over the measured period (nan: no orders)
    bands: dict[str, list[int]] = field(default_factory=dict)  # size band: [flagged, sellers]
    # per day, the orders of the sellers the seller metric judges (its denominator)
    daily_judged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    outcome_counts: dict[str, int] = field(default_factory=dict)
    # per day of placement: every order's outcome (day x outcome, in OUTCOMES order), and
    # the measured refunds' count and summed hours to money back
    daily_outcomes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    daily_refunds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    daily_money_back: np.ndarray = field(default_factory=lambda: np.zeros(0))
    events: int = 0
    wall_seconds: float = 0.0
    point: int = 0  # index of the sweep point the run belongs to

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (histograms sparse); `from_dict` restores it exactly."""
        return {
            "policy": self.policy,
            "replication": self.replication,
            "point": self.point,
            "metrics": {k: _json_float(v) for k, v in self.metrics.items()},
            "money_back_hist": _sparse(self.money_back_hist),
            "issued_hist": _sparse(self.issued_hist),
            "method_hist": _sparse(self.method_hist),
            "methods": list(self.methods),
            "daily_orders": self.daily_orders.tolist(),
            "daily_counted": self.daily_counted.tolist(),
            "daily_judged": self.daily_judged.tolist(),
            "seller_rates": [_json_float(x) for x in self.seller_rates.tolist()],
            "bands": self.bands,
            "outcome_counts": self.outcome_counts,
            "daily_outcomes": self.daily_outcomes.tolist(),
            "daily_refunds": self.daily_refunds.tolist(),
            "daily_money_back": self.daily_money_back.tolist(),
            "events": self.events,
            "wall_seconds": self.wall_seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            policy=data["policy"],
            replication=data["replication"],
            point=data["point"],
            metrics={k: math.nan if v is None else v for k, v in data["metrics"].items()},
            money_back_hist=_dense(data["money_back_hist"]),
            issued_hist=_dense(data["issued_hist"]),
            method_hist=_dense(data["method_hist"]),
            methods=tuple(data["methods"]),
            daily_orders=np.array(data["daily_orders"], dtype=np.int64),
            daily_counted=np.array(data["daily_counted"], dtype=np.int64),
            daily_judged=np.array(data["daily_judged"], dtype=np.int64),
            seller_rates=np.array([math.nan if x is None else x for x in data["seller_rates"]]),
            bands=data["bands"],
            outcome_counts=data["outcome_counts"],
            # (a results folder written before these were recorded has none: the report
            # then leaves out its daily and before/after figures)
            daily_outcomes=np.array(data.get("daily_outcomes", []), dtype=np.int64).reshape(
                len(data.get("daily_outcomes", [])), len(OUTCOMES)
            ),
            daily_refunds=np.array(data.get("daily_refunds", []), dtype=np.int64),
            daily_money_back=np.array(data.get("daily_money_back", []), dtype=float),
            events=data["events"],
            wall_seconds=data["wall_seconds"],
        )

    def check(self) -> None:
        """Raise `InvariantError` unless the run keeps, in what it returns, the invariants
        of every run (a stored run is read back as untrusted input): `Recorder.check` on
        its counts, the metrics' bounds (`check_bounds`), the counts that must agree, and
        every metric that its counts and histograms decide equal to what they give."""
        check_bounds(self.metrics)
        counts = np.array([self.outcome_counts[o.value] for o in OUTCOMES], dtype=np.int64)
        back, issued = self.money_back_hist, self.issued_hist
        refunds = back.sum(axis=1)
        if len(self.daily_outcomes):  # (none in a results folder from before they were kept)
            _recorder_check(self)
            if np.any(counts > self.daily_outcomes.sum(axis=0)):
                raise InvariantError("more measured orders of an outcome than orders of it")
            if not np.array_equal(self.daily_outcomes.sum(axis=1), self.daily_orders):
                raise InvariantError("the daily outcome counts do not add up to the daily orders")
            if np.any((self.daily_refunds == 0) & (self.daily_money_back != 0)):
                raise InvariantError("hours to money back on a day without refunds")
        if np.any(self.daily_counted > self.daily_orders):
            raise InvariantError("more orders counted against sellers on a day than placed")
        if np.any(self.daily_judged > self.daily_orders):
            raise InvariantError("more orders judged on a day than placed")
        if not np.array_equal(refunds, issued.sum(axis=1)):
            raise InvariantError("the refunds issued and the money back differ in number")
        if not np.array_equal(back.sum(axis=0), self.method_hist.sum(axis=0)):
            raise InvariantError("the refunds by payment method do not add up to the refunds")
        if np.any(refunds > counts) or any(refunds[OUTCOME_INDEX[o]] for o in _KEPT):
            raise InvariantError("more refunds of an outcome than measured orders of it")
        derived = {
            "orders": float(counts.sum()),
            **refund_time_metrics(issued.sum(axis=0), back.sum(axis=0)),
            **outcome_metrics(counts, int(counts.sum())),
        }
        for name, value in derived.items():
            stored = self.metrics[name]
            if stored != value and not (math.isnan(stored) and math.isnan(value)):
                raise InvariantError(
                    f"metric {name} = {float(stored)!r}, but the run's counts give {float(value)!r}"
                )
        total = int(refunds.sum())
        for name, hist in (("refund_issued_hours_mean", issued), ("money_back_hours_mean", back)):
            _check_mean(name, self.metrics[name], hist.sum(axis=0), total)
        if total and len(self.daily_money_back):
            mean = float(self.daily_money_back.sum()) / total
            if not math.isclose(mean, self.metrics["money_back_hours_mean"], rel_tol=1e-9):
                raise InvariantError("money_back_hours_mean is not the mean of the daily hours")
        rates = self.seller_rates[~np.isnan(self.seller_rates)]
        if np.any(rates < 0) or np.any(rates > 1):
            raise InvariantError("a seller's rate is out of [0, 1]")
        if any(not 0 <= flagged <= sellers for flagged, sellers in self.bands.values()):
            raise InvariantError("more sellers flagged in a size band than it holds")


def _json_float(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _sparse(hist: np.ndarray) -> dict[str, Any]:
    rows, cols = np.nonzero(hist)
    return {
        "shape": list(hist.shape),
        "at": [rows.tolist(), cols.tolist()],
        "counts": hist[rows, cols].tolist(),
    }


def _dense(data: dict[str, Any]) -> np.ndarray:
    hist = np.zeros(tuple(data["shape"]), dtype=np.int64)
    rows, cols = data["at"]
    hist[rows, cols] = data["counts"]
    return hist


# Outcomes that never refund (Recorder.REFUNDING is the rest).
_KEPT = (Outcome.SHIPPED, Outcome.KEPT_AFTER_FAILED_CANCEL, Outcome.OPEN)


def _recorder_check(result: RunResult) -> None:
    """`Recorder.check` on what a run keeps of its recorder: the orders placed (the daily
    orders), the outcomes of all of them (the daily outcomes) and the refunds. Money in
    cents is not kept: its conservation was checked when the run ended."""
    shell = Recorder.__new__(Recorder)  # no arrays allocated: only check's fields are set
    shell.placed = int(result.daily_orders.sum())
    shell.outcomes_all = result.daily_outcomes.sum(axis=0)
    shell.paid_cents = shell.kept_cents = shell.refunded_cents = 0
    shell.in_flight_cents = shell.open_cents = 0
    shell.money_back_hist = result.money_back_hist
    shell.daily_outcomes = result.daily_outcomes
    shell.daily_refunds = result.daily_refunds
    shell.check()


def _check_mean(name: str, mean: float, hist: np.ndarray, refunds: int) -> None:
    """A mean refund time: undefined without refunds, else between the edges of the
    lowest and the highest histogram bin that hold refunds."""
    if not refunds:
        if not math.isnan(mean):
            raise InvariantError(f"metric {name} = {mean!r}, but the run has no refunds")
        return
    filled = np.flatnonzero(hist)
    low = 0.0 if filled[0] == 0 else float(EDGES[filled[0] - 1])
    high = math.inf if filled[-1] >= len(EDGES) else float(EDGES[filled[-1]])
    if math.isnan(mean) or not low * (1 - 1e-9) <= mean <= high * (1 + 1e-9):
        raise InvariantError(
            f"metric {name} = {mean!r}, outside the refund times of its histogram "
            f"({low:.6g} to {high:.6g} h)"
        )


class StoredRunError(ValueError):
    """A stored run that is not what `RunResult.to_dict` writes (says where, and what)."""


# What to_dict writes; the daily outcomes and refunds are missing from results folders
# written before they were kept (`legacy`).
FIELDS = (
    "policy",
    "replication",
    "point",
    "metrics",
    "money_back_hist",
    "issued_hist",
    "method_hist",
    "methods",
    "daily_orders",
    "daily_counted",
    "daily_judged",
    "seller_rates",
    "bands",
    "outcome_counts",
    "daily_outcomes",
    "daily_refunds",
    "daily_money_back",
    "events",
    "wall_seconds",
)
LATER_FIELDS = ("daily_outcomes", "daily_refunds", "daily_money_back")
MAX_COUNT = 2**40  # any count of a run (orders, refunds, events) is below this
MAX_DAYS = 100_000
MAX_METHODS = 1_000
MAX_SELLERS = 10_000_000


def result_from_stored(data: Any, *, legacy: bool = False) -> RunResult:
    """A run read back from its JSON form (`to_dict`), only if it is exactly what a run
    returns: the form and types `to_dict` writes, then `RunResult.check`. Raises
    `StoredRunError` or `InvariantError`, one line each. `legacy`: the daily outcomes and
    refunds may be missing, all three (a results folder from before they were kept)."""
    _check_form(data, legacy)
    result = RunResult.from_dict(data)
    result.check()
    return result


def _check_form(data: Any, legacy: bool) -> None:
    record = _mapping(data, "result")
    missing = [k for k in FIELDS if k not in record]
    if legacy and missing == list(LATER_FIELDS):
        missing = []
    if missing:
        raise StoredRunError(f"result.{missing[0]}: a required key is missing")
    unknown = [k for k in record if k not in FIELDS]
    if unknown:
        raise StoredRunError(f"result.{_shown(unknown[0])}: not a key of a stored run")
    if not isinstance(record["policy"], str) or not record["policy"]:
        raise StoredRunError("result.policy: expected a policy key (text)")
    for name in ("replication", "point", "events"):
        _integer(record[name], f"result.{name}")
    _number(record["wall_seconds"], "result.wall_seconds")
    from sim.metrics import NAMES

    metrics = _mapping(record["metrics"], "result.metrics")
    for name in NAMES:
        if name not in metrics:
            raise StoredRunError(f"result.metrics.{name}: a required key is missing")
        if metrics[name] is not None:
            _number(metrics[name], f"result.metrics.{name}", low=-math.inf)
    for name in metrics:
        if name not in NAMES:
            raise StoredRunError(f"result.metrics.{_shown(name)}: not a metric")
    methods = record["methods"]
    if (
        not isinstance(methods, list)
        or not 0 < len(methods) <= MAX_METHODS
        or not all(isinstance(m, str) for m in methods)
        or len(set(methods)) != len(methods)
    ):
        raise StoredRunError("result.methods: expected a list of distinct payment methods")
    for name, rows in (
        ("money_back_hist", len(OUTCOMES)),
        ("issued_hist", len(OUTCOMES)),
        ("method_hist", len(methods)),
    ):
        _check_sparse(record[name], f"result.{name}", (rows, N_BINS))
    days = _integers(record["daily_orders"], "result.daily_orders", MAX_DAYS)
    if not days:
        raise StoredRunError("result.daily_orders: expected one count per day, not none")
    for name in ("daily_counted", "daily_judged"):
        _integers(record[name], f"result.{name}", MAX_DAYS, len(days))
    if "daily_outcomes" in record:
        rows = record["daily_outcomes"]
        if not isinstance(rows, list) or len(rows) != len(days):
            raise StoredRunError(f"result.daily_outcomes: expected {len(days)} days")
        for i, row in enumerate(rows):
            _integers(row, f"result.daily_outcomes[{i}]", len(OUTCOMES), len(OUTCOMES))
        _integers(record["daily_refunds"], "result.daily_refunds", MAX_DAYS, len(days))
        hours = record["daily_money_back"]
        if not isinstance(hours, list) or len(hours) != len(days):
            raise StoredRunError(f"result.daily_money_back: expected {len(days)} days")
        _numbers(hours, "result.daily_money_back")
    rates = record["seller_rates"]
    if not isinstance(rates, list) or len(rates) > MAX_SELLERS:
        raise StoredRunError("result.seller_rates: expected a list of rates")
    _numbers(rates, "result.seller_rates", undefined=True)
    for label, band in _mapping(record["bands"], "result.bands").items():
        _integers(band, f"result.bands.{_shown(label)}", 2, 2)
    counts = _mapping(record["outcome_counts"], "result.outcome_counts")
    if list(counts) != [o.value for o in OUTCOMES]:
        raise StoredRunError("result.outcome_counts: expected a count of every outcome, in order")
    for name, count in counts.items():
        _integer(count, f"result.outcome_counts.{name}")


def _check_sparse(data: Any, where: str, shape: tuple[int, int]) -> None:
    """A histogram as `_sparse` writes it: its shape, and the non-zero counts in
    row-major order, each once."""
    hist = _mapping(data, where)
    if list(hist) != ["shape", "at", "counts"]:
        raise StoredRunError(f"{where}: expected shape, at and counts")
    if hist["shape"] != list(shape):
        raise StoredRunError(f"{where}.shape: expected {list(shape)}")
    at = hist["at"]
    if not isinstance(at, list) or len(at) != 2:
        raise StoredRunError(f"{where}.at: expected [rows, columns]")
    size = shape[0] * shape[1]
    counts = _integers(hist["counts"], f"{where}.counts", size)
    rows = _integers(at[0], f"{where}.at[0]", size, len(counts))
    cols = _integers(at[1], f"{where}.at[1]", size, len(counts))
    cells = [r * shape[1] + c for r, c in zip(rows, cols, strict=True)]
    if (
        any(r >= shape[0] for r in rows)
        or any(c >= shape[1] for c in cols)
        or any(b <= a for a, b in zip(cells, cells[1:], strict=False))
        or 0 in counts
    ):
        raise StoredRunError(f"{where}: expected non-zero counts inside the shape, in order")


def _mapping(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise StoredRunError(f"{where}: expected a mapping, not {_kind(data)}")
    return data


def _integer(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value < MAX_COUNT:
        raise StoredRunError(f"{where}: {_shown(value)} is not a count (a whole number >= 0)")
    return value


def _integers(values: Any, where: str, most: int, length: int | None = None) -> list[int]:
    if not isinstance(values, list) or len(values) > most:
        raise StoredRunError(f"{where}: expected a list of at most {most:,} counts")
    if length is not None and len(values) != length:
        raise StoredRunError(f"{where}: expected {length:,} entries, not {len(values):,}")
    if values and (
        not set(map(type, values)) <= {int} or min(values) < 0 or max(values) >= MAX_COUNT
    ):
        bad = next(v for v in values if type(v) is not int or not 0 <= v < MAX_COUNT)
        raise StoredRunError(f"{where}: {_shown(bad)} is not a count (a whole number >= 0)")
    return values


def _number(value: Any, where: str, low: float = 0.0) -> float:
    if type(value) not in (int, float) or not low <= value < math.inf:
        raise StoredRunError(f"{where}: {_shown(value)} is not a number >= {low}")
    return float(value)


def _numbers(values: list[Any], where: str, undefined: bool = False) -> None:
    """Every entry a number >= 0 (or null: undefined, if `undefined`); checked at once,
    the first bad entry named."""
    defined = [v for v in values if v is not None] if undefined else values
    if defined and (
        not set(map(type, defined)) <= {int, float} or min(defined) < 0 or max(defined) >= math.inf
    ):
        for i, value in enumerate(values):
            if value is not None or not undefined:
                _number(value, f"{where}[{i}]")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def quantile_from_hist(hist: np.ndarray, q: float) -> float:
    """A quantile of refund hours from the log-spaced histogram (exact zeros in bin 0)."""
    total = int(hist.sum())
    if total == 0:
        return math.nan
    target = q * total
    cumulative = np.cumsum(hist)
    b = int(np.searchsorted(cumulative, target, side="left"))
    if b == 0:
        return 0.0
    below = cumulative[b - 1]
    fraction = (target - below) / hist[b] if hist[b] else 0.0
    lo = EDGES[b - 1]
    hi = EDGES[b] if b < len(EDGES) else EDGES[-1]
    if lo <= 0:
        return float(hi * fraction)
    return float(lo * (hi / lo) ** fraction)


def metrics_of(
    rec: Recorder,
    rule: Evaluation | Schedule | None,
    first_date: dt.date,
    first_day: int,
    judged: np.ndarray,
    bands: tuple[SizeBand, ...] = (),
    measured_days: float | None = None,
) -> tuple[dict[str, float], np.ndarray, dict[str, list[int]]]:
    """The catalogue's values for one run, each seller's rate over the measured period,
    and per size band [sellers flagged, sellers]. `rule` is None for a policy without a
    seller metric; its threshold NaN when the metric has none."""
    n = max(rec.measured, 1)
    back = rec.money_back_hist.sum(axis=0)
    issued = rec.issued_hist.sum(axis=0)
    refunds = int(back.sum())
    times = refund_time_metrics(issued, back)
    share = outcome_metrics(rec.outcomes, rec.measured)
    m: dict[str, float] = {
        "orders": float(rec.measured),
        "refund_issued_hours_p50": times["refund_issued_hours_p50"],
        "refund_issued_hours_p90": times["refund_issued_hours_p90"],
        "refund_issued_hours_p99": times["refund_issued_hours_p99"],
        "refund_issued_hours_mean": rec.issued_sum / refunds if refunds else math.nan,
        "money_back_hours_p50": times["money_back_hours_p50"],
        "money_back_hours_p90": times["money_back_hours_p90"],
        "money_back_hours_p99": times["money_back_hours_p99"],
        "money_back_hours_mean": rec.money_back_sum / refunds if refunds else math.nan,
        "cancel_intent_share": rec.intents / n,
        "self_cancel_share": share["self_cancel_share"],
        "instant_refund_share": share["instant_refund_share"],
        "request_cancel_share": share["request_cancel_share"],
        "auto_approved_share": share["auto_approved_share"],
        "seller_cancel_share": share["seller_cancel_share"],
        "auto_cancel_share": share["auto_cancel_share"],
        "seller_fault_cancel_share": rec.seller_fault / n,
        "failed_cancel_share": share["failed_cancel_share"],
        "open_share": share["open_share"],
        "late_ship_share": rec.late / rec.shipped if rec.shipped else math.nan,
        "compensation_paid": rec.compensation / n,
        "buyer_money_hours_held": rec.money_hours / n,
    }
    rates, by_band = _seller_metrics(
        rec, m, rule, first_date, first_day, judged, bands, measured_days
    )
    check_bounds(m)
    return m, rates, by_band


def outcome_metrics(outcomes: np.ndarray, measured: int) -> dict[str, float]:
    """The shares of measured orders by outcome (`outcomes`: measured orders per outcome,
    in OUTCOMES order). A run computes them so; a stored run is checked against them."""
    n = max(measured, 1)
    share = {o: outcomes[OUTCOME_INDEX[o]] / n for o in OUTCOMES}
    return {
        "self_cancel_share": share[Outcome.SELF_CANCELLED],
        "instant_refund_share": share[Outcome.INSTANT_REFUNDED],
        "request_cancel_share": share[Outcome.REQUEST_CANCELLED]
        + share[Outcome.REQUEST_AUTO_APPROVED],
        "auto_approved_share": share[Outcome.REQUEST_AUTO_APPROVED],
        "seller_cancel_share": share[Outcome.SELLER_CANCELLED],
        "auto_cancel_share": share[Outcome.AUTO_CANCELLED],
        "failed_cancel_share": sum(share[o] for o in FAILED),
        "open_share": share[Outcome.OPEN],
    }


def refund_time_metrics(issued: np.ndarray, back: np.ndarray) -> dict[str, float]:
    """The percentiles of refund time on both clocks, from the histograms over outcomes."""
    return {
        f"{name}_hours_p{p}": quantile_from_hist(hist, q)
        for name, hist in (("refund_issued", issued), ("money_back", back))
        for p, q in ((50, 0.5), (90, 0.9), (99, 0.99))
    }


def check_bounds(metrics: dict[str, float]) -> None:
    """Shares lie in [0, 1], times, amounts and counts are not negative (NaN: undefined)."""
    from sim.metrics import BY_NAME

    for name, value in metrics.items():
        if math.isnan(value):
            continue
        share = BY_NAME[name].unit == "share"
        if value < 0 or (share and value > 1 + 1e-12) or math.isinf(value):
            raise InvariantError(f"metric {name} = {value!r} is out of its bounds")


PLATFORM_METRICS = (
    "platform_metric_rate",
    "sellers_over_threshold_share",
    "seller_days_over_threshold_share",
    "sellers_flagged_share",
    "seller_weeks_flagged_share",
)


def _seller_metrics(
    rec: Recorder,
    m: dict[str, float],
    rule: Evaluation | Schedule | None,
    first_date: dt.date,
    first_day: int,
    judged: np.ndarray,
    bands: tuple[SizeBand, ...],
    measured_days: float | None = None,
) -> tuple[np.ndarray, dict[str, list[int]]]:
    orders = rec.seller_orders.astype(np.int64)
    hits = rec.seller_counted.astype(np.int64)
    measured_orders = np.where(judged[:, None], orders[:, first_day:], 0)
    measured_hits = hits[:, first_day:]
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(judged, measured_hits.sum(1) / measured_orders.sum(1), math.nan)
    m.update(dict.fromkeys(PLATFORM_METRICS, math.nan))
    ways = [rule] if isinstance(rule, Evaluation) else [r for _, r in rule or ()]
    if all(r is None for r in ways):
        return np.full(len(orders), math.nan), {}
    total = measured_orders.sum()
    m["platform_metric_rate"] = float(measured_hits.sum() / total) if total else math.nan
    if not flags_sellers(rule):
        return rates, {}
    assert rule is not None
    flags, by_band = evaluate(
        orders, hits, rule, first_date, first_day, judged, bands, measured_days
    )
    m.update(flags)
    return rates, by_band
