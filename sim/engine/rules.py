"""A policy prepared for one run: its versions in force over the run, in the run's hours.

The run's horizon is cut at every effective date of the policy, and each piece gets the
rules in force on its days (`Policy.at`), under the policy file's own names: the engine
reads `rules.self_cancel.window`. An order uses the rules in force when it was placed;
an order the platform fulfils uses the same rules as the platform applies them
(`Rules.for_platform_orders`).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

from sim.model.calendar import BusinessCalendar
from sim.model.policy import Policy, Rules


@dataclass(frozen=True)
class CompiledPolicy:
    """Everything the engine needs of one policy, for one run."""

    key: str
    policy: Policy
    calendar: BusinessCalendar
    starts: list[float]  # simulation hour from which each version applies
    versions: list[Rules]
    platform_versions: list[Rules]  # the same periods, for orders the platform fulfils
    serves: str | None  # platform fulfilment: None (none offered), "some" or "all"
    methods: tuple[str, ...]
    fx: float  # scenario currency per unit of policy currency

    def rules_at(self, hours: float) -> Rules:
        return self.versions[bisect.bisect_right(self.starts, hours) - 1]


def compile_policy(
    key: str,
    policy: Policy,
    calendar: BusinessCalendar,
    methods: tuple[str, ...],
    fx: float,
    end_hours: float,
) -> CompiledPolicy:
    """The policy's versions in force from the run's first day to `end_hours`."""
    first = calendar.first_day
    cut_days = [d for d in policy.changes() if first < d <= first + dt.timedelta(hours=end_hours)]
    days = [first, *cut_days]
    starts = [0.0] + [(d - first).days * 24.0 - calendar.hour_offset for d in cut_days]
    versions = [policy.at(day) for day in days]
    fulfilment = versions[0].platform_fulfilment  # who fulfils is not a dated rule
    return CompiledPolicy(
        key=key,
        policy=policy,
        calendar=calendar,
        starts=starts,
        versions=versions,
        platform_versions=[rules.for_platform_orders() for rules in versions],
        serves=fulfilment.serves if fulfilment else None,
        methods=methods,
        fx=fx,
    )
