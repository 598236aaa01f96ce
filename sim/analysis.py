"""Sensitivity analysis and uncertainty bands over a study's declared ranges (Python API).

import sim
s = sim.sensitivity("builtin:quick", method="oat")
s.effects_frame()                 # metric, target, factor, effect, interval, rank
s.summary["findings"]             # which comparisons hold over every point tried

Every point is run through the same executors as `sim.run` (a process pool, Dask), is
stored under OUT/runs/ when `out` is given (a second call resumes), and sees the same
seed and replications (common random numbers across points).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.api import Progress, Results, add_failures, part_progress, run_points
from sim.engine.result import RunResult
from sim.errors import InputError, Problem
from sim.experiment import sensitivity as sa
from sim.experiment.output import (
    Used,
    csv_text,
    json_text,
    open_results_folder,
    tidy,
    write_atomic,
)
from sim.experiment.plan import Point
from sim.experiment.runner import RunFailure
from sim.metrics import NAMES
from sim.model.load import Override, Study, load_study
from sim.model.uncertain import Factor

if TYPE_CHECKING:
    import pandas as pd

# What sensitivity looks at unless told otherwise: refund time as the buyer lives it,
# the outcomes the rules decide, and what sellers are judged by.
DEFAULT_METRICS = (
    "money_back_hours_p50",
    "money_back_hours_p90",
    "refund_issued_hours_p50",
    "failed_cancel_share",
    "auto_cancel_share",
    "seller_fault_cancel_share",
    "platform_metric_rate",
    "sellers_flagged_share",
    "compensation_paid",
    "buyer_money_hours_held",
)
KEEP = 4  # factors that a sobol analysis keeps from its screening


@dataclass
class Sensitivity:
    """What a sensitivity analysis produced: its summary and every run behind it."""

    study: Study
    summary: dict[str, Any]
    runs: list[RunResult] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    point_rows: list[dict[str, Any]] = field(default_factory=list)
    # the files of a results folder the analysis uses: the stored runs of every point
    used: Used = field(default_factory=Used)

    def effects_frame(self, stage: str | None = None) -> pd.DataFrame:
        """Long table: stage, metric, target, rank, factor, effect, ci_low, ci_high, and the
        method's own columns (mu and sigma for morris, first-order index for sobol)."""
        import pandas as pd

        return pd.DataFrame(effect_rows(self.summary, stage))

    def points_frame(self) -> pd.DataFrame:
        """One row per point, target and replication: the factors' values, then metrics."""
        import pandas as pd

        return pd.DataFrame(self.point_rows)

    def write(self, out: str | Path) -> Path:
        """sensitivity.json, effects.csv, points.csv and meta.json in `out`; first, what
        cancelsim made there that this analysis does not use is removed (`tidy`), even
        where another analysis used the same folder since this one ran."""
        folder = open_results_folder(Path(out))
        tidy(folder, self.used)
        write_atomic(folder / "sensitivity.json", json_text(self.summary))
        write_atomic(folder / "effects.csv", csv_text(effect_rows(self.summary)))
        write_atomic(folder / "points.csv", csv_text(self.point_rows))
        write_atomic(folder / "meta.json", json_text(self.meta))
        return folder

    def report(self, out: str | Path) -> Path:
        """plots/ and report.html (after `write`)."""
        from sim.report.sensitivity import build_sensitivity_report

        return build_sensitivity_report(Path(out), self.summary)


# effects.csv: the columns every method fills, then each method's own (empty otherwise)
EFFECT_COLUMNS = (
    "stage",
    "method",
    "metric",
    "target",
    "rank",
    "factor",
    "effect",
    "ci_low",
    "ci_high",
    "negligible",
    "mu",
    "sigma",
    "signed",
    "low",
    "high",
    "first_order",
)


def effect_rows(summary: dict[str, Any], stage: str | None = None) -> list[dict[str, Any]]:
    """One row per stage, metric, target and factor, ranked within each (EFFECT_COLUMNS)."""
    rows = []
    for name, part in summary["stages"].items():
        if stage is not None and name != stage:
            continue
        for metric, by_target in part["effects"].items():
            for target, ranked in by_target.items():
                for row in ranked:
                    low, high = row.get("ci95") or (None, None)
                    fields = {
                        "stage": name,
                        "method": part["method"],
                        "metric": metric,
                        "target": target,
                        "ci_low": low,
                        "ci_high": high,
                        **row,
                    }
                    rows.append({c: fields.get(c) for c in EFFECT_COLUMNS})
    return rows


def factors_of(
    path: str | Path, overrides: Sequence[str] = (), only: Sequence[str] = ()
) -> tuple[Study, list[Factor]]:
    """The study and the declared ranges it leaves free (`only`: just these keys)."""
    study = load_study(path, [Override.parse(o) for o in overrides])
    if study.scenario.sweep:
        keys = ", ".join(study.scenario.sweep)
        raise InputError.single(
            str(path),
            f"sweeps {keys}: an analysis looks at one point of the scenario; hold the "
            f"swept keys with --set (e.g. --set sweep={{}} for the file's own values)",
            path="sweep",
        )
    factors = list(study.factors)
    if only:
        known = {f.key: f for f in factors}
        unknown = [k for k in only if k not in known]
        if unknown:
            problems = []
            for key in unknown:
                hint = difflib.get_close_matches(key, list(known), n=1)
                tip = f"; did you mean {hint[0]!r}?" if hint else ""
                problems.append(
                    Problem("--factors", 0, 0, key, f"no declared range of that name{tip}")
                )
            raise InputError(problems)
        factors = [known[k] for k in dict.fromkeys(only)]
    if not factors:
        raise InputError.single(
            str(path),
            "declares no ranges to analyse: write an uncertain number as "
            "{value: 1.5h, range: [30m, 6h], why: ...} (the README's 'Which assumptions "
            "matter' shows how)",
        )
    return study, factors


def planned_runs(
    study: Study,
    factors: Sequence[Factor],
    method: str,
    reps: int,
    trajectories: int,
    samples: int,
    keep: int,
) -> int:
    """How many runs an analysis takes (for a progress bar)."""
    k = len(factors)
    per_point = reps * len(study.policies)
    base = max(study.scenario.replications, reps, 2) * len(study.policies)
    if method == "oat":
        return base + (2 * k + 1) * per_point
    screening = base + (trajectories * (k + 1) + 1) * per_point
    if method == "morris":
        return screening
    kept = min(keep, k)
    return screening + (samples * (kept + 2) + 1) * per_point


def sensitivity(
    path: str | Path,
    *,
    method: str = "morris",
    overrides: Sequence[str] = (),
    factors: Sequence[str] = (),
    metrics: Sequence[str] = DEFAULT_METRICS,
    replications: int | None = None,
    trajectories: int = 10,
    samples: int = 32,
    keep: int = KEEP,
    seed: int | None = None,
    jobs: int = 1,
    executor: str = "process",
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> Sensitivity:
    """Screen the study's declared ranges (`method` morris, oat or sobol) for their effect
    on each metric of each policy and each paired difference.

    Replications default to 1 per point for morris and sobol (common random numbers keep
    the points comparable; the interval comes from the spread over the design) and to the
    scenario's for oat (whose interval comes from the replications). sobol screens with
    morris first and keeps the `keep` factors with the largest effects.
    """
    if method not in sa.METHODS:
        raise InputError.single("--method", f"{method!r}: expected one of {', '.join(sa.METHODS)}")
    bad = [m for m in metrics if m not in NAMES]
    if bad:
        raise InputError.single(
            "--metrics", f"unknown metric(s) {', '.join(bad)}; see `cancelsim metrics`"
        )
    study, chosen = factors_of(path, overrides, factors)
    root_seed = study.scenario.seed if seed is None else seed
    reps = replications or (study.scenario.replications if method == "oat" else 1)
    run = _Runner(path, overrides, reps, root_seed, jobs, executor, scheduler, out, progress)
    first = (
        sa.oat_design(chosen)
        if method == "oat"
        else sa.morris_design(chosen, trajectories, root_seed)
    )
    name = "oat" if method == "oat" else "screening"
    loaded = run.load(first, name)  # every point valid before anything runs
    noise = run.base(study)
    stages: dict[str, Any] = {name: run.stage(name, first, study, metrics, noise, loaded)}
    if method == "sobol":
        kept = _kept(stages["screening"], min(keep, len(chosen)))
        picked = [f for f in chosen if f.key in kept]
        stages["sobol"] = run.stage(
            "sobol", sa.sobol_design(picked, samples, root_seed), study, metrics, noise
        )
    summary = {
        "scenario": study.scenario.name,
        "method": method,
        "seed": root_seed,
        "replications": reps,
        "metrics": list(metrics),
        "factors": [_factor_entry(f) for f in chosen],
        "targets": [t.key for t in sa.targets(study)],
        "policies": {
            key: {"name": policy.name, "platform": policy.platform}
            for key, policy in study.policies.items()
        },
        "currency": study.scenario.currency,
        "base_replications": noise["replications"],
        "stages": stages,
    }
    meta = {
        "scenario_file": study.path,
        "policy_files": study.policy_paths,
        "method": method,
        "seed": root_seed,
        "replications": reps,
        "runs": len(run.runs),
        "wall_seconds": round(run.wall, 3),
        "failed_runs": run.failed,
        "executor": "dask" if scheduler else executor,
        "jobs": jobs,
    }
    return Sensitivity(study, summary, run.runs, meta, run.rows, run.used)


def _kept(stage: dict[str, Any], keep: int) -> list[str]:
    """The factors whose largest effect, relative to the largest of its metric and
    target, is highest (a factor that leads anywhere is kept)."""
    score: dict[str, float] = {}
    for by_target in stage["effects"].values():
        for ranked in by_target.values():
            top = max((r["effect"] for r in ranked), default=0.0)
            for row in ranked:
                share = row["effect"] / top if top > 0 else 0.0
                score[row["factor"]] = max(score.get(row["factor"], 0.0), share)
    return sorted(score, key=lambda k: (-score[k], k))[:keep]


def _factor_entry(f: Factor) -> dict[str, Any]:
    return {
        "key": f.key,
        "value": f.shown(f.value),
        "low": f.shown(f.low),
        "high": f.shown(f.high),
        "range": f.range_text,
        "dist": f.dist,
        "why": f.why,
        "where": f"{f.file}:{f.line}:{f.col}",
    }


class _Runner:
    """Loads and runs the points of each stage; gathers runs, rows and wall time."""

    def __init__(
        self,
        path: str | Path,
        overrides: Sequence[str],
        reps: int,
        seed: int,
        jobs: int,
        executor: str,
        scheduler: str | None,
        out: str | Path | None,
        progress: Callable[..., None] | None,
    ) -> None:
        self.path, self.reps, self.seed = path, reps, seed
        self.overrides = [Override.parse(o) for o in overrides]
        self.options = {"jobs": jobs, "executor": executor, "scheduler": scheduler}
        self.out, self.progress = out, progress
        self.runs: list[RunResult] = []
        self.rows: list[dict[str, Any]] = []
        self.failed: list[str] = []
        self.wall = 0.0
        self.used = Used()  # the stored runs of every point played

    def play(self, design: sa.Design, stage: str) -> Results:
        return self.run(design, self.load(design, stage))

    def load(self, design: sa.Design, stage: str) -> list[Study]:
        """Every point's study, before anything runs. A point that ranges valid each on
        its own make invalid together is reported at those ranges' lines."""
        studies, problems = [], []
        by_key = {f.key: f for f in design.factors}
        for index, values in enumerate(design.points):
            try:
                studies.append(load_study(self.path, self.overrides, values))
            except InputError as exc:
                problems += [_joint(p, index, stage, design, by_key) for p in exc.problems]
        if problems:
            raise InputError(sorted(set(problems)))
        return studies

    def run(self, design: sa.Design, studies: list[Study]) -> Results:
        points = []
        for i, values in enumerate(design.points):
            labels = design.label(i)
            points.append(Point(i, tuple((k, v, labels[k]) for k, v in values.items())))
        results = run_points(
            points,
            studies,
            replications=self.reps,
            seed=self.seed,
            out=self.out,
            progress=self.progress,
            **self.options,  # type: ignore[arg-type]
        )
        self.wall += results.meta["wall_seconds"]
        self.failed += results.meta["failed_runs"]
        self.used.add(results.used)
        return results

    def base(self, study: Study) -> dict[str, Any]:
        """The paired comparisons at the base point with the scenario's replications (at
        least 2): the sampling noise a finding's sign is read against. Its first
        replications are the design's base runs, reused from the store."""
        reps = max(study.scenario.replications, self.reps, 2)
        results = run_points(
            [Point(0, ())],
            [study],
            replications=reps,
            seed=self.seed,
            out=self.out,
            progress=self.progress,
            **self.options,  # type: ignore[arg-type]
        )
        self.wall += results.meta["wall_seconds"]
        self.failed += results.meta["failed_runs"]
        self.used.add(results.used)
        return {"replications": reps, "comparisons": results.summary["comparisons"]}

    def stage(
        self,
        name: str,
        design: sa.Design,
        study: Study,
        metrics: Sequence[str],
        noise: dict[str, Any],
        loaded: list[Study] | None = None,
    ) -> dict[str, Any]:
        results = self.run(design, loaded) if loaded is not None else self.play(design, name)
        self.runs += results.runs
        self._rows(name, design, study, results.runs)
        found, undefined = sa.effects(design, results.runs, study, metrics, self.reps, self.seed)
        part: dict[str, Any] = {
            "method": design.method,
            "points": len(design.points),
            "factors": [f.key for f in design.factors],
            **(design.settings or {}),
            "effects": found,
            "base": _base_values(design, results.runs, study, metrics, self.reps),
            # a sobol stage holds the screened factors' points only: the screening's
            # findings, over every factor, are the ones to read
            "findings": []
            if name == "sobol"
            else sa.findings(
                design, results.runs, study, metrics, self.reps, found, noise["comparisons"]
            ),
        }
        if undefined:
            part["undefined"] = undefined
        return part

    def _rows(self, stage: str, design: sa.Design, study: Study, runs: list[RunResult]) -> None:
        for r in sorted(runs, key=lambda r: (r.point, r.policy, r.replication)):
            self.rows.append(
                {
                    "stage": stage,
                    "point": r.point,
                    **{f.key: design.points[r.point][f.key] for f in design.factors},
                    "policy": r.policy,
                    "replication": r.replication,
                    **{m: r.metrics[m] for m in NAMES},
                }
            )


def _joint(
    problem: Problem, index: int, stage: str, design: sa.Design, by_key: dict[str, Factor]
) -> Problem:
    """A point's problem, at the declared range it comes from (the first factor whose key
    path the problem's path is part of), with the point's values of those factors."""
    near = [
        f
        for key, f in by_key.items()
        if problem.path and (key.endswith(problem.path) or problem.path in key)
    ]
    near = near or [f for f in by_key.values() if problem.path.startswith(f.key)]
    values = design.label(index)
    shown = ", ".join(f"{f.key}={values[f.key]}" for f in near) or "its values"
    message = problem.message.split(" (from sensitivity ")[0]
    text = (
        f"the declared ranges are valid one by one but not together: {stage} point {index} "
        f"({shown}) gives: {message}; narrow the ranges so that every combination is valid"
    )
    if not near:
        return Problem(problem.file, problem.line, problem.col, problem.path, text)
    first = near[0]
    return Problem(first.file, first.line, first.col, first.key, text)


def _base_values(
    design: sa.Design, runs: list[RunResult], study: Study, metrics: Sequence[str], reps: int
) -> dict[str, dict[str, float | None]]:
    """Each metric of each target at the base point (every factor at its value)."""
    out: dict[str, dict[str, float | None]] = {}
    for metric in metrics:
        for target in sa.targets(study):
            if metric in target.skip:
                continue
            y = sa.responses([r for r in runs if r.point == 0], 1, reps, metric, target)
            finite = y[~np.isnan(y)]
            out.setdefault(metric, {})[target.key] = float(finite.mean()) if finite.size else None
    return out


def _of_draw(failure: RunFailure) -> RunFailure:
    return replace(failure, part=f"uncertainty draw {failure.point + 1}")


def uncertainty(
    results: Results,
    n: int,
    *,
    jobs: int = 1,
    executor: str = "process",
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Draw `n` points from the declared ranges (a Latin hypercube), run each with the
    results' seed and replications, and add to `results.summary` the band that this input
    uncertainty gives to every metric of every policy and every paired difference."""
    study = results.study
    factors = list(study.factors)
    if not factors:
        raise InputError.single(
            study.path, "declares no ranges: --uncertainty needs {value, range} declarations"
        )
    reps, seed = results.summary["replications"], results.summary["seed"]
    design = sa.latin_design(factors, n, seed)
    lhs = sa.Design(design.method, design.factors, design.points[1:], design.unit)
    run = _Runner(
        study.path,
        [o.text for o in study.overrides],
        reps,
        seed,
        jobs,
        executor,
        scheduler,
        out,
        part_progress(progress, _of_draw),
    )
    played = run.play(lhs, "uncertainty")
    add_failures(results, [_of_draw(f) for f in played.failures])
    block: dict[str, Any] = {
        "points": n,
        "design": "latin hypercube",
        "factors": [_factor_entry(f) for f in factors],
        "policies": {},
        "comparisons": {},
    }
    for target in sa.targets(study):
        part = block["comparisons" if target.is_comparison else "policies"]
        entry = part.setdefault(target.key, {})
        for metric in NAMES:
            if metric in target.skip:
                continue
            means = sa.point_means(sa.responses(played.runs, n, reps, metric, target))
            entry[metric] = sa.band(means)
            if target.is_comparison:
                finite = means[np.isfinite(means)]
                signs = set(np.sign(finite).tolist()) - {0.0}  # 0 is on neither side
                entry[metric]["same_sign"] = len(signs) <= 1
    results.summary["uncertainty"] = block
    results.used.add(run.used)  # its runs stay when the results are written
    results.meta["wall_seconds"] = round(results.meta["wall_seconds"] + run.wall, 3)
    return block
