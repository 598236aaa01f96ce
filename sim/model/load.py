"""Load policy and scenario files: parse, apply overrides, validate, cross-check."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import InputError, Problem
from sim.model.base import validate
from sim.model.builtin import located, resolve
from sim.model.calendar import known_calendars
from sim.model.dated import histories, is_history, snapshot, version_dates
from sim.model.kinds import check_kind
from sim.model.policy import FIXED, Cause, Policy, Rules
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
    """`--set key.path=value`: a change to a scenario or, by its key, to a policy."""

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
        try:
            data = parse_document(f"v: {raw}" if raw.strip() else "v: ''", "--set").data
        except InputError as exc:  # its positions are in the wrapped text: left out
            reason = exc.problems[0].message.split(" (while ")[0]
            message = f"{text!r}: the value is not valid: {reason}"
            raise InputError.single("--set", message) from None
        if set(data) != {"v"}:
            raise InputError.single(
                "--set", f"{text!r}: the value must be one YAML value; use {{...}} for a mapping"
            )
        return cls(tuple(key.strip().split(".")), data["v"], text)


@dataclass(frozen=True)
class Study:
    """A scenario with the policies it plays, by key (their `key:`, else their file's stem)."""

    scenario: Scenario
    policies: dict[str, Policy]
    path: str
    policy_paths: dict[str, str] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()  # the --set values it was loaded with
    # declared ranges (scenario keys, then each policy's as STEM.key) that --set left free
    factors: tuple[Factor, ...] = ()


def load_policy(path: str | Path, overrides: list[Override] = ()) -> Policy:  # type: ignore[assignment]
    """Read and validate one policy file (a path, or `builtin:NAME`)."""
    return _policy(read_document(located(path, "policy")), overrides, None, "")[0]


def policy_key(doc: Document, stem: str | None = None) -> str:
    """The key a policy goes by: its `key:`, else its file's stem."""
    data = doc.data
    if isinstance(data, dict) and isinstance(data.get("key"), str):
        return str(data["key"])
    return stem if stem is not None else Path(doc.file).stem


def _policy(
    doc: Document,
    overrides: list[Override],
    values: Mapping[str, float] | None,
    prefix: str,
) -> tuple[Policy, list[Factor]]:
    """A policy and its declared ranges (with `values` placed, when given)."""
    factors, problems = declared(doc, prefix)
    _apply(doc, overrides)
    factors = unset(factors, doc)
    place(doc, factors, values or {})
    try:
        policy = validate_policy(doc)
    except InputError as exc:
        raise InputError(problems + not_repeated(exc.problems, problems)) from None
    if values is None and not problems:
        found, factors = range_problems(validate_policy, doc, factors)
        problems += found
    if problems:
        raise InputError(problems)
    return policy, factors


def validate_policy(doc: Document) -> Policy:
    """A policy file's rules, validated as in force from each of its effective dates.

    Each version is the file as it read on that day (`dated.snapshot`), validated with
    the positions of the values it holds; a problem found in several versions is
    reported once."""
    check_kind(doc.file, doc.data, "policy")
    dated, problems = histories(doc, FIXED)
    if problems:
        raise InputError(problems)
    versions: dict[dt.date, Rules] = {}
    for day in version_dates(dated):
        version = snapshot(doc, day)
        try:
            rules: Rules = validate(Rules, version)
        except InputError as exc:
            problems += [p for p in exc.problems if p not in problems]
            continue
        problems += [p for p in policy_problems(rules, version) if p not in problems]
        versions[day] = rules
    serves = {_serves(rules) for rules in versions.values()}
    if len(serves) > 1 and not problems:
        problems.append(
            doc.problem(
                ("platform_fulfilment",),
                "which orders the platform fulfils (platform_fulfilment and its serves) "
                "cannot change over time: the scenario's sellers are assigned once",
            )
        )
    if problems:
        raise InputError(problems)
    return Policy(policy_key(doc), versions, dated)


def _serves(rules: Rules) -> str | None:
    return rules.platform_fulfilment.serves if rules.platform_fulfilment else None


def read_scenario(path: str | Path) -> Document:
    """A scenario file, with the scenario it `extends:` merged under it."""
    from sim.model.extends import extended

    path = located(path, "scenario")
    doc = read_document(path)
    check_kind(doc.file, doc.data, "scenario")
    return extended(doc, path)


def load_study(
    path: str | Path,
    overrides: list[Override] = (),  # type: ignore[assignment]
    values: Mapping[str, float] | None = None,
) -> Study:
    """Read a scenario and every policy it names; report all problems of all files at once.

    `values` gives declared ranges a value each (by factor key, in the factor's unit): a
    point of a sensitivity analysis. Without it, every range is checked against what its
    key allows. `path` may name a bundled scenario: `builtin:baseline`.
    """
    path = located(path, "scenario")
    doc = read_scenario(path)
    factors, declaration_problems = declared(doc)
    # The scenario's own keys first: `--set policies=[...]` decides which policy files
    # (and so which `KEY.key=...` overrides) there are.
    named = set(_policy_files(doc, Path(path).parent).keys())
    own = [o.path[0] in Scenario.model_fields and o.path[0] not in named for o in overrides]
    _apply(doc, [o for o, mine in zip(overrides, own, strict=True) if mine])
    files = _policy_files(doc, Path(path).parent)
    keys = set(files)
    rest = [o for o, mine in zip(overrides, own, strict=True) if not mine]
    if any(o.path[0] == "extends" for o in overrides):
        raise InputError.single(
            "--set", "extends cannot be set: the scenario's base is read before --set applies"
        )
    whole = [o for o in rest if o.path[0] in keys and len(o.path) == 1]
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
    lost = [o for o in rest if o.path[0] in named - keys]
    if lost:  # it named a policy that `--set policies=...` took out
        raise InputError(
            [
                Problem(
                    o.origin,
                    0,
                    0,
                    ".".join(o.path),
                    f"no policy {o.path[0]!r} is played any more (the policies are "
                    f"{', '.join(sorted(keys)) or 'none'}); cannot set {o.text!r}",
                )
                for o in lost
            ]
        )
    _apply(doc, [o for o in rest if o.path[0] not in keys])
    factors = unset(factors, doc)
    place(doc, factors, values or {})
    problems: list[Problem] = list(declaration_problems)
    scenario: Scenario | None = None
    try:
        scenario = validate(Scenario, doc)
    except InputError as exc:
        problems += not_repeated(exc.problems, declaration_problems)
    if scenario is not None and values is None and not problems:
        found, factors = range_problems(_scenario, doc, factors)
        problems += found
    problems += run_control_problems(doc, factors)
    if scenario is not None and scenario.orders.replay is not None:
        scenario, replayed = _replay(scenario, Path(path).parent, doc)
        problems += replayed
    policies: dict[str, Policy] = {}
    for key, named_file in files.items():
        file, index, policy_doc = named_file
        at = ("policies", index, "key" if _run_key(doc, index) else "file")
        if policy_doc is None:
            problems.append(
                doc.problem(("policies", index, "file"), f"policy file {str(file)!r} not found")
            )
            continue
        if "-vs-" in key or key in Scenario.model_fields:
            why = (
                "may not contain '-vs-' (it names comparisons)"
                if "-vs-" in key
                else "may not be a scenario key (--set would not know which it means)"
            )
            problems.append(doc.problem(at, f"{key!r}: a policy's key {why}; give it another key:"))
            continue
        mine = [
            Override(o.path[1:], o.value, o.text, o.origin) for o in overrides if o.path[0] == key
        ]
        try:
            policy, theirs = _policy(policy_doc, mine, values, key)
            policies[key] = policy.renamed(key)
            factors += theirs
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if scenario is not None:
            problems += fit_problems(scenario, policies[key], doc, index)
    problems += files.problems
    if scenario is not None and scenario.baseline is not None and not problems:
        problems += _baseline_problems(scenario.baseline, list(policies), doc)
    if problems or scenario is None:
        raise InputError(problems)
    paths = {key: str(file) for key, (file, _, _) in files.items()}
    if scenario is not None:
        runs = [
            run.model_copy(update={"key": key})
            for run, key in zip(scenario.policies, files.keys(), strict=True)
        ]
        scenario = scenario.model_copy(update={"policies": runs})
    if values is not None and set(values) - {f.key for f in factors}:
        unknown = ", ".join(sorted(set(values) - {f.key for f in factors}))
        raise InputError.single(str(path), f"no declared range named {unknown}")
    return Study(scenario, policies, str(path), paths, tuple(overrides), tuple(factors))


def _scenario(doc: Document) -> Scenario:
    scenario: Scenario = validate(Scenario, doc)
    return scenario


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


class PolicyFiles(dict[str, tuple[Path, int, Document | None]]):
    """The policies a scenario names, by key: (file, position in `policies:`, its parsed
    document or None when the file is not found), and the problems of reading them."""

    problems: list[Problem]


def _run_key(doc: Document, index: int) -> str | None:
    """The `key:` a scenario gives a policy it plays (None: the policy's own)."""
    run = doc.data["policies"][index]
    return run["key"] if isinstance(run.get("key"), str) and run["key"] else None


def _policy_files(doc: Document, base: Path) -> PolicyFiles:
    """The policy files a scenario names (as far as it names them validly), by key."""
    found = PolicyFiles()
    found.problems = []
    runs = doc.data.get("policies") if isinstance(doc.data, dict) else None
    if not isinstance(runs, list):
        return found
    for index, run in enumerate(runs):
        if not (isinstance(run, dict) and isinstance(run.get("file"), str) and run["file"]):
            continue
        try:
            file = resolve(run["file"], base, "policy")
        except InputError as exc:
            message = exc.problems[0].message
            found.problems.append(doc.problem(("policies", index, "file"), message))
            continue
        policy_doc: Document | None = None
        try:
            policy_doc = read_document(file)
        except InputError as exc:
            if not any(p.message == "file not found" for p in exc.problems):
                found.problems += exc.problems
                continue
        key = _run_key(doc, index) or (policy_key(policy_doc) if policy_doc else file.stem)
        if key in found:
            found.problems.append(
                doc.problem(
                    ("policies", index, "key" if _run_key(doc, index) else "file"),
                    f"a second policy with the key {key!r} (the first is "
                    f"{found[key][0].name}); give one of them another key: in the policy "
                    "file, or key: here",
                )
            )
            continue
        found[key] = (file, index, policy_doc)
    return found


def _baseline_problems(baseline: str, keys: list[str], doc: Document) -> list[Problem]:
    if baseline in keys:
        return []
    hint = difflib.get_close_matches(baseline, keys, n=1)
    tip = f"did you mean {hint[0]!r}? " if hint else ""
    return [
        doc.problem(
            ("baseline",),
            f"{baseline!r} is not a policy of the scenario; {tip}"
            f"policies (by key): {', '.join(keys)}",
        )
    ]


def policy_problems(rules: Rules, doc: Document) -> list[Problem]:
    """Cross-references inside a policy's rules: sources, calendar."""
    problems = []
    for loc, section in rules.sections().items():
        for ref in section.source_ids:
            if ref not in rules.sources:
                hint = difflib.get_close_matches(ref, list(rules.sources), n=1)
                tip = f"did you mean {hint[0]!r}? " if hint else ""
                problems.append(
                    doc.problem(
                        (*loc, "source"),
                        f"unknown source {ref!r}; {tip}sources are defined under sources:",
                    )
                )
    if rules.calendar not in known_calendars():
        hint = difflib.get_close_matches(rules.calendar, known_calendars(), n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        problems.append(
            doc.problem(
                ("calendar",),
                f"unknown calendar {rules.calendar!r}; "
                f"expected a country code such as US or CN, or none{tip}",
            )
        )
    return problems


def fit_problems(scenario: Scenario, policy: Policy, doc: Document, index: int) -> list[Problem]:
    """Does the scenario give this policy all it needs (payment methods, causes, money),
    under every version of its rules that the scenario plays?"""
    first_day = scenario.start.date()
    if first_day < policy.starts:
        missing = [
            f"{'.'.join(map(str, path))} has no value before {dates[0]}"
            for path, dates in policy.dated.items()
            if dates[0] > first_day
        ]
        return [
            doc.problem(
                ("policies", index, "file"),
                f"{'; '.join(missing)}, but the scenario starts on {first_day}",
            )
        ]
    problems: list[Problem] = []
    played = [
        policy.at(first_day),
        *(policy.versions[d] for d in policy.changes() if d > first_day),
    ]
    for rules in played:
        problems += [p for p in _fit(scenario, rules, doc, index) if p not in problems]
    return problems


def _fit(scenario: Scenario, policy: Rules, doc: Document, index: int) -> list[Problem]:
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
    needed = {c for t in scenario.sellers.types.values() for c in t.cancels}
    request = policy.cancel_request
    if request is not None and request.seller_decides:  # an accepted request is the seller's
        needed.add(Cause.BUYER_REQUEST)  # cancel: it needs a reason code to be filed under
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
    return problems


def _apply(doc: Document, overrides: list[Override]) -> None:
    """Write overrides into the parsed data; their problems name `--set`."""
    problems = []
    for override in overrides:
        node = doc.data
        written: list[Any] = []  # the path as the data holds it (dates as dates)
        for part in override.path[:-1]:
            part = _date_key(node, part)
            written.append(int(part) if isinstance(node, list) and part.isdigit() else part)
            if isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
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
            last = _date_key(node, override.path[-1])
            index = int(last) if isinstance(node, list) and str(last).isdigit() else last
            doc.overrides[(*written, index)] = f"{override.origin} {override.text}"
            if isinstance(node, list) and str(last).isdigit() and int(last) < len(node):
                node[int(last)] = override.value
            elif isinstance(node, dict):
                node[last] = override.value
                if is_history(node):  # a new effective date goes in its place in time
                    ordered = dict(sorted(node.items()))
                    node.clear()
                    node.update(ordered)
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


def _date_key(node: Any, part: str) -> Any:
    """`2020-09-30` in a `--set` path is the effective date of a dated value."""
    if isinstance(node, dict) and is_history(node):
        try:
            return dt.date.fromisoformat(part)
        except ValueError:
            return part
    return part
