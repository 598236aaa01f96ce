"""What checking a stored run costs, beside what running it again costs.

    python benchmarks/stored_runs.py                    # builtin:quick and builtin:baseline
    python benchmarks/stored_runs.py --scenario builtin:quick --rounds 200

A results folder is untrusted input: before a stored run is reused, cancelsim reads it as
strict JSON and checks it (`store.stored_run`: its form, checksum and every invariant of
a run). For each scenario this plays one replication into a temporary results folder,
then times, side by side in this process, over the stored runs of that folder:

- `unchecked`: `json.loads` and `RunResult.from_dict` (what reading a run cost before);
- `checked`: `read_json` and `stored_run` (what reusing a run costs now);
- `simulate`: running the first policy's replication again (what a rerun costs).

and prints the median per run of each, and the checked read as a share of the simulation.
Times vary on a shared machine; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from sim.api import load, run
from sim.engine.result import RunResult
from sim.engine.simulate import simulate
from sim.experiment.output import read_json
from sim.experiment.plan import plan
from sim.experiment.store import stored_run


def _median_ms(action, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(scenario: str, rounds: int) -> dict[str, float]:
    study = load(scenario)
    with tempfile.TemporaryDirectory(prefix="cancelsim-bench-") as tmp:
        run(study, replications=1, out=tmp)
        files = sorted((Path(tmp) / "runs").glob("*.json"))

        def unchecked() -> None:
            for path in files:
                RunResult.from_dict(json.loads(path.read_text(encoding="utf-8"))["result"])

        def checked() -> None:
            for path in files:
                stored_run(read_json(path), path.stem)

        per_run = len(files)
        spec = plan([study], 1, study.scenario.seed)[0]
        return {
            "runs": per_run,
            "unchecked": _median_ms(unchecked, rounds) / per_run,
            "checked": _median_ms(checked, rounds) / per_run,
            "simulate": _median_ms(lambda: simulate(spec), 3),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", help="default: quick and baseline")
    parser.add_argument("--rounds", type=int, default=50, help="reads timed per scenario")
    args = parser.parse_args()
    for scenario in args.scenario or ["builtin:quick", "builtin:baseline"]:
        m = measure(scenario, args.rounds)
        print(
            f"{scenario}: {m['runs']} stored runs; per run, median of {args.rounds} rounds: "
            f"unchecked read {m['unchecked']:.2f} ms, checked read {m['checked']:.2f} ms "
            f"({m['checked'] / m['unchecked']:.1f}x), simulate {m['simulate']:.0f} ms "
            f"(checked read = {100 * m['checked'] / m['simulate']:.2f}% of it)"
        )


if __name__ == "__main__":
    main()
