"""Quantities with units as written in YAML: durations, clock times, probabilities, money."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, NamedTuple

from pydantic import (
    AfterValidator,
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
        raise ValueError(f"{value!r} is not a duration; {EXPECTED}")
    if isinstance(value, int | float):
        if value == 0:
            return Duration(0.0)
        raise ValueError(f"{value!r} has no unit; {EXPECTED}")
    if not isinstance(value, str):
        raise ValueError(f"expected a duration; {EXPECTED}")
    text = value.strip().lower()
    if text.startswith("-"):
        raise ValueError(f"{value!r} is negative; a duration must be 0 or more")
    if re.fullmatch(r"\d+:\d\d(:\d\d)?", text):
        raise ValueError(
            f"{value!r} looks like a clock time (YAML 1.1 would read it as "
            f"a number of minutes); {EXPECTED}"
        )
    business = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(business days?|working days?|bd)", text)
    if business:
        return Duration(float(business.group(1)), business_days=True)
    if "business" in text or "working" in text:
        raise ValueError(
            f"{value!r} mixes business days with clock units; write one kind, e.g. 3 business days"
        )
    hours, pos = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        unit = match.group(2).lower()
        if unit not in HOURS_PER_UNIT:
            raise ValueError(
                f"unknown unit {match.group(2)!r} in {value!r}; units are "
                "s, m, h, d, w or business days"
            )
        hours += float(match.group(1)) * HOURS_PER_UNIT[unit]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"{value!r} is not a duration; {EXPECTED}")
    return Duration(hours)


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


DURATION_PATTERN = (
    r"^\s*(\d+(\.\d+)?\s*(business days?|working days?|bd)"
    r"|(\d+(\.\d+)?\s*[a-zA-Z]+\s*)+)$"
)
DurationField = Annotated[
    Duration,
    BeforeValidator(parse_duration),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": DURATION_PATTERN}, {"const": 0}],
            "description": "a duration with its unit: 30m, 2h, 1.5d, 1h30m or 3 business days",
        }
    ),
]


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


CLOCK_DURATION_PATTERN = r"^\s*(\d+(\.\d+)?\s*[a-zA-Z]+\s*)+$"
ClockDurationField = Annotated[
    Duration,
    BeforeValidator(parse_clock_duration),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": CLOCK_DURATION_PATTERN}, {"const": 0}],
            "description": "a clock duration with its unit: 30m, 2h, 1.5d or 1h30m "
            "(no business days: those belong to a policy)",
        }
    ),
]
"""A duration of the market (scenario): clock time only."""
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
Count = Annotated[int, Strict()]
Probability = Annotated[float, Strict(), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[
    float, Strict(), Field(ge=0.0, allow_inf_nan=False), AfterValidator(_finite)
]
Positive = Annotated[float, Strict(), Field(gt=0.0, allow_inf_nan=False), AfterValidator(_finite)]
Shares = Annotated[dict[str, Probability], AfterValidator(_sums_to_one)]
