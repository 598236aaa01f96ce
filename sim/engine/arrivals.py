"""Order arrival times: a Poisson process whose rate follows the hour, weekday and promotions.

Times come from the time-rescaling theorem: with cumulative intensity L(t), unit-rate
exponential gaps summed to E_k give arrival times L^-1(E_k). L is piecewise linear on an
hourly grid, so the inverse is exact and vectorised.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from sim.engine.replay import hourly_counts, replay_orders

if TYPE_CHECKING:
    from sim.model.scenario import Scenario


def hourly_rates(scenario: Scenario) -> np.ndarray:
    """Orders per hour for each hour of the arrival horizon (a replayed log's counts)."""
    stream = scenario.orders
    hours = int(np.ceil(scenario.horizon.amount))
    if stream.replay is not None:
        return hourly_counts(replay_orders(scenario), hours)
    assert stream.rate_per_hour is not None  # validated: generated streams have a rate
    daily = np.asarray(stream.daily_profile, dtype=float)
    weekly = np.asarray(stream.weekly_profile, dtype=float)
    daily, weekly = daily / daily.mean(), weekly / weekly.mean()
    start = scenario.start
    promos = {p.date: p.multiplier for p in stream.promotions}
    rates = np.empty(hours)
    for h in range(hours):
        local = start + dt.timedelta(hours=h)
        rate = stream.rate_per_hour * daily[local.hour] * weekly[local.weekday()]
        rates[h] = rate * promos.get(local.date(), 1.0)
    return rates


class ArrivalClock:
    """Turns blocks of exponential gaps into arrival times, until the horizon."""

    def __init__(self, scenario: Scenario):
        rates = hourly_rates(scenario)
        self.horizon = scenario.horizon.amount
        self.grid = np.arange(len(rates) + 1, dtype=float)
        self.cumulative = np.concatenate([[0.0], np.cumsum(rates)])
        self.total = float(np.interp(self.horizon, self.grid, self.cumulative))
        self.position = 0.0  # cumulative intensity reached so far

    def times(self, gaps: np.ndarray) -> np.ndarray:
        """Arrival times for these gaps; fewer than given once the horizon is passed."""
        marks = self.position + np.cumsum(gaps)
        self.position = float(marks[-1])
        marks = marks[marks < self.total]
        return np.interp(marks, self.cumulative, self.grid)
