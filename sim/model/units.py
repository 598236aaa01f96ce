"""Quantities with units as written in YAML: durations, clock times, probabilities, money."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple

from annotated_types import GroupedMetadata, Interval
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BeforeValidator,
    Field,
    PlainSerializer,
    Strict,
    StrictBool,
    WithJsonSchema,
)

HOURS_PER_UNIT = {
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "second": 1 / 3600,
    "seconds": 1 / 3600,
    "m": 1 / 60,
    "min": 1 / 60,
    "mins": 1 / 60,
    "minute": 1 / 60,
    "minutes": 1 / 60,
    "h": 1.0,
    "hr": 1.0,
    "hrs": 1.0,
    "hour": 1.0,
    "hours": 1.0,
    "d": 24.0,
    "day": 24.0,
    "days": 24.0,
    "w": 168.0,
    "week": 168.0,
    "weeks": 168.0,
}
BUSINESS_UNITS = {"bd", "business day", "business days", "working day", "working days"}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+(?: days?)?)\s*", re.IGNORECASE)
EXPECTED = "write a number with a unit: 30m, 2h, 1.5d, 1h30m or 3 business days"


class Duration(NamedTuple):
    """A length of time: clock hours, or business days counted in a policy's calendar."""

    amount: float
    business_days: bool = False

    @property
    def hours(self) -> float:
        """Clock hours; a business-day duration has none until placed in a calendar."""
        if self.business_days:
            raise ValueError("a business-day duration needs a calendar")
        return self.amount

    def __str__(self) -> str:
        if self.business_days:
            return f"{self.amount:.12g} business day{'' if self.amount == 1 else 's'}"
        return format_hours(self.amount)


def format_hours(hours: float) -> str:
    """The shortest readable form: 0.5 -> '30m', 48 -> '2d', 1.25 -> '1.25h'."""
    if hours == 0:
        return "0h"
    if hours % 24 == 0 and hours >= 48:
        return f"{hours / 24:.12g}d"
    if hours < 1 and (hours * 60) == round(hours * 60, 6):
        return f"{hours * 60:.12g}m"
    return f"{hours:.12g}h"


def parse_duration(value: Any) -> Duration:
    """Read `30m`, `2h`, `1.5d`, `1h30m`, `3 business days`; reject unit-less numbers."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{short(value)} is not a duration; {EXPECTED}")
    if isinstance(value, int | float):
        if value == 0:
            return Duration(0.0)
        raise ValueError(f"{short(value)} has no unit; {EXPECTED}")
    if not isinstance(value, str):
        raise ValueError(f"expected a duration; {EXPECTED}")
    text = value.strip().lower()
    if text.startswith("-"):
        raise ValueError(f"{short(value)} is negative; a duration must be 0 or more")
    if re.fullmatch(r"\d+:\d\d(:\d\d)?", text):
        raise ValueError(
            f"{short(value)} looks like a clock time (YAML 1.1 would read it as "
            f"a number of minutes); {EXPECTED}"
        )
    business = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(business days?|working days?|bd)", text)
    if business:
        return _finite_duration(Duration(float(business.group(1)), business_days=True), value)
    if "business" in text or "working" in text:
        raise ValueError(
            f"{short(value)} mixes business days with clock units; "
            "write one kind, e.g. 3 business days"
        )
    hours, pos = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        unit = match.group(2).lower()
        if unit not in HOURS_PER_UNIT:
            raise ValueError(
                f"unknown unit {short(match.group(2))} in {short(value)}; units are "
                "s, m, h, d, w or business days"
            )
        hours += float(match.group(1)) * HOURS_PER_UNIT[unit]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"{short(value)} is not a duration; {EXPECTED}")
    return _finite_duration(Duration(hours), value)


def _finite_duration(duration: Duration, value: Any) -> Duration:
    """No duration is endless: `99...9h`, past a float's range, is refused here (each kind
    of duration has its own, far lower, bound)."""
    if not math.isfinite(duration.amount):
        raise ValueError(f"{short(value)} is endless as a float; expected a duration such as 30d")
    return duration


def parse_clock_time(value: Any) -> float:
    """`17:00` -> 17.0 hours after midnight."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
    if isinstance(value, bool) or not match:
        raise ValueError(f'{value!r} is not a clock time; write HH:MM in quotes, e.g. "17:00"')
    return int(match.group(1)) + int(match.group(2)) / 60


def _finite(x: float) -> float:
    if not math.isfinite(x):
        raise ValueError("must be a finite number")
    return x


def _sums_to_one(shares: dict[str, float]) -> dict[str, float]:
    total = sum(shares.values())
    if shares and abs(total - 1.0) > 1e-6:
        raise ValueError(f"the shares sum to {total:.6g}; they must sum to 1")
    return shares


MAX_POLICY_HOURS = 180 * 24
MAX_POLICY_BUSINESS_DAYS = 120
"""A policy's durations: a ship-by deadline plus an auto-cancel (two of them) stay within
the 400 days past the run that the business-day calendar is built for."""
MAX_MARKET_HOURS = 365 * 24
"""A market time of a scenario (packing, an answer, a buyer's wish, transit)."""
MAX_SPAN_HOURS = 3650 * 24
"""A scenario's horizon, warm-up and drain: ten years each."""


def short(value: Any) -> str:
    """A value as a message quotes it: its repr, cut after 35 characters."""
    text = repr(value)
    if len(text) <= 40:
        return text
    if type(value) is int:
        return f"a {len(text.lstrip('-'))}-digit number"
    return text[:35] + ("...'" if isinstance(value, str) else "...")


def within(
    duration: Duration, value: Any, hours: float, business_days: float | None, where: str
) -> Duration:
    """`duration` if it is at most `hours` (or `business_days`), else a problem."""
    limit = business_days if duration.business_days else hours
    if limit is not None and duration.amount <= limit:
        return duration
    shown = str(duration) if math.isfinite(duration.amount) else short(value)
    most = format_hours(hours) + (
        f" (or {business_days:g} business days)" if business_days is not None else ""
    )
    raise ValueError(f"{shown} is too long; expected at most {most} {where}")


def parse_policy_duration(value: Any) -> Duration:
    """A policy's deadline, window or delay: at most 180 days or 120 business days."""
    return within(
        parse_duration(value),
        value,
        MAX_POLICY_HOURS,
        MAX_POLICY_BUSINESS_DAYS,
        "in a policy",
    )


DURATION_PATTERN = (
    r"^\s*(\d+(\.\d+)?\s*(business days?|working days?|bd)"
    r"|(\d+(\.\d+)?\s*[a-zA-Z]+\s*)+)$"
)
DurationField = Annotated[
    Duration,
    BeforeValidator(parse_policy_duration),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": DURATION_PATTERN}, {"const": 0}],
            "description": "a duration with its unit: 30m, 2h, 1.5d, 1h30m or 3 business "
            "days; at most 180d or 120 business days",
        }
    ),
]
"""A duration of a policy: clock time or business days, at most 180d or 120 business days."""


def parse_clock_duration(value: Any) -> Duration:
    """A market's time (packing, an answer, a buyer's wish, transit): clock units only.
    Business days belong to a policy's deadlines and refunds, counted in its calendar."""
    duration = parse_duration(value)
    if duration.business_days:
        raise ValueError(
            "given in business days; expected clock units (m, h, d): only a policy's "
            "deadlines and refunds count business days"
        )
    return duration


def parse_market_duration(value: Any) -> Duration:
    """A market time of a scenario: clock units, at most 365 days."""
    return within(parse_clock_duration(value), value, MAX_MARKET_HOURS, None, "for a market time")


def parse_span(value: Any) -> Duration:
    """A scenario's horizon, warm-up or drain: clock units, at most 3650 days."""
    return within(
        parse_clock_duration(value), value, MAX_SPAN_HOURS, None, "(10 years) for a run's span"
    )


CLOCK_DURATION_PATTERN = r"^\s*(\d+(\.\d+)?\s*[a-zA-Z]+\s*)+$"


def _clock_field(parse: Any, most: str) -> Any:
    return Annotated[
        Duration,
        BeforeValidator(parse),
        PlainSerializer(str),
        WithJsonSchema(
            {
                "anyOf": [{"type": "string", "pattern": CLOCK_DURATION_PATTERN}, {"const": 0}],
                "description": "a clock duration with its unit: 30m, 2h, 1.5d or 1h30m "
                f"(no business days: those belong to a policy); at most {most}",
            }
        ),
    ]


ClockDurationField = _clock_field(parse_market_duration, "365d")
"""A duration of the market (scenario): clock time only, at most 365 days."""
SpanField = _clock_field(parse_span, "3650d")
"""A scenario's horizon, warm-up or drain: clock time only, at most 3650 days."""
ClockTime = Annotated[
    float,
    BeforeValidator(parse_clock_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01]?\d|2[0-3]):[0-5]\d$",
            "description": "a clock time, HH:MM",
        }
    ),
]
# Numbers and flags are strict: YAML already typed them, so `true` is no 1 and `no` no false.
Flag = StrictBool


# ----------------------------------------------------------------- bounds
# Every number a file gives has a bound, checked at validation, that keeps the arithmetic
# it feeds finite and the memory a run needs bounded (README, "Bounds"). Each is stated
# once, here or at its field.
MAX_AMOUNT = 1e12
"""Money (an order's value, a compensation): cents up to 1e14 stay exact in float64 and a
block of 4,096 orders' cents sums within int64."""
MAX_SIGMA = 5.0
"""A lognormal's sigma (given, or from its p90): the 90th percentile at most 610 times the
median; every draw (at most 8.21 sigmas out) stays finite."""
MAX_SEED = 2**63 - 1
"""A root seed fits a signed 64-bit integer, as every reader of meta.json can hold it."""


def bound_text(bound: float) -> str:
    """A bound as a message shows it: 1.0, 0.0, 10000, 1,000, 1,000,000, 1e-09."""
    if isinstance(bound, float) and abs(bound) >= 1e15:
        return f"{bound:g}"
    if isinstance(bound, float) and bound.is_integer() and abs(bound) >= 1000:
        return f"{int(bound):,}"
    if type(bound) is int and abs(bound) >= 100_000:
        return f"{bound:,}"
    return str(bound)


def _shown_number(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else f"a {len(text.lstrip('-'))}-digit number"


@dataclass(frozen=True)
class Bounds(GroupedMetadata):
    """A strict, finite number within bounds: `Annotated[float, Bounds(ge=0, le=1)]`.

    A whole number too large for a float (10**400) is out of range, not "not a number"."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None

    def __iter__(self) -> Iterator[Any]:
        yield Strict()
        yield Interval(ge=self.ge, gt=self.gt, le=self.le)
        yield AllowInfNan(False)
        yield BeforeValidator(self._fits_a_float)
        yield AfterValidator(_finite)

    def _fits_a_float(self, value: Any) -> Any:
        if type(value) is int and abs(value) > 1e300:
            low = self.ge if self.ge is not None else self.gt
            side = (
                f"<= {bound_text(self.le)}"
                if value > 0 and self.le is not None
                else f"{'>=' if self.ge is not None else '>'} {bound_text(low)}"
                if value < 0 and low is not None
                else "that is a finite number"
            )
            raise ValueError(f"{_shown_number(value)} is out of range; expected a value {side}")
        return value


Count = Annotated[int, Strict()]
Probability = Annotated[float, Bounds(ge=0.0, le=1.0)]
Amount = Annotated[float, Bounds(ge=0.0, le=MAX_AMOUNT)]
"""Money (or a quantity on its scale): 0 to 1e12."""
NonNegative = Amount
Seed = Annotated[int, Strict(), Field(ge=0, le=MAX_SEED)]
Shares = Annotated[dict[str, Probability], AfterValidator(_sums_to_one)]
