"""The Python API for notebooks and scripts: load a study, run it, get tables.

import sim
results = sim.run("builtin:quick", replications=2)
results.summary_frame()          # policies x metrics (means)
results.comparisons_frame()      # paired differences with their intervals
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.engine.result import RunResult
from sim.engine.simulate import RunSpec
from sim.experiment.executors import open_executor
from sim.experiment.output import (
    Used,
    check_lever_folders,
    open_results_folder,
    write_results,
)
from sim.experiment.plan import Axis, Point, load_points, plan, sweep_points
from sim.experiment.runner import RunFailure, execute
from sim.experiment.store import RunStore, run_key
from sim.experiment.summary import run_rows, summarize
from sim.model.load import Override, Study, load_study
from sim.report.inputs import describe

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[RunSpec, "RunResult | RunFailure", bool], None]


@dataclass
class Results:
    """What an experiment produced: the summary, every run, and how it was made."""

    studies: list[Study]
    points: list[Point]
    summary: dict[str, Any]
    runs: list[RunResult]
    failures: list[RunFailure] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)  # what the report needs to know
    run_keys: dict[tuple[int, str, int], str] = field(default_factory=dict)
    # the files of a results folder these results use (their runs, traces, levers' runs)
    used: Used = field(default_factory=Used)

    @property
    def study(self) -> Study:
        return self.studies[0]

    def _blocks(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        if "points" in self.summary:
            return [(p["point"], p) for p in self.summary["points"]]
        return [({}, self.summary)]

    def summary_frame(self) -> pd.DataFrame:
        """Means: one row per policy (and sweep point), one column per metric."""
        import pandas as pd

        rows = [
            {**label, "policy": key, **{m: v["mean"] for m, v in entry["metrics"].items()}}
            for label, block in self._blocks()
            for key, entry in block["policies"].items()
        ]
        index = [*self._sweep_keys(), "policy"]
        return pd.DataFrame(rows).set_index(index).astype(float)

    def intervals_frame(self) -> pd.DataFrame:
        """Long table: (sweep keys), policy, metric, mean, ci_low, ci_high."""
        import pandas as pd

        rows = []
        for label, block in self._blocks():
            for key, entry in block["policies"].items():
                for metric, v in entry["metrics"].items():
                    low, high = v["ci95"] or (None, None)
                    rows.append(
                        {
                            **label,
                            "policy": key,
                            "metric": metric,
                            "mean": v["mean"],
                            "ci_low": low,
                            "ci_high": high,
                        }
                    )
        return pd.DataFrame(rows).astype({"mean": float, "ci_low": float, "ci_high": float})

    def comparisons_frame(self) -> pd.DataFrame:
        """Paired differences: (sweep keys), comparison, metric, mean, ci_low, ci_high,
        significant, and whether the two policies define the metric differently (no
        difference given) or a policy's edit changed its definition (difference marked)."""
        import pandas as pd

        rows = []
        for label, block in self._blocks():
            for name, metrics in block["comparisons"].items():
                for metric, v in metrics.items():
                    low, high = v["ci95"] or (None, None)
                    rows.append(
                        {
                            **label,
                            "comparison": name,
                            "metric": metric,
                            "mean": v["mean"],
                            "ci_low": low,
                            "ci_high": high,
                            "significant": v["significant"],
                            "definitions_differ": bool(v.get("definitions_differ")),
                            "definition_changed": bool(v.get("definition_changed")),
                        }
                    )
        columns = [
            *self._sweep_keys(),
            "comparison",
            "metric",
            "mean",
            "ci_low",
            "ci_high",
            "significant",
            "definitions_differ",
            "definition_changed",
        ]
        return pd.DataFrame(rows, columns=columns).astype(
            {"mean": float, "ci_low": float, "ci_high": float}
        )

    def runs_frame(self) -> pd.DataFrame:
        """One row per (sweep point,) policy and replication with every metric."""
        import pandas as pd

        return pd.DataFrame(run_rows(self.runs, self.points))

    def write(self, out: str | Path) -> Path:
        """Write summary.json, runs.csv, meta.json and what `cancelsim report` needs:
        every run under runs/, their list (manifest.json) and report_inputs.json.

        What cancelsim made in `out` that these results do not use goes (`tidy`); what
        they use stays, even where another experiment used the same folder since these
        results were played (its runs, its traces, its levers' stored runs)."""
        folder = open_results_folder(Path(out))
        store = RunStore(folder / "runs")
        manifest = []
        for r in self.runs:
            key = self.run_keys[(r.point, r.policy, r.replication)]
            if not store.has(key):
                store.save_result(key, r)
            manifest.append(
                {"key": key, "policy": r.policy, "replication": r.replication, "point": r.point}
            )
        used = Used()
        used.add(self.used)
        used.add(store.used)
        rows = run_rows(self.runs, self.points)
        write_results(folder, self.summary, rows, self.meta, manifest, self.inputs, used=used)
        return folder

    def report(self, out: str | Path) -> Path:
        """Write plots/ and report.html into `out` (after `write`)."""
        from sim.report.build import build_report

        return build_report(Path(out), self.summary, self.runs, self.inputs, self.meta)

    def _sweep_keys(self) -> list[str]:
        return self.summary.get("sweep", {}).get("keys", [])


def load(path: str | Path, overrides: Sequence[str] = ()) -> Study:
    """Read and validate a scenario and its policies (`overrides` as `KEY=VALUE`)."""
    return load_study(path, [Override.parse(o) for o in overrides])


def run(
    study: Study | str | Path,
    *,
    replications: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    sweep: Sequence[str] = (),
    jobs: int = 1,
    executor: str = "process",
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: Progress | None = None,
    trace_dir: str | Path | None = None,
    trace_format: str = "csv",
) -> Results:
    """Play every policy of the study through each replication (and sweep point).

    Common random numbers: replication r of every policy sees the same market. Runs go
    to `executor` ("process": a local pool of `jobs` processes, one job runs inline;
    "dask": a LocalCluster of `jobs` workers, or the cluster at `scheduler`). With `out`,
    each finished run is stored under out/runs/ and reused by a later call with the same
    inputs, so an interrupted experiment resumes. With `trace_dir`, every run also writes
    its per-order trace there. `sweep` items read `KEY=V1,V2,...` (full factorial).
    """
    points, studies = _points(study, overrides, sweep)
    return run_points(
        points,
        studies,
        replications=replications,
        seed=seed,
        jobs=jobs,
        executor=executor,
        scheduler=scheduler,
        out=out,
        progress=progress,
        trace_dir=trace_dir,
        trace_format=trace_format,
    )


def run_points(
    points: list[Point],
    studies: list[Study],
    *,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    executor: str = "process",
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: Progress | None = None,
    trace_dir: str | Path | None = None,
    trace_format: str = "csv",
) -> Results:
    """`run` for studies already loaded, one per sweep point (see `load_points`)."""
    started = time.perf_counter()
    first = studies[0].scenario
    reps = replications or first.replications
    root_seed = first.seed if seed is None else seed
    specs = plan(studies, reps, root_seed)
    if trace_dir is not None:
        specs = [
            # absolute: a Dask worker writes it from a working folder of its own
            replace(s, trace_path=str(Path(trace_dir).absolute() / _trace_name(s, trace_format)))
            for s in specs
        ]
    store = RunStore(open_results_folder(Path(out)) / "runs") if out is not None else None
    with open_executor(executor, jobs, scheduler) as pool:
        window = len(specs) if scheduler else 2 * jobs + 2  # a cluster may have more workers
        results, failures = execute(specs, pool, store, progress, window=window)
    summary = summarize(studies, points, results, reps, root_seed, failures)
    keys = {(s.point, s.policy_key, s.replication): run_key(s) for s in specs}
    meta = _meta(
        studies[0],
        reps,
        root_seed,
        time.perf_counter() - started,
        executor,
        jobs,
        scheduler,
        failures,
    )
    swept = bool(points[0].values)
    inputs = describe(_unswept(studies[0]), points, studies) if swept else describe(studies[0])
    used = store.used if store is not None else _traces_written(specs, results)
    return Results(studies, points, summary, results, failures, meta, inputs, keys, used)


def _traces_written(specs: list[RunSpec], results: list[RunResult]) -> Used:
    """Played without a results folder (nothing stored): the trace file each run wrote,
    as it is now (a stored run records it, and its store says so)."""
    from sim.experiment.store import _trace_record

    used = Used()
    done = {(r.point, r.policy, r.replication) for r in results}
    for spec in specs:
        if spec.trace_path is not None and (spec.point, spec.policy_key, spec.replication) in done:
            record = _trace_record(Path(spec.trace_path))
            if record is not None:
                used.use_trace(Path(spec.trace_path), record)
    return used


def _unswept(study: Study) -> Study:
    """A sweep point's study without the sweep: what the policies say today."""
    from sim.model.load import load_study

    kept = [o for o in study.overrides if o.origin != "--sweep"]
    return load_study(study.path, kept) if len(kept) < len(study.overrides) else study


def _points(
    study: Study | str | Path, overrides: Sequence[str], sweep: Sequence[str]
) -> tuple[list[Point], list[Study]]:
    parsed = [Override.parse(o) for o in overrides]
    axes = [Axis.parse(s) for s in sweep]
    if isinstance(study, Study):
        if axes or study.scenario.sweep or parsed:  # reload, keeping the study's own overrides
            return load_points(study.path, [*study.overrides, *parsed], axes)
        return sweep_points([]), [study]
    return load_points(study, parsed, axes)


def _trace_name(spec: RunSpec, fmt: str) -> str:
    point = f"-p{spec.point}" if spec.point else ""
    return f"{spec.policy_key}{point}-r{spec.replication}.{fmt}"


def _meta(
    study: Study,
    reps: int,
    seed: int,
    wall: float,
    executor: str,
    jobs: int,
    scheduler: str | None,
    failures: list[RunFailure],
) -> dict[str, Any]:
    from importlib.metadata import version

    packages = ["cancelsim", "simpy", "numpy", "scipy", "pydantic", "holidays"]
    return {
        "scenario_file": study.path,
        "policy_files": study.policy_paths,
        "replications": reps,
        "seed": seed,
        "executor": "dask" if scheduler else executor,
        "jobs": jobs,
        "wall_seconds": round(wall, 3),
        "failed_runs": [f.describe() for f in failures],
        "command": sys.argv,
        "python": platform.python_version(),
        "versions": {p: version(p) for p in packages},
    }


def part_progress(
    progress: Progress | None, part: Callable[[RunFailure], RunFailure]
) -> Progress | None:
    """`progress` for runs that are part of the results beside their own (a lever's, an
    uncertainty draw's): a failed one is named as such (`part`)."""
    if progress is None:
        return None
    report = progress

    def done(spec: RunSpec, outcome: RunResult | RunFailure, cached: bool) -> None:
        report(spec, part(outcome) if isinstance(outcome, RunFailure) else outcome, cached)

    return done


def add_failures(results: Results, failures: list[RunFailure]) -> None:
    """Failed runs of a part of the results: listed with the experiment's own, in the
    summary's and the meta's `failed_runs` (the command then exits with status 1)."""
    if not failures:
        return
    results.failures += failures
    lines = [f.describe() for f in failures]
    results.summary["failed_runs"] = sorted([*results.summary.get("failed_runs", []), *lines])
    results.meta["failed_runs"] = [*results.meta["failed_runs"], *lines]


def _of_lever(key: str, failure: RunFailure) -> RunFailure:
    return replace(failure, part=f"lever {key}")


def seller_view(
    results: Results,
    *,
    jobs: int = 1,
    executor: str = "process",
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: Progress | None = None,
    levers: bool = True,
) -> dict[str, Any] | None:
    """For a one-seller scenario (a seller's own view), play each of the seller's levers
    (unless `levers` is False) under the same seed and replications and add the view to
    `results.summary` (`seller_view`); None, and nothing run, for any other scenario."""
    from sim.experiment.levers import LEVERS, is_seller_view, view, with_lever

    if len(results.studies) != 1 or not is_seller_view(results.study):
        return None
    reps, seed = results.summary["replications"], results.summary["seed"]
    if levers and out is not None:
        check_lever_folders(Path(out))  # each lever's folder, before the first is played
        open_results_folder(Path(out))  # (a folder not yet opened gets its marker)
    lever_runs = {}
    for lever in LEVERS if levers else ():
        named = partial(_of_lever, lever.key)
        pulled = run_points(
            results.points,
            [with_lever(results.study, lever)],
            replications=reps,
            seed=seed,
            jobs=jobs,
            executor=executor,
            scheduler=scheduler,
            out=Path(out) / "levers" / lever.key if out is not None else None,
            progress=part_progress(progress, named),
        )
        lever_runs[lever.key] = pulled.runs
        add_failures(results, [named(f) for f in pulled.failures])
        results.used.levers[lever.key] = pulled.used  # kept when the results are written
        results.meta["wall_seconds"] = round(
            results.meta["wall_seconds"] + pulled.meta["wall_seconds"], 3
        )
    results.summary["seller_view"] = view(results.study, results.runs, lever_runs)
    return results.summary["seller_view"]
