"""`cancelsim init DIR`: a ready study to edit, outside the repository.

The study extends a bundled scenario (so only what the user changes is written), plays
copies of its policies (to edit), and has an expectation file whose values are measured
once, here, on the study itself, so that `cancelsim test` tells at once
whether an edit to a policy moved an outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from sim.errors import InputError
from sim.model.builtin import PREFIX, builtin_path, names, resolve, schema_path
from sim.project import EXPECTATIONS, STUDY_SCENARIO, safe_name
from sim.visible import visible

MEASURE_REPS = 2
MEASURE_SEED = 1
PINNED = (
    "money_back_hours_p50",
    "self_cancel_share",
    "seller_cancel_share",
    "auto_cancel_share",
    "failed_cancel_share",
)
"""The outcomes each policy's case pins, where the policy defines them."""
SHARE_MARGIN = 0.003


@dataclass(frozen=True)
class NewStudy:
    folder: Path
    scenario: Path
    policies: list[Path]
    expectations: Path
    readme: Path


def modeline(kind: str) -> str:
    """The first line of a file: the editor's JSON Schema, the installed one."""
    return f"# yaml-language-server: $schema={schema_path(kind)}"


def init_study(folder: Path, base: str = "baseline", jobs: int = 1) -> NewStudy:
    """Write the study into `folder` (new or empty); every file is valid.

    The files are made in a temporary folder beside it and moved into place at the end,
    so that an interrupted or failed `init` leaves nothing behind."""
    import shutil
    import tempfile

    base = base.removeprefix(PREFIX)
    if base not in names("scenario"):
        raise InputError.single(
            "--from", f"no bundled scenario {base!r}; bundled: {', '.join(names('scenario'))}"
        )
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError.single(
            str(folder), "exists and is not an empty folder; give a new or empty folder"
        )
    name = folder.resolve().name or "study"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".cancelsim-init-", dir=folder.parent))
    except (FileExistsError, NotADirectoryError):
        raise InputError.single(
            str(folder), "cannot be made: a file stands where a folder above it should be"
        ) from None
    except OSError as exc:
        raise InputError.single(str(folder), f"cannot be made: {exc.strerror or exc}") from None
    try:
        made = _write(work, name, base, jobs)
        if folder.exists():  # empty (checked above), and maybe the current folder: fill it
            for child in work.iterdir():
                child.rename(folder / child.name)
        else:
            work.rename(folder)
    except OSError as exc:
        raise InputError.single(str(folder), f"cannot be written: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone already when it was moved
    return NewStudy(
        folder,
        folder / STUDY_SCENARIO,
        [folder / p.relative_to(work) for p in made.policies],
        folder / made.expectations.relative_to(work),
        folder / "README.md",
    )


def _write(folder: Path, name: str, base: str, jobs: int) -> NewStudy:
    from sim.model.load import read_scenario

    base_path = builtin_path(base, "scenario")
    runs = read_scenario(base_path).data["policies"]
    copies: dict[Path, str] = {}  # bundled policy file -> its copy's name
    for run in runs:
        source = resolve(run["file"], base_path.parent, "policy")
        copies.setdefault(source, f"policies/{source.name}")
    files = {
        STUDY_SCENARIO: _scenario_text(name, base, base_path, runs, copies),
        **{copy: _policy_text(source) for source, copy in copies.items()},
        "README.md": _readme(name, base, base_path, list(copies.values())),
    }
    (folder / "policies").mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        (folder / relative).write_text(text, encoding="utf-8")
    expectations = folder / EXPECTATIONS / f"{safe_name(name)}.yaml"
    expectations.parent.mkdir(parents=True, exist_ok=True)
    expectations.write_text(_expectation_text(name, folder, jobs), encoding="utf-8")
    return NewStudy(
        folder,
        folder / STUDY_SCENARIO,
        [folder / copy for copy in copies.values()],
        expectations,
        folder / "README.md",
    )


def _scenario_text(
    name: str, base: str, base_path: Path, runs: list[Any], copies: dict[Path, str]
) -> str:
    played = []
    for run in runs:
        entry = dict(run)
        entry["file"] = copies[resolve(run["file"], base_path.parent, "policy")]
        played.append(entry)
    policies = yaml.safe_dump(
        {"policies": played}, sort_keys=False, allow_unicode=True, default_flow_style=None
    )
    return "\n".join(
        [
            modeline("scenario"),
            f"# {visible(name)}: a study made by `cancelsim init` on {dt.date.today()}.",
            f"# It extends the bundled scenario `{base}`: every key not written here is that",
            "# scenario's, where each assumption is explained (its file, read-only:",
            f"# {base_path}).",
            "# Write a key here to change it, e.g. `buyers: {cancel_intent: 0.08}` (a mapping",
            "# merges key by key; a list or a distribution replaces the base's whole).",
            f"extends: builtin:{base}",
            f"name: {json.dumps(name, ensure_ascii=False)}",
            "",
            "# The policies played: copies of the bundled ones in policies/, yours to edit.",
            "# The payment mixes are the base scenario's assumptions.",
            policies.rstrip("\n"),
            "",
        ]
    )


def _policy_text(source: Path) -> str:
    lines = source.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# yaml-language-server:"):
        lines[0] = modeline("policy")
    else:
        lines.insert(0, modeline("policy"))
    return "\n".join(lines) + "\n"


def _expectation_text(name: str, folder: Path, jobs: int) -> str:
    """Cases pinned to what the study gives today, measured on the whole study."""
    import sim

    study = sim.load(str(folder / STUDY_SCENARIO))
    study = replace(study, scenario=study.scenario.model_copy(update={"sweep": {}}))
    results = sim.run(study, replications=MEASURE_REPS, seed=MEASURE_SEED, jobs=jobs)
    if results.failures:
        raise RuntimeError(f"a measuring run failed: {results.failures[0].describe()}")
    cases = []
    for key, entry in results.summary["policies"].items():
        expect: dict[str, Any] = {}
        for metric in PINNED:
            mean = entry["metrics"][metric]["mean"]
            if mean is None or not math.isfinite(mean):
                continue  # the policy does not define it
            condition: dict[str, Any] = {"approx": float(f"{mean:.4g}")}
            if metric.endswith("_share"):
                condition["abs"] = SHARE_MARGIN
            expect[metric] = condition
        cases.append(
            {"name": f"{key} as measured by cancelsim init", "policy": key, "expect": expect}
        )
    spec = {
        "name": f"{name} headline outcomes",
        "scenario": "../../" + STUDY_SCENARIO,
        "replications": MEASURE_REPS,
        "seed": MEASURE_SEED,
        "margin": {"rel": 0.15},
        "cases": cases,
    }
    body = yaml.safe_dump(
        spec, sort_keys=False, allow_unicode=True, default_flow_style=None, width=10**6
    )
    return "\n".join(
        [
            modeline("test"),
            f"# Regression tests of {visible(name)}'s policies: each case pins outcomes",
            f"# measured by `cancelsim init` on {dt.date.today().isoformat()}: the whole study,",
            f"# {MEASURE_REPS} replications, seed {MEASURE_SEED}.",
            "# `cancelsim test` (in this folder) replays it; a value that moves beyond its",
            "# margin (15%, or 0.3 points for shares) fails, naming the case and the metric.",
            "# After an edit you mean, measure again and update the numbers.",
            body.rstrip("\n"),
            "",
        ]
    )


def _readme(name: str, base: str, base_path: Path, policies: list[str]) -> str:
    listed = "\n".join(f"  - `{p}`" for p in policies)
    return f"""# {visible(name)}

A cancelsim study, made by `cancelsim init` on {dt.date.today().isoformat()} from the bundled
scenario `{base}` ({base_path}).

- `scenario.yaml`: the market. It extends `builtin:{base}`; write a key here to change it.
- `policies/`: copies of the bundled policy files this study plays, to edit:
{listed}
- `tests/policies/`: regression tests, pinned to what the study gave when it was made.

In this folder (or any folder inside it):

```
cancelsim validate scenario.yaml policies/*.yaml tests/policies/*.yaml
cancelsim run                     # plays scenario.yaml; results in results/{safe_name(name)}/
cancelsim test                    # the regression tests in tests/policies/
cancelsim diff builtin:{Path(policies[0]).stem} {policies[0]}   # what an edit changed
cancelsim report results/{safe_name(name)}          # redraw the report
```

Every number in the bundled files is sourced and dated, or marked as an assumption;
keep doing so in your edits (`sources:` in a policy, a comment in the scenario).
"""
