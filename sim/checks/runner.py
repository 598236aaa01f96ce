"""Run an expectation file and judge each case.

The rule: a case passes when, for every metric it names, the expected value or range
meets the 95% confidence interval of the metric across replications, widened on both
sides by the margin. With `approx: v` that is `lo - m <= v <= hi + m`; with `min: v`,
`hi + m >= v`; with `max: v`, `lo - m <= v`; with `between: [a, b]`, the widened
interval overlaps [a, b]. The margin `m` is `max(abs, rel * |v|)`. A fixed seed makes
every verdict deterministic.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim.checks.expectations import (
    Case,
    Expectation,
    ExpectationFile,
    Margin,
    at_set_entries,
    set_overrides,
)
from sim.errors import InputError
from sim.experiment.compare import differing, paired
from sim.model.base import validate
from sim.model.builtin import located, resolve
from sim.model.kinds import check_kind
from sim.model.load import load_study
from sim.model.yamlfile import Document, read_document


@dataclass
class Verdict:
    """The outcome of one case."""

    file: str
    line: int
    case: str
    details: list[tuple[bool, str]] = field(default_factory=list)  # (passed, text) a metric

    @property
    def passed(self) -> bool:
        return all(ok for ok, _ in self.details)

    def failure(self) -> str:
        """`file:line: 'case': metric = 71.3 [69.8, 72.9], expected <= 48` per failed metric."""
        bad = [text for ok, text in self.details if not ok]
        return "\n".join(f"{self.file}:{self.line}: {self.case!r}: {text}" for text in bad)


@dataclass
class LoadedFile:
    """An expectation file, validated, with the line of each case."""

    path: Path
    spec: ExpectationFile
    lines: list[int]
    doc: Document

    def case_keywords(self, case: Case) -> set[str]:
        words = {case.name, self.spec.name, self.path.stem, *self.spec.keywords, *case.keywords}
        if case.policy:
            words.add(case.policy)
        if case.compare:
            words.update(case.compare)
        return words


def load_file(path: str | Path) -> LoadedFile:
    path = located(path)
    doc = read_document(path)
    check_kind(doc.file, doc.data, "expectation")
    spec: ExpectationFile = validate(ExpectationFile, doc)
    lines = [doc.value_at[("cases", i)][0] for i in range(len(spec.cases))]
    return LoadedFile(Path(path), spec, lines, doc)


def run_file(loaded: LoadedFile, jobs: int = 1) -> Any:
    """Play the file's scenario once for all its cases."""
    import sim

    study = study_of(loaded)
    return sim.run(study, replications=loaded.spec.replications, seed=loaded.spec.seed, jobs=jobs)


def study_of(loaded: LoadedFile) -> Any:
    """The study the file's cases are judged on: its scenario with its `set:`, one point,
    its policies (every problem of them raised, before anything runs)."""
    try:
        scenario = resolve(loaded.spec.scenario, loaded.path.parent, "scenario")
    except InputError as exc:
        raise InputError([loaded.doc.problem(("scenario",), exc.problems[0].message)]) from None
    if not scenario.is_file():
        raise InputError(
            [loaded.doc.problem(("scenario",), f"scenario file {str(scenario)!r} not found")]
        )
    try:  # a problem that a `set:` entry causes is reported at the entry
        study = load_study(str(scenario), set_overrides(loaded.spec.set))
    except InputError as exc:
        raise InputError(at_set_entries(loaded.doc, exc.problems)) from None
    # One point: a sweep block of the scenario is not played by a regression test.
    study = replace(study, scenario=study.scenario.model_copy(update={"sweep": {}}))
    if loaded.spec.policies:
        study = _only(loaded, study, loaded.spec.policies)
    _check_policies(loaded, list(study.policies))
    return study


def _only(loaded: LoadedFile, study: Any, keys: list[str]) -> Any:
    """The study with only these policies."""
    missing = [k for k in keys if k not in study.policies]
    if missing:
        raise InputError(
            [
                loaded.doc.problem(
                    ("policies",),
                    f"{missing[0]!r} is not a policy "
                    f"of the scenario; policies: "
                    f"{', '.join(study.policies)}",
                )
            ]
        )
    runs = [r for r in study.scenario.policies if r.key in keys]
    baseline = study.scenario.baseline if study.scenario.baseline in keys else None
    scenario = study.scenario.model_copy(update={"policies": runs, "baseline": baseline})
    return replace(
        study, scenario=scenario, policies={k: v for k, v in study.policies.items() if k in keys}
    )


def judge(loaded: LoadedFile, index: int, results: Any) -> Verdict:
    case = loaded.spec.cases[index]
    line = loaded.lines[index]
    keys = [case.policy] if case.policy else list(case.compare or ())
    failures = [f for f in results.failures if f.policy in keys]
    if failures:  # a metric of failed runs is missing, not "not defined for this policy"
        text = f"{len(failures)} run(s) failed, e.g. {failures[0].describe()}"
        return Verdict(str(loaded.path), line, case.name, [(False, text)])
    default = case.margin or loaded.spec.margin
    details = []
    for metric, expectation in case.expect.items():
        value = _value(results, case, metric)
        details.append(_check(metric, value, expectation, expectation.margin(default)))
    return Verdict(str(loaded.path), line, case.name, details)


def _value(results: Any, case: Case, metric: str) -> dict[str, Any]:
    if case.policy is not None:
        return results.summary["policies"][case.policy]["metrics"][metric]
    assert case.compare is not None
    other, reference = case.compare
    differ = differing(results.study.policies, other, reference)
    return paired(results.runs, other, reference, differ)[metric]


def _check(
    metric: str, value: dict[str, Any], exp: Expectation, margin: Margin
) -> tuple[bool, str]:
    mean, ci = value.get("mean"), value.get("ci95")
    if value.get("definitions_differ"):
        return False, (
            f"{metric}: the two policies define their seller metric differently, so their "
            f"difference compares definitions, not policies; expected {exp.describe()}"
        )
    if mean is None:
        return False, f"{metric} is not defined for this policy, expected {exp.describe()}"
    lo, hi = (ci[0], ci[1]) if ci else (mean, mean)
    text = f"{metric} = {mean:.4g} [{lo:.4g}, {hi:.4g}], expected {exp.describe()}"
    if exp.approx is not None:
        m = margin.of(exp.approx)
        ok = lo - m <= exp.approx <= hi + m
    elif exp.min is not None:
        ok = hi + margin.of(exp.min) >= exp.min
    elif exp.max is not None:
        ok = lo - margin.of(exp.max) <= exp.max
    else:
        assert exp.between is not None
        a, b = exp.between
        ok = hi + margin.of(a) >= a and lo - margin.of(b) <= b
    if margin.abs or margin.rel:
        text += f" (margin {_margin_text(margin)})"
    return ok, text


def _margin_text(margin: Margin) -> str:
    parts = ([f"abs {margin.abs:g}"] if margin.abs else []) + (
        [f"rel {margin.rel:.0%}"] if margin.rel else []
    )
    return ", ".join(parts)


def _check_policies(loaded: LoadedFile, keys: list[str]) -> None:
    problems = []
    for i, case in enumerate(loaded.spec.cases):
        named = (
            [("policy", case.policy)]
            if case.policy
            else [("compare", p) for p in case.compare or ()]
        )
        for field_name, key in named:
            if key not in keys:
                hint = difflib.get_close_matches(key, keys, n=1)
                tip = f"did you mean {hint[0]!r}? " if hint else ""
                problems.append(
                    loaded.doc.problem(
                        ("cases", i, field_name),
                        f"{key!r} is not a policy of the scenario; "
                        f"{tip}policies: {', '.join(keys)}",
                    )
                )
    if problems:
        raise InputError(problems)


def matches(expression: str, words: set[str]) -> bool:
    """pytest-style -k: words (substring, case-insensitive), and, or, not, parentheses."""
    tokens = expression.replace("(", " ( ").replace(")", " ) ").split()
    position = 0
    text = " ".join(words).lower()

    def parse_or() -> bool:
        nonlocal position
        value = parse_and()
        while position < len(tokens) and tokens[position] == "or":
            position += 1
            right = parse_and()
            value = value or right
        return value

    def parse_and() -> bool:
        nonlocal position
        value = parse_not()
        while position < len(tokens) and tokens[position] == "and":
            position += 1
            right = parse_not()
            value = value and right
        return value

    def parse_not() -> bool:
        nonlocal position
        if position < len(tokens) and tokens[position] == "not":
            position += 1
            return not parse_not()
        return parse_atom()

    def parse_atom() -> bool:
        nonlocal position
        if position >= len(tokens):
            raise ValueError(f"-k {expression!r}: the expression ends too early")
        token = tokens[position]
        position += 1
        if token == "(":
            value = parse_or()
            if position >= len(tokens) or tokens[position] != ")":
                raise ValueError(f"-k {expression!r}: a ( is not closed")
            position += 1
            return value
        return token.lower() in text

    result = parse_or()
    if position != len(tokens):
        raise ValueError(f"-k {expression!r}: unexpected {tokens[position]!r}")
    return result
