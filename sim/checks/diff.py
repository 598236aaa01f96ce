"""`cancelsim diff OLD NEW`: what changed in a policy's rules, and what that does.

OLD and NEW are policy files or `path@gitrev` (read with `git show`). First the rule
changes, key by key (effective dates show as keys of the dated values); then both
versions are played through the same scenario under common random numbers, and every
metric's paired difference (new minus old) is reported with its 95% interval.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.model.builtin import located
from sim.model.load import (
    Study,
    fit_problems,
    load_study,
    policy_key,
    read_scenario,
    validate_policy,
)
from sim.model.policy import Policy
from sim.model.scenario import PolicyRun
from sim.model.uncertain import declared
from sim.model.yamlfile import Document, parse_document, read_document
from sim.visible import visible


@dataclass(frozen=True)
class PolicySource:
    """A policy as read from a file or from git, with its name for messages."""

    label: str
    key: str
    doc: Document
    policy: Policy


def read_source(spec: str) -> PolicySource:
    """`policies/amazon.yaml` or `policies/amazon.yaml@HEAD~1`."""
    hidden = sorted({c for c in spec if visible(c) != c})
    if hidden:  # a line break would split the one-line messages that name it
        raise InputError.single(
            visible(spec),
            f"holds {', '.join(visible(c) for c in hidden)}: a path@revision is one line "
            "of visible text, e.g. policies/amazon.yaml@HEAD~1",
        )
    path, rev = spec, None
    if "@" in spec and not Path(spec).exists():
        path, rev = spec.rsplit("@", 1)
        if not rev or rev.startswith("-"):
            raise InputError.single(
                spec,
                "expected path@revision, e.g. "
                "policies/amazon.yaml@HEAD~1 (a revision may not be empty "
                "or start with -)",
            )
    if rev is None:
        path = str(located(path, "policy"))
    doc = read_document(path) if rev is None else parse_document(_git_show(path, rev), spec)
    _, declaration_problems = declared(doc)  # ranges do not change what a run computes
    if declaration_problems:
        raise InputError(declaration_problems)
    policy = validate_policy(doc)
    key = policy_key(doc, Path(path).stem)  # a revision's stem is its file's
    return PolicySource(spec, key, doc, policy.renamed(key))


def _git_show(path: str, rev: str) -> bytes:
    file = Path(path).resolve()
    try:
        top = subprocess.run(
            ["git", "-C", str(file.parent), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        shown = subprocess.run(
            ["git", "-C", top, "show", f"{rev}:{file.relative_to(Path(top).resolve()).as_posix()}"],
            capture_output=True,
            check=True,
        )
    except FileNotFoundError:
        raise InputError.single(f"{path}@{rev}", "git is not installed") from None
    except (subprocess.CalledProcessError, ValueError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        text = detail.strip().splitlines()
        reason = text[0] if text else "not in a git repository"
        raise InputError.single(f"{path}@{rev}", f"cannot read it from git: {reason}") from None
    return shown.stdout


def rule_changes(old: Any, new: Any, path: tuple[str, ...] = ()) -> list[str]:
    """`key.path: old -> new` for every value that differs (added and removed keys too)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in [*old, *(k for k in new if k not in old)]:
            where = (*path, str(key))
            if key not in new:
                changes.append(visible(f"{'.'.join(where)}: {_text(old[key])} -> (removed)"))
            elif key not in old:
                changes.append(visible(f"{'.'.join(where)}: (none) -> {_text(new[key])}"))
            else:
                changes += rule_changes(old[key], new[key], where)
        return changes
    if old != new:  # one line each, whatever a name or a note holds
        return [visible(f"{'.'.join(path)}: {_text(old)} -> {_text(new)}")]
    return []


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def paired_study(old: PolicySource, new: PolicySource, scenario_path: str | Path) -> Study:
    """The scenario with the two versions as its only policies, `old` the baseline."""
    base = load_study(scenario_path)
    doc = read_scenario(scenario_path)
    index = _played_as(base, old, new)
    if index is None:
        keys = ", ".join(run.key or "" for run in base.scenario.policies)
        raise InputError.single(
            str(scenario_path),
            f"the scenario plays no policy with the key "
            f"{' or '.join(repr(k) for k in dict.fromkeys((old.key, new.key)))}, nor one "
            f"of platform {old.policy.platform!r}, to take the buyers' payment mix from "
            f"(its policies: {keys}); give --scenario, or key: in the policy file",
        )
    mix = base.scenario.policies[index].payment_mix
    runs = [
        PolicyRun(file=old.label, key="old", payment_mix=mix),
        PolicyRun(file=new.label, key="new", payment_mix=mix),
    ]
    scenario = base.scenario.model_copy(update={"policies": runs, "baseline": "old", "sweep": {}})
    problems = [
        *fit_problems(base.scenario, old.policy, doc, index),
        *fit_problems(base.scenario, new.policy, doc, index),
    ]
    if problems:
        raise InputError(sorted(set(problems)))
    return Study(
        scenario,
        {"old": old.policy.renamed("old"), "new": new.policy.renamed("new")},
        str(scenario_path),
        {"old": old.label, "new": new.label},
    )


def _played_as(base: Study, old: PolicySource, new: PolicySource) -> int | None:
    """Which of the scenario's policies the two versions stand for: the one with OLD's
    key, else NEW's, else the only one of their platform."""
    runs = base.scenario.policies
    for key in (old.key, new.key):
        found = [i for i, run in enumerate(runs) if run.key == key]
        if found:
            return found[0]
    same = [
        i
        for i, run in enumerate(runs)
        if base.policies[run.key or ""].platform == old.policy.platform
    ]
    return same[0] if len(same) == 1 else None
