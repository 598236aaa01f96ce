"""Which declared ranges move the answer: designs over the factors, and their effects.

A design is a list of points, each a value for every factor (a declared range of the
scenario or of a policy, `sim.model.uncertain`). Point 0 is always the base: every
factor at its `value`, the study as an ordinary run sees it. Each point is played like a
sweep point, with the same seed and replications, so common random numbers hold across
points: a factor that a metric does not depend on changes it by exactly nothing, and the
difference between two points is the factors' effect, not sampling noise.

Methods (designs made by SALib in the unit cube, mapped through each factor's own
distribution over its range):
- morris: elementary effects (Morris 1991, Campolongo et al. 2007's mu*). A factor's
  effect is in the metric's unit for a move over its whole range (for a uniform factor,
  slope x (high - low)); its interval is SALib's bootstrap over trajectories.
- oat: one at a time, each factor to its low end and its high end, the rest at their
  values; the effect is high minus low with a paired t-interval over replications.
- sobol: variance-based total-order indices (Saltelli 2010) of the factors kept.
- latin: a Latin hypercube sample, for the uncertainty band of `run --uncertainty`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine.result import RunResult
from sim.experiment.compare import differing, pairs
from sim.experiment.stats import mean_ci
from sim.metrics import BY_NAME
from sim.model.load import Study
from sim.model.uncertain import Factor

METHODS = ("morris", "oat", "sobol")
LEVELS = 4  # Morris grid levels (the usual choice, with a step of 2/3 of the range)


@dataclass(frozen=True)
class Design:
    """Points over the factors; `unit` holds each point's quantiles (None for oat)."""

    method: str
    factors: tuple[Factor, ...]
    points: tuple[dict[str, float], ...]  # factor key -> value in the factor's unit
    unit: np.ndarray | None = None  # (points - 1, factors): the design without the base
    settings: dict[str, Any] | None = None

    def label(self, index: int) -> dict[str, str]:
        return {f.key: f.shown(self.points[index][f.key]) for f in self.factors}


def _base(factors: Sequence[Factor]) -> dict[str, float]:
    return {f.key: f.value for f in factors}


def _problem(factors: Sequence[Factor]) -> dict[str, Any]:
    return {
        "num_vars": len(factors),
        "names": [f.key for f in factors],
        "bounds": [[0.0, 1.0]] * len(factors),
    }


def _from_unit(method: str, factors: Sequence[Factor], unit: np.ndarray, **settings: Any) -> Design:
    points = [_base(factors)] + [
        {f.key: f.at(float(u)) for f, u in zip(factors, row, strict=True)} for row in unit
    ]
    return Design(method, tuple(factors), tuple(points), unit, settings)


def morris_design(factors: Sequence[Factor], trajectories: int, seed: int) -> Design:
    """`trajectories` one-factor-at-a-time paths on a 4-level grid: (k + 1) points each."""
    from SALib.sample import morris

    unit = morris.sample(_problem(factors), N=trajectories, num_levels=LEVELS, seed=seed)
    return _from_unit("morris", factors, unit, trajectories=trajectories, levels=LEVELS)


def sobol_design(factors: Sequence[Factor], samples: int, seed: int) -> Design:
    """Saltelli's scheme without second-order terms: samples x (k + 2) points."""
    from SALib.sample import sobol

    unit = sobol.sample(
        _problem(factors), N=samples, calc_second_order=False, scramble=True, seed=seed
    )
    return _from_unit("sobol", factors, unit, samples=samples)


def latin_design(factors: Sequence[Factor], n: int, seed: int) -> Design:
    """`n` points of a Latin hypercube: every factor's range cut in n strata, one each."""
    from SALib.sample import latin

    unit = latin.sample(_problem(factors), N=n, seed=seed)
    return _from_unit("latin", factors, unit, points=n)


def oat_design(factors: Sequence[Factor]) -> Design:
    """The base, then each factor alone at its low end and at its high end."""
    base = _base(factors)
    points = [base]
    for f in factors:
        points += [{**base, f.key: f.at(0.0)}, {**base, f.key: f.at(1.0)}]
    return Design("oat", tuple(factors), tuple(points))


@dataclass(frozen=True)
class Target:
    """What an effect is measured on: one policy, or a paired difference of two."""

    key: str  # the policy key, or OTHER-vs-REFERENCE
    other: str
    reference: str | None = None
    skip: frozenset[str] = frozenset()  # metrics the two policies define differently

    @property
    def is_comparison(self) -> bool:
        return self.reference is not None


def targets(study: Study) -> list[Target]:
    """Every policy, then every paired comparison the run command reports."""
    found = [Target(key, key) for key in study.policies]
    for other, reference in pairs(list(study.policies), study.scenario.baseline):
        differ = differing(study.policies, other, reference)
        skip = frozenset(m for m, why in differ.items() if why == "definitions_differ")
        found.append(Target(f"{other}-vs-{reference}", other, reference, skip))
    return found


def responses(
    runs: Sequence[RunResult], points: int, reps: int, metric: str, target: Target
) -> np.ndarray:
    """(points, reps) values of `metric` for `target`; NaN where a run has none."""
    values = np.full((points, reps), math.nan)
    by = {(r.point, r.policy, r.replication): r.metrics[metric] for r in runs}
    for p in range(points):
        for rep in range(reps):
            mine = by.get((p, target.other, rep), math.nan)
            if target.reference is None:
                values[p, rep] = mine
            else:
                values[p, rep] = mine - by.get((p, target.reference, rep), math.nan)
    return values


def morris_effects(design: Design, y: np.ndarray, seed: int) -> list[dict[str, Any]]:
    """Each factor's mu* (with its 95% bootstrap interval), mu and sigma, largest first."""
    from SALib.analyze import morris

    assert design.unit is not None
    result = morris.analyze(
        _problem(design.factors),
        design.unit,
        y[1:],
        num_resamples=1000,
        conf_level=0.95,
        num_levels=LEVELS,
        seed=seed,
    )
    rows = []
    for i, f in enumerate(design.factors):
        mu_star, conf = float(result["mu_star"][i]), float(result["mu_star_conf"][i])
        rows.append(
            {
                "factor": f.key,
                "effect": mu_star,
                "ci95": [max(mu_star - conf, 0.0), mu_star + conf],
                "mu": float(result["mu"][i]),
                "sigma": float(result["sigma"][i]),
            }
        )
    return _ranked(rows)


def oat_effects(design: Design, y: np.ndarray) -> list[dict[str, Any]]:
    """Per factor: high minus low (paired over replications), and each end against the base."""
    rows = []
    base = y[0]
    for i, f in enumerate(design.factors):
        low, high = y[1 + 2 * i], y[2 + 2 * i]
        effect, ci = mean_ci(list(high - low))
        if ci is not None and effect < 0:  # the interval of the effect's size, as effect is
            ci = [-ci[1], -ci[0]]
        low_shift, low_ci = mean_ci(list(low - base))
        high_shift, high_ci = mean_ci(list(high - base))
        rows.append(
            {
                "factor": f.key,
                "effect": abs(effect),
                "signed": effect,
                "ci95": ci,
                "low": low_shift,
                "low_ci95": low_ci,
                "high": high_shift,
                "high_ci95": high_ci,
            }
        )
    return _ranked(rows)


def sobol_effects(design: Design, y: np.ndarray, seed: int) -> list[dict[str, Any]]:
    """Total-order (ST) and first-order (S1) indices with their bootstrap intervals."""
    from SALib.analyze import sobol

    result = sobol.analyze(
        _problem(design.factors),
        y[1:],
        calc_second_order=False,
        num_resamples=1000,
        conf_level=0.95,
        seed=seed,
    )
    rows = []
    for i, f in enumerate(design.factors):
        st, st_conf = float(result["ST"][i]), float(result["ST_conf"][i])
        s1, s1_conf = float(result["S1"][i]), float(result["S1_conf"][i])
        rows.append(
            {
                "factor": f.key,
                "effect": st,
                "ci95": [st - st_conf, st + st_conf],
                "first_order": s1,
                "first_order_ci95": [s1 - s1_conf, s1 + s1_conf],
            }
        )
    return _ranked(rows)


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: (-_finite(r["effect"]), r["factor"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
        low, high = row.get("ci95") or (None, None)
        contains_zero = low is not None and high is not None and low <= 0 <= high
        row["negligible"] = bool(row["effect"] == 0 or contains_zero)
    return rows


def _finite(x: float) -> float:
    return x if x is not None and math.isfinite(x) else -math.inf


def effects(
    design: Design,
    runs: Sequence[RunResult],
    study: Study,
    metrics: Sequence[str],
    reps: int,
    seed: int,
) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], dict[str, dict[str, str]]]:
    """Ranked effects per metric and target, and where none could be computed, why."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    undefined: dict[str, dict[str, str]] = {}
    for metric in metrics:
        for target in targets(study):
            if metric in target.skip:
                continue
            y = responses(runs, len(design.points), reps, metric, target)
            means = point_means(y)
            missing = int(np.isnan(means).sum())
            if missing:
                undefined.setdefault(metric, {})[target.key] = (
                    "not defined for this policy"
                    if missing == len(means)
                    else f"undefined at {missing} of {len(means)} points (no value in their runs)"
                )
                continue
            if design.method == "morris":
                rows = morris_effects(design, means, seed)
            elif design.method == "sobol":
                if float(np.var(means[1:])) == 0.0:
                    undefined.setdefault(metric, {})[target.key] = "the same at every point"
                    continue
                rows = sobol_effects(design, means, seed)
            else:
                rows = oat_effects(design, y)
            found.setdefault(metric, {})[target.key] = rows
    return found, undefined


def point_means(y: np.ndarray) -> np.ndarray:
    """Mean over replications per point; NaN where every replication is NaN."""
    out = np.full(y.shape[0], math.nan)
    for i, row in enumerate(y):
        finite = row[~np.isnan(row)]
        if finite.size:
            out[i] = float(finite.mean())
    return out


def band(values: np.ndarray) -> dict[str, Any]:
    """The spread of a metric over sampled points: 5th to 95th percentile, and min to max."""
    finite = values[~np.isnan(values)]
    if not finite.size:
        return {"band90": None, "range": None, "points": 0}
    return {
        "band90": [float(np.percentile(finite, 5)), float(np.percentile(finite, 95))],
        "range": [float(finite.min()), float(finite.max())],
        "points": int(finite.size),
    }


def findings(
    design: Design,
    runs: Sequence[RunResult],
    study: Study,
    metrics: Sequence[str],
    reps: int,
    found: dict[str, dict[str, list[dict[str, Any]]]],
    noise: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """For each paired comparison and metric: does its sign hold at every point tried,
    and if not, at how many it flips and which factor moves it most.

    `noise` is the run summary's `comparisons` at the base with several replications: a
    difference whose interval there includes 0 has no sign to hold (said so, not judged).
    """
    out = []
    for target in (t for t in targets(study) if t.is_comparison):
        for metric in metrics:
            if metric in target.skip:
                continue
            means = point_means(responses(runs, len(design.points), reps, metric, target))
            base = means[0]
            if not math.isfinite(base) or base == 0:
                continue
            finite = means[np.isfinite(means)]
            flipped = int((np.sign(finite) == -np.sign(base)).sum())  # 0 is no flip
            entry: dict[str, Any] = {
                "comparison": target.key,
                "metric": metric,
                "base": float(base),
                "points": int(finite.size),
                "flipped": flipped,
                "holds": flipped == 0,
                "range": [float(finite.min()), float(finite.max())],
            }
            sampled = noise.get(target.key, {}).get(metric, {})
            if sampled.get("ci95") is not None and not sampled.get("significant"):
                entry["holds"] = None
                entry["base_ci95"] = sampled["ci95"]
            rows = found.get(metric, {}).get(target.key)
            if flipped and rows and entry["holds"] is not None:
                entry["factor"] = _flipping_factor(design, rows, base)
            entry["text"] = _finding_text(entry, target)
            out.append(entry)
    return out


def _flipping_factor(design: Design, rows: list[dict[str, Any]], base: float) -> dict[str, Any]:
    """The factor with the largest effect on the difference, and which end of its range
    pushes the difference towards the other sign."""
    top = rows[0]
    factor = next(f for f in design.factors if f.key == top["factor"])
    if design.method == "oat":  # the low end moves it against the base's sign, or the high
        towards: str | None = "low" if np.sign(top["low"]) == -np.sign(base) else "high"
    elif not top.get("mu"):  # morris: mu's sign is the direction of the mean effect
        towards = None
    else:
        towards = "high" if np.sign(float(top["mu"])) == -np.sign(base) else "low"
    return {"key": factor.key, "towards": towards, "range": factor.range_text}


def _finding_text(entry: dict[str, Any], target: Target) -> str:
    metric = BY_NAME[entry["metric"]]
    other, reference = target.other, target.reference
    word = "higher" if entry["base"] > 0 else "lower"
    if metric.higher_is_better is not None:
        better = (entry["base"] > 0) == metric.higher_is_better
        word += " (better)" if better else " (worse)"
    head = f"{other} is {word} than {reference} on {metric.name}"
    if entry["holds"] is None:
        low, high = entry["base_ci95"]
        return (
            f"{other} and {reference} differ on {metric.name} by less than the sampling noise "
            f"at the base (95% interval {low:.3g} to {high:.3g}): no sign to hold."
        )
    if entry["holds"]:
        return f"{head} at every one of the {entry['points']} points tried."
    text = (
        f"{head} at the base, but the sign flips at {entry['flipped']} of {entry['points']} points"
    )
    factor = entry.get("factor")
    if factor:
        end = f", towards its {factor['towards']} end" if factor["towards"] else ""
        text += f"; the factor that moves it most is {factor['key']} ({factor['range']}{end})"
    return text + "."
