"""A seller's own view: what its platform metric would be, and which of its levers move it.

A scenario with a single seller (one calibrated from that seller's own orders) is a
seller's own view of the market. Besides the usual results it gets, per policy, the
seller's projected platform metric, the probability of standing flagged in a given week,
and the paired change of both when the seller pulls one lever at a time. Each lever is
played under the same common random numbers (seed and replications) as the scenario
itself, so a change is the lever's, not noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sim.experiment.stats import mean_ci
from sim.model.load import Study
from sim.model.policy import Cause
from sim.model.scenario import Scenario, SellerType
from sim.model.units import Duration

VIEW_METRICS = ("platform_metric_rate", "seller_weeks_flagged_share")
"""The seller's projected metric, and its chance of standing flagged in a given week."""


@dataclass(frozen=True)
class Lever:
    key: str
    label: str
    change: Callable[[SellerType], SellerType]


def _scaled(dist: Any, factor: float) -> Any:
    """A clock-time distribution with every time in it multiplied by `factor`."""
    update: dict[str, Any] = {}
    for name, value in dist.__dict__.items():
        if isinstance(value, Duration):
            update[name] = Duration(value.amount * factor, value.business_days)
        elif isinstance(value, list) and value and all(isinstance(v, Duration) for v in value):
            update[name] = [Duration(v.amount * factor, v.business_days) for v in value]
    return dist.model_copy(update=update)


def _fewer_stockouts(kind: SellerType) -> SellerType:
    cancels = dict(kind.cancels)
    if Cause.OUT_OF_STOCK in cancels:
        cancels[Cause.OUT_OF_STOCK] = cancels[Cause.OUT_OF_STOCK] / 2
    return kind.model_copy(update={"cancels": cancels})


LEVERS = (
    Lever(
        "answer_faster",
        "answer requests twice as fast",
        lambda k: k.model_copy(update={"response_time": _scaled(k.response_time, 0.5)}),
    ),
    Lever(
        "pack_faster",
        "pack in half the time",
        lambda k: k.model_copy(update={"pack_time": _scaled(k.pack_time, 0.5)}),
    ),
    Lever("fewer_stockouts", "halve out-of-stock cancels", _fewer_stockouts),
)


def is_seller_view(study: Study) -> bool:
    """A one-seller market is that seller's own view."""
    return study.scenario.sellers.count == 1 and not study.scenario.sweep


def with_lever(study: Study, lever: Lever) -> Study:
    """The study with every seller type pulling the lever."""
    scenario: Scenario = study.scenario
    types = {name: lever.change(kind) for name, kind in scenario.sellers.types.items()}
    sellers = scenario.sellers.model_copy(update={"types": types})
    return replace(study, scenario=scenario.model_copy(update={"sellers": sellers}))


def _values(runs: list[Any], policy: str, metric: str) -> dict[int, float]:
    return {r.replication: r.metrics.get(metric, math.nan) for r in runs if r.policy == policy}


def _interval(values: list[float]) -> dict[str, Any]:
    mean, ci = mean_ci(values)
    return {"mean": None if math.isnan(mean) else mean, "ci95": ci}


def view(study: Study, base_runs: list[Any], lever_runs: dict[str, list[Any]]) -> dict[str, Any]:
    """The seller's view per policy: projected metrics and each lever's paired change."""
    policies: dict[str, Any] = {}
    for policy in study.policies:
        entry: dict[str, Any] = {}
        for metric in VIEW_METRICS:
            entry[metric] = _interval(list(_values(base_runs, policy, metric).values()))
        levers: dict[str, Any] = {}
        for lever in (lever for lever in LEVERS if lever.key in lever_runs):
            changes: dict[str, Any] = {"label": lever.label}
            for metric in VIEW_METRICS:
                base = _values(base_runs, policy, metric)
                pulled = _values(lever_runs[lever.key], policy, metric)
                paired = [pulled[r] - base[r] for r in sorted(base) if r in pulled]
                changes[metric] = _interval(paired)
            levers[lever.key] = changes
        entry["levers"] = levers
        entry["moves_most"] = _strongest(levers)
        policies[policy] = entry
    return {"metrics": list(VIEW_METRICS), "policies": policies}


def _strongest(levers: dict[str, Any]) -> str | None:
    """The lever that lowers the platform metric most, if any lowers it significantly."""
    best, best_change = None, 0.0
    for key, changes in levers.items():
        change = changes["platform_metric_rate"]
        ci = change["ci95"]
        if change["mean"] is None or ci is None or ci[1] >= 0:
            continue  # no significant decrease
        if change["mean"] < best_change:
            best, best_change = key, change["mean"]
    return best
