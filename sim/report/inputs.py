"""What the report needs to know about a study, as plain data stored beside the results.

`cancelsim report DIR` rebuilds the report from this, the summary and the stored runs,
without the policy files and without simulating again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sim.model.dated import changes, in_force
from sim.model.distributions import Distribution
from sim.model.load import Study
from sim.model.policy import Policy, Sourced
from sim.model.units import Duration

UNTIL = {
    "released": "before the platform releases the order",
    "packing": "before packing starts",
    "packed": "before the order is packed",
    "shipped": "before the order ships",
}


def describe(study: Study) -> dict[str, Any]:
    """The scenario's dates and the policies' main rules in force at its start."""
    scenario = study.scenario
    day = scenario.start.date()
    return {
        "scenario": {
            "name": scenario.name,
            "description": scenario.description or "",
            "start": scenario.start.isoformat(),
            "horizon_hours": scenario.horizon.amount,
            "warmup_hours": scenario.warmup.amount,
            "currency": scenario.currency,
            "sellers": scenario.sellers.count,
            "promotions": [
                {"date": p.date.isoformat(), "name": p.name, "multiplier": p.multiplier}
                for p in scenario.orders.promotions
            ],
            "replay": _replay(study),
        },
        "policies": {key: _policy(policy, day) for key, policy in study.policies.items()},
    }


def _replay(study: Study) -> dict[str, Any] | None:
    """The replayed order log: its name, how many of its orders the horizon holds, and how
    many of them each policy pays as the log says (the rest are drawn from its mix)."""
    scenario = study.scenario
    if scenario.orders.replay is None:
        return None
    from pathlib import Path, PurePath

    from sim.engine.replay import matched_methods, replay_orders

    replay = replay_orders(scenario)
    paid = {
        PurePath(run.file).stem: int((matched_methods(replay, tuple(run.payment_mix)) >= 0).sum())
        for run in scenario.policies
    }
    return {
        "file": Path(scenario.orders.replay).name,
        "orders": len(replay.times),
        "before": replay.before,
        "after": replay.after,
        "paid_as_logged": paid,
    }


def _policy(policy: Policy, day: dt.date) -> dict[str, Any]:
    metric = policy.seller_metric
    return {
        "name": policy.name,
        "platform": policy.platform,
        "currency": policy.currency,
        "metric_name": metric.name if metric else None,
        "threshold": metric.threshold if metric else None,
        "window": str(metric.window) if metric else None,
        "evaluation": evaluation_text(metric) if metric else None,
        "rules": [row for row in _rules(policy, day) if row is not None],
    }


def _rules(policy: Policy, day: dt.date) -> list[dict[str, Any] | None]:
    p = policy
    request = p.cancel_request
    return [
        _row(
            p,
            "Pending hold before the seller may start",
            p.pending,
            lambda s: _duration(in_force(s.hold, day)),
        ),
        _row(
            p,
            "Buyer cancels alone",
            p.self_cancel,
            lambda s: f"within {_duration(in_force(s.window, day))} of ordering, {UNTIL[s.until]}",
            none="not possible",
        ),
        _row(p, "Buyer's cancel request", request, lambda s: _request(s, day), none="not possible"),
        _row(
            p,
            "Instant refund (good-record buyers)",
            p.instant_refund,
            lambda s: f"at once, {UNTIL[s.until]}",
            none="none",
        ),
        _row(
            p,
            "Ship-by deadline",
            p.ship_by,
            lambda s: f"{_duration(in_force(s.within, day))} after ordering",
        ),
        _row(
            p,
            "Auto-cancel if not shipped",
            p.auto_cancel,
            lambda s: _dated(s.after, day, lambda d: f"{_duration(d)} after ship-by"),
            none="never",
        ),
        _row(
            p,
            "Late-shipment compensation",
            p.late_shipment,
            lambda s: _dated(s.compensation, day, lambda c: _compensation(c, p.currency)),
            none="none",
        ),
        _row(
            p,
            "Refund processing",
            p.refunds,
            lambda s: f"{_dist(in_force(s.processing, day))}; charged at {s.charge_at}",
        ),
        *[
            _row(
                p,
                f"Refund rail: {method}",
                rail,
                lambda s: (
                    _dist(in_force(s.delay, day))
                    + (
                        f"; uncharged authorisation released in {_dist(release)}"
                        if (release := in_force(s.release, day))
                        else ""
                    )
                ),
            )
            for method, rail in p.refunds.rails.items()
        ],
        _row(
            p,
            "Fulfilled by the platform",
            p.platform_fulfilment,
            lambda s: _fulfilment(s, day),
            none="none: every seller ships itself",
        ),
        _row(p, "Seller metric", p.seller_metric, lambda s: _metric(s, day), none="none"),
    ]


def _fulfilment(section: Any, day: dt.date) -> str:
    who = (
        "every order, from the platform's own warehouses"
        if section.serves == "all"
        else "the orders of sellers whose stock the platform holds"
    )
    alone = (
        f"; their buyers cancel alone {UNTIL[section.self_cancel_until]}"
        if section.self_cancel_until
        else ""
    )
    approve = in_force(section.approves_after, day)
    approval = f"; requests approved after {_duration(approve)}" if approve is not None else ""
    return f"{who}: the platform packs and answers the buyer{alone}{approval}; in no seller metric"


def _row(
    policy: Policy, rule: str, section: Sourced | None, text: Any, none: str | None = None
) -> dict[str, Any] | None:
    if section is None:
        return None if none is None else {"rule": rule, "value": none, "sources": []}
    sources = [
        {
            "id": ref,
            "title": policy.sources[ref].title,
            "url": policy.sources[ref].url,
            "confidence": policy.sources[ref].confidence,
        }
        for ref in section.source_ids
    ]
    return {"rule": rule, "value": text(section), "sources": sources}


def _request(section: Any, day: dt.date) -> str:
    approve = in_force(section.platform_approves_after, day)
    who = "the seller accepts or refuses" if section.seller_decides else "the platform decides"
    auto = (
        f"; approved automatically after {_duration(approve)} unless refused or shipped"
        if approve is not None
        else "; no deadline"
    )
    return f"{who}, {UNTIL[section.until]}{auto}"


def evaluation_text(metric: Any) -> str:
    """How the platform evaluates its metric: '7d window, evaluated daily, no minimum'."""
    minimum = metric.minimum
    needs = [
        f"{n} {what}"
        for n, what in ((minimum.orders, "orders"), (minimum.counted, "counted events"))
        if n
    ]
    return f"{metric.window} window, evaluated {metric.cadence}, " + (
        f"at least {' and '.join(needs)} in the window" if needs else "no minimum counts"
    )


def _metric(section: Any, day: dt.date) -> str:
    threshold = (
        f"threshold {section.threshold:.1%}"
        if section.threshold is not None
        else "no public threshold"
    )
    consequence = f" ({section.consequence})" if section.consequence else ""
    return (
        f"{section.name}: {', '.join(section.counts)}{_messages(section, day)}; "
        f"{evaluation_text(section)}; {threshold}{consequence}"
    )


def _messages(section: Any, day: dt.date) -> str:
    """Whether cancels asked only by message count, on `day` or from a later date."""
    history = section.counts_message_requests
    since = [d for d in changes(history) if d <= day and history[d]]
    if in_force(history, day):
        return "; cancels asked only by message count" + (f" (since {since[-1]})" if since else "")
    later = [d for d in changes(history) if d > day and history[d]]
    return f"; cancels asked only by message count from {later[0]}" if later else ""


def _compensation(rule: Any, currency: str) -> str:
    if rule is None:
        return "none"
    cap = f", at most {rule.maximum:g} {currency}" if rule.maximum is not None else ""
    return f"{rule.share:.0%} of the price, at least {rule.minimum:g} {currency}{cap}"


def _dated(history: dict[dt.date, Any], day: dt.date, fmt: Any) -> str:
    text = fmt(in_force(history, day))
    later = [d for d in changes(history) if d > day]
    earlier = [d for d in changes(history) if d <= day]
    if earlier:
        text += f" (since {earlier[-1]})"
    if later:
        text += f"; from {later[0]}: {fmt(history[later[0]])}"
    return text


def _duration(value: Duration | None) -> str:
    return "none" if value is None else str(value)


def _dist(dist: Distribution) -> str:
    unit = " business days" if dist.business_days else ""

    def v(x: Any) -> str:
        return f"{x.amount:g}" if unit else str(x)

    kind = dist.dist  # type: ignore[attr-defined]
    d: Any = dist
    if kind == "fixed":
        return "at once" if d.value.amount == 0 else f"{v(d.value)}{unit}"
    if kind == "uniform":
        return f"{v(d.low)} to {v(d.high)}{unit}"
    if kind == "exponential":
        return f"mean {v(d.mean_)}{unit}"
    if kind == "lognormal":
        return f"median {v(d.median)}{unit}"
    if kind == "gamma":
        return f"mean {v(d.mean_)}{unit}"
    return f"one of {len(d.values)} values{unit}"
