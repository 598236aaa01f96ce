"""From run results to the summary (mean and 95% CI of every metric, paired comparisons)
and the run table. Same inputs and seed: same bytes, whatever the executor."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sim.engine.result import RunResult
from sim.experiment.compare import differing, paired, pairs
from sim.experiment.plan import Point
from sim.experiment.stats import flat_around, mean_ci
from sim.metrics import BOUNDS, NAMES
from sim.model.load import Study

# The quantile metrics, with the histogram each is read from.
QUANTILES = [
    (f"{prefix}_hours_p{p}", clock, p / 100)
    for prefix, clock in (("refund_issued", "issued_hist"), ("money_back", "money_back_hist"))
    for p in (50, 90)  # a 99th percentile has no 2% of refunds above it to look at
]


def summarize(
    studies: list[Study],
    points: list[Point],
    results: list[RunResult],
    replications: int,
    seed: int,
    failures: Sequence[Any] = (),
) -> dict[str, Any]:
    """The summary; with a sweep, one entry per point under `points`."""
    head: dict[str, Any] = {
        "scenario": studies[0].scenario.name,
        "seed": seed,
        "replications": replications,
    }
    blocks = [
        _point_block(study, [r for r in results if r.point == point.index])
        for study, point in zip(studies, points, strict=True)
    ]
    if points[0].values:
        head["sweep"] = {"keys": [key for key, _, _ in points[0].values]}
        head["points"] = [{"point": p.label, **b} for p, b in zip(points, blocks, strict=True)]
    else:
        head.update(blocks[0])
    if failures:
        head["failed_runs"] = sorted(f.describe() for f in failures)
    return head


def _point_block(study: Study, runs: list[RunResult]) -> dict[str, Any]:
    policies: dict[str, Any] = {}
    for key, policy in study.policies.items():
        mine = sorted((r for r in runs if r.policy == key), key=lambda r: r.replication)
        metrics = {}
        for name in NAMES:
            mean, ci = mean_ci([r.metrics[name] for r in mine], bounds=BOUNDS[name])
            metrics[name] = {"mean": _clean(mean), "ci95": _clean_ci(ci)}
        for name, clock, q in QUANTILES:
            hist = sum(getattr(r, clock).sum(axis=0) for r in mine)
            span = flat_around(hist, q) if mine else None
            if span is not None:
                metrics[name]["flat"] = [round(span[0], 6), round(span[1], 6)]
        policies[key] = {"name": policy.name, "platform": policy.platform, "metrics": metrics}
        if any(r.bands for r in mine):
            policies[key]["bands"] = _bands(mine)
    comparisons = {
        f"{other}-vs-{reference}": paired(
            runs, other, reference, differing(study.policies, other, reference)
        )
        for other, reference in pairs(list(study.policies), study.scenario.baseline)
    }
    return {"policies": policies, "comparisons": comparisons}


def _bands(runs: list[RunResult]) -> dict[str, Any]:
    """Per seller-size band: sellers in it (mean over replications) and the share of them
    flagged, with its interval (within [0, 1])."""
    out = {}
    for label in runs[0].bands:
        counts = [r.bands[label] for r in runs]
        shares = [f / n if n else math.nan for f, n in counts]
        mean, ci = mean_ci(shares, bounds=(0.0, 1.0))
        out[label] = {
            "sellers": sum(n for _, n in counts) / len(counts),
            "flagged_share": {"mean": _clean(mean), "ci95": _clean_ci(ci)},
        }
    return out


def run_rows(results: list[RunResult], points: Sequence[Point] = ()) -> list[dict[str, Any]]:
    """One row per sweep point, policy and replication; metrics in catalogue order."""
    labels = {p.index: p.label for p in points}
    rows = []
    for r in sorted(results, key=lambda r: (r.point, r.replication, r.policy)):
        rows.append(
            {
                **labels.get(r.point, {}),
                "policy": r.policy,
                "replication": r.replication,
                **{name: r.metrics[name] for name in NAMES},
            }
        )
    return rows


def _clean(x: float | None) -> float | None:
    """JSON has no NaN: an undefined value is null."""
    return None if x is None or math.isnan(x) else float(x)


def _clean_ci(ci: list[float] | None) -> list[float | None] | None:
    return [_clean(x) for x in ci] if ci else None
