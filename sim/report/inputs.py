"""What the report needs to know about a study, as plain data stored beside the results.

`cancelsim report DIR` rebuilds the report from this, the summary and the stored runs,
without the policy files and without simulating again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sim.model.load import Study
from sim.model.policy import Policy, Rules


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
            "confidence": rules.sources[ref].confidence,
        }
        for ref in ids
    ]
    return {"rule": title, "value": text, "sources": sources}
