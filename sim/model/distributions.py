"""Probability distributions of durations and amounts, sampled by inverse CDF.

Every distribution maps pre-drawn uniforms to values (`quantile(u)`), so that under common
random numbers two policies that use different distributions still consume the same
random stream, position for position.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Generic, Literal, TypeVar

import numpy as np
from pydantic import BeforeValidator, Field, model_validator

from sim.model.base import Model
from sim.model.units import ClockDurationField, Duration, DurationField, NonNegative, Positive

Q = TypeVar("Q")
Z90 = 1.2815515655446004  # standard normal quantile at 0.9


def _magnitude(value: Any) -> float:
    return value.amount if isinstance(value, Duration) else float(value)


class _Dist(Model, Generic[Q]):
    def params(self) -> list[Any]:
        return [v for v in self.__dict__.values() if isinstance(v, Duration)]

    @property
    def business_days(self) -> bool:
        """True when the values are business days of a calendar, not clock hours."""
        return any(d.business_days for d in self.params())

    @model_validator(mode="after")
    def _one_unit(self) -> _Dist[Q]:
        kinds = {d.business_days for d in self.params()}
        if len(kinds) > 1:
            raise ValueError("mixes business days with clock units; use one kind")
        return self

    def quantile(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def mean(self) -> float:
        raise NotImplementedError


class Fixed(_Dist[Q]):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: Q

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), _magnitude(self.value))

    def mean(self) -> float:
        return _magnitude(self.value)


class Exponential(_Dist[Q]):
    """Memoryless waiting time with the given mean."""

    dist: Literal["exponential"]
    mean_: Q = Field(alias="mean")

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return -np.log1p(-u) * _magnitude(self.mean_)

    def mean(self) -> float:
        return _magnitude(self.mean_)


class LogNormal(_Dist[Q]):
    """Right-skewed: give the median and either sigma (of the log) or the 90th percentile."""

    dist: Literal["lognormal"]
    median: Q
    sigma: NonNegative | None = None
    p90: Q | None = None

    @model_validator(mode="after")
    def _sigma_or_p90(self) -> LogNormal[Q]:
        if (self.sigma is None) == (self.p90 is None):
            raise ValueError("give exactly one of sigma or p90 besides the median")
        if _magnitude(self.median) <= 0:
            raise ValueError("the median must be above 0")
        if self.p90 is not None and _magnitude(self.p90) < _magnitude(self.median):
            raise ValueError("p90 must be at least the median")
        return self

    @property
    def log_sigma(self) -> float:
        if self.sigma is not None:
            return self.sigma
        return math.log(_magnitude(self.p90) / _magnitude(self.median)) / Z90

    def quantile(self, u: np.ndarray) -> np.ndarray:
        from scipy.special import ndtri

        return _magnitude(self.median) * np.exp(self.log_sigma * ndtri(u))

    def mean(self) -> float:
        return _magnitude(self.median) * math.exp(self.log_sigma**2 / 2)


class Uniform(_Dist[Q]):
    """Equally likely anywhere between low and high."""

    dist: Literal["uniform"]
    low: Q
    high: Q

    @model_validator(mode="after")
    def _ordered(self) -> Uniform[Q]:
        if _magnitude(self.high) < _magnitude(self.low):
            raise ValueError("high must be at least low")
        return self

    def quantile(self, u: np.ndarray) -> np.ndarray:
        lo, hi = _magnitude(self.low), _magnitude(self.high)
        return lo + (hi - lo) * u

    def mean(self) -> float:
        return (_magnitude(self.low) + _magnitude(self.high)) / 2


class Gamma(_Dist[Q]):
    """Flexible skew: the mean and the shape (1 is exponential, larger is more regular)."""

    dist: Literal["gamma"]
    mean_: Q = Field(alias="mean")
    shape: Positive

    def quantile(self, u: np.ndarray) -> np.ndarray:
        from scipy.special import gammaincinv

        return gammaincinv(self.shape, u) * (_magnitude(self.mean_) / self.shape)

    def mean(self) -> float:
        return _magnitude(self.mean_)


class Empirical(_Dist[Q]):
    """Observed values, each equally likely (resampling)."""

    dist: Literal["empirical"]
    values: list[Q] = Field(min_length=1)

    def params(self) -> list[Any]:
        return [v for v in self.values if isinstance(v, Duration)]

    def quantile(self, u: np.ndarray) -> np.ndarray:
        ordered = np.sort(np.array([_magnitude(v) for v in self.values], dtype=float))
        index = np.minimum((np.asarray(u) * len(ordered)).astype(np.int64), len(ordered) - 1)
        return ordered[index]

    def mean(self) -> float:
        return float(np.mean([_magnitude(v) for v in self.values]))


def _shorthand(value: Any) -> Any:
    """A bare value means a fixed distribution: `response: 4h` is `{dist: fixed, value: 4h}`."""
    if isinstance(value, dict):
        return value
    return {"dist": "fixed", "value": value}


# Named classes for each family, so that distributions pickle (runs travel to workers):
# a parametrised generic such as `Fixed[DurationField]` cannot be found again by name.
class FixedTime(Fixed[DurationField]): ...


class ExponentialTime(Exponential[DurationField]): ...


class LogNormalTime(LogNormal[DurationField]): ...


class UniformTime(Uniform[DurationField]): ...


class GammaTime(Gamma[DurationField]): ...


class EmpiricalTime(Empirical[DurationField]): ...


class FixedClock(Fixed[ClockDurationField]): ...


class ExponentialClock(Exponential[ClockDurationField]): ...


class LogNormalClock(LogNormal[ClockDurationField]): ...


class UniformClock(Uniform[ClockDurationField]): ...


class GammaClock(Gamma[ClockDurationField]): ...


class EmpiricalClock(Empirical[ClockDurationField]): ...


class FixedAmount(Fixed[NonNegative]): ...


class ExponentialAmount(Exponential[NonNegative]): ...


class LogNormalAmount(LogNormal[NonNegative]): ...


class UniformAmount(Uniform[NonNegative]): ...


class GammaAmount(Gamma[NonNegative]): ...


class EmpiricalAmount(Empirical[NonNegative]): ...


def _family(union: Any, bare: Any) -> Any:  # pragma: no mutate block (runs at import)
    shorthand = BeforeValidator(_shorthand, json_schema_input_type=bare | union)
    return Annotated[union, Field(discriminator="dist"), shorthand]


TimeDist = _family(
    FixedTime | ExponentialTime | LogNormalTime | UniformTime | GammaTime | EmpiricalTime,
    DurationField,
)
"""A distribution of a policy's durations (clock time or business days)."""
ClockTimeDist = _family(
    FixedClock | ExponentialClock | LogNormalClock | UniformClock | GammaClock | EmpiricalClock,
    ClockDurationField,
)
"""A distribution of the market's durations: clock time only."""
AmountDist = _family(
    FixedAmount
    | ExponentialAmount
    | LogNormalAmount
    | UniformAmount
    | GammaAmount
    | EmpiricalAmount,
    NonNegative,
)
"""A distribution of non-negative amounts (money)."""
Distribution = _Dist[Any]
