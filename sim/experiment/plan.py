"""The runs an experiment is made of: sweep points x replications x policies.

A sweep is a list of axes, each a dotted key (into a policy by its key, or into the
scenario) and the values it takes; the points are their full factorial. Each point is
the study loaded with that point's values applied, exactly like `--set`.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.engine.simulate import RunSpec
from sim.errors import InputError
from sim.model.load import Override, Study, load_study
from sim.model.scenario import MAX_SWEEP_POINTS
from sim.model.yamlfile import parse_document

UNSWEPT = {"seed", "replications", "sweep"}


@dataclass(frozen=True)
class Axis:
    """One swept key and its values (as written, for labels)."""

    key: str
    values: tuple[Any, ...]
    labels: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Axis:
        """`--sweep amazon.self_cancel.window=15m,30m,1h`."""
        key, sep, raw = text.partition("=")
        parts = _split_top_level(raw)
        if not sep or not key.strip() or not all(p.strip() for p in parts):
            raise InputError.single(
                "--sweep", f"{text!r} is not KEY=V1,V2,..., e.g. amazon.self_cancel.window=15m,1h"
            )
        values = [parse_document(f"v: {p}", "--sweep").data["v"] for p in parts]
        return cls(key.strip(), tuple(values), tuple(p.strip() for p in parts))

    @classmethod
    def from_scenario(cls, key: str, values: list[Any]) -> Axis:
        labels = tuple(v if isinstance(v, str) else json.dumps(v, default=str) for v in values)
        return cls(key, tuple(values), labels)


@dataclass(frozen=True)
class Point:
    """One combination of swept values."""

    index: int
    values: tuple[tuple[str, Any, str], ...]  # (key, value, label)

    @property
    def label(self) -> dict[str, str]:
        return {key: label for key, _, label in self.values}

    def overrides(self) -> list[Override]:
        return [
            Override(tuple(key.split(".")), value, f"{key}={label}", origin="--sweep")
            for key, value, label in self.values
        ]


def sweep_points(axes: list[Axis]) -> list[Point]:
    """The full factorial of the axes (one empty point when nothing is swept)."""
    combos = itertools.product(*[list(zip(a.values, a.labels, strict=True)) for a in axes])
    return [
        Point(i, tuple((axis.key, v, label) for axis, (v, label) in zip(axes, combo, strict=True)))
        for i, combo in enumerate(combos)
    ]


def load_points(
    path: str | Path, overrides: list[Override], cli_axes: list[Axis]
) -> tuple[list[Point], list[Study]]:
    """Every sweep point's study; the command line's axes replace the scenario's block."""
    for axis in cli_axes:
        if axis.key in UNSWEPT:
            raise InputError.single(
                "--sweep",
                f"{axis.key} cannot be swept: every point uses "
                "the experiment's seed and replications; use --seed/--reps",
            )
    swept = math.prod(len(a.values) for a in cli_axes)
    if swept > MAX_SWEEP_POINTS:
        raise InputError.single(
            "--sweep", f"{swept:,} points; expected at most {MAX_SWEEP_POINTS:,}"
        )
    base = load_study(path, overrides)
    axes = cli_axes or [Axis.from_scenario(k, v) for k, v in base.scenario.sweep.items()]
    points = sweep_points(axes)
    if not axes:
        return points, [base]
    studies, problems = [], []
    for point in points:
        try:
            studies.append(load_study(path, [*overrides, *point.overrides()]))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(sorted(set(problems)))
    return points, studies


def plan(studies: list[Study], replications: int, seed: int) -> list[RunSpec]:
    """Point-major, then replication, then policy: early results cover every policy."""
    return [
        RunSpec(key, policy, study.scenario, rep, seed, point=index)
        for index, study in enumerate(studies)
        for rep in range(replications)
        for key, policy in study.policies.items()
    ]


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets, so `{dist: uniform, low: 1h, high: 2h}` stays whole."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts
