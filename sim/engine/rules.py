"""A policy compiled for the engine: plain attributes, one `Rules` per version in force.

Dated values are resolved here, once per run: the run's horizon is cut at every
effective date, and each piece gets the rules in force on its days. An order uses the
rules in force when it was placed.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
from dataclasses import dataclass

from sim.model.calendar import BusinessCalendar
from sim.model.dated import changes, in_force
from sim.model.distributions import Distribution
from sim.model.load import dated_values
from sim.model.policy import STAGE_ORDER, Cause, Compensation, Outcome, Policy
from sim.model.units import Duration


@dataclass(frozen=True, slots=True)
class Rules:
    """The rules in force for orders placed in one period."""

    hold: Duration
    self_window: Duration | None  # None when buyers cannot cancel alone
    self_until: int
    instant_until: int  # stage limit of instant refunds; -1 when there are none
    request_until: int  # -1 when there are no cancel requests
    seller_decides: bool
    approve_after: Duration | None
    ship_by: Duration
    auto_after: Duration | None
    compensation: Compensation | None
    processing: Distribution
    rail_delay: tuple[Distribution, ...]  # by payment method index
    rail_release: tuple[Distribution | None, ...]
    message_counted: bool  # a cancel the buyer asked only in a message counts for the seller


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
    counted_outcomes: frozenset[Outcome]
    counted_causes: frozenset[Cause]
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
    """Resolve every dated value for each period of the run."""
    first = calendar.first_day
    cut_days = sorted(
        {
            d
            for _, h in dated_values(policy)
            for d in changes(h)
            if first < d <= first + dt.timedelta(hours=end_hours)
        }
    )
    days = [first, *cut_days]
    starts = [0.0] + [(d - first).days * 24.0 - calendar.hour_offset for d in cut_days]
    metric = policy.seller_metric
    counted = frozenset(metric.counts) if metric else frozenset()
    causes = frozenset(r.cause for r in policy.seller_cancel.reasons.values() if r.counted)
    return CompiledPolicy(
        key=key,
        policy=policy,
        calendar=calendar,
        starts=starts,
        versions=[_rules(policy, day, methods) for day in days],
        platform_versions=[_platform_rules(policy, day, methods) for day in days],
        serves=policy.platform_fulfilment.serves if policy.platform_fulfilment else None,
        methods=methods,
        counted_outcomes=counted,
        counted_causes=causes,
        fx=fx,
    )


def _stage(name: str) -> int:
    return STAGE_ORDER[name]  # a validated Stage: every rule that has a limit names one


def _rules(policy: Policy, day: dt.date, methods: tuple[str, ...]) -> Rules:
    p = policy
    rails = [p.refunds.rails[m] for m in methods]
    request, metric = p.cancel_request, p.seller_metric
    return Rules(
        hold=in_force(p.pending.hold, day) if p.pending else Duration(0.0),
        self_window=in_force(p.self_cancel.window, day) if p.self_cancel else None,
        self_until=_stage(p.self_cancel.until) if p.self_cancel else -1,
        instant_until=_stage(p.instant_refund.until) if p.instant_refund else -1,
        request_until=_stage(request.until) if request else -1,
        seller_decides=bool(request and request.seller_decides),
        approve_after=in_force(request.platform_approves_after, day) if request else None,
        ship_by=in_force(p.ship_by.within, day),
        auto_after=in_force(p.auto_cancel.after, day) if p.auto_cancel else None,
        compensation=in_force(p.late_shipment.compensation, day) if p.late_shipment else None,
        processing=in_force(p.refunds.processing, day),
        rail_delay=tuple(in_force(r.delay, day) for r in rails),
        rail_release=tuple(in_force(r.release, day) for r in rails),
        message_counted=bool(metric and in_force(metric.counts_message_requests, day)),
    )


def _platform_rules(policy: Policy, day: dt.date, methods: tuple[str, ...]) -> Rules:
    """The rules for an order the platform fulfils: the platform answers the buyer's
    cancel (never the seller), and may let the buyer cancel alone until a stage."""
    rules = _rules(policy, day, methods)
    fulfilment = policy.platform_fulfilment
    if fulfilment is None:
        return rules
    changed = dataclasses.replace(rules, seller_decides=False)
    if fulfilment.self_cancel_until is not None:
        changed = dataclasses.replace(
            changed, self_window=Duration(math.inf), self_until=_stage(fulfilment.self_cancel_until)
        )
    approve = in_force(fulfilment.approves_after, day)
    if approve is not None:
        until = changed.request_until if changed.request_until >= 0 else _stage("shipped")
        changed = dataclasses.replace(changed, approve_after=approve, request_until=until)
    return changed
