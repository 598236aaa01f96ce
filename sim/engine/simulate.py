"""Run one policy through one replication of a scenario."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from sim.engine.evaluation import Evaluation, Schedule, SizeBand, flags_sellers
from sim.engine.market import Market
from sim.engine.recorder import OUTCOMES
from sim.engine.result import RunResult, metrics_of
from sim.engine.rules import CompiledPolicy, compile_policy
from sim.engine.streams import RandomStreams
from sim.engine.trace import TraceWriter
from sim.model.calendar import BusinessCalendar
from sim.model.policy import Policy
from sim.model.scenario import Scenario

CALENDAR_MARGIN_DAYS = 400  # business-day arithmetic may reach this far past the run


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs; small and picklable, so it can travel to a worker."""

    policy_key: str
    policy: Policy
    scenario: Scenario
    replication: int
    seed: int
    trace_path: str | None = None  # write the per-order trace here (.csv, or .parquet)
    point: int = 0  # the sweep point, when the experiment sweeps values


def simulate(spec: RunSpec) -> RunResult:
    """Play the scenario's order stream of replication `spec.replication` through the policy."""
    started = time.perf_counter()
    scenario = spec.scenario
    compiled = compiled_policy(spec)
    calendar, methods = compiled.calendar, compiled.methods
    run = next(p for p in scenario.policies if p.key == spec.policy_key)
    trace = TraceWriter(Path(spec.trace_path)) if spec.trace_path else None
    streams = RandomStreams(spec.seed, spec.replication)
    market = Market(scenario, compiled, streams, run.payment_mix, trace)
    try:
        recorder = market.run()
    except BaseException:
        if trace is not None:
            trace.discard()
        raise
    if trace is not None:
        trace.close()
    rule = evaluation_schedule(compiled)
    first_day = first_full_day(calendar, scenario.warmup.amount)
    metrics, rates, bands = metrics_of(
        recorder,
        rule,
        calendar.first_day,
        first_day,
        market.people.judged,
        size_bands(scenario),
        (scenario.horizon.amount + calendar.hour_offset) / 24 - first_day,
    )
    return RunResult(
        policy=spec.policy_key,
        replication=spec.replication,
        point=spec.point,
        metrics=metrics,
        money_back_hist=recorder.money_back_hist,
        issued_hist=recorder.issued_hist,
        method_hist=recorder.method_hist,
        methods=methods,
        daily_orders=recorder.seller_orders.sum(0),
        daily_counted=recorder.seller_counted.sum(0),
        daily_judged=recorder.seller_orders[market.people.judged].sum(0),
        seller_rates=rates,
        bands=bands,
        outcome_counts={o.value: int(c) for o, c in zip(OUTCOMES, recorder.outcomes, strict=True)},
        daily_outcomes=recorder.daily_outcomes,
        daily_refunds=recorder.daily_refunds,
        daily_money_back=recorder.daily_money_back,
        events=next(market.env._eid),  # SimPy's event counter: events scheduled in the run
        wall_seconds=time.perf_counter() - started,
    )


def compiled_policy(spec: RunSpec) -> CompiledPolicy:
    """The policy of `spec` compiled for its scenario: its calendar over the run (and a
    margin), the scenario's payment methods and currency."""
    scenario, policy = spec.scenario, spec.policy
    start = scenario.start
    end = scenario.horizon.amount + scenario.drain.amount
    calendar = BusinessCalendar(
        policy.calendar,
        start.date(),
        int(end // 24) + CALENDAR_MARGIN_DAYS,
        start.hour + start.minute / 60,
    )
    run = next(p for p in scenario.policies if p.key == spec.policy_key)
    fx = 1.0 if policy.currency == scenario.currency else scenario.exchange_rates[policy.currency]
    return compile_policy(spec.policy_key, policy, calendar, tuple(run.payment_mix), fx, end)


def band_labels(spec: RunSpec) -> tuple[str, ...]:
    """The size bands a run of `spec` counts flagged sellers in: the scenario's, if the
    policy's seller metric has a threshold, else none (what `metrics_of` gives)."""
    if not flags_sellers(evaluation_schedule(compiled_policy(spec))):
        return ()
    return tuple(band.label for band in size_bands(spec.scenario))


def evaluation_schedule(compiled: CompiledPolicy) -> Schedule:
    """How the platform evaluates its seller metric, from the day each version of the
    rules applies (a day index from the run's first local day)."""
    offset = compiled.calendar.hour_offset
    return tuple(
        (round((start + offset) / 24), Evaluation.of(rules.seller_metric))
        for start, rules in zip(compiled.starts, compiled.versions, strict=True)
    )


def first_full_day(calendar: BusinessCalendar, warmup: float) -> int:
    """The first local day that lies wholly after the warm-up: seller metrics count days."""
    return math.ceil((warmup + calendar.hour_offset) / 24 - 1e-9)


def size_bands(scenario: Scenario) -> tuple[SizeBand, ...]:
    """The scenario's seller-size bands, smallest first."""
    return tuple(SizeBand(label, low) for label, low in scenario.sellers.size_bands.items())
