"""The figures and tables of what a study is about: a sweep's effect curves and paired
differences against today's value, the days of a scenario with promotions or rule
changes, and orders placed before and after a rule change."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from typing import Any

import numpy as np

from sim.engine.recorder import OUTCOME_INDEX
from sim.engine.result import RunResult
from sim.experiment.compare import paired
from sim.experiment.stats import mean_ci
from sim.metrics import BY_NAME
from sim.report.data import OUTCOME_GROUPS, ReportData, RuleChange
from sim.report.figures import Figure
from sim.report.style import WIDTH, date_axis, mark_dates, time_scale
from sim.report.style import plt as _plt

SWEEP_METRICS = (
    "money_back_hours_p50",
    "money_back_hours_p90",
    "refund_issued_hours_p50",
    "self_cancel_share",
    "request_cancel_share",
    "failed_cancel_share",
    "seller_fault_cancel_share",
    "platform_metric_rate",
    "sellers_flagged_share",
)


# ---------------------------------------------------------------------- sweep
def sweep_axis(data: ReportData) -> tuple[str, list[float], float, str, float | None] | None:
    """The swept key drawn along x: (key, values scaled, scale, unit name, today's value
    scaled), the first key with numbers for every point; None when no key has them."""
    sweep = data.inputs.get("sweep")
    if not sweep:
        return None
    for key in sweep["keys"]:
        axis = sweep["axes"][key]
        if axis["values"] is None:
            continue
        values = [v for v in axis["values"]]
        current = axis["current"]
        scale, unit = time_scale(axis["unit"], [*values, *([current] if current else [])])
        return (
            key,
            [v * scale for v in values],
            scale,
            unit,
            None if current is None else current * scale,
        )
    return None


def sweep_effects(data: ReportData) -> Figure | None:
    """Every headline metric against the swept value on a numeric axis, with 95% interval
    bands and today's value marked."""
    points = data.summary.get("points")
    if not points:
        return None
    plt = _plt()
    found = sweep_axis(data)
    keys = data.summary["sweep"]["keys"]
    if found:
        x_key, xs, _, unit, current = found
    else:  # nothing numeric: the points in order
        x_key, xs, unit, current = keys[0], list(range(len(points))), "", None
    others = [k for k in keys if k != x_key]
    combos = sorted({tuple(p["point"][k] for k in others) for p in points})
    styles = ["-", "--", ":", "-."]
    fig, axes = plt.subplots(3, 3, figsize=(WIDTH, 9.2), sharex=True)
    for ax, metric in zip(axes.flat, SWEEP_METRICS, strict=True):
        scale = 100 if BY_NAME[metric].unit == "share" else 1
        for key in data.keys:
            for c, combo in enumerate(combos):
                at = sorted(  # along the axis, whatever the order of the values
                    (
                        i
                        for i, p in enumerate(points)
                        if tuple(p["point"][k] for k in others) == combo
                    ),
                    key=lambda i: xs[i],
                )
                values = [_value(points[i], key, metric) for i in at]
                mean = np.array([v[0] for v in values]) * scale
                if np.all(np.isnan(mean)):
                    continue
                x = [xs[i] for i in at]
                ax.plot(
                    x,
                    mean,
                    marker="o",
                    ms=4,
                    ls=styles[c % len(styles)],
                    color=data.colour(key),
                    lw=2,
                )
                low = np.array([v[1] for v in values]) * scale
                high = np.array([v[2] for v in values]) * scale
                ax.fill_between(x, low, high, color=data.colour(key), alpha=0.18, lw=0)
        if current is not None:
            ax.axvline(current, color="#333333", lw=1.2, ls=(0, (1, 1.5)))
        ax.set_title(BY_NAME[metric].label, fontsize=10, loc="left")
        ax.set_ylabel("%" if scale == 100 else "hours", fontsize=9)
        ax.grid(color="#eeeeee")
    for ax in axes[-1]:
        ax.set_xlabel(f"{x_key}" + (f" ({unit})" if unit else ""), fontsize=9)
        if not found:
            ax.set_xticks(xs, [", ".join(p["point"].values()) for p in points], rotation=30)
    handles = [
        plt.Line2D([], [], color=data.colour(k), lw=2, label=data.label(k)) for k in data.keys
    ]
    handles += [
        plt.Line2D(
            [],
            [],
            color="#555555",
            ls=styles[c % len(styles)],
            label=", ".join(f"{k} = {v}" for k, v in zip(others, combo, strict=True)),
        )
        for c, combo in enumerate(combos)
        if others
    ]
    if current is not None:
        label = data.inputs["sweep"]["axes"][x_key]["current_label"]
        handles.append(
            plt.Line2D([], [], color="#333333", ls=(0, (1, 1.5)), label=f"today: {label}")
        )
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=min(len(handles), 4),
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )
    fig.suptitle(f"Sweep of {', '.join(keys)}: means with 95% interval bands", fontweight="bold")
    fig.tight_layout(rect=(0, 0.05 + 0.025 * (len(handles) // 4), 1, 0.97))
    caption = " ".join(sweep_findings(data)[:2]) or (
        "Means over replications at each swept value, with 95% interval bands."
    )
    if current is None and found:
        caption += " Today's value of the key is not a number on this axis, so it is not marked."
    return Figure("sweep", f"Sweep of {', '.join(keys)}", caption, fig, section="sweep")


def _value(point: dict[str, Any], key: str, metric: str) -> tuple[float, float, float]:
    v = point["policies"].get(key, {}).get("metrics", {}).get(metric, {})
    mean, ci = v.get("mean"), v.get("ci95")
    nan = math.nan
    return (
        nan if mean is None else mean,
        nan if not ci or ci[0] is None else ci[0],
        nan if not ci or ci[1] is None else ci[1],
    )


def sweep_differences(data: ReportData) -> dict[str, Any] | None:
    """Paired differences (same replication, so the same orders) of each point against
    the report's point (today's value), per policy the sweep changes."""
    points = data.summary.get("points")
    if not points or data.summary["replications"] < 2:
        return None
    rows = []
    for i, point in enumerate(points):
        if i == data.base:
            continue
        for key in data.keys:
            runs = [replace(r, policy="point") for r in data.runs_of(key, i)]
            runs += [replace(r, policy="base") for r in data.runs_of(key)]
            every = paired(runs, "point", "base")
            values = {m: every[m] for m in SWEEP_METRICS}
            if all(v["mean"] in (None, 0) and v["ci95"] in (None, [0, 0]) for v in values.values()):
                continue  # the swept key does not touch this policy
            rows.append({"point": point["point"], "policy": key, "values": values})
    return {"metrics": list(SWEEP_METRICS), "rows": rows} if rows else None


def sweep_findings(data: ReportData) -> list[str]:
    """What moving each swept key alone, from the report's point to the lowest and the
    highest of its values, does (the other keys held at the report's point)."""
    table = sweep_differences(data)
    points = data.summary.get("points")
    if not table or not points:
        return []
    base = points[data.base]["point"]
    where = "today's value" if data.base_is_current else "the first point"
    out = []
    for key in data.summary["sweep"]["keys"]:
        alone = [
            i
            for i, p in enumerate(points)
            if p["point"][key] != base[key]
            and all(p["point"][k] == base[k] for k in base if k != key)
        ]
        axis = (data.inputs.get("sweep") or {}).get("axes", {}).get(key, {})
        values = axis.get("values")
        order = sorted(alone, key=lambda i: values[i]) if values else alone
        for index in dict.fromkeys([*order[:1], *order[-1:]]):
            label = points[index]["point"]
            for row in table["rows"]:
                if row["point"] == label:
                    out.append(_finding(data, row, key, base[key], label[key], where))
    return out


def _finding(
    data: ReportData, row: dict[str, Any], key: str, today: str, there: str, where: str
) -> str:
    points = data.summary["points"]
    parts = []
    for metric in (
        "failed_cancel_share",
        "self_cancel_share",
        "money_back_hours_p50",
        "platform_metric_rate",
        "sellers_flagged_share",
    ):
        v = row["values"][metric]
        if v["mean"] is None or not v["significant"]:
            continue
        base = points[data.base]["policies"][row["policy"]]["metrics"][metric]["mean"]
        parts.append(_change_text(metric, base, v))
    head = f"Under {data.label(row['policy'])}, {key} = {there} instead of {where} ({today})"
    if parts:
        return (
            f"{head} changes " + "; ".join(parts) + " (paired over replications, significant "
            "at 95%)."
        )
    return f"{head} changes none of the headline metrics significantly."


def _change_text(metric: str, base: float | None, v: dict[str, Any]) -> str:
    m = BY_NAME[metric]
    if m.unit == "share":
        text = f"{m.label.lower()} by {v['mean'] * 100:+.2f} points"
        if base:
            text += f" (from {base:.2%}, a {v['mean'] / base:+.0%} change)"
        return text
    return f"{m.label.lower()} by {v['mean']:+.2f} h" + (f" (from {base:.2f} h)" if base else "")


# ---------------------------------------------------------------------- days
def daily(data: ReportData) -> Figure | None:
    """Orders placed each day, and what became of them, per policy: for a scenario with
    promotions or rule changes, each marked on every panel."""
    if not (data.promotions() or data.changes()) or not data.days():
        return None
    plt = _plt()
    keys = data.keys
    fig, axes = plt.subplots(
        len(keys) + 1,
        1,
        figsize=(WIDTH, 2.6 + 1.7 * len(keys)),
        sharex=True,
        height_ratios=[1.3] + [1] * len(keys),
    )
    dates = [dt.datetime.combine(d, dt.time(0)) for d in data.dates()]
    volume = np.mean([r.daily_orders for r in data.runs_of(keys[0])], axis=0)
    top = axes[0]
    top.bar(dates, volume, width=0.9, align="edge", color="#666666", label="orders placed")
    mark_dates(top, data)
    top.set_ylabel("orders a day")
    top.set_title("Orders placed each day (mean over replications)", loc="left")
    top.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for ax, key in zip(axes[1:], keys, strict=True):
        groups = data.daily_outcomes(key)
        bottom = np.zeros(len(dates))
        for g, (label, _, colour) in enumerate(OUTCOME_GROUPS):
            values = groups[: len(dates), g]
            ax.bar(
                dates,
                values,
                width=0.9,
                align="edge",
                bottom=bottom,
                color=colour,
                label=label if key == keys[0] else None,
            )
            bottom += values
        mark_dates(ax, data, legend=False)
        ax.set_title(
            f"{data.label(key)}: orders that did not simply ship, by day placed",
            loc="left",
            fontsize=10,
            color=data.colour(key),
        )
        ax.set_ylabel("orders")
    axes[1].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    date_axis(axes[-1])
    axes[-1].set_xlabel("day the orders were placed")
    fig.tight_layout()
    caption = _daily_caption(data, volume)
    return Figure("daily", "Day by day", caption + data.point_note(), fig, section="days")


def _daily_caption(data: ReportData, volume: np.ndarray) -> str:
    parts = []
    first = data.start().date()
    measured = volume[data.first_measured_day() :]
    normal = float(np.median(measured)) if measured.size else math.nan
    for promo in data.promotions():
        day = (dt.date.fromisoformat(promo["date"]) - first).days
        if 0 <= day < len(volume) and normal > 0:
            parts.append(
                f"{promo['name']} brought {volume[day]:,.0f} orders, "
                f"{volume[day] / normal:.1f} times a typical day's {normal:,.0f}"
            )
    for change in data.changes():
        parts.append(
            f"{data.label(change.policy)} changed on {change.date:%d %b %Y} ({change.short()})"
        )
    return ("; ".join(parts) + ". " if parts else "") + (
        "Bars are the mean count over replications; each policy's panel stacks the "
        "outcomes of the orders placed that day that did not simply ship (the warm-up, "
        "grey, is not measured; the last days' orders have had the least time to be "
        "cancelled)."
    )


def promotion_findings(data: ReportData) -> list[str]:
    """The busiest promotion's volume, and which outcome share moved most that day
    against the other measured days, per policy."""
    promos = [
        (p, (dt.date.fromisoformat(p["date"]) - data.start().date()).days)
        for p in data.promotions()
    ]
    promos = [(p, day) for p, day in promos if day >= data.first_measured_day()]
    if not promos or not data.keys:
        return []
    promo, day = max(promos, key=lambda pd: pd[0]["multiplier"])
    others = [
        d for d in range(data.first_measured_day(), data.days()) if d not in {x for _, x in promos}
    ]
    moves: list[tuple[float, str, str, float, float]] = []
    for key in data.keys:
        runs = data.runs_of(key)
        counts = np.sum([r.daily_outcomes for r in runs], axis=0)
        if not counts.size or not others:
            continue
        on_day, rest = counts[day], counts[others].sum(axis=0)
        if not on_day.sum() or not rest.sum():
            continue
        best = None
        for label, members, _ in OUTCOME_GROUPS:
            if label == "still open at the end":  # the run's end, not the promotion
                continue
            idx = [OUTCOME_INDEX[o] for o in members]
            a, b = on_day[idx].sum() / on_day.sum(), rest[idx].sum() / rest.sum()
            if best is None or abs(a - b) > abs(best[1] - best[2]):
                best = (label, a, b)
        if best:
            moves.append((abs(best[1] - best[2]), key, *best))
    if not moves:
        return []
    volume = np.mean([r.daily_orders[day] for r in data.runs_of(data.keys[0])])
    head = f"{promo['name']} (x{promo['multiplier']:g}) brought {volume:,.0f} orders"
    largest = max(moves)
    if largest[0] < 0.005:
        return [
            head + f"; every outcome's share of that day's orders stays within "
            f"{largest[0] * 100:.1f} points of the other measured days' under every "
            "policy: the spike changes how many orders meet each rule, not what becomes of them."
        ]
    parts = [
        f"under {data.label(key)} '{label}' {a:.1%} of the day's orders (other days {b:.1%})"
        for _, key, label, a, b in moves
    ]
    return [head + "; the outcome that moves most that day: " + "; ".join(parts) + "."]


# ---------------------------------------------------------------------- before / after
PERIOD_METRICS: tuple[tuple[str, str], ...] = (
    *((label, "share") for label, _, _ in OUTCOME_GROUPS if label != "still open at the end"),
    ("money back, mean", "h"),
    ("platform's seller rate", "share"),
)


def period_values(run: RunResult, days: slice) -> dict[str, float]:
    """One run's values over the orders placed in `days` (a slice of day indexes)."""
    outcomes = run.daily_outcomes[days]
    orders = outcomes.sum()
    out = {}
    for label, members, _ in OUTCOME_GROUPS:
        idx = [OUTCOME_INDEX[o] for o in members]
        out[label] = float(outcomes[:, idx].sum() / orders) if orders else math.nan
    refunds = run.daily_refunds[days].sum()
    out["money back, mean"] = (
        float(run.daily_money_back[days].sum() / refunds) if refunds else math.nan
    )
    judged = run.daily_judged[days].sum()
    out["platform's seller rate"] = (
        float(run.daily_counted[days].sum() / judged) if judged else math.nan
    )
    return out


def before_after(data: ReportData) -> list[dict[str, Any]]:
    """For each rule change inside the measured period: per policy, the values over
    orders placed before and from the date, and the difference per replication."""
    out = []
    last = data.days()
    for change in _measured_changes(data):
        rows = {}
        for key in data.keys:
            runs = data.runs_of(key)
            before = [period_values(r, slice(data.first_measured_day(), change.day)) for r in runs]
            after = [period_values(r, slice(change.day, last)) for r in runs]
            rows[key] = {
                name: {
                    "before": _ci([b[name] for b in before], unit),
                    "after": _ci([a[name] for a in after], unit),
                    "change": _ci(
                        [a[name] - b[name] for a, b in zip(after, before, strict=True)],
                        unit,
                        bounded=False,
                    ),
                    "unit": unit,
                }
                for name, unit in PERIOD_METRICS
            }
        out.append({"change": change, "policies": rows})
    return out


def _measured_changes(data: ReportData) -> list[RuleChange]:
    first, last = data.first_measured_day(), data.days()
    return [c for c in data.changes() if first < c.day < last]


def _ci(values: list[float], unit: str, bounded: bool = True) -> dict[str, Any]:
    bounds = (
        (0.0, 1.0)
        if bounded and unit == "share"
        else ((0.0, math.inf) if bounded else (-math.inf, math.inf))
    )
    mean, ci = mean_ci(values, bounds=bounds)
    return {
        "mean": None if math.isnan(mean) else mean,
        "ci95": ci,
        "significant": ci is not None and (ci[0] > 0 or ci[1] < 0),
    }


def before_after_figure(data: ReportData) -> Figure | None:
    """Grouped bars: each policy's values over orders placed before and from the date of
    a rule change, with 95% intervals over replications."""
    split = before_after(data)
    if not split:
        return None
    plt = _plt()
    first = split[0]
    change: RuleChange = first["change"]
    shown = [
        (name, unit)
        for name, unit in PERIOD_METRICS
        if any(
            (first["policies"][k][name]["before"]["mean"] or 0) > 0
            or (first["policies"][k][name]["after"]["mean"] or 0) > 0
            for k in data.keys
        )
    ]
    cols = 3
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 2.4 * rows + 1.2), squeeze=False)
    for ax in axes.flat[len(shown) :]:
        ax.axis("off")
    for ax, (name, unit) in zip(axes.flat, shown, strict=False):
        scale = 100 if unit == "share" else 1
        for i, key in enumerate(data.keys):
            v = first["policies"][key][name]
            for j, period in enumerate(("before", "after")):
                value = v[period]
                if value["mean"] is None:
                    continue
                err = None
                if value["ci95"]:
                    err = [
                        [(value["mean"] - value["ci95"][0]) * scale],
                        [(value["ci95"][1] - value["mean"]) * scale],
                    ]
                ax.bar(
                    i + (j - 0.5) * 0.4,
                    value["mean"] * scale,
                    width=0.38,
                    color=data.colour(key),
                    alpha=0.45 if period == "before" else 1.0,
                    hatch="//" if period == "before" else None,
                    edgecolor="white",
                    yerr=err,
                    ecolor="#333333",
                    capsize=2,
                )
        ax.set_xticks(
            range(len(data.keys)),
            [data.label(k) + (" *" if k == change.policy else "") for k in data.keys],
            fontsize=9,
        )
        ax.set_title(name[0].upper() + name[1:], fontsize=10, loc="left")
        ax.set_ylabel("% of orders" if unit == "share" else "hours", fontsize=9)
    handles = [
        plt.Rectangle(
            (0, 0),
            1,
            1,
            facecolor="#888888",
            alpha=0.45,
            hatch="//",
            edgecolor="white",
            label=f"placed before {change.date:%d %b %Y}",
        ),
        plt.Rectangle(
            (0, 0), 1, 1, facecolor="#888888", label=f"placed from {change.date:%d %b %Y}"
        ),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False)
    fig.suptitle(
        f"Before and after {data.label(change.policy)}'s rule change of {change.date:%d %b %Y}",
        fontweight="bold",
    )
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    control = (
        " The other policies are a control: the same orders and season under unchanged rules."
        if len(data.keys) > 1
        else " No other policy plays these orders, so the difference also holds whatever "
        "else differs between the periods (a promotion, the season)."
    )
    caption = " ".join(before_after_findings(data)) + (
        " * marks the policy whose rules changed." + control + " Bars are means over "
        "replications with 95% intervals, over measured orders placed in each period."
    )
    return Figure(
        "before_after",
        f"Before and after {change.date:%d %b %Y}",
        caption + data.point_note(),
        fig,
        section="change",
    )


def before_after_findings(data: ReportData) -> list[str]:
    out = []
    for split in before_after(data):
        change: RuleChange = split["change"]
        rows = split["policies"].get(change.policy)
        if not rows:
            continue
        moved = []
        for name, unit in PERIOD_METRICS:
            v = rows[name]
            if not v["change"]["significant"]:
                continue
            b, a = v["before"]["mean"], v["after"]["mean"]
            if unit == "share":
                moved.append(f"{name} {b:.2%} -> {a:.2%}")
            else:
                moved.append(f"{name} {b:.1f} h -> {a:.1f} h")
        what = change.short()
        if moved:
            out.append(
                f"{data.label(change.policy)} changed on {change.date:%d %b %Y} ({what}); "
                f"for orders placed from that day: " + ", ".join(moved) + " (significant "
                "over replications)."
            )
        else:
            out.append(
                f"{data.label(change.policy)} changed on {change.date:%d %b %Y} ({what}); "
                "no outcome of the orders placed from that day differs significantly from "
                "those placed before."
            )
    return out


STUDY_FIGURES = (sweep_effects, daily, before_after_figure)
