"""Finished runs on disk, so that an interrupted experiment resumes where it stopped.

A run is stored under a key made of everything that decides its result: the policy's
and the scenario's content (after overrides and sweep values), the seed, the
replication and the package version. Writing is atomic (temporary file, then rename).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from sim.engine.result import RunResult
from sim.engine.simulate import RunSpec
from sim.experiment.output import json_text, write_atomic

# Scenario keys that do not change what a single run computes.
NOT_IN_KEY = {"replications", "seed", "sweep", "baseline", "name", "description", "extends"}


def run_key(spec: RunSpec) -> str:
    """The content hash of a run's inputs.

    Mapping order is kept, not sorted: the order of payment methods and seller types
    decides which order gets which (common random numbers). The code of the package and
    the version of the holiday calendars are part of it too.
    """
    scenario = spec.scenario.model_dump(mode="json", exclude=NOT_IN_KEY)
    content = {
        "policy_key": spec.policy_key,
        "policy": spec.policy.to_json(),
        "scenario": scenario,
        "seed": spec.seed,
        "replication": spec.replication,
        "code": code_digest(),
    }
    text = json.dumps(content, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@lru_cache(maxsize=1)
def code_digest() -> str:
    """What the simulator is: its version, its Python sources, the holidays package."""
    import holidays

    from sim import __version__

    digest = hashlib.sha256(f"{__version__} holidays {holidays.__version__}".encode())
    package = Path(__file__).resolve().parent.parent
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


class RunStore:
    """The `runs/` folder of a results folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def load(self, spec: RunSpec) -> RunResult | None:
        path = self.folder / f"{run_key(spec)}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        result = RunResult.from_dict(data["result"])
        result.point = spec.point  # the same run may serve under another point index
        return result

    def save(self, spec: RunSpec, result: RunResult) -> None:
        self.save_result(run_key(spec), result)

    def save_result(self, key: str, result: RunResult) -> None:
        write_atomic(
            self.folder / f"{key}.json", json_text({"key": key, "result": result.to_dict()})
        )
        (self.folder / f"{key}.failed.json").unlink(missing_ok=True)

    def has(self, key: str) -> bool:
        return (self.folder / f"{key}.json").is_file()

    def save_failure(self, spec: RunSpec, failure: dict[str, Any]) -> None:
        write_atomic(self.folder / f"{run_key(spec)}.failed.json", json_text(failure))
