"""The report's figures: matplotlib, one colour per policy everywhere, captions in numbers.

Every figure function takes a `ReportData` and returns a `Figure` (or None when it does
not apply) with a title, labelled axes with units, and a caption stating the takeaway.
The study's own figures (a sweep, days with promotions or rule changes, before and after
a change) are in `sim.report.study`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine.recorder import EDGES, OUTCOME_INDEX
from sim.engine.result import quantile_from_hist
from sim.metrics import BY_NAME
from sim.model.policy import Outcome
from sim.report.data import OUTCOME_GROUPS, ReportData, plain
from sim.report.style import WIDTH, date_axis, hours_text, mark_dates
from sim.report.style import plt as _plt

PATH_LABELS = {
    Outcome.SELF_CANCELLED: "cancelled alone",
    Outcome.INSTANT_REFUNDED: "instant refund",
    Outcome.REQUEST_CANCELLED: "request accepted",
    Outcome.REQUEST_AUTO_APPROVED: "request auto-approved",
    Outcome.SELLER_CANCELLED: "seller cancelled",
    Outcome.AUTO_CANCELLED: "auto-cancelled",
    Outcome.INTERCEPTED: "intercepted",
    Outcome.REFUSED_DELIVERY: "refused at delivery",
    Outcome.RETURNED: "returned",
}


@dataclass
class Figure:
    """A finished figure: its file stem, title, caption, the report section it belongs
    to, and the matplotlib figure."""

    name: str
    title: str
    caption: str
    figure: Any
    section: str = "refunds"


def refund_cdf(data: ReportData) -> Figure | None:
    """Empirical CDFs of refund times per policy on both clocks (issued dashed, money back
    solid), log time axis, medians and 90th percentiles of money back marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH, 5.0))
    floor = 1 / 60  # instant refunds are drawn at one minute: a log axis has no zero
    upper = np.maximum(np.concatenate([[floor], EDGES[1:], [EDGES[-1] * 10]]), floor)
    notes = []
    medians: dict[str, float] = {}
    for key in data.keys:
        back = data.pooled_hist(key).sum(axis=0)
        issued = data.pooled_hist(key, "issued").sum(axis=0)
        total = back.sum()
        if not total:
            continue
        colour = data.colour(key)
        ax.step(upper, np.cumsum(issued) / total, where="post", color=colour, lw=1.4, ls="--")
        ax.step(
            upper,
            np.cumsum(back) / total,
            where="post",
            color=colour,
            lw=2.2,
            label=data.label(key),
        )
        p50, p90 = quantile_from_hist(back, 0.5), quantile_from_hist(back, 0.9)
        for q, value, marker in ((0.5, p50, "o"), (0.9, p90, "s")):
            ax.plot(max(value, floor), q, marker, color=colour, ms=7, markeredgecolor="white")
        issued_p50 = quantile_from_hist(issued, 0.5)
        medians[key] = p50
        notes.append(
            f"{data.label(key)}: refund issued in a median {hours_text(issued_p50)}, "
            f"money back in a median {hours_text(p50)}, 90% within {hours_text(p90)}"
        )
    ax.plot([], [], color="#555555", lw=2.2, label="money back with the buyer")
    ax.plot([], [], color="#555555", lw=1.4, ls="--", label="refund issued by the platform")
    ax.set_xscale("log")
    ax.set_xlim(floor * 0.8, 24 * 60)
    ax.set_ylim(0, 1.01)
    ticks = [1 / 60, 1, 6, 24, 72, 168, 336, 720]
    ax.set_xticks(ticks, ["1 min", "1 h", "6 h", "1 d", "3 d", "1 wk", "2 wk", "30 d"])
    ax.set_xlabel("time from the start of the cancellation (log scale)")
    ax.set_ylabel("share of refunds")
    ax.axhline(0.5, color="#bbbbbb", lw=0.8, ls=":")
    ax.axhline(0.9, color="#bbbbbb", lw=0.8, ls=":")
    ax.grid(axis="x", color="#eeeeee")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    ax.set_title("When the refund is issued, and when the money is back", loc="left")
    fig.tight_layout()
    if len(notes) > 4:  # many policies: the ends of the range, the rest is in the table
        fast = min(medians, key=medians.__getitem__)
        slow = max(medians, key=medians.__getitem__)
        notes = [
            f"money back in a median {hours_text(medians[fast])} under {data.label(fast)}, "
            f"the fastest, to {hours_text(medians[slow])} under {data.label(slow)}, the "
            "slowest (every policy's medians and 90th percentiles are in the metrics table)"
        ]
    caption = (
        "; ".join(notes)[:1].upper()
        + "; ".join(notes)[1:]
        + ". Dashed: the platform issues the refund (or voids the charge); "
        "solid: the money is back with the buyer, after the payment rail or the bank's "
        "release of a card authorisation. Circles mark the median of money back, squares "
        "its 90th percentile; instant refunds are drawn at 1 minute." + data.point_note()
    )
    return Figure("refund_time_cdf", "Refund time", caption, fig)


def _method_name(method: str) -> str:
    return method.replace("_", " ")


def refund_breakdown(data: ReportData) -> Figure | None:
    """Median and 90th percentile of refund time by cancellation path and payment method,
    each bar labelled with its median."""
    plt = _plt()
    rows: list[tuple[str, str, float, float, int]] = []
    method_rows: list[tuple[str, str, float, float, int]] = []
    for key in data.keys:
        runs = data.runs_of(key)
        if not runs:
            continue
        hist = data.pooled_hist(key)
        for outcome, label in PATH_LABELS.items():
            h = hist[OUTCOME_INDEX[outcome]]
            if h.sum() >= 20:
                p50, p90 = quantile_from_hist(h, 0.5), quantile_from_hist(h, 0.9)
                rows.append((key, label, p50, p90, int(h.sum())))
        methods = np.sum([r.method_hist for r in runs], axis=0)
        for i, method in enumerate(runs[0].methods):
            if methods[i].sum() >= 20:
                p50, p90 = quantile_from_hist(methods[i], 0.5), quantile_from_hist(methods[i], 0.9)
                method_rows.append((key, _method_name(method), p50, p90, int(methods[i].sum())))
    if not rows:
        return None
    fig, axes = plt.subplots(
        2,
        1,
        figsize=(WIDTH, 0.3 * (len(rows) + len(method_rows)) + 2.6),
        height_ratios=[max(len(rows), 1), max(len(method_rows), 1)],
    )
    for ax, items, title in (
        (axes[0], rows, "by cancellation path"),
        (axes[1], method_rows, "by payment method"),
    ):
        for i, (key, _, p50, p90, _) in enumerate(items):
            ax.barh(i, max(p90, 1 / 60), color=data.colour(key), alpha=0.35, height=0.75)
            ax.barh(i, max(p50, 1 / 60), color=data.colour(key), height=0.75)
            ax.text(
                max(p90, 1 / 60) * 1.15,
                i,
                f"{hours_text(p50)} / {hours_text(p90)}",
                va="center",
                fontsize=9,
            )
        ax.set_yticks(
            range(len(items)),
            [f"{data.label(key)}: {label} (n={n:,})" for key, label, _, _, n in items],
        )
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(1 / 60, 24 * 60 * 4)
        ax.set_xticks([1 / 60, 1, 24, 168, 720], ["1 min", "1 h", "1 d", "1 wk", "30 d"])
        ax.set_title(f"Refund time {title}", loc="left")
    axes[1].set_xlabel(
        "time to money back (log scale): median (dark bar), 90th percentile (light bar); "
        "labels: median / 90th percentile"
    )
    fig.tight_layout()
    caption = (
        "Medians (dark) and 90th percentiles (light) of the time to money back, pooled "
        "over replications; paths and methods with fewer than 20 refunds are left out."
    )
    if method_rows:
        slowest = max(method_rows, key=lambda r: r[2])
        fastest = min(method_rows, key=lambda r: r[2])
        if slowest[2] > fastest[2]:
            caption = (
                f"The payment rail sets the pace: {data.label(fastest[0])} refunds to "
                f"{fastest[1]} in a median {hours_text(fastest[2])}, "
                f"{data.label(slowest[0])} to {slowest[1]} in {hours_text(slowest[2])}. " + caption
            )
    return Figure(
        "refund_time_breakdown",
        "Refund time by path and payment method",
        caption + data.point_note(),
        fig,
    )


def outcome_counts(data: ReportData, key: str) -> tuple[dict[Outcome, int], int]:
    runs = data.runs_of(key)
    counts = {o: sum(r.outcome_counts.get(o.value, 0) for r in runs) for o in Outcome}
    return counts, sum(counts.values())


def outcome_shares(data: ReportData) -> Figure | None:
    """Stacked bars of what happened to the orders that did not simply ship, in the
    outcome palette (never a platform's colours), values on the bars."""
    if not data.keys:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH, 0.55 * len(data.keys) + 1.9))
    shares: dict[str, list[float]] = {}
    for row, key in enumerate(data.keys):
        counts, total = outcome_counts(data, key)
        total = total or 1
        left = 0.0
        shares[key] = []
        for label, outcomes, colour in OUTCOME_GROUPS:
            share = 100 * sum(counts[o] for o in outcomes) / total
            shares[key].append(share)
            ax.barh(
                row,
                share,
                left=left,
                color=colour,
                edgecolor="white",
                height=0.7,
                label=label if row == 0 else None,
            )
            if share >= 0.4:
                ax.text(left + share / 2, row, f"{share:.1f}", ha="center", va="center", fontsize=9)
            left += share
    ax.set_yticks(range(len(data.keys)), [data.label(k) for k in data.keys])
    ax.invert_yaxis()
    ax.set_xlabel("% of measured orders (the rest shipped normally)")
    fig.legend(frameon=False, ncol=4, loc="lower center")
    ax.set_title("What happened to the orders that did not simply ship", loc="left")
    fig.tight_layout(rect=(0, 0.55 / (0.55 * len(data.keys) + 1.9), 1, 1))
    caption = "Shares of measured orders by outcome, pooled over replications."
    if len(shares) >= 2:
        spread = []
        for g, (label, _, _) in enumerate(OUTCOME_GROUPS):
            values = {k: v[g] for k, v in shares.items()}
            hi, lo = max(values, key=values.__getitem__), min(values, key=values.__getitem__)
            spread.append((values[hi] - values[lo], label, hi, lo, values))
        gap, label, hi, lo, values = max(spread)
        if gap > 0:
            caption = (
                f"The policies differ most in '{label}': {values[hi]:.1f}% of orders under "
                f"{data.label(hi)}, {values[lo]:.1f}% under {data.label(lo)}. " + caption
            )
    return Figure(
        "outcome_shares", "Outcomes", caption + data.point_note(), fig, section="outcomes"
    )


def _rolling(values: np.ndarray, window: int, lag: int) -> np.ndarray:
    """Each day's sum over the `window` days ending `lag` days before it; a window that
    would start before the first day starts on it, as the evaluation counts it."""
    cumulative = np.concatenate([[0], np.cumsum(values)])
    out = np.full(len(values), np.nan)
    for day in range(len(values)):
        end = day + 1 - lag
        if end > 0:
            out[day] = cumulative[end] - cumulative[max(end - window, 0)]
    return out


def seller_rates(data: ReportData) -> Figure | None:
    """The headline seller metric as each platform defines it: sellers flagged by its own
    evaluation; each seller's rate against the threshold; the platform-wide rate over the
    policy's window by day, with the threshold."""
    keys = [k for k in data.keys if data.inputs["policies"][k]["metric_name"]]
    if not keys:  # (data.keys holds only policies with finished runs)
        return None
    plt = _plt()
    fig = plt.figure(figsize=(WIDTH, 9.0 + 0.3 * len(keys)))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.05], hspace=0.75, wspace=0.45)
    flagged, spread, daily = (
        fig.add_subplot(grid[0, 0]),
        fig.add_subplot(grid[0, 1]),
        fig.add_subplot(grid[1, :]),
    )
    block = data.block()["policies"]
    judged = [k for k in keys if data.inputs["policies"][k]["threshold"] is not None]
    notes = []
    markers = {  # the platform's reading filled, the raw and weekly readings beside it
        "sellers_flagged_share": ("o", "flagged at least once (the platform's evaluation)"),
        "sellers_over_threshold_share": ("D", "over the threshold on some day's window (raw)"),
        "seller_weeks_flagged_share": ("s", "seller-weeks flagged"),
    }
    for row, key in enumerate(judged):
        info = data.inputs["policies"][key]
        metrics = block[key]["metrics"]
        colour = data.colour(key)
        for name, (marker, _) in markers.items():
            v = metrics[name]
            if v["mean"] is None:
                continue
            headline = name == "sellers_flagged_share"
            if headline and v["ci95"] and v["ci95"][0] is not None:
                flagged.plot([c * 100 for c in v["ci95"]], [row, row], color=colour, lw=2.5)
            flagged.plot(
                v["mean"] * 100,
                row,
                marker,
                ms=8 if headline else 6,
                color=colour,
                markerfacecolor=colour if headline else "white",
                markeredgewidth=1.5,
                zorder=4 if headline else 3,  # the platform's reading on top
            )
        v = metrics["sellers_flagged_share"]
        if v["mean"] is not None:
            right = v["ci95"][1] if v["ci95"] and v["ci95"][1] is not None else v["mean"]
            flagged.text(right * 100 + 2, row, f"{v['mean']:.0%}", va="center", fontsize=9)
        over, flag = metrics["sellers_over_threshold_share"]["mean"], v["mean"]
        if over is not None and flag is not None:
            notes.append(
                f"{data.label(key)} flags {flag:.0%} of its sellers at least once "
                f"({info['evaluation']}); {over:.0%} are over {info['threshold']:.1%} on "
                "some day's window"
            )
    if not judged:
        flagged.text(
            0.5,
            0.5,
            "No policy here sets a threshold,\nso none flags sellers",
            ha="center",
            va="center",
            transform=flagged.transAxes,
            color="#555555",
        )
        flagged.set_yticks([])
    flagged.set_yticks(range(len(judged)), [data.label(k) for k in judged])
    flagged.set_ylim(max(len(judged), 1) - 0.5, -0.5)
    flagged.set_xlim(0, 112)
    flagged.grid(axis="x", color="#eeeeee")
    flagged.set_xlabel("% of judged sellers (seller-weeks); line: 95% interval")
    flagged.set_title("The headline: sellers flagged", loc="left")
    flagged.legend(
        handles=[
            plt.Line2D(
                [],
                [],
                ls="",
                marker=m,
                color="#555555",
                markerfacecolor="#555555" if n == "sellers_flagged_share" else "white",
                label=label,
            )
            for n, (m, label) in markers.items()
        ],
        frameon=False,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        fontsize=8,
    )
    for key in keys:
        info = data.inputs["policies"][key]
        rates = np.concatenate([r.seller_rates for r in data.runs_of(key)]) * 100
        rates = np.sort(rates[~np.isnan(rates)])
        if rates.size:
            spread.step(
                rates,
                np.arange(1, rates.size + 1) / rates.size,
                where="post",
                color=data.colour(key),
                lw=2,
            )
        if info["threshold"] is not None:
            spread.axvline(info["threshold"] * 100, color=data.colour(key), ls="--", lw=1.2)
    spread.set_xlabel("seller's rate over the whole measured period (%)")
    spread.set_ylabel("share of sellers (cumulative)")
    spread.set_title("Each seller's rate; dashed: threshold", loc="left")
    spread.set_xlim(left=0)
    dates = data.dates()
    for key in keys:
        info = data.inputs["policies"][key]
        runs = data.runs_of(key)
        orders = np.sum([r.daily_judged for r in runs], axis=0).astype(float)
        counted = np.sum([r.daily_counted for r in runs], axis=0).astype(float)
        window, lag = info.get("window_days"), round(info.get("lag_days") or 0)
        if window:
            orders, counted = _rolling(orders, window, lag), _rolling(counted, window, lag)
            what = f"{window}-day window" + (f", {lag} days back" if lag else "")
        else:
            what = "each day"
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(orders > 0, counted / orders * 100, np.nan)
        days = [dt.datetime.combine(d, dt.time(12)) for d in dates[: len(rate)]]
        daily.plot(
            days,
            rate,
            "-",
            color=data.colour(key),
            lw=2,
            label=f"{data.label(key)}: {plain(info['metric_name'])} ({what})",
        )
        if info["threshold"] is not None:
            daily.axhline(info["threshold"] * 100, color=data.colour(key), ls="--", lw=1.2)
    mark_dates(daily, data)
    date_axis(daily)
    daily.set_ylabel("counted / orders in the window (%)")
    daily.set_xlabel("day (the window ending that day); dashed: each policy's threshold")
    daily.set_title("All sellers together, over each policy's window", loc="left")
    daily.set_ylim(bottom=0)
    daily.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    caption = (
        "Top left: the metric the platforms act on, from their own evaluation (window, "
        "cadence, minimum counts, threshold), with the raw reading beside it. Top right: "
        "each seller's rate over the whole measured period, all replications. Bottom: all "
        "judged sellers' orders together, the rate over each policy's window by the day "
        "the window ends (in the first days, over the days there are, as the platform's "
        "evaluation counts them); a seller at this average is over the dashed threshold where the "
        "line crosses it. " + ("; ".join(notes) + "." if notes else "") + data.point_note()
    )
    return Figure("seller_rates", "Sellers' cancellation rates", caption, fig, section="sellers")


FOREST_METRICS = (
    "refund_issued_hours_p50",
    "money_back_hours_p50",
    "self_cancel_share",
    "request_cancel_share",
    "failed_cancel_share",
    "buyer_money_hours_held",
)


def paired_forest(data: ReportData) -> Figure | None:
    """Paired differences with their 95% intervals, one panel per metric."""
    comparisons = data.block()["comparisons"]
    if not comparisons or data.summary["replications"] < 2:
        return None
    plt = _plt()
    names = list(comparisons)
    fig, axes = plt.subplots(2, 3, figsize=(WIDTH, 1.2 + 0.45 * len(names) * 2 + 1.5))
    best = None
    for ax, metric in zip(axes.flat, FOREST_METRICS, strict=True):
        scale = 100 if metric.endswith("_share") else 1
        for i, name in enumerate(names):
            v = comparisons[name][metric]
            if v["mean"] is None or v["ci95"] is None:
                continue
            lo, hi = v["ci95"][0] * scale, v["ci95"][1] * scale
            colour = data.colour(name.split("-vs-")[0])
            ax.plot([lo, hi], [i, i], color=colour, lw=2.5)
            ax.plot(
                v["mean"] * scale,
                i,
                "o",
                color=colour,
                ms=6,
                markerfacecolor=colour if v["significant"] else "white",
            )
            if metric == "money_back_hours_p50" and (best is None or abs(v["mean"]) > abs(best[1])):
                best = (name, v["mean"], lo, hi)
        ax.axvline(0, color="#777777", lw=0.8)
        ax.set_yticks(
            range(len(names)), names if ax in axes[:, 0] else [""] * len(names), fontsize=9
        )
        ax.invert_yaxis()
        unit = (
            "percentage points"
            if scale == 100
            else "hours"
            if "hours_p" in metric
            else f"{data.inputs['scenario']['currency']}·h per order"
        )
        ax.set_xlabel(unit, fontsize=9)
        ax.set_title(BY_NAME[metric].label, fontsize=10)
    fig.suptitle("Paired differences (first policy minus second), 95% intervals", fontweight="bold")
    fig.tight_layout()
    caption = (
        "Each line is the 95% interval of the per-replication difference under "
        "common random numbers; filled dots are significant (the interval excludes 0)."
    )
    if best:
        caption = (
            f"Largest change in median refund time: {best[0]}, {best[1]:+.1f} h "
            f"[{best[2]:.1f}, {best[3]:.1f}]. " + caption
        )
    return Figure(
        "paired_differences",
        "Paired differences",
        caption + data.point_note(),
        fig,
        section="comparisons",
    )


BAND_METRICS = (
    "money_back_hours_p50",
    "refund_issued_hours_p50",
    "failed_cancel_share",
    "platform_metric_rate",
)


def uncertainty_bands(data: ReportData) -> Figure | None:
    """Per policy and headline metric: the replication CI next to the 90% band over the
    declared ranges (run --uncertainty N), to show which uncertainty is the larger."""
    block = data.summary.get("uncertainty")
    if not block:
        return None
    policies = data.block()["policies"]
    keys = [k for k in data.keys if k in block["policies"] and k in policies]
    if not keys:
        return None
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(WIDTH, 2 * (0.55 * len(keys) + 1.1) + 0.6))
    ratios = []
    for ax, metric in zip(axes.flat, BAND_METRICS, strict=True):
        scale = 100 if metric.endswith(("_share", "_rate")) else 1
        drawn = 0
        for row, key in enumerate(keys):
            before = drawn
            colour = data.colour(key)
            value = policies[key]["metrics"][metric]
            band = block["policies"][key].get(metric, {})
            mean, ci = value.get("mean"), value.get("ci95")
            if mean is not None and ci and ci[0] is not None:
                ax.plot([ci[0] * scale, ci[1] * scale], [row - 0.15] * 2, color=colour, lw=3)
                ax.plot(mean * scale, row - 0.15, "o", color=colour, ms=6, mec="white")
                drawn += 1
            if band.get("band90"):
                lo, hi = band["band90"]
                ax.barh(
                    row + 0.18,
                    (hi - lo) * scale,
                    left=lo * scale,
                    height=0.22,
                    color=colour,
                    alpha=0.35,
                )
                low, high = band["range"]
                ax.plot([low * scale, high * scale], [row + 0.18] * 2, color=colour, lw=0.8)
                drawn += 1
                if ci and ci[0] is not None and ci[1] > ci[0]:
                    ratios.append(((hi - lo) / (ci[1] - ci[0]), key, metric))
            if drawn == before:
                ax.text(
                    0.02,
                    row,
                    "not defined for this policy",
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    fontsize=8,
                    color="#777777",
                )
        ax.set_yticks(range(len(keys)), [data.label(k) for k in keys], fontsize=9)
        ax.set_ylim(len(keys) - 0.5, -0.5)
        unit = "%" if scale == 100 else "hours" if "hours" in metric else ""
        ax.set_xlabel(unit, fontsize=9)
        ax.set_title(BY_NAME[metric].label, fontsize=10)
        ax.grid(axis="x", color="#eeeeee")
    ax = axes.flat[0]
    ax.plot([], [], color="#555555", lw=3, marker="o", label="replications: mean, 95% CI")
    ax.barh(
        [0],
        [0],
        color="#555555",
        alpha=0.35,
        label=f"inputs: 90% band over {block['points']} points",
    )
    ax.plot([], [], color="#555555", lw=0.8, label="inputs: whole range")
    fig.legend(
        *ax.get_legend_handles_labels(), loc="lower center", ncol=3, frameon=False, fontsize=9
    )
    fig.suptitle("Two uncertainties: the simulation's and the inputs'", fontweight="bold")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    caption = (
        "For each policy, the upper line is the 95% confidence interval of the mean over "
        "replications (more replications narrow it); the band below is the 5th to 95th "
        f"percentile of the mean over {block['points']} points drawn from the declared ranges "
        "(a Latin hypercube), its thin line the whole range (better inputs narrow it)."
    )
    if ratios:
        wider = sum(r > 1 for r, _, _ in ratios)
        top, key, metric = max(ratios)
        caption += (
            f" The input band is the wider in {wider} of {len(ratios)} cases; most so for "
            f"{data.label(key)}'s {metric}, {top:.1f} times the replication interval."
        )
    return Figure(
        "uncertainty_bands",
        "Input uncertainty",
        caption + data.point_note(),
        fig,
        section="uncertainty",
    )


FIGURES = (
    refund_cdf,
    refund_breakdown,
    outcome_shares,
    seller_rates,
    paired_forest,
    uncertainty_bands,
)


def all_figures(data: ReportData) -> list[Figure]:
    from sim.report.study import STUDY_FIGURES

    makers = (*STUDY_FIGURES, *FIGURES)
    return [f for f in (make(data) for make in makers) if f is not None]
