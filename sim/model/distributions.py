"""Probability distributions of durations and amounts, sampled by inverse CDF.

Every distribution maps pre-drawn uniforms to values (`quantile(u)`), so that under common
random numbers two policies that use different distributions still consume the same
random stream, position for position.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Generic, Literal, TypeVar

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from sim.model.base import Model
from sim.model.units import (
    MAX_AMOUNT,
    MAX_SIGMA,
    Amount,
    Bounds,
    ClockDurationField,
    Duration,
    DurationField,
    bound_text,
)

Q = TypeVar("Q")
Z90 = 1.2815515655446004  # standard normal quantile at 0.9
U_MAX = 1 - 2**-53
"""The largest uniform the random streams give (numpy's `random()` is below 1 by 2^-53):
a distribution's largest possible draw is its quantile there."""
MIN_SHAPE, MAX_SHAPE = 0.01, 1e6
"""A gamma's shape: below 0.01 nearly every draw is 0 (and the largest overflows); above
1e6 it is a fixed value."""
Sigma = Annotated[float, Bounds(ge=0.0)]
"""A lognormal's sigma: bounded by the family it is drawn in (`_sigma_at_most`)."""
Shape = Annotated[float, Bounds(gt=0.0, le=MAX_SHAPE)]


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

    def largest(self) -> float:
        """The largest value a draw can take (at the largest uniform the streams give)."""
        return float(self.quantile(np.array([U_MAX]))[0])


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
    sigma: Sigma | None = None
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
    shape: Shape

    @model_validator(mode="after")
    def _shaped(self) -> Gamma[Q]:
        if self.shape < MIN_SHAPE:
            raise ValueError(
                f"a shape of {self.shape:g} makes nearly every draw 0; expected a shape "
                f"from {MIN_SHAPE:g} to {MAX_SHAPE:g}"
            )
        return self

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


class FixedAmount(Fixed[Amount]): ...


class ExponentialAmount(Exponential[Amount]): ...


class LogNormalAmount(LogNormal[Amount]): ...


class UniformAmount(Uniform[Amount]): ...


class GammaAmount(Gamma[Amount]): ...


class EmpiricalAmount(Empirical[Amount]): ...


def _sigma_at_most(most: float) -> Any:
    """A lognormal's sigma (given, or from its p90 and median) at most `most`."""

    def check(dist: _Dist[Any]) -> _Dist[Any]:
        if isinstance(dist, LogNormal) and not dist.log_sigma <= most:
            given = "a sigma" if dist.sigma is not None else "a p90 and median giving a sigma"
            raise ValueError(
                f"{given} of {dist.log_sigma:.3g} puts the 90th percentile "
                f"{_ratio(dist.log_sigma)} times the median; expected a sigma of at most "
                f"{most:g} ({_ratio(most)} times)"
            )
        return dist

    return AfterValidator(check)


def _ratio(sigma: float) -> str:
    """How many times the median the 90th percentile of a lognormal is."""
    return f"{math.exp(sigma * Z90):.3g}" if sigma * Z90 < 700 else "endlessly many"


def larger_than(dist: _Dist[Any], most: float) -> str | None:
    """What is wrong when a draw of `dist` can exceed `most` (None: nothing)."""
    largest = dist.largest()
    if largest <= most:
        return None
    shown = f"{largest:.3g}" if math.isfinite(largest) else "endless"
    return (
        f"its largest possible draw is {shown}; expected every draw at most "
        f"{bound_text(most)} (lower the {_spread(dist)})"
    )


def _no_larger_than(most: float) -> Any:
    """Every possible draw at most `most`: a bound on the distribution as a whole."""

    def check(dist: _Dist[Any]) -> _Dist[Any]:
        problem = larger_than(dist, most)
        if problem:
            raise ValueError(problem)
        return dist

    return AfterValidator(check)


MAX_BUSINESS_DRAW = 20_000.0
"""Every possible draw of a business-day distribution, in business days (about 80
years): a run's calendar grows to reach it (`calendar.GROWTH_DAYS`)."""


def _business_draws_bounded(dist: _Dist[Any]) -> _Dist[Any]:
    """A business-day delay's largest possible draw stays inside the calendar."""
    if dist.business_days:
        problem = larger_than(dist, MAX_BUSINESS_DRAW)
        if problem:
            raise ValueError(problem.replace("at most 20,000", "at most 20,000 business days"))
    return dist


def _spread(dist: _Dist[Any]) -> str:
    """What to change for smaller draws."""
    if isinstance(dist, LogNormal):
        return "median, sigma or p90"
    if isinstance(dist, Gamma):
        return "mean, or raise the shape"
    return {"exponential": "mean", "uniform": "high", "empirical": "values"}.get(
        str(getattr(dist, "dist", "")), "value"
    )


def _family(union: Any, bare: Any, *checks: Any) -> Any:  # pragma: no mutate block
    shorthand = BeforeValidator(_shorthand, json_schema_input_type=bare | union)
    return Annotated[union, Field(discriminator="dist"), shorthand, *checks]


TimeDist = _family(
    FixedTime | ExponentialTime | LogNormalTime | UniformTime | GammaTime | EmpiricalTime,
    DurationField,
    _sigma_at_most(MAX_SIGMA),
    AfterValidator(_business_draws_bounded),
)
"""A distribution of a policy's durations (clock time or business days)."""
ClockTimeDist = _family(
    FixedClock | ExponentialClock | LogNormalClock | UniformClock | GammaClock | EmpiricalClock,
    ClockDurationField,
    _sigma_at_most(MAX_SIGMA),
)
"""A distribution of the market's durations: clock time only."""
_AMOUNTS = (
    FixedAmount
    | ExponentialAmount
    | LogNormalAmount
    | UniformAmount
    | GammaAmount
    | EmpiricalAmount
)
AmountDist = _family(_AMOUNTS, Amount, _sigma_at_most(MAX_SIGMA), _no_larger_than(MAX_AMOUNT))
"""A distribution of money (an order's value): every possible draw at most 1e12, so that
cents stay exact."""
WeightDist = _family(_AMOUNTS, Amount)
"""A distribution of sellers' weights: bounded by `SellerType` (a sigma of at most 3,
every draw above 0 and at most 1e12)."""
Distribution = _Dist[Any]
