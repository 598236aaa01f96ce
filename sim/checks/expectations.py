"""The expectation-file format: what a policy's outcomes must look like under a scenario.

    name: amazon headline outcomes
    scenario: ../../scenarios/baseline.yaml
    set: [horizon=14d]                  # overrides, as cancelsim run --set
    replications: 4
    seed: 11
    margin: {rel: 0.10}                 # default margin of every expectation
    keywords: [amazon]
    cases:
      - name: self-cancel keeps refunds fast
        policy: amazon
        expect:
          money_back_hours_p90: {max: 240}
          self_cancel_share: {approx: 0.0178, rel: 0.15}
      - name: taobao refunds faster than amazon
        compare: [taobao, amazon]       # paired difference: taobao minus amazon
        expect:
          money_back_hours_p50: {max: -100}

Shares are fractions (0.0178, not 1.78%), times are hours, as in summary.json.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, Strict, model_validator

from sim.errors import InputError, Problem
from sim.metrics import NAMES
from sim.model.base import Model
from sim.model.units import Bounds, Seed
from sim.model.yamlfile import Document

MetricName = Literal[NAMES]  # type: ignore[valid-type]

MAX_EXPECTED = 1e18
"""An expected value or an absolute margin: beyond any metric a valid run can give (money
per order is at most 1e12, held for at most some 1e5 hours)."""
MAX_REL = 100.0
"""A relative margin: 100 is 10,000% of the expected value."""
Finite = Annotated[float, Bounds(ge=-MAX_EXPECTED, le=MAX_EXPECTED)]
Absolute = Annotated[float, Bounds(ge=0.0, le=MAX_EXPECTED)]
Relative = Annotated[float, Bounds(ge=0.0, le=MAX_REL)]


class Margin(Model):
    """How far outside the 95% interval a value may still pass: absolute, relative, or both
    (the larger wins)."""

    abs: Absolute = 0.0
    rel: Relative = 0.0

    def of(self, value: float) -> float:
        return max(self.abs, self.rel * abs(value))


class Expectation(Model):
    """One condition on one metric; exactly one of approx, min, max, between."""

    approx: Finite | None = None
    min: Finite | None = None
    max: Finite | None = None
    between: tuple[Finite, Finite] | None = None
    abs: Absolute | None = None
    rel: Relative | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> Expectation:
        given = [k for k in ("approx", "min", "max", "between") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of approx, min, max or between (got "
                f"{', '.join(given) or 'none'})"
            )
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError("between: the first bound must not exceed the second")
        return self

    def margin(self, default: Margin) -> Margin:
        if self.abs is None and self.rel is None:
            return default
        return Margin(abs=self.abs or 0.0, rel=self.rel or 0.0)

    def describe(self) -> str:
        if self.approx is not None:
            return f"about {self.approx:g}"
        if self.min is not None:
            return f">= {self.min:g}"
        if self.max is not None:
            return f"<= {self.max:g}"
        assert self.between is not None
        return f"between {self.between[0]:g} and {self.between[1]:g}"


class Case(Model):
    """One test: a policy's metrics, or the paired difference of two policies."""

    name: str
    policy: str | None = None
    compare: tuple[str, str] | None = None
    margin: Margin | None = None
    keywords: list[str] = []
    expect: dict[MetricName, Expectation] = Field(min_length=1)

    @model_validator(mode="after")
    def _policy_or_compare(self) -> Case:
        if (self.policy is None) == (self.compare is None):
            raise ValueError(
                "give either policy (its metrics) or compare: [a, b] (the paired "
                "difference a minus b)"
            )
        return self


def _override_text(text: str) -> str:
    """A `set:` entry reads KEY=VALUE (what it sets is checked with the scenario)."""
    from sim.model.load import Override

    try:
        Override.parse(text)
    except InputError as exc:
        raise ValueError(exc.problems[0].message) from None
    return text


SetText = Annotated[str, AfterValidator(_override_text)]


class ExpectationFile(Model):
    """A file of policy regression tests sharing one scenario run."""

    name: str
    scenario: str
    policies: list[str] = []  # policy keys to play (default: all the scenario's)
    set: list[SetText] = []
    replications: Annotated[int, Strict(), Field(ge=2, le=1000)] = 3
    seed: Seed = 0
    margin: Margin = Margin()
    keywords: list[str] = []
    cases: list[Case] = Field(min_length=1)


SET_ORIGIN = re.compile(r"set\[(\d+)\]")


def set_overrides(texts: list[str]) -> list[Any]:
    """The file's `set:` entries as overrides, each marked with its index (`set[i]`), so
    that a problem it causes is reported at the entry (`at_set_entries`)."""
    from sim.model.load import Override

    return [
        dataclasses.replace(Override.parse(text), origin=f"set[{i}]")
        for i, text in enumerate(texts)
    ]


def at_set_entries(doc: Document, problems: list[Problem]) -> list[Problem]:
    """Problems that a `set:` entry caused, moved to that entry's line and column in the
    expectation file (the scenario's key path and message kept in the message)."""
    moved = []
    for problem in problems:
        found = SET_ORIGIN.fullmatch(problem.file)
        if found is None:
            moved.append(problem)
            continue
        index = int(found.group(1))
        message = _bundled_by_name(
            problem.message.replace(f"(from set[{index}] ", "(from set: ", 1)
        )
        said = f"{problem.path}: {message}" if problem.path else message
        moved.append(doc.problem(("set", index), said))
    return moved


def _bundled_by_name(message: str) -> str:
    """A bundled file named as its builtin:NAME, not its path in this installation."""
    from sim.model.builtin import FOLDER

    folder = re.escape(str(FOLDER))
    return re.sub(rf"{folder}/(?:policies|scenarios)/([^/,)]+)\.yaml", r"builtin:\1", message)
