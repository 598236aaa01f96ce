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
    policies = {
        key: policy_entry(policy.name, policy.platform, [r for r in runs if r.policy == key])
        for key, policy in study.policies.items()
    }
    comparisons = {
        f"{other}-vs-{reference}": paired(
            runs, other, reference, differing(study.policies, other, reference)
        )
        for other, reference in pairs(list(study.policies), study.scenario.baseline)
    }
    return {"policies": policies, "comparisons": comparisons}


def policy_entry(name: str, platform: str, runs: list[RunResult]) -> dict[str, Any]:
    """One policy's entry of the summary from its runs: every metric's mean and interval,
    where a median or 90th percentile is flat, and the size bands' flagged shares."""
    mine = sorted(runs, key=lambda r: r.replication)
    metrics = {}
    for metric in NAMES:
        mean, ci = mean_ci([r.metrics[metric] for r in mine], bounds=BOUNDS[metric])
        metrics[metric] = {"mean": _clean(mean), "ci95": _clean_ci(ci)}
    for metric, clock, q in QUANTILES:
        hist = sum(getattr(r, clock).sum(axis=0) for r in mine)
        span = flat_around(hist, q) if mine else None
        if span is not None:
            metrics[metric]["flat"] = [round(span[0], 6), round(span[1], 6)]
    entry = {"name": name, "platform": platform, "metrics": metrics}
    if any(r.bands for r in mine):
        entry["bands"] = _bands(mine)
    return entry


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


# ----------------------------------------------------------------- a stored summary
def check_summary(summary: Any, runs: list[RunResult]) -> None:
    """Raise `ValueError` ("where: what", one line) unless `summary` (summary.json read
    back) holds what `summarize` makes of `runs` (the runs of its manifest): every
    policy's entry and every paired comparison, at every sweep point, are recomputed from
    them and must be equal. The rest (the seller's view, input bands) is checked for
    its form only."""
    if not isinstance(summary, dict):
        raise ValueError("expected a mapping")
    if not isinstance(summary.get("scenario"), str):
        raise ValueError("scenario: expected the scenario's name")
    for key in ("seed", "replications"):
        if type(summary.get(key)) is not int or summary[key] < (key == "replications"):
            raise ValueError(f"{key}: expected a whole number")
    if any(r.replication >= summary["replications"] for r in runs):
        raise ValueError("replications: fewer than the stored runs have")
    failed = summary.get("failed_runs", [])
    if not isinstance(failed, list) or not all(isinstance(f, str) for f in failed):
        raise ValueError("failed_runs: expected a list of failures")
    for key in ("seller_view", "uncertainty"):
        if key in summary and not isinstance(summary[key], dict):
            raise ValueError(f"{key}: expected a mapping")
    if "points" not in summary and "sweep" not in summary:
        if any(r.point for r in runs):
            raise ValueError("points: the stored runs are of several sweep points")
        _check_block(summary, runs, "")
        return
    sweep, points = summary.get("sweep"), summary.get("points")
    if (
        not isinstance(sweep, dict)
        or not isinstance(sweep.get("keys"), list)
        or not all(isinstance(k, str) for k in sweep["keys"])
    ):
        raise ValueError("sweep.keys: expected the swept keys")
    if not isinstance(points, list) or not points:
        raise ValueError("points: expected one entry per sweep point")
    if any(r.point >= len(points) for r in runs):
        raise ValueError("points: fewer than the stored runs have")
    for index, block in enumerate(points):
        where = f"points[{index}]"
        if not isinstance(block, dict):
            raise ValueError(f"{where}: expected a mapping")
        label = block.get("point")
        if not isinstance(label, dict) or not all(isinstance(v, str) for v in label.values()):
            raise ValueError(f"{where}.point: expected the point's values")
        if list(label) != sweep["keys"]:
            raise ValueError(f"{where}.point: expected a value of each swept key")
        _check_block(block, [r for r in runs if r.point == index], f"{where}.")


def _check_block(block: dict[str, Any], runs: list[RunResult], where: str) -> None:
    policies = block.get("policies")
    if not isinstance(policies, dict) or not policies:
        raise ValueError(f"{where}policies: expected a mapping of policies")
    for run in runs:
        if run.policy not in policies:
            raise ValueError(f"{where}policies: no entry for the stored runs of {run.policy!r}")
    for key, entry in policies.items():
        here = f"{where}policies.{_key(key)}"
        if not isinstance(entry, dict):
            raise ValueError(f"{here}: expected a mapping")
        name, platform = entry.get("name"), entry.get("platform")
        if not isinstance(name, str) or not isinstance(platform, str):
            raise ValueError(f"{here}: expected its name and platform")
        mine = [r for r in runs if r.policy == key]
        if len({tuple(r.bands) for r in mine}) > 1:  # every run of a policy counts the same
            raise ValueError(f"{here}: its stored runs count sellers in different size bands")
        _same(policy_entry(name, platform, mine), entry, here)
    comparisons = block.get("comparisons")
    if not isinstance(comparisons, dict):
        raise ValueError(f"{where}comparisons: expected a mapping")
    names = {f"{a}-vs-{b}": (a, b) for a in policies for b in policies if a != b}
    for name, metrics in comparisons.items():
        here = f"{where}comparisons.{_key(name)}"
        if name not in names:
            raise ValueError(f"{here}: not a comparison of two of the policies")
        if not isinstance(metrics, dict) or not all(isinstance(v, dict) for v in metrics.values()):
            raise ValueError(f"{here}: expected a mapping of metrics")
        differ = {
            metric: flag
            for metric, v in metrics.items()
            for flag in ("definitions_differ", "definition_changed")
            if v.get(flag) is True
        }
        _same(paired(runs, *names[name], differ), metrics, here)


def _same(expected: Any, got: Any, where: str) -> None:
    """Equal as JSON (as the summary was written); else say where they first differ."""
    if _canonical(expected) == _canonical(got):
        return
    while isinstance(expected, dict) and isinstance(got, dict):
        key = next(
            k
            for k in {**expected, **got}
            if k not in expected or k not in got or _canonical(expected[k]) != _canonical(got[k])
        )
        where += f".{_key(key)}"
        if key not in expected or key not in got:
            break
        expected, got = expected[key], got[key]
    raise ValueError(f"{where}: does not match the stored runs")


def _key(key: str) -> str:
    """A key of the file in a message: as it is if short and printable."""
    return key if key.isprintable() and len(key) <= 60 else repr(key)[:60]


def _canonical(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, allow_nan=True)
