"""What one run returns: the catalogue's metrics and a few small arrays for plots."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.evaluation import Evaluation, Schedule, SizeBand, evaluate
from sim.engine.recorder import EDGES, FAILED, OUTCOME_INDEX, OUTCOMES, InvariantError, Recorder
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
    share = {o: rec.outcomes[OUTCOME_INDEX[o]] / n for o in OUTCOMES}
    back = rec.money_back_hist.sum(axis=0)
    issued = rec.issued_hist.sum(axis=0)
    refunds = int(back.sum())
    m: dict[str, float] = {
        "orders": float(rec.measured),
        "refund_issued_hours_p50": quantile_from_hist(issued, 0.5),
        "refund_issued_hours_p90": quantile_from_hist(issued, 0.9),
        "refund_issued_hours_p99": quantile_from_hist(issued, 0.99),
        "refund_issued_hours_mean": rec.issued_sum / refunds if refunds else math.nan,
        "money_back_hours_p50": quantile_from_hist(back, 0.5),
        "money_back_hours_p90": quantile_from_hist(back, 0.9),
        "money_back_hours_p99": quantile_from_hist(back, 0.99),
        "money_back_hours_mean": rec.money_back_sum / refunds if refunds else math.nan,
        "cancel_intent_share": rec.intents / n,
        "self_cancel_share": share[Outcome.SELF_CANCELLED],
        "instant_refund_share": share[Outcome.INSTANT_REFUNDED],
        "request_cancel_share": share[Outcome.REQUEST_CANCELLED]
        + share[Outcome.REQUEST_AUTO_APPROVED],
        "auto_approved_share": share[Outcome.REQUEST_AUTO_APPROVED],
        "seller_cancel_share": share[Outcome.SELLER_CANCELLED],
        "auto_cancel_share": share[Outcome.AUTO_CANCELLED],
        "seller_fault_cancel_share": rec.seller_fault / n,
        "failed_cancel_share": sum(share[o] for o in FAILED),
        "open_share": share[Outcome.OPEN],
        "late_ship_share": rec.late / rec.shipped if rec.shipped else math.nan,
        "compensation_paid": rec.compensation / n,
        "buyer_money_hours_held": rec.money_hours / n,
    }
    rates, by_band = _seller_metrics(
        rec, m, rule, first_date, first_day, judged, bands, measured_days
    )
    check_bounds(m)
    return m, rates, by_band


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
    if all(r is None or math.isnan(r.threshold) for r in ways):
        return rates, {}
    assert rule is not None
    flags, by_band = evaluate(
        orders, hits, rule, first_date, first_day, judged, bands, measured_days
    )
    m.update(flags)
    return rates, by_band
