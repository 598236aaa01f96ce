"""The policies, scenarios and schemas that ship inside the package, and `builtin:` names.

`builtin:amazon` names the bundled policy file `amazon.yaml`, `builtin:baseline` the bundled
scenario `baseline.yaml`: wherever a file is named (a scenario's `policies[].file` and
`extends:`, an expectation file's `scenario:`, a command's argument), so that a study
written outside the repository, or a scenario copied out of it, still finds them.
Every other name is a path, relative to the file (or the folder) that gives it.
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.errors import InputError

PREFIX = "builtin:"
FOLDER = Path(__file__).resolve().parent.parent / "builtin"
"""The bundled files: `policies/`, `scenarios/` and `schemas/` (package data)."""

KINDS = {"policy": "policies", "scenario": "scenarios"}


def names(kind: str) -> list[str]:
    """The bundled files of a kind (`policy` or `scenario`), by name, sorted."""
    return sorted(p.stem for p in (FOLDER / KINDS[kind]).glob("*.yaml"))


def is_builtin(name: str) -> bool:
    return name.startswith(PREFIX)


def builtin_path(name: str, kind: str | None = None) -> Path:
    """The bundled file `builtin:NAME` names (of `kind`, or of any kind if None).

    Raises `InputError` (one problem, on the name) when there is no such file."""
    stem = name[len(PREFIX) :] if is_builtin(name) else name
    kinds = [kind] if kind else list(KINDS)
    if stem and "/" not in stem and "\\" not in stem and not stem.startswith("."):
        for each in kinds:
            path = FOLDER / KINDS[each] / f"{stem}.yaml"
            if path.is_file():
                return path
    other = [k for k in KINDS if k != kind and (FOLDER / KINDS[k] / f"{stem}.yaml").is_file()]
    if kind and other and stem and "/" not in stem and not stem.startswith("."):
        use = (
            "a scenario plays it (- file: builtin:{s})"
            if other[0] == "policy"
            else ("`cancelsim run builtin:{s}` plays it")
        )
        raise InputError.single(
            name,
            f"this is a bundled {other[0]}, not a {kind}; " + use.format(s=stem),
        )
    known = ", ".join(n for each in kinds for n in names(each))
    what = f"bundled {kind}" if kind else "bundled policy or scenario"
    raise InputError.single(name, f"no {what} of that name; bundled: {known}")


def located(path: str | Path, kind: str | None = None) -> Path:
    """A file a user names: `builtin:NAME` as its bundled file, any other name as is."""
    if is_builtin(str(path)):
        return builtin_path(str(path), kind)
    return Path(path)


def resolve(name: str, folder: Path, kind: str) -> Path:
    """A file named in a file of `folder`: `builtin:NAME`, or a path relative to it."""
    if is_builtin(name):
        return builtin_path(name, kind)
    return Path(os.path.normpath(folder / name))


def schema_path(kind: str) -> Path:
    """The installed JSON Schema of `policy`, `scenario` or `test` (expectation) files."""
    return FOLDER / "schemas" / f"{kind}.schema.json"
