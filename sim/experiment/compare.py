"""Paired comparisons under common random numbers.

Replication r of every policy saw the same orders, buyers and sellers, so the difference
of a metric within a replication is the policies' difference alone; its mean and
t-interval across replications are far tighter than comparing two separate intervals.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sim.engine.result import RunResult
from sim.experiment.stats import mean_ci
from sim.metrics import NAMES

if TYPE_CHECKING:
    from sim.model.policy import Policy


def pairs(keys: list[str], baseline: str | None) -> list[tuple[str, str]]:
    """(other, reference) pairs: every policy against the baseline, or every later policy
    against every earlier one."""
    if baseline is not None:
        return [(k, baseline) for k in keys if k != baseline]
    return [(b, a) for i, a in enumerate(keys) for b in keys[i + 1 :]]


def differing(policies: dict[str, Policy], other: str, reference: str) -> dict[str, str]:
    """The metrics the two policies define differently, each with what that means:
    "definitions_differ" between two platforms or two stores of one (Amazon's US and
    Indian stores), or where only one policy defines the metric (a difference would
    compare definitions, not policies: none is given); "definition_changed" between two
    versions of one policy (same platform and name) that both define it (an edit of the
    metric: the difference is its effect, marked)."""
    a = policies[other].metric_definitions()
    b = policies[reference].metric_definitions()
    one, two = policies[other], policies[reference]
    same_platform = (one.platform, one.name) == (two.platform, two.name)
    return {
        name: (
            "definition_changed"
            if same_platform and a[name] is not None and b[name] is not None
            else "definitions_differ"  # other platforms, or the metric on one side only
        )
        for name in a
        if a[name] != b[name]
    }


def paired(
    runs: list[RunResult], other: str, reference: str, differ: dict[str, str] | None = None
) -> dict[str, Any]:
    """Per-replication differences `other - reference` of every metric. A metric in
    `differ` marked "definitions_differ" gets no difference, only the mark; one marked
    "definition_changed" gets its difference and the mark."""
    differ = differ or {}
    by_rep = {(r.policy, r.replication): r for r in runs}
    reps = sorted({r.replication for r in runs})
    both = [rep for rep in reps if (other, rep) in by_rep and (reference, rep) in by_rep]
    out: dict[str, Any] = {}
    for name in NAMES:
        if differ.get(name) == "definitions_differ":
            out[name] = {"mean": None, "ci95": None, "significant": False}
            out[name]["definitions_differ"] = True
            continue
        diffs = [
            by_rep[(other, rep)].metrics[name] - by_rep[(reference, rep)].metrics[name]
            for rep in both
        ]
        mean, ci = mean_ci(diffs)
        significant = ci is not None and (ci[0] > 0 or ci[1] < 0)
        out[name] = {
            "mean": None if math.isnan(mean) else mean,
            "ci95": ci,
            "significant": significant,
        }
        if name in differ:
            out[name]["definition_changed"] = True
    return out
