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

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.metrics import NAMES
from sim.model.base import Model
from sim.model.units import Count, NonNegative

MetricName = Literal[NAMES]  # type: ignore[valid-type]


class Margin(Model):
    """How far outside the 95% interval a value may still pass: absolute, relative, or both
    (the larger wins)."""

    abs: NonNegative = 0.0
    rel: NonNegative = 0.0

    def of(self, value: float) -> float:
        return max(self.abs, self.rel * abs(value))


Finite = Annotated[float, Field(allow_inf_nan=False)]


class Expectation(Model):
    """One condition on one metric; exactly one of approx, min, max, between."""

    approx: Finite | None = None
    min: Finite | None = None
    max: Finite | None = None
    between: tuple[Finite, Finite] | None = None
    abs: NonNegative | None = None
    rel: NonNegative | None = None

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


class ExpectationFile(Model):
    """A file of policy regression tests sharing one scenario run."""

    name: str
    scenario: str
    policies: list[str] = []  # policy keys to play (default: all the scenario's)
    set: list[str] = []
    replications: Count = Field(3, ge=2, le=1000)
    seed: Count = Field(0, ge=0)
    margin: Margin = Margin()
    keywords: list[str] = []
    cases: list[Case] = Field(min_length=1)
