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
from sim.metrics import NAMES, PLATFORM_DEFINED

if TYPE_CHECKING:
    from sim.model.policy import Policy


def pairs(keys: list[str], baseline: str | None) -> list[tuple[str, str]]:
    """(other, reference) pairs: every policy against the baseline, or every later policy
    against every earlier one."""
    if baseline is not None:
        return [(k, baseline) for k in keys if k != baseline]
    return [(b, a) for i, a in enumerate(keys) for b in keys[i + 1 :]]


def differing(policies: dict[str, Policy], other: str, reference: str) -> frozenset[str]:
    """The metrics the two policies define differently (their seller metrics differ): a
    difference of those would compare definitions, not policies."""
    a, b = policies[other].metric_definition(), policies[reference].metric_definition()
    return frozenset() if a == b else PLATFORM_DEFINED


def paired(
    runs: list[RunResult], other: str, reference: str, differ: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Per-replication differences `other - reference` of every metric; a metric in
    `differ` gets no difference, only `definitions_differ`."""
    by_rep = {(r.policy, r.replication): r for r in runs}
    reps = sorted({r.replication for r in runs})
    both = [rep for rep in reps if (other, rep) in by_rep and (reference, rep) in by_rep]
    out: dict[str, Any] = {}
    for name in NAMES:
        if name in differ:
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
    return out
