"""The report's figures: matplotlib, one colour per policy everywhere, captions in numbers.

Every figure function takes a `ReportData` and returns a `Figure` (or None when it does
not apply) with a title, labelled axes with units, and a caption stating the takeaway.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.recorder import EDGES, OUTCOME_INDEX
from sim.engine.result import RunResult, quantile_from_hist
from sim.model.policy import Outcome

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PLATFORM_COLOURS = {"amazon": "#E69F00", "taobao": "#D55E00", "jd": "#0072B2", "jd-pop": "#56B4E9"}
SPARE_COLOURS = ["#009E73", "#CC79A7", "#F0E442", "#000000", "#999999"]
# then Paul Tol's muted scheme (also safe for colour-vision deficiencies): more policies
# than Okabe-Ito has colours (scenarios/global.yaml plays ten) still get one each
SPARE_COLOURS += ["#332288", "#44AA99", "#882255", "#999933", "#88CCEE", "#AA4499"]

OUTCOME_GROUPS: list[tuple[str, tuple[Outcome, ...], str]] = [
    ("cancelled alone", (Outcome.SELF_CANCELLED,), "#009E73"),
    ("instant refund", (Outcome.INSTANT_REFUNDED,), "#56B4E9"),
    ("cancelled on request", (Outcome.REQUEST_CANCELLED, Outcome.REQUEST_AUTO_APPROVED), "#0072B2"),
    ("cancelled by the seller", (Outcome.SELLER_CANCELLED,), "#D55E00"),
    ("auto-cancelled", (Outcome.AUTO_CANCELLED,), "#CC79A7"),
    (
        "cancel failed: shipped",
        (
            Outcome.KEPT_AFTER_FAILED_CANCEL,
            Outcome.INTERCEPTED,
            Outcome.REFUSED_DELIVERY,
            Outcome.RETURNED,
        ),
        "#E69F00",
    ),
    ("still open at the end", (Outcome.OPEN,), "#999999"),
]

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


def _colours(policies: dict[str, Any]) -> dict[str, str]:
    """Each policy its platform's colour; a second policy of a platform gets a spare one."""
    colours: dict[str, str] = {}
    for key, info in policies.items():
        wanted = PLATFORM_COLOURS.get(info.get("platform", "")) or PLATFORM_COLOURS.get(key)
        if not wanted or wanted in colours.values():
            unused = [c for c in SPARE_COLOURS if c not in colours.values()]
            wanted = unused[0] if unused else SPARE_COLOURS[len(colours) % len(SPARE_COLOURS)]
        colours[key] = wanted
    return colours


@dataclass
class Figure:
    """A finished figure: its file stem, title, caption, and the matplotlib figure."""

    name: str
    title: str
    caption: str
    figure: Any


@dataclass
class ReportData:
    """The results the figures draw on, gathered per policy (first sweep point)."""

    summary: dict[str, Any]
    inputs: dict[str, Any]
    runs: list[RunResult]
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.first = [r for r in self.runs if r.point == 0]
        ran = {r.policy for r in self.first}
        self.keys = [k for k in self.inputs["policies"] if k in ran]  # failed policies: none
        self.colours = _colours(self.inputs["policies"])

    def colour(self, key: str) -> str:
        return self.colours[key]

    def label(self, key: str) -> str:
        return plain(self.inputs["policies"][key]["name"])

    def runs_of(self, key: str) -> list[RunResult]:
        return [r for r in self.first if r.policy == key]

    def pooled_hist(self, key: str, clock: str = "money_back") -> np.ndarray:
        """Outcome x bin counts over the replications: `money_back` or `issued` hours."""
        hists = [getattr(r, f"{clock}_hist") for r in self.runs_of(key)]
        return (
            sum(hists, np.zeros_like(hists[0]))
            if hists
            else np.zeros((len(OUTCOME_INDEX), len(EDGES) + 1), dtype=np.int64)
        )

    def block(self) -> dict[str, Any]:
        """The summary block of the first sweep point (the whole summary without a sweep)."""
        return self.summary["points"][0] if "points" in self.summary else self.summary

    def point_note(self) -> str:
        if "points" not in self.summary:
            return ""
        label = self.summary["points"][0]["point"]
        return (
            " At the first sweep point (" + ", ".join(f"{k} = {v}" for k, v in label.items()) + ")."
        )

    def start(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.inputs["scenario"]["start"])


def plain(text: str) -> str:
    """Text for a figure: without CJK characters, which matplotlib's default font lacks
    (`退款率 (refund rate)` -> `refund rate`); the HTML report keeps the full names."""
    kept = "".join(c for c in text if ord(c) < 0x2E80).strip()
    if kept.startswith("(") and kept.endswith(")"):
        kept = kept[1:-1]
    return kept or text


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "axes.titleweight": "bold",
            "svg.fonttype": "path",
        }
    )
    return plt


def _fmt_hours(h: float) -> str:
    if math.isnan(h):
        return "n/a"
    if h < 1:
        return f"{h * 60:.0f} min"
    if h < 48:
        return f"{h:.1f} h"
    return f"{h / 24:.1f} days"


def refund_cdf(data: ReportData) -> Figure | None:
    """Empirical CDFs of refund times per policy on both clocks (issued dashed, money back
    solid), log time axis, medians and 90th percentiles of money back marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9.6, 4.6))
    floor = 1 / 60  # instant refunds are drawn at one minute: a log axis has no zero
    upper = np.maximum(np.concatenate([[floor], EDGES[1:], [EDGES[-1] * 10]]), floor)
    notes = []
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
        notes.append(
            f"{data.label(key)}: refund issued in a median {_fmt_hours(issued_p50)}, "
            f"money back in a median {_fmt_hours(p50)}, 90% within {_fmt_hours(p90)}"
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
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    ax.set_title("When the refund is issued, and when the money is back")
    fig.tight_layout()
    caption = (
        "; ".join(notes) + ". Dashed: the platform issues the refund (or voids the charge); "
        "solid: the money is back with the buyer, after the payment rail or the bank's "
        "release of a card authorisation. Circles mark the median of money back, squares "
        "its 90th percentile; instant refunds are drawn at 1 minute." + data.point_note()
    )
    return Figure("refund_time_cdf", "Refund time", caption, fig)


def refund_breakdown(data: ReportData) -> Figure | None:
    """Median and 90th percentile of refund time by cancellation path and payment method."""
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
                rows.append(
                    (
                        key,
                        label,
                        quantile_from_hist(h, 0.5),
                        quantile_from_hist(h, 0.9),
                        int(h.sum()),
                    )
                )
        methods = np.sum([r.method_hist for r in runs], axis=0)
        for i, method in enumerate(runs[0].methods):
            if methods[i].sum() >= 20:
                method_rows.append(
                    (
                        key,
                        method,
                        quantile_from_hist(methods[i], 0.5),
                        quantile_from_hist(methods[i], 0.9),
                        int(methods[i].sum()),
                    )
                )
    if not rows:
        return None
    height = 0.32 * (len(rows) + len(method_rows)) + 1.6
    fig, axes = plt.subplots(1, 2, figsize=(11, max(height / 1.6, 3.5)))
    for ax, items, title in (
        (axes[0], rows, "by cancellation path"),
        (axes[1], method_rows, "by payment method"),
    ):
        y = np.arange(len(items))
        for i, (key, _, p50, p90, _) in enumerate(items):
            ax.barh(i, max(p90, 1 / 60), color=data.colour(key), alpha=0.35)
            ax.barh(i, max(p50, 1 / 60), color=data.colour(key))
        ax.set_yticks(y, [f"{key}: {label} (n={n:,})" for key, label, _, _, n in items], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(1 / 60, 24 * 60)
        ax.set_xticks([1 / 60, 1, 24, 168, 720], ["1 min", "1 h", "1 d", "1 wk", "30 d"])
        ax.set_xlabel("time to money back (log scale): median (dark), 90th percentile (light)")
        ax.set_title(f"Refund time {title}")
    fig.tight_layout()
    slowest = max(method_rows, key=lambda r: r[2]) if method_rows else None
    fastest = min(method_rows, key=lambda r: r[2]) if method_rows else None
    caption = (
        "Medians (dark) and 90th percentiles (light), pooled over replications; "
        "paths and methods with fewer than 20 refunds are left out."
    )
    if slowest and fastest:
        caption = (
            f"The payment rail sets the pace: {fastest[0]} {fastest[1]} refunds in a "
            f"median {_fmt_hours(fastest[2])}, {slowest[0]} {slowest[1]} in "
            f"{_fmt_hours(slowest[2])}. " + caption
        )
    return Figure(
        "refund_time_breakdown",
        "Refund time by path and payment method",
        caption + data.point_note(),
        fig,
    )


def outcome_shares(data: ReportData) -> Figure | None:
    """Stacked bars of what happened to the orders that did not simply ship."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 0.9 * len(data.keys) + 1.8))
    shipped_notes = []
    for row, key in enumerate(data.keys):
        runs = data.runs_of(key)
        counts = {o: sum(r.outcome_counts.get(o.value, 0) for r in runs) for o in Outcome}
        total = sum(counts.values()) or 1
        left = 0.0
        for label, outcomes, colour in OUTCOME_GROUPS:
            share = 100 * sum(counts[o] for o in outcomes) / total
            ax.barh(
                row,
                share,
                left=left,
                color=colour,
                edgecolor="white",
                label=label if row == 0 else None,
            )
            if share >= 0.35:
                ax.text(
                    left + share / 2,
                    row,
                    f"{share:.1f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if colour != "#F0E442" else "black",
                )
            left += share
        shipped_notes.append(f"{key} {100 * counts[Outcome.SHIPPED] / total:.1f}%")
    ax.set_yticks(range(len(data.keys)), [data.label(k) for k in data.keys])
    ax.invert_yaxis()
    ax.set_xlabel("% of measured orders (the rest shipped normally)")
    ax.legend(frameon=False, ncol=4, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    ax.set_title("What happened to the orders that did not simply ship")
    fig.tight_layout()
    caption = (
        "Shares of measured orders by outcome, pooled over replications. Shipped "
        "without a cancel: " + ", ".join(shipped_notes) + "." + data.point_note()
    )
    return Figure("outcome_shares", "Outcomes", caption, fig)


def seller_rates(data: ReportData) -> Figure | None:
    """Sellers' rates against each policy's threshold, and the daily rate over time."""
    keys = [k for k in data.keys if data.inputs["policies"][k]["metric_name"]]
    if not keys:  # (data.keys holds only policies with finished runs)
        return None
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    notes = []
    for key in keys:
        info = data.inputs["policies"][key]
        rates = np.concatenate([r.seller_rates for r in data.runs_of(key)]) * 100
        rates = np.sort(rates[~np.isnan(rates)])
        if rates.size:
            left.step(
                rates,
                np.arange(1, rates.size + 1) / rates.size,
                where="post",
                color=data.colour(key),
                lw=2,
                label=f"{data.label(key)}",
            )
        if info["threshold"] is not None:
            left.axvline(info["threshold"] * 100, color=data.colour(key), ls="--", lw=1)
            over = float(np.mean(rates > info["threshold"] * 100)) if rates.size else math.nan
            notes.append(
                f"{key}: {over:.0%} of sellers above {info['threshold']:.1%} over the "
                "whole measured period"
            )
        orders = sum(r.daily_judged for r in data.runs_of(key))  # as the metric counts
        counted = sum(r.daily_counted for r in data.runs_of(key))
        with np.errstate(invalid="ignore", divide="ignore"):
            daily = np.where(orders > 0, counted / orders * 100, np.nan)
        noon = dt.datetime.combine(data.start().date(), dt.time(12))
        days = [noon + dt.timedelta(days=i) for i in range(len(daily))]  # each day's middle
        right.plot(
            days,
            daily,
            "o-",
            ms=3,
            color=data.colour(key),
            lw=2,
            label=f"{key}: {plain(info['metric_name'])}",
        )
    left.set_xlabel("seller's rate over the measured period (%), dashed: threshold")
    left.set_ylabel("share of sellers (cumulative)")
    left.set_title("Sellers' rates against the threshold")
    left.legend(frameon=False, fontsize=8, loc="lower right")
    warmup_days = data.inputs["scenario"]["warmup_hours"] / 24
    start = data.start().date()
    right.axvspan(
        start,
        start + dt.timedelta(days=warmup_days),
        color="#eeeeee",
        label="warm-up (not measured)",
    )
    for promo in data.inputs["scenario"]["promotions"]:
        day = dt.date.fromisoformat(promo["date"])
        right.axvspan(
            day,
            day + dt.timedelta(days=1),
            color="#F0E442",
            alpha=0.5,
            label=f"{promo['name']} (x{promo['multiplier']:g})",
        )
    import matplotlib.dates as mdates

    right.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    right.set_ylabel("counted orders / orders placed that day (%)")
    right.set_xlabel("day the orders were placed")
    right.set_title("Platform-wide daily rate")
    right.legend(frameon=False, fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    caption = (
        "Left: each seller's rate as the policy defines it, over the measured "
        "period, all replications. Right: the same rate for all sellers, by the day "
        "the orders were placed. " + ("; ".join(notes) + "." if notes else "") + data.point_note()
    )
    return Figure("seller_rates", "Sellers' cancellation rates", caption, fig)


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
    fig, axes = plt.subplots(2, 3, figsize=(11, 1.2 + 0.45 * len(names) * 2 + 1.5))
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
            range(len(names)), names if ax in axes[:, 0] else [""] * len(names), fontsize=8
        )
        ax.invert_yaxis()
        unit = (
            "percentage points"
            if scale == 100
            else "hours"
            if "hours_p" in metric
            else f"{data.inputs['scenario']['currency']}·h per order"
        )
        ax.set_xlabel(unit, fontsize=8)
        ax.set_title(metric, fontsize=9)
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
    return Figure("paired_differences", "Paired differences", caption + data.point_note(), fig)


SWEEP_METRICS = (
    "refund_issued_hours_p50",
    "money_back_hours_p50",
    "self_cancel_share",
    "request_cancel_share",
    "platform_metric_rate",
    "sellers_flagged_share",
)


def sweep_lines(data: ReportData) -> Figure | None:
    """Each key metric against the swept value, with 95% CI bands."""
    if "points" not in data.summary:
        return None
    plt = _plt()
    points = data.summary["points"]
    labels = [", ".join(p["point"].values()) for p in points]
    x = np.arange(len(points))
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, metric in zip(axes.flat, SWEEP_METRICS, strict=True):
        scale = 100 if metric.endswith("share") or metric.endswith("rate") else 1
        for key in data.keys:
            means, lows, highs = [], [], []
            for p in points:
                v = p["policies"].get(key, {}).get("metrics", {}).get(metric, {})
                mean, ci = v.get("mean"), v.get("ci95")
                means.append(np.nan if mean is None else mean * scale)
                lows.append(np.nan if not ci or ci[0] is None else ci[0] * scale)
                highs.append(np.nan if not ci or ci[1] is None else ci[1] * scale)
            if np.all(np.isnan(means)):
                continue
            ax.plot(x, means, "o-", color=data.colour(key), lw=2, label=data.label(key))
            ax.fill_between(x, lows, highs, color=data.colour(key), alpha=0.2, lw=0)
        ax.set_xticks(x, labels, rotation=30, fontsize=8)
        ax.set_title(metric, fontsize=9)
        ax.set_ylabel("%" if scale == 100 else "hours", fontsize=8)
    axes.flat[0].legend(frameon=False, fontsize=8)
    keys = ", ".join(data.summary["sweep"]["keys"])
    fig.suptitle(f"Sweep of {keys}: means with 95% interval bands", fontweight="bold")
    fig.tight_layout()
    first, last = points[0], points[-1]
    notes = []
    for key in data.keys:
        a = first["policies"].get(key, {}).get("metrics", {}).get("self_cancel_share", {})
        b = last["policies"].get(key, {}).get("metrics", {}).get("self_cancel_share", {})
        if a.get("mean") is not None and b.get("mean") is not None:
            notes.append(
                f"{key}: self-cancel share {a['mean']:.2%} at {labels[0]}, "
                f"{b['mean']:.2%} at {labels[-1]}"
            )
    caption = "; ".join(notes) + "." if notes else ""
    return Figure("sweep", f"Sweep of {keys}", caption, fig)


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
    fig, axes = plt.subplots(2, 2, figsize=(11, 2 * (0.55 * len(keys) + 1.1) + 0.6))
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
        ax.set_xlabel(unit, fontsize=8)
        ax.set_title(metric, fontsize=9)
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
    return Figure("uncertainty_bands", "Input uncertainty", caption + data.point_note(), fig)


FIGURES = (
    refund_cdf,
    refund_breakdown,
    outcome_shares,
    seller_rates,
    paired_forest,
    sweep_lines,
    uncertainty_bands,
)


def all_figures(data: ReportData) -> list[Figure]:
    return [f for f in (make(data) for make in FIGURES) if f is not None]
