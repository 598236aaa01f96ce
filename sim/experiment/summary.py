"""From run results to the summary (mean and 95% CI of every metric) and the run table."""

from __future__ import annotations

import math
from typing import Any

from sim.engine.result import RunResult
from sim.experiment.stats import mean_ci
from sim.metrics import NAMES
from sim.model.load import Study


def summarize(study: Study, results: list[RunResult], replications: int, seed: int) -> dict:
    """The deterministic summary: same inputs and seed, same content."""
    policies: dict[str, Any] = {}
    for key, policy in study.policies.items():
        runs = sorted((r for r in results if r.policy == key), key=lambda r: r.replication)
        metrics = {}
        for name in NAMES:
            mean, ci = mean_ci([r.metrics[name] for r in runs])
            metrics[name] = {"mean": _clean(mean), "ci95": [_clean(x) for x in ci] if ci else None}
        policies[key] = {"name": policy.name, "platform": policy.platform, "metrics": metrics}
    return {
        "scenario": study.scenario.name,
        "seed": seed,
        "replications": replications,
        "policies": policies,
    }


def run_rows(results: list[RunResult]) -> list[dict[str, Any]]:
    """One row per policy and replication, metrics in catalogue order."""
    rows = []
    for r in sorted(results, key=lambda r: (r.replication, r.policy)):
        rows.append(
            {
                "policy": r.policy,
                "replication": r.replication,
                **{name: r.metrics[name] for name in NAMES},
            }
        )
    return rows


def _clean(x: float) -> float | None:
    """JSON has no NaN: an undefined value is null."""
    return None if x is None or math.isnan(x) else float(x)
