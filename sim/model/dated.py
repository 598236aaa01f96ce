"""Values that changed over time, written as a mapping from effective date to value."""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator

T = TypeVar("T")
ALWAYS = dt.date(1, 1, 1)
"""The effective date of a value written without dates: in force at any time."""


def _wrap(value: Any) -> Any:
    """A plain value is in force always; a mapping with date keys is a history."""
    if isinstance(value, dict) and value and all(isinstance(k, dt.date) for k in value):
        return value
    if isinstance(value, dict) and value and any(isinstance(k, dt.date) for k in value):
        bad = next(k for k in value if not isinstance(k, dt.date))
        raise ValueError(f"{bad!r} is not a date; effective dates are written YYYY-MM-DD")
    return {ALWAYS: value}


def _ordered(history: dict[dt.date, Any]) -> dict[dt.date, Any]:
    dates = list(history)
    for earlier, later in zip(dates, dates[1:], strict=False):
        if later <= earlier:
            raise ValueError(f"effective dates must increase: {later} comes after {earlier}")
    return history


Dated = Annotated[dict[dt.date, T], BeforeValidator(_wrap), AfterValidator(_ordered)]
"""`Dated[DurationField]`: written as a plain value or as `{2020-09-30: value, ...}`."""


class NotYetInForce(ValueError):
    """A value asked for a date before its first effective date."""


def in_force(history: dict[dt.date, T], day: dt.date) -> T:
    """The version of a value in force on `day`."""
    dates = list(history)
    index = bisect.bisect_right(dates, day) - 1
    if index < 0:
        raise NotYetInForce(f"no value in force on {day}; the first is from {dates[0]}")
    return history[dates[index]]


def changes(history: dict[dt.date, Any]) -> list[dt.date]:
    """The effective dates of a history (none for a value written without dates)."""
    return [d for d in history if d != ALWAYS]
