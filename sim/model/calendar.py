"""Business-day calendars, precomputed into arrays so that date arithmetic is cheap.

The simulation clock is hours since the scenario start. Day `d` is the local date
`start.date() + d`; a business-day duration advances only through working days, so
"3 business days" from Friday 15:00 ends on Wednesday 15:00 (given no holiday).
"""

from __future__ import annotations

import bisect
import datetime as dt
from functools import lru_cache

import holidays
import numpy as np

from sim.model.units import Duration


def known_calendars() -> list[str]:
    """Country codes that the `holidays` package knows (plus `none`: every day works)."""
    return ["none", *sorted(holidays.list_supported_countries())]


class BusinessCalendar:
    """Working days of one country from the scenario's first day on."""

    def __init__(self, country: str, first_day: dt.date, days: int, hour_offset: float = 0.0):
        self.country = country
        self.first_day = first_day
        self.hour_offset = hour_offset  # local clock hour at simulation time 0
        self.limit = days + GROWTH_DAYS  # it grows on demand up to here
        self._build(days)

    def _build(self, days: int) -> None:
        self.working = _working_days(self.country, self.first_day, days)
        ends = np.cumsum(self.working).astype(float)
        self._start_array = ends - self.working  # business days before day d
        self._end_array = ends
        self._starts = self._start_array.tolist()
        self._ends = ends.tolist()

    def day_of(self, hours: float) -> int:
        """Index of the local day that contains simulation time `hours`."""
        return int((hours + self.hour_offset) // 24)

    def date_of(self, hours: float) -> dt.date:
        return self.first_day + dt.timedelta(days=self.day_of(hours))

    def after(self, hours: float, duration: Duration) -> float:
        """The time `duration` after `hours`: clock time, or business days in this calendar."""
        if not duration.business_days:
            return hours + duration.amount
        return self.add_business_days(hours, duration.amount)

    def add_business_days(self, hours: float, amount: float) -> float:
        if amount <= 0:
            return hours  # no working time to pass: not even to the next working day
        local = hours + self.hour_offset
        day = int(local // 24)
        self._ensure(day)
        fraction = local / 24 - day
        position = self._starts[day] + (fraction if self.working[day] else 0.0) + amount
        self._cover(position)
        target = bisect.bisect_left(self._ends, position)
        self._ensure(target)
        # An amount too small to move the float sum would land on the end of the previous
        # working day: never earlier than where it started.
        return max(hours, (target + position - self._starts[target]) * 24 - self.hour_offset)

    def after_each(self, hours: np.ndarray, duration: Duration) -> np.ndarray:
        """`after` for many times at once."""
        if not duration.business_days:
            return hours + duration.amount
        if duration.amount <= 0:
            return hours.copy()
        local = hours + self.hour_offset
        day = (local // 24).astype(np.int64)
        self._ensure(int(day.max(initial=0)))
        fraction = np.where(self.working[day] > 0, local / 24 - day, 0.0)
        position = self._start_array[day] + fraction + duration.amount
        self._cover(float(position.max(initial=0.0)))
        target = np.searchsorted(self._end_array, position, side="left")
        self._ensure(int(target.max(initial=0)))
        done = (target + position - self._start_array[target]) * 24 - self.hour_offset
        return np.maximum(hours, done)  # as in add_business_days

    def _ensure(self, day: int) -> None:
        if day >= len(self.working) and day < self.limit:
            self._build(min(self.limit, max(2 * len(self.working), day + 1)))
        if day < 0 or day >= len(self.working):
            raise ValueError(
                f"day {day} lies outside the {len(self.working)}-day calendar built for the run"
            )

    def _cover(self, position: float) -> None:
        """Grow the calendar until `position` business days fall inside it (or its limit)."""
        while self._ends[-1] < position and len(self.working) < self.limit:
            self._build(min(self.limit, 2 * len(self.working)))


GROWTH_DAYS = 36_525
"""How far past the days it is built for a run's calendar may grow, when a business-day
delay drawn from a long tail reaches past them: a hundred years. Validation keeps every
possible draw of a business-day distribution within 20,000 business days."""


@lru_cache(maxsize=32)
def _working_days(country: str, first_day: dt.date, days: int) -> np.ndarray:
    dates = [first_day + dt.timedelta(days=i) for i in range(days)]
    if country == "none":
        return np.ones(days, dtype=np.int64)
    years = range(first_day.year, dates[-1].year + 1)
    table = holidays.country_holidays(country, years=years)
    return np.array([int(table.is_working_day(d)) for d in dates], dtype=np.int64)
