"""The calibrated scenario as commented YAML: each number says where it comes from.

`fitted:` numbers carry their estimate, 95% interval (and its method) and what they
rest on; `bound:` numbers are the larger of the base's value and the lower bound the
log implies (the 95% lower limit of what it shows); `assumed:` numbers are the base
scenario's, because a log cannot tell them.
The base's sections that nothing in a log touches (policies, exchange rates, delivery)
are copied with their own comments, policy paths re-rooted at the output's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.calibrate.arrivals import ALPHA, MIN_LIFT, WEEKDAYS
from sim.calibrate.estimate import count, number
from sim.calibrate.kinds import base_type
from sim.calibrate.sellers_text import sellers_yaml
from sim.calibrate.yamltext import (
    base_sections,
    comment,
    fitted,
    list_items,
    model_flow,
    rerooted,
    scalar,
)
from sim.calibrate.yamltext import number as yaml_number
from sim.errors import InputError
from sim.model.builtin import resolve
from sim.model.extends import MAX_DEPTH

if TYPE_CHECKING:
    from sim.calibrate.calibration import Calibration


def scenario_yaml(fit: Calibration) -> str:
    """The whole scenario file."""
    lines = [
        *_header(fit),
        *_run(fit),
        *_copied(fit, "exchange_rates"),
        *_policies(fit),
        *_baseline(fit),
        "",
        *_orders(fit),
        "",
        *sellers_yaml(fit),
        "",
        *_buyers(fit),
        *_copied(fit, "delivery"),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _header(fit: Calibration) -> list[str]:
    span = fit.span
    text = (
        f"Calibrated by cancelsim calibrate from the order log {fit.source or '(a DataFrame)'}"
        f": {fit.quality.orders:,} orders over {span.days} local days, {span.date(0)} to "
        f"{span.date(span.days - 1)}, on the base scenario {fit.base_path.as_posix()}. "
        "Each number says where it comes from. fitted: estimated from the log, with the "
        "estimate, its 95% interval (and how it was made) and the number of orders or "
        "sellers it rests on. bound: the log gives only a lower bound; the larger of its "
        "95% lower limit and the base's value. assumed: the log cannot tell; the base "
        "scenario's value."
    )
    lines = comment(text, 0)
    gaps = fit.quality.lines() + fit.quality.spells() + fit.observed_notes()
    if gaps:
        lines += comment("Gaps in the log: " + "; ".join(gaps) + ".", 0)
    name = f"{Path(fit.source).stem or 'orders'}-calibrated" if fit.source else "calibrated"
    description = (
        f"The market of {fit.quality.orders:,} logged orders from "
        f"{count(fit.sellers_seen, 'seller')} over {span.days} days, fitted on "
        f"{fit.base.scenario.name}; what a log cannot tell is assumed from it."
    )
    return [*lines, "", f"name: {scalar(name)}", f"description: {scalar(description)}", ""]


def _weights(estimates: Any, seen: Any, labels: list[str], unit: str) -> list[str]:
    """A profile's weights as YAML list items, each commented with its interval and n, or
    as assumed where the log hardly observed that hour or weekday."""
    lines = []
    for e, observed, label in zip(estimates, seen, labels, strict=True):
        note = (
            f"{number(e.low)}-{number(e.high)}, n = {e.n:,}"
            if observed
            else f"assumed: the base's weight, scaled ({unit} hardly observed)"
        )
        lines.append(f"    - {yaml_number(e.value, 3):<7} # {label}  {note}")
    return lines


def _run(fit: Calibration) -> list[str]:
    span, base = fit.span, fit.base.scenario
    zone = (
        f"the UTC offset of its first order (the most common is {span.zone}, "
        f"{span.offset_share:.1%} of its orders)"
    )
    hours = span.horizon_hours
    horizon = f"{span.days}d" if hours == 24 * span.days else f"{hours:g}h"
    return [
        *comment(f"fitted: local midnight of the log's first day, in {zone}", 0),
        f"start: {span.start.isoformat()}",
        *comment(
            f"fitted: the log's span, {span.days} whole local days (of which it observed "
            f"{span.observed_hours:,.1f} hours, from its first order to its last)",
            0,
        ),
        f"horizon: {horizon}",
        *comment(
            "assumed: the base's warm-up, at most a quarter of the span (the log's first "
            "days fill the simulated sellers' queues and metric windows)",
            0,
        ),
        f"warmup: {fit.warmup_days}d",
        f"drain: {scalar(base.drain)}   # assumed: the base's",
        f"replications: {base.replications}   # assumed: the base's",
        f"seed: {base.seed}   # assumed: the base's",
        f"currency: {base.currency}   # the base's; the log's values are converted to it",
    ]


def _section(fit: Calibration, key: str) -> list[str]:
    """The base's text of a top-level key, with its comments; from the scenario the base
    extends (and so on) where the base does not write that key itself."""

    from sim.model.load import read_scenario
    from sim.model.yamlfile import parse_document, read_document

    merged = read_scenario(fit.base_path).data.get(key)
    path = Path(fit.base_path)
    for _ in range(MAX_DEPTH + 1):
        sections = base_sections(path.read_text(encoding="utf-8"))
        if key in sections:
            written = parse_document("\n".join(sections[key]), str(path)).data.get(key)
            if written != merged and key != "policies":  # partly written over its base
                return _merged_section(key, merged)
            return rerooted(sections[key], path.parent, fit.out_path.parent)
        base = read_document(path).data.get("extends")
        if not isinstance(base, str):
            return []
        path = resolve(base, path.parent, "scenario")
    return []


def _merged_section(key: str, value: Any) -> list[str]:
    """A section that an extending base writes only in part, as merged with its base
    (its comments are in the files of the `extends:` chain)."""
    import yaml

    text = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, width=88)
    return [
        f"# {key}: as merged from the base and the scenarios it extends (see their comments)",
        *text.rstrip("\n").splitlines(),
    ]


def _copied(fit: Calibration, key: str) -> list[str]:
    block = _section(fit, key)
    if not block:
        return []
    return ["", *comment("assumed: as in the base scenario (its comments follow)", 0), *block]


def _policies(fit: Calibration) -> list[str]:
    """The base's policies, but those that cannot play the fitted market."""
    head, items = list_items(_section(fit, "policies"))
    dropped = unplayable(fit)
    runs = fit.base.scenario.policies
    kept = [item for item, run in zip(items, runs, strict=True) if run.key not in dropped]
    lines = comment(
        "assumed: the base's policies and payment mixes, paths relative to this file", 0
    )
    for name, why in dropped.items():
        lines += comment(f"left out: {name}, because {why}", 0)
    return ["", *lines, *head, *[line for item in kept for line in item]]


def _baseline(fit: Calibration) -> list[str]:
    baseline = fit.base.scenario.baseline
    if baseline is None:
        return []
    if baseline in unplayable(fit):
        return ["", f"# left out: baseline: {baseline} (its policy is left out above)"]
    return _copied(fit, "baseline")


def unplayable(fit: Calibration) -> dict[str, str]:
    """The base's policies (by key) that cannot play the fitted market, and why."""
    platform = any(k.fulfilment == "platform" for k in fit.kinds)
    causes: set[str] = set()
    for kind in fit.kinds:
        _, base = base_type(fit.base, kind.fulfilment)
        causes |= set(kind.cancels.causes({str(c): v for c, v in base.cancels.items()}))
    out = {}
    for name, policy in fit.base.policies.items():
        rules = policy.at(fit.base.scenario.start.date())
        serves = rules.platform_fulfilment
        mapped = {r.cause.value for r in rules.seller_cancel.reasons.values()}
        if serves is not None and serves.serves == "all" and not platform:
            out[name] = (
                "it fulfils every order itself, and the log shows no platform-fulfilled "
                "sellers to stand for its warehouses"
            )
        elif causes - mapped:
            out[name] = (
                f"it has no seller-cancel reason for {', '.join(sorted(causes - mapped))}, "
                "which the fitted cancels use"
            )
    return out


# ---------------------------------------------------------------------- orders
def _orders(fit: Calibration) -> list[str]:
    a = fit.arrivals
    phi = (
        f" Days vary {a.day_dispersion:.2f} times as much as Poisson counts (intervals widened)."
        if a.day_dispersion > 1
        else ""
    )
    lines = [
        "orders:",
        *comment(
            fitted(a.rate, "average orders per hour before profiles and promotions", "orders/h")
            + "."
            + phi,
            2,
        ),
        f"  rate_per_hour: {yaml_number(a.rate.value, 5)}",
        *comment(
            "fitted: relative weight of each local hour (each order's own UTC offset), mean "
            "1, from the days that are not promotions, each hour's orders over the time the "
            "log observed of it; per hour: 95% interval (Wilson on the hour's share of "
            "orders) and the orders in that hour",
            2,
        ),
        "  daily_profile:",
    ]
    lines += _weights(a.daily, a.daily_seen, [f"{h:02d}:00" for h in range(24)], "hour")
    lines += comment(
        "fitted: relative weight of each weekday (Monday first), mean 1, from the days "
        "that are not promotions: 95% interval (Wilson on the weekday's share) and orders",
        2,
    )
    lines.append("  weekly_profile:")
    lines += _weights(a.weekly, a.weekly_seen, list(WEEKDAYS), "weekday")
    lines += _promotions(fit)
    lines += _value(fit)
    return lines


def _promotions(fit: Calibration) -> list[str]:
    a = fit.arrivals
    rule = (
        f"a day whose orders are at least {MIN_LIFT:g}x the fitted ordinary day and an "
        f"outlier at p < {ALPHA:g}/{a.tested_days} days (one-sided, Bonferroni: at most "
        f"{ALPHA:.0%} chance of flagging an ordinary day"
        + (
            f"; negative binomial, dispersion {a.day_dispersion:.2f})"
            if a.day_dispersion > 1
            else "; Poisson)"
        )
    )
    if not a.promotions:
        return [*comment(f"fitted: no promotion day found ({rule})", 2), "  promotions: []"]
    lines = [*comment(f"fitted: promotion days detected: {rule}; left out of the fits above", 2)]
    lines.append("  promotions:")
    for p in a.promotions:
        lines += [
            f"    - date: {p.date.isoformat()}",
            *comment(
                f"{fitted(p.multiplier, 'the day over its ordinary expectation')}; "
                f"{p.multiplier.n:,} orders against {p.expected:,.0f} expected, "
                f"one-sided p {_p(p.p_value)}",
                6,
            ),
            f"      multiplier: {yaml_number(p.multiplier.value, 3)}",
            f"      name: {scalar('detected peak')}",
        ]
    return lines


def _p(p: float) -> str:
    return f"= {p:.2g}" if p >= 1e-300 else "< 1e-300"


def _value(fit: Calibration) -> list[str]:
    base = fit.base.scenario.orders.value
    v = fit.values
    if v is None:
        if base is None:
            raise InputError.single(
                fit.source or "order log",
                "has no order values and the base scenario no orders.value to assume; "
                "give a base scenario with orders.value",
            )
        return [
            *comment("assumed: the base's (the log has too few known values)", 2),
            f"  value: {model_flow(base)}",
        ]
    currency = fit.base.scenario.currency
    return [
        *comment(f"fitted: order value in {currency}, a lognormal (its shape assumed)", 2),
        "  value:",
        "    dist: lognormal",
        *comment(fitted(v.median, "", currency), 4),
        f"    median: {yaml_number(v.median.value, 4)}",
        *comment(fitted(v.sigma), 4),
        f"    sigma: {yaml_number(v.sigma.value, 3)}",
    ]


# ---------------------------------------------------------------------- buyers
def _buyers(fit: Calibration) -> list[str]:
    buyers = fit.base.scenario.buyers
    bound = fit.buyers.buyer
    intent = max(buyers.cancel_intent, bound.low)
    lines = [
        "buyers:",
        *comment(
            "bound: orders the buyer cancelled or asked to cancel, "
            f"{bound.describe(3)}, are a lower bound on the wish to cancel (wishes after "
            "shipment, refused and given up never show in a log); the bound is their 95% "
            f"lower limit (Wilson), {number(bound.low, 3)}; written: the larger of it and the "
            f"base's {buyers.cancel_intent:g}",
            2,
        ),
        f"  cancel_intent: {yaml_number(intent, 4)}",
        *comment("assumed: the rest of the buyers as in the base (the log cannot tell)", 2),
        f"  intent_delay: {model_flow(buyers.intent_delay)}",
        f"  good_record: {yaml_number(buyers.good_record, 4)}",
        f"  pursue_after_shipment: {yaml_number(buyers.pursue_after_shipment, 4)}",
        f"  ask_by_message: {yaml_number(buyers.ask_by_message, 4)}",
    ]
    if buyers.chase_unshipped_after is not None:
        lines.append(f"  chase_unshipped_after: {scalar(buyers.chase_unshipped_after)}")
    return lines
