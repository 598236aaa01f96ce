"""Load policy and scenario files: parse, apply overrides, validate, cross-check."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import InputError, Problem
from sim.model.base import validate
from sim.model.calendar import known_calendars
from sim.model.dated import ALWAYS
from sim.model.policy import Cause, Policy
from sim.model.scenario import Scenario
from sim.model.uncertain import (
    Factor,
    declared,
    not_repeated,
    place,
    range_problems,
    run_control_problems,
    unset,
)
from sim.model.yamlfile import Document, parse_document, read_document


@dataclass(frozen=True)
class Override:
    """`--set key.path=value`: a change to a scenario or, by its stem, to a policy."""

    path: tuple[str, ...]
    value: Any
    text: str
    origin: str = "--set"  # where it came from, for messages: --set or --sweep

    @classmethod
    def parse(cls, text: str) -> Override:
        key, sep, raw = text.partition("=")
        if not sep or not key.strip() or any(not p for p in key.strip().split(".")):
            raise InputError.single(
                "--set",
                f"{text!r} is not KEY=VALUE, e.g. "
                "buyers.cancel_intent=0.1 or amazon.self_cancel.window=2h",
            )
        data = parse_document(f"v: {raw}" if raw.strip() else "v: ''", "--set").data
        if set(data) != {"v"}:
            raise InputError.single(
                "--set", f"{text!r}: the value must be one YAML value; use {{...}} for a mapping"
            )
        return cls(tuple(key.strip().split(".")), data["v"], text)


@dataclass(frozen=True)
class Study:
    """A scenario with the policies it plays, each keyed by its file's stem."""

    scenario: Scenario
    policies: dict[str, Policy]
    path: str
    policy_paths: dict[str, str] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()  # the --set values it was loaded with
    # declared ranges (scenario keys, then each policy's as STEM.key) that --set left free
    factors: tuple[Factor, ...] = ()


def load_policy(path: str | Path, overrides: list[Override] = ()) -> Policy:  # type: ignore[assignment]
    """Read and validate one policy file."""
    return _policy(path, overrides, None, "")[0]


def _policy(
    path: str | Path,
    overrides: list[Override],
    values: Mapping[str, float] | None,
    prefix: str,
) -> tuple[Policy, list[Factor]]:
    """A policy and its declared ranges (with `values` placed, when given)."""
    doc = read_document(path)
    factors, problems = declared(doc, prefix)
    _apply(doc, overrides)
    factors = unset(factors, doc)
    place(doc, factors, values or {})
    try:
        policy: Policy = validate(Policy, doc)
    except InputError as exc:
        raise InputError(problems + not_repeated(exc.problems, problems)) from None
    problems += policy_problems(policy, doc)
    if values is None and not problems:
        found, factors = range_problems(Policy, doc, factors)
        problems += found
    if problems:
        raise InputError(problems)
    return policy, factors


def load_study(
    path: str | Path,
    overrides: list[Override] = (),  # type: ignore[assignment]
    values: Mapping[str, float] | None = None,
) -> Study:
    """Read a scenario and every policy it names; report all problems of all files at once.

    `values` gives declared ranges a value each (by factor key, in the factor's unit): a
    point of a sensitivity analysis. Without it, every range is checked against what its
    key allows.
    """
    doc = read_document(path)
    factors, declaration_problems = declared(doc)
    # The scenario's own keys first: `--set policies=[...]` decides which policy files
    # (and so which `STEM.key=...` overrides) there are.
    named = {f.stem for f, _ in _policy_files(doc, Path(path).parent)}
    own = [o.path[0] in Scenario.model_fields and o.path[0] not in named for o in overrides]
    _apply(doc, [o for o, mine in zip(overrides, own, strict=True) if mine])
    files = _policy_files(doc, Path(path).parent)
    stems = {f.stem for f, _ in files}
    rest = [o for o, mine in zip(overrides, own, strict=True) if not mine]
    whole = [o for o in rest if o.path[0] in stems and len(o.path) == 1]
    if whole:  # `--set amazon=...`: a policy is a file, not one value
        raise InputError(
            [
                Problem(
                    o.origin,
                    0,
                    0,
                    o.path[0],
                    f"cannot set {o.text!r}: name a key of the policy, e.g. "
                    f"{o.path[0]}.self_cancel.window=1h",
                )
                for o in whole
            ]
        )
    lost = [o for o in rest if o.path[0] in named - stems]
    if lost:  # it named a policy that `--set policies=...` took out
        raise InputError(
            [
                Problem(
                    o.origin,
                    0,
                    0,
                    ".".join(o.path),
                    f"no policy {o.path[0]!r} is played any more (the policies are "
                    f"{', '.join(sorted(stems)) or 'none'}); cannot set {o.text!r}",
                )
                for o in lost
            ]
        )
    _apply(doc, [o for o in rest if o.path[0] not in stems])
    factors = unset(factors, doc)
    place(doc, factors, values or {})
    problems: list[Problem] = list(declaration_problems)
    scenario: Scenario | None = None
    try:
        scenario = validate(Scenario, doc)
    except InputError as exc:
        problems += not_repeated(exc.problems, declaration_problems)
    if scenario is not None and values is None and not problems:
        found, factors = range_problems(Scenario, doc, factors)
        problems += found
    problems += run_control_problems(doc, factors)
    if scenario is not None and scenario.orders.replay is not None:
        scenario, replayed = _replay(scenario, Path(path).parent, doc)
        problems += replayed
    policies: dict[str, Policy] = {}
    for file, index in files:
        if "-vs-" in file.stem:
            problems.append(
                doc.problem(
                    ("policies", index, "file"),
                    f"{file.stem!r}: a policy "
                    "file name may not contain '-vs-' (it names comparisons)",
                )
            )
            continue
        if file.stem in Scenario.model_fields:
            problems.append(
                doc.problem(
                    ("policies", index, "file"),
                    f"{file.stem!r}: a policy file may not be named like a scenario key "
                    "(--set would not know which it means); rename the file",
                )
            )
            continue
        if file.stem in policies:
            problems.append(
                doc.problem(
                    ("policies", index, "file"),
                    f"a second policy named {file.stem!r}; file stems must differ",
                )
            )
            continue
        mine = [
            Override(o.path[1:], o.value, o.text, o.origin)
            for o in overrides
            if o.path[0] == file.stem
        ]
        try:
            policies[file.stem], theirs = _policy(file, mine, values, file.stem)
            factors += theirs
        except InputError as exc:
            if any(p.message == "file not found" for p in exc.problems):
                problems.append(
                    doc.problem(("policies", index, "file"), f"policy file {str(file)!r} not found")
                )
            else:
                problems.extend(exc.problems)
            continue
        if scenario is not None:
            problems += fit_problems(scenario, policies[file.stem], doc, index)
    if scenario is not None and scenario.baseline is not None and not problems:
        problems += _baseline_problems(scenario.baseline, list(policies), doc)
    if problems or scenario is None:
        raise InputError(problems)
    paths = {file.stem: str(file) for file, _ in files}
    if values is not None and set(values) - {f.key for f in factors}:
        unknown = ", ".join(sorted(set(values) - {f.key for f in factors}))
        raise InputError.single(str(path), f"no declared range named {unknown}")
    return Study(scenario, policies, str(path), paths, tuple(overrides), tuple(factors))


def _replay(scenario: Scenario, folder: Path, doc: Document) -> tuple[Scenario, list[Problem]]:
    """The scenario with its order log's path resolved, and what is wrong with the log."""
    from sim.engine.replay import replay_orders, resolve

    scenario = resolve(scenario, folder)
    at = ("orders", "replay")
    try:
        replay = replay_orders(scenario)
    except InputError as exc:
        return scenario, [doc.problem(at, f"{p.file}: {p.message}") for p in exc.problems]
    problems = []
    if not len(replay.times):
        problems.append(
            doc.problem(
                at,
                f"no order of the log is placed within the horizon ({replay.before:,} before "
                f"the start, {replay.after:,} after the end); move start or horizon",
            )
        )
    elif scenario.sellers.count != len(replay.seller_ids):
        problems.append(
            doc.problem(
                ("sellers", "count"),
                f"is {scenario.sellers.count:,}, but the replayed orders come from "
                f"{len(replay.seller_ids):,} sellers; set count: {len(replay.seller_ids)}",
            )
        )
    missing = int((replay.cents < 0).sum())
    if missing and scenario.orders.value is None:
        problems.append(
            doc.problem(
                at,
                f"{missing:,} replayed orders have no value in the log; give orders.value "
                "to draw theirs",
            )
        )
    return scenario, problems


def _policy_files(doc: Document, base: Path) -> list[tuple[Path, int]]:
    """The policy files a scenario names (as far as it names them validly), by position."""
    runs = doc.data.get("policies") if isinstance(doc.data, dict) else None
    if not isinstance(runs, list):
        return []
    return [
        (Path(os.path.normpath(base / run["file"])), index)
        for index, run in enumerate(runs)
        if isinstance(run, dict) and isinstance(run.get("file"), str) and run["file"]
    ]


def _baseline_problems(baseline: str, keys: list[str], doc: Document) -> list[Problem]:
    if baseline in keys:
        return []
    hint = difflib.get_close_matches(baseline, keys, n=1)
    tip = f"did you mean {hint[0]!r}? " if hint else ""
    return [
        doc.problem(
            ("baseline",),
            f"{baseline!r} is not a policy of the scenario; {tip}"
            f"policies (file stems): {', '.join(keys)}",
        )
    ]


def policy_problems(policy: Policy, doc: Document) -> list[Problem]:
    """Cross-references inside a policy: sources, calendar, reasons."""
    problems = []
    for loc, section in policy.sections().items():
        for ref in section.source_ids:
            if ref not in policy.sources:
                hint = difflib.get_close_matches(ref, list(policy.sources), n=1)
                tip = f"did you mean {hint[0]!r}? " if hint else ""
                problems.append(
                    doc.problem(
                        (*loc, "source"),
                        f"unknown source {ref!r}; {tip}sources are defined under sources:",
                    )
                )
    if policy.calendar not in known_calendars():
        hint = difflib.get_close_matches(policy.calendar, known_calendars(), n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        problems.append(
            doc.problem(
                ("calendar",),
                f"unknown calendar {policy.calendar!r}; "
                f"expected a country code such as US or CN, or none{tip}",
            )
        )
    return problems


def fit_problems(scenario: Scenario, policy: Policy, doc: Document, index: int) -> list[Problem]:
    """Does the scenario give this policy all it needs (payment methods, causes, money)?"""
    problems = []
    for method in scenario.policies[index].payment_mix:
        if method not in policy.refunds.rails:
            hint = difflib.get_close_matches(method, list(policy.refunds.rails), n=1)
            tip = f"did you mean {hint[0]!r}? " if hint else ""
            problems.append(
                doc.problem(
                    ("policies", index, "payment_mix", method),
                    f"payment method {method!r} is not a rail of "
                    f"{policy.name!r}; {tip}rails: "
                    f"{', '.join(policy.refunds.rails)}",
                    key=True,
                )
            )
    mapped = {r.cause for r in policy.seller_cancel.reasons.values()}
    needed = {c for t in scenario.sellers.types.values() for c in t.cancels} | {Cause.BUYER_REQUEST}
    for cause in sorted(needed - mapped, key=lambda c: c.value):
        problems.append(
            doc.problem(
                ("policies", index, "file"),
                f"policy {policy.name!r} has no seller_cancel reason with "
                f"cause {cause.value!r}, which the scenario uses",
            )
        )
    if policy.currency != scenario.currency and policy.currency not in scenario.exchange_rates:
        problems.append(
            doc.problem(
                ("exchange_rates",),
                f"no exchange rate for {policy.currency} (policy "
                f"{policy.name!r}); add {policy.currency}: <value in "
                f"{scenario.currency}>",
            )
        )
    fulfilment = policy.platform_fulfilment
    kinds = scenario.sellers.types.values()
    if (
        fulfilment is not None
        and fulfilment.serves == "all"
        and scenario.orders.replay is None  # replayed, every seller stands for the platform
        and not any(t.fulfilment == "platform" for t in kinds)
    ):
        problems.append(
            doc.problem(
                ("policies", index, "file"),
                f"policy {policy.name!r} fulfils every order itself "
                "(platform_fulfilment.serves: all), but no seller type of the scenario "
                "has fulfilment: platform to stand for its warehouses",
            )
        )
    elif (
        fulfilment is not None
        and fulfilment.serves == "all"
        and scenario.orders.replay is None
        and not any(
            list(kinds)[k].fulfilment == "platform" for k in set(scenario.sellers.type_of())
        )
    ):
        problems.append(
            doc.problem(
                ("sellers", "count"),
                f"{scenario.sellers.count:,} sellers leave none to the seller types with "
                f"fulfilment: platform, which policy {policy.name!r} needs (it fulfils every "
                "order itself); raise count or those types' shares, or leave the policy out",
            )
        )
    problems += _date_problems(scenario, policy, doc, index)
    return problems


def _date_problems(scenario: Scenario, policy: Policy, doc: Document, index: int) -> list[Problem]:
    """A dated value must be in force from the scenario's first day on."""
    first_day = scenario.start.date()
    problems = []
    for path, history in dated_values(policy):
        first = next(iter(history))
        if first != ALWAYS and first > first_day:
            problems.append(
                doc.problem(
                    ("policies", index, "file"),
                    f"{'.'.join(map(str, path))} has no value before "
                    f"{first}, but the scenario starts on {first_day}",
                )
            )
    return problems


def dated_values(model: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], dict]]:
    """Every effective-dated value in a model, with its key path."""
    import datetime as dt

    from pydantic import BaseModel

    found: list[tuple[tuple[Any, ...], dict]] = []
    if isinstance(model, BaseModel):
        for name, info in type(model).model_fields.items():
            found += dated_values(getattr(model, name), (*path, info.alias or name))
    elif isinstance(model, dict):
        if model and all(isinstance(k, dt.date) for k in model):
            found.append((path, model))
        else:
            for key, value in model.items():
                found += dated_values(value, (*path, key))
    return found


def _apply(doc: Document, overrides: list[Override]) -> None:
    """Write overrides into the parsed data; their problems name `--set`."""
    problems = []
    for override in overrides:
        node = doc.data
        for part in override.path[:-1]:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node and isinstance(node[part], dict | list):
                node = node[part]
            elif isinstance(node, dict) and part not in node:
                node[part] = {}
                node = node[part]
            else:
                problems.append(
                    Problem(
                        override.origin,
                        0,
                        0,
                        ".".join(override.path),
                        f"cannot set {override.text!r}: {part!r} is not a mapping in the file",
                    )
                )
                break
        else:
            doc.overrides[override.path] = f"{override.origin} {override.text}"
            last = override.path[-1]
            if isinstance(node, list) and last.isdigit() and int(last) < len(node):
                node[int(last)] = override.value
            elif isinstance(node, dict):
                node[last] = override.value
            else:
                problems.append(
                    Problem(
                        override.origin,
                        0,
                        0,
                        ".".join(override.path),
                        f"cannot set {override.text!r} there",
                    )
                )
    if problems:
        raise InputError(problems)
