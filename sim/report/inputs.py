"""What the report needs to know about a study, as plain data stored beside the results.

`cancelsim report DIR` rebuilds the report from this, the summary and the stored runs,
without the policy files and without simulating again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sim.model.load import Study
from sim.model.policy import Policy, Rules
from sim.model.units import Duration

if TYPE_CHECKING:
    from sim.experiment.plan import Point


def describe(
    study: Study, points: Sequence[Point] = (), studies: Sequence[Study] = ()
) -> dict[str, Any]:
    """The scenario's dates and the policies' main rules in force at its start, the rule
    changes within its horizon, and for a sweep (`points`, one study each) the swept
    values as numbers with each key's current value (`study` is then the unswept one)."""
    scenario = study.scenario
    day = scenario.start.date()
    end = scenario.start + dt.timedelta(hours=scenario.horizon.amount)
    sweep = _sweep(study, points, studies) if points and points[0].values else None
    played = study  # the study the report's numbers come from: a sweep's report point
    if sweep is not None:
        from sim.report.data import base_point

        labels = {"points": [{"point": p.label} for p in points]}
        played = studies[base_point(labels, {"sweep": sweep})[0]]
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
        "policies": {
            key: {
                **_policy(policy, day),
                "changes": _changes(played.policies[key], scenario.start, end),
            }
            for key, policy in study.policies.items()
        },
        "sweep": sweep,
        "made": {
            "date": dt.date.today().isoformat(),
            "cancelsim": _version(),
        },
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cancelsim")
    except PackageNotFoundError:  # pragma: no cover - run from a plain source tree
        return "unknown"


def _changes(policy: Policy, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Each effective date after the scenario's first day whose midnight comes before the
    horizon's end (some order plays it), with the rules it changes: their text before and
    after."""
    out = []
    dates = list(policy.versions)
    for i, date in enumerate(dates):
        midnight = dt.datetime.combine(date, dt.time(0), tzinfo=start.tzinfo)
        if i == 0 or not start.date() < date or not midnight < end:
            continue
        before, after = _texts(policy.versions[dates[i - 1]]), _texts(policy.versions[date])
        rules = [
            {
                "rule": title,
                "before": before.get(title, (_ABSENT, []))[0],
                "after": after.get(title, (_ABSENT, []))[0],
            }
            for title in dict.fromkeys([*before, *after])
            if before.get(title, (None,))[0] != after.get(title, (None,))[0]
        ]
        out.append({"date": date.isoformat(), "rules": rules})
    return out


def _sweep(study: Study, points: Sequence[Point], studies: Sequence[Study]) -> dict[str, Any]:
    """Per swept key: each point's value as a number on an axis (None when it has none),
    the axis unit, and the value in force without the sweep (`current`)."""
    keys = [key for key, _, _ in points[0].values]
    axes = {}
    for key in keys:
        values = [_number(_lookup(s, key)) for s in studies]
        current = _number(_lookup(study, key))
        units = {u for _, u in values}
        numeric = all(v is not None for v, _ in values) and len(units) == 1
        unit = next(iter(units)) if numeric else None
        axes[key] = {
            "values": [v for v, _ in values] if numeric else None,
            "unit": unit,
            # today's value on the axis only in the axis's unit (30d is not 7 business days)
            "current": current[0] if numeric and current[1] == unit else None,
            "current_label": _label(_lookup(study, key)),
        }
    return {"keys": keys, "axes": axes}


_MISSING = object()


def _lookup(study: Study, key: str) -> Any:
    """The validated value a `--set`/`--sweep` key names: a scenario key, or a policy's
    (`amazon.self_cancel.window`) in force on the scenario's first day."""
    head, *rest = key.split(".")
    if head in study.policies:
        dates = [d for d in map(_date, rest) if isinstance(d, dt.date)]
        rest = [part for part in rest if not isinstance(_date(part), dt.date)]
        # a dated value (`amazon.auto_cancel.after.2020-09-30`): the rules of that date
        node: Any = study.policies[head].at(dates[-1] if dates else study.scenario.start.date())
    else:
        node, rest = study.scenario, [head, *rest]
    for part in rest:
        if isinstance(node, dict):
            node = node.get(part, node.get(_date(part), _MISSING))
        elif isinstance(node, list | tuple) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            node = getattr(node, part, _MISSING)
        if node is _MISSING:
            return None
    return node


def _date(text: str) -> Any:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return text


def _number(value: Any) -> tuple[float | None, str | None]:
    """A value as a number and its unit: `h` clock hours, `bd` business days, `` plain."""
    if isinstance(value, bool) or value is None:
        return None, None
    if isinstance(value, Duration):
        return value.amount, "bd" if value.business_days else "h"
    if isinstance(value, int | float):
        return float(value), ""
    return None, None


def _label(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Duration):
        return str(value)
    return str(getattr(value, "value", value))


def _replay(study: Study) -> dict[str, Any] | None:
    """The replayed order log: its name, how many of its orders the horizon holds, and how
    many of them each policy pays as the log says (the rest are drawn from its mix)."""
    scenario = study.scenario
    if scenario.orders.replay is None:
        return None
    from pathlib import Path

    from sim.engine.replay import matched_methods, replay_orders

    replay = replay_orders(scenario)
    paid = {
        str(run.key): int((matched_methods(replay, tuple(run.payment_mix)) >= 0).sum())
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
    rules = policy.at(day)
    metric = rules.seller_metric
    return {
        "name": policy.name,
        "platform": policy.platform,
        "currency": policy.currency,
        "metric_name": metric.name if metric else None,
        "threshold": metric.threshold if metric else None,
        "window": str(metric.window) if metric else None,
        "window_days": metric.window.days if metric and not metric.window.months else None,
        "lag_days": metric.lag.amount / 24 if metric else None,
        "evaluation": metric.evaluation() if metric else None,
        "rules": rule_rows(policy, day),
    }


def rule_rows(policy: Policy, day: dt.date) -> list[dict[str, Any]]:
    """The rules in force on `day`, section by section as each describes itself, with the
    date a rule took its current form and the next change, where the policy has them."""
    dates = list(policy.versions)
    current = max(i for i, d in enumerate(dates) if d <= day)
    texts = [_texts(rules) for rules in policy.versions.values()]
    rows = []
    for title, (text, ids) in texts[current].items():
        since = [
            dates[i]
            for i in range(1, current + 1)
            if texts[i].get(title) != texts[i - 1].get(title)
        ]
        if since:
            text += f" (since {since[-1]})"
        later = [
            i
            for i in range(current + 1, len(dates))
            if texts[i].get(title) != texts[i - 1].get(title)
        ]
        if later:
            text += f"; from {dates[later[0]]}: {texts[later[0]].get(title, (_ABSENT, []))[0]}"
        rows.append(_row(policy.at(day), title, text, ids))
    return rows


_ABSENT = "none"


def _texts(rules: Rules) -> dict[str, tuple[str, list[str]]]:
    return {title: (text, ids) for title, text, ids in rules.rows()}


def _row(rules: Rules, title: str, text: str, ids: list[str]) -> dict[str, Any]:
    sources = [
        {
            "id": ref,
            "title": rules.sources[ref].title,
            "url": rules.sources[ref].url,
            "seen": rules.sources[ref].seen.isoformat(),
            "confidence": rules.sources[ref].confidence,
        }
        for ref in ids
    ]
    return {"rule": title, "value": text, "sources": sources}
