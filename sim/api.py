"""The Python API for notebooks and scripts: load a study, run it, get tables.

>>> import sim
>>> results = sim.run("scenarios/quick.yaml", replications=2)   # doctest: +SKIP
>>> results.summary_frame().loc["taobao", "refund_hours_p90"]    # doctest: +SKIP
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.engine.result import RunResult
from sim.engine.simulate import RunSpec, simulate
from sim.experiment.output import write_results
from sim.experiment.plan import plan
from sim.experiment.summary import run_rows, summarize
from sim.model.load import Override, Study, load_study

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[RunSpec, RunResult], None]


@dataclass
class Results:
    """What an experiment produced: the summary, every run, and how it was made."""

    study: Study
    summary: dict[str, Any]
    runs: list[RunResult]
    meta: dict[str, Any] = field(default_factory=dict)

    def summary_frame(self) -> pd.DataFrame:
        """Rows: policy; columns: metric; values: the mean across replications."""
        import pandas as pd

        data = {
            key: {m: v["mean"] for m, v in entry["metrics"].items()}
            for key, entry in self.summary["policies"].items()
        }
        return pd.DataFrame.from_dict(data, orient="index").astype(float)

    def intervals_frame(self) -> pd.DataFrame:
        """Long table: policy, metric, mean, ci_low, ci_high."""
        import pandas as pd

        rows = []
        for key, entry in self.summary["policies"].items():
            for metric, v in entry["metrics"].items():
                low, high = v["ci95"] or (None, None)
                rows.append(
                    {
                        "policy": key,
                        "metric": metric,
                        "mean": v["mean"],
                        "ci_low": low,
                        "ci_high": high,
                    }
                )
        return pd.DataFrame(rows).astype({"mean": float, "ci_low": float, "ci_high": float})

    def runs_frame(self) -> pd.DataFrame:
        """One row per policy and replication with every metric."""
        import pandas as pd

        return pd.DataFrame(run_rows(self.runs))

    def write(self, out: str | Path) -> Path:
        """Write summary.json, runs.csv and meta.json into `out`."""
        folder = Path(out)
        write_results(folder, self.summary, run_rows(self.runs), self.meta)
        return folder


def load(path: str | Path, overrides: Sequence[str] = ()) -> Study:
    """Read and validate a scenario and its policies (`overrides` as `KEY=VALUE`)."""
    return load_study(path, [Override.parse(o) for o in overrides])


def run(
    study: Study | str | Path,
    *,
    replications: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    progress: Progress | None = None,
) -> Results:
    """Play every policy of the study through each replication; common random numbers."""
    if not isinstance(study, Study):
        study = load(study, overrides)
    reps = replications or study.scenario.replications
    root_seed = study.scenario.seed if seed is None else seed
    started = time.perf_counter()
    results = []
    for spec in plan(study, reps, root_seed):
        result = simulate(spec)
        results.append(result)
        if progress:
            progress(spec, result)
    summary = summarize(study, results, reps, root_seed)
    meta = _meta(study, reps, root_seed, time.perf_counter() - started)
    return Results(study, summary, results, meta)


def _meta(study: Study, reps: int, seed: int, wall: float) -> dict[str, Any]:
    from importlib.metadata import version

    packages = ["cancelsim", "simpy", "numpy", "scipy", "pydantic", "holidays"]
    return {
        "scenario_file": study.path,
        "policy_files": study.policy_paths,
        "replications": reps,
        "seed": seed,
        "wall_seconds": round(wall, 3),
        "command": sys.argv,
        "python": platform.python_version(),
        "versions": {p: version(p) for p in packages},
    }
