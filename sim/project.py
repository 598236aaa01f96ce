"""Where a command's defaults come from: the study it works on, not the current folder.

A study is a folder with a `scenario.yaml` (what `cancelsim init` writes); its
regression tests are in `tests/policies/`, as in cancelsim's own repository. A command
run anywhere inside a study (or given a file inside one) finds it by going up the
folders, the way git finds its repository; outside any study the bundled files serve.
"""

from __future__ import annotations

from pathlib import Path

from sim.model.builtin import is_builtin

STUDY_SCENARIO = "scenario.yaml"
"""The scenario of a study folder (`cancelsim init` writes it)."""
EXPECTATIONS = Path("tests") / "policies"
"""A project's expectation files (in a study, and in cancelsim's repository)."""
DEFAULT_SCENARIO = "builtin:baseline"


def _up(start: Path) -> list[Path]:
    start = start.resolve()
    return [start, *start.parents]


def study_scenario(start: Path) -> Path | None:
    """The `scenario.yaml` of the study holding `start` (a folder), if any."""
    for folder in _up(start):
        if (folder / STUDY_SCENARIO).is_file():
            return folder / STUDY_SCENARIO
    return None


def default_scenario(start: Path) -> str:
    """`cancelsim run` with no SCENARIO: the study's scenario, else the bundled baseline."""
    found = study_scenario(start)
    return str(found) if found is not None else DEFAULT_SCENARIO


def scenario_for_policy(spec: str, start: Path) -> str:
    """`cancelsim diff`'s market: the scenario of the study the policy file is in (the
    file's folder or one above it), else of the study at `start`, else the baseline."""
    path = spec.rsplit("@", 1)[0] if "@" in spec and not Path(spec).exists() else spec
    if not is_builtin(path):
        found = study_scenario(Path(path).parent)
        if found is not None:
            return str(found)
    return default_scenario(start)


def expectation_folder(start: Path) -> Path | None:
    """`cancelsim test` with no PATHS: the nearest `tests/policies/` at or above `start`."""
    for folder in _up(start):
        if (folder / EXPECTATIONS).is_dir():
            return folder / EXPECTATIONS
    return None


def results_root(scenario: Path) -> Path:
    """Where `results/` goes by default: beside the study's scenario; for a bundled
    scenario (inside the installed package), in the current folder, unless that is
    inside the package too (nothing is ever written there)."""
    from sim.errors import InputError
    from sim.model.builtin import FOLDER

    scenario = scenario.resolve()
    if FOLDER not in scenario.parents:
        return scenario.parent
    here = Path.cwd().resolve()
    if here == FOLDER.parent or FOLDER.parent in here.parents:
        raise InputError.single(
            "--out",
            "the current folder is inside the installed package, where nothing is written; "
            "give --out, or run from another folder",
        )
    return Path()


def safe_name(name: str) -> str:
    """A name as a folder or file name: no separators, no leading dots."""
    import re

    cleaned = re.sub(r"[^\w.-]+", "-", name).strip(".-")
    return cleaned or "scenario"
