"""The sensitivity report: which declared ranges move which answer, as plots/ and report.html.

`build_sensitivity_report(folder, summary)` draws the summary that `sim.analysis.sensitivity`
wrote (sensitivity.json): a tornado chart per metric (one panel per policy and per paired
comparison, factors ranked), the Morris mu*-sigma plot of the screening, the findings
(which comparisons hold at every point tried, which flip and under which factor), the
factor table and the metrics that could not be measured. Like the run report it is one
self-contained file (figures inline as PNG data: URIs, also in plots/ as PNG and SVG),
every piece of user text escaped by Jinja2, every file written atomically.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.experiment.output import write_atomic
from sim.metrics import BY_NAME
from sim.report.build import template
from sim.report.data import _colours
from sim.report.figures import Figure, _plt

TOP = 10  # factors per tornado panel
COLUMNS = 3  # tornado panels per row
LABELLED = 3  # points labelled per mu*-sigma panel
ONE_WAY = 0.8  # |mu| >= ONE_WAY * mu*: the factor moves the metric one way
METHOD_NAMES = {
    "morris": "Morris elementary effects",
    "oat": "one factor at a time",
    "sobol": "Sobol variance-based indices after a Morris screening",
}


def build_sensitivity_report(folder: Path, summary: dict[str, Any]) -> Path:
    """Render every figure to folder/plots and the whole report to folder/report.html."""
    import warnings

    from sim.report.build import _save

    view = View(summary)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figures, skipped = view.figures()
        images = [(f, _save(f, folder / "plots")) for f in figures]
    html = template("sensitivity.html").render(
        summary=summary,
        view=view,
        figures=images,
        skipped=skipped,
        findings=view.findings(),
        undefined=view.undefined(),
    )
    path = folder / "report.html"
    write_atomic(path, html)
    return path


@dataclass
class Unit:
    """How a metric's values are drawn: a scale, an axis word and a short suffix."""

    scale: float
    axis: str  # "hours", "percentage points", ...
    level: str  # suffix of a level: "h", "%"
    change: str  # suffix of a change: "h", "pts"


def unit_of(metric: str, currency: str = "currency") -> Unit:
    unit = BY_NAME[metric].unit if metric in BY_NAME else ""
    if unit == "h":
        return Unit(1.0, "hours", " h", " h")
    if unit == "share":
        return Unit(100.0, "percentage points", "%", " pts")
    if unit.startswith("currency"):
        text = unit.replace("currency", currency).replace("*h", "·h").replace("/", " per ")
        return Unit(1.0, text, f" {text}", f" {text}")
    return Unit(1.0, unit, f" {unit}" if unit else "", f" {unit}" if unit else "")


def number(x: float) -> str:
    """A value for a caption or a title: three significant figures, no exponent."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{min(digits, 4)}f}".replace("-", "−")


STRUCTURAL = {"types", "rails"}  # key parts that only group others: left out of labels


def signed(x: float) -> str:
    """A change: `+7.77`, `−1.31`."""
    text = number(x)
    return f"+{text}" if x is not None and math.isfinite(x) and x > 0 else text


def factor_labels(keys: list[str], width: int = 22) -> dict[str, str]:
    """Short labels for long keys, wrapped after a dot to lines of about `width`: the
    parts that only group others go (`sellers.types.dropshipper.cancels.out_of_stock`
    becomes `dropshipper.cancels.out_of_stock`, `taobao.refunds.rails.bank_card.delay`
    `taobao.refunds.bank_card.delay`), and a label still longer than two lines keeps its
    first part and its last two (`amazon…seller_response.auto_approve_after`). The full
    keys when two would clash."""
    labels = {}
    for key in keys:
        parts = key.split(".")
        if parts[0] == "sellers" and len(parts) > 2 and parts[1] == "types":
            parts = parts[2:]
        parts = [p for i, p in enumerate(parts) if i == 0 or p not in STRUCTURAL] or parts
        label = ".".join(parts)
        if len(label) > 2 * width and len(parts) > 3:
            label = f"{parts[0]}…{parts[-2]}.{parts[-1]}"
        labels[key] = label
    if len(set(labels.values())) < len(labels):
        labels = {k: k for k in keys}
    return {k: _wrap(v, width) for k, v in labels.items()}


def _wrap(label: str, width: int) -> str:
    """Break after a dot (or, in a part longer than the width, at underscores)."""
    pieces = [p + "." for p in label.split(".")]
    pieces[-1] = pieces[-1][:-1]
    lines, line = [], ""
    for piece in pieces:
        if line and len(line) + len(piece) > width:
            lines.append(line)
            line = ""
        line += piece
    lines.append(line)
    return "\n".join(
        "\n".join(textwrap.wrap(x, width, break_on_hyphens=False)) if len(x) > width + 6 else x
        for x in lines
    )


class View:
    """The summary, arranged for the report: targets, colours, labels, stages."""

    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        self.method = summary["method"]
        self.method_name = METHOD_NAMES.get(self.method, self.method)
        self.stages: dict[str, Any] = summary["stages"]
        self.targets: list[str] = list(summary["targets"])
        self.comparisons = [t for t in self.targets if "-vs-" in t]
        self.policies = [t for t in self.targets if "-vs-" not in t]
        info = summary.get("policies") or {}
        self.colours = _colours({k: info.get(k, {}) for k in self.policies})
        self.currency = summary.get("currency", "currency")
        keys = [f["key"] for f in summary["factors"]]
        self.labels = factor_labels(keys)
        self.flat = {k: v.replace("\n", "") for k, v in self.labels.items()}

    # --- what is drawn from which stage ------------------------------------------------

    @property
    def effects_stage(self) -> tuple[str, dict[str, Any]]:
        """The stage the tornado charts draw: sobol's own, else the only one."""
        name = "sobol" if "sobol" in self.stages else next(iter(self.stages))
        return name, self.stages[name]

    @property
    def screening(self) -> dict[str, Any] | None:
        """The Morris stage, if any (method morris, or sobol's screening)."""
        return next((s for s in self.stages.values() if s["method"] == "morris"), None)

    def colour(self, target: str) -> str:
        """A policy's platform colour; a comparison is drawn in its first policy's."""
        return self.colours.get(target.split("-vs-")[0], "#555555")

    def title(self, target: str) -> str:
        if "-vs-" in target:
            other, reference = target.split("-vs-", 1)
            return f"{other} − {reference}"
        return target

    def unit(self, metric: str) -> Unit:
        return unit_of(metric, self.currency)

    def stage_line(self, name: str, stage: dict[str, Any]) -> str:
        """`screening: morris, 17 points (4 trajectories over 3 factors)`."""
        extra = []
        if "trajectories" in stage:
            extra.append(f"{stage['trajectories']} trajectories")
        if "samples" in stage:
            extra.append(f"{stage['samples']} base samples")
        factors = len(stage["factors"])
        detail = ", ".join([*extra, f"{factors} factor{'s' if factors != 1 else ''}"])
        method = (
            "Sobol variance-based indices"
            if stage["method"] == "sobol"
            else METHOD_NAMES[stage["method"]]
        )
        return f"{name}: {method}, {stage['points']} points ({detail})"

    def kept(self) -> set[str] | None:
        """The factors the sobol stage kept from the screening (None: no sobol stage)."""
        return set(self.stages["sobol"]["factors"]) if "sobol" in self.stages else None

    # --- the head ---------------------------------------------------------------------

    def findings(self) -> list[dict[str, Any]]:
        """Per stage: its name, the findings that flip, those that hold, and those whose
        difference at the base is within sampling noise (no sign to hold)."""
        out = []
        for name, stage in self.stages.items():
            found = stage.get("findings", [])
            out.append(
                {
                    "stage": name,
                    "line": self.stage_line(name, stage),
                    "points": stage["points"],
                    "flips": [f for f in found if f["holds"] is False],
                    "holds": [f for f in found if f["holds"] is True],
                    "noise": [f for f in found if f["holds"] is None],
                }
            )
        return out

    def undefined(self) -> list[tuple[str, str, str]]:
        """(metric, targets, why) over every stage, targets with the same reason joined."""
        seen: dict[tuple[str, str], list[str]] = {}
        for stage in self.stages.values():
            for metric, by_target in (stage.get("undefined") or {}).items():
                for target, why in by_target.items():
                    targets = seen.setdefault((metric, why), [])
                    if target not in targets:
                        targets.append(target)
        return [(m, ", ".join(t), why) for (m, why), t in seen.items()]

    # --- figures ----------------------------------------------------------------------

    def figures(self) -> tuple[list[Figure], list[str]]:
        """The tornado of every metric that some factor moves, the mu*-sigma plot; and
        the metrics left out (no factor's effect is clear of zero for any target)."""
        _, stage = self.effects_stage
        figures: list[Figure] = []
        skipped = []
        for metric in self.summary["metrics"]:
            by_target = stage["effects"].get(metric, {})
            if not any(not r["negligible"] for rows in by_target.values() for r in rows):
                skipped.append(metric)
                continue
            figures.append(tornado(self, stage, metric))
        if self.screening is not None:
            scatter = mu_sigma(self, self.screening)
            if scatter is not None:
                figures.append(scatter)
        return figures, skipped


def _panel_grid(plt: Any, view: View, targets: list[str], rows_each: int) -> tuple[Any, dict]:
    """Policies on the first row(s), comparisons on the next; unused cells hidden."""
    policies = [t for t in targets if t in view.policies]
    comparisons = [t for t in targets if t in view.comparisons]
    columns = min(COLUMNS, max(len(policies), len(comparisons), 1))
    groups = [g for g in (policies, comparisons) if g]
    layout = []
    for group in groups:
        for start in range(0, len(group), columns):
            chunk = group[start : start + columns]
            layout.append(chunk + ["."] * (columns - len(chunk)))
    height = 0.36 * rows_each + 1.2
    fig, axes = plt.subplot_mosaic(
        layout,
        figsize=(3.9 * columns, height * len(layout) + 1.0),
        layout="constrained",
        empty_sentinel=".",
    )
    return fig, axes


def _base_title(view: View, stage: dict[str, Any], metric: str, target: str) -> str:
    unit = view.unit(metric)
    base = (stage.get("base") or {}).get(metric, {}).get(target)
    if base is None:
        return view.title(target)
    value = base * unit.scale
    if "-vs-" in target:
        return f"{view.title(target)}\nbase {signed(value)}{unit.change}"
    return f"{view.title(target)}\nbase {number(value)}{unit.level}"


def _style_ticks(ax: Any, view: View, rows: list[dict[str, Any]]) -> None:
    ax.set_yticks(range(len(rows)), [view.labels.get(r["factor"], r["factor"]) for r in rows])
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        tick.set_fontsize(9)
        if row["negligible"]:
            tick.set_color("#999999")
            tick.set_fontstyle("italic")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.tick_params(axis="x", labelsize=9)
    ax.grid(axis="x", color="#eeeeee", lw=0.8)
    ax.set_axisbelow(True)


def tornado(view: View, stage: dict[str, Any], metric: str) -> Figure:
    """One panel per target, factors ranked, the `TOP` largest; drawn as the method says."""
    from matplotlib.patches import Patch

    plt = _plt()
    by_target = stage["effects"][metric]
    targets = [t for t in view.targets if t in by_target]
    rows_each = min(TOP, max(len(by_target[t]) for t in targets))
    method = stage["method"]
    fig, axes = _panel_grid(plt, view, targets, rows_each)
    unit = view.unit(metric)
    drawn = {}
    for target in targets:
        ax = axes[target]
        rows = [r for r in by_target[target] if _finite(r.get("effect"))][:TOP]
        colour = view.colour(target)
        whiskers: list[Whisker] = []
        bars: list[float] = []
        for i, row in enumerate(rows):
            if method == "oat":
                whiskers += _oat_row(ax, i, row, unit.scale, colour)
                bars += [
                    (row.get("low") or 0.0) * unit.scale,
                    (row.get("high") or 0.0) * unit.scale,
                ]
            elif method == "sobol":
                whiskers += _sobol_row(ax, i, row, colour)
                bars += [row["effect"], row.get("first_order") or 0.0]
            else:
                whiskers += _morris_row(ax, i, row, unit.scale, colour)
                bars.append(row["effect"] * unit.scale)
        drawn[target] = (bars, whiskers)
        _style_ticks(ax, view, rows)
        if method == "oat":
            ax.axvline(0, color="#444444", lw=0.9)
        ax.set_title(_base_title(view, stage, metric, target), fontsize=10)
    cut = False
    if method == "sobol":  # one scale for all panels, at least 0 to 1
        every = [b for bars, _ in drawn.values() for b in bars] + [1.0]
        limits = _limits(every, [w for _, ws in drawn.values() for w in ws], 0.0)
    for target, (bars, whiskers) in drawn.items():
        if method != "sobol":
            limits = _limits(bars, whiskers, 0.0 if method == "morris" else None)
        axes[target].set_xlim(*limits)
        if method == "sobol":
            axes[target].axvline(1.0, color="#999999", lw=0.8, ls=":")
        cut = _draw_whiskers(axes[target], whiskers, *limits) or cut
    grey = "#777777"
    if method == "oat":
        handles = [
            Patch(color=grey, alpha=0.4, label="factor at its low end"),
            Patch(color=grey, label="factor at its high end"),
        ]
        xlabel = f"change from the base, {unit.axis}"
    elif method == "sobol":
        handles = [
            Patch(color=grey, label="total-order index ST (with interactions)"),
            Patch(color=grey, alpha=0.4, label="first-order index S1 (alone)"),
        ]
        xlabel = "Sobol index: share of the metric's variance (dotted: all of it)"
    else:
        handles = [
            Patch(facecolor=grey, edgecolor=grey, label="raises the metric"),
            Patch(facecolor="white", edgecolor=grey, hatch="////", label="lowers the metric"),
            Patch(facecolor=grey, alpha=0.35, edgecolor=grey, label="both ways"),
        ]
        xlabel = f"μ*: change over the factor's whole range, {unit.axis}"
    handles.append(Patch(facecolor="white", edgecolor="white", label="grey label: 95% CI has 0"))
    for target in _bottom(targets, axes):
        axes[target].set_xlabel(xlabel, fontsize=9)
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    fig.suptitle(f"What moves {metric}", fontweight="bold")
    return Figure(
        f"tornado_{metric}",
        f"What moves {metric}",
        _tornado_caption(view, stage, metric, targets, cut),
        fig,
    )


def _bottom(targets: list[str], axes: dict[str, Any]) -> list[str]:
    """The panels with no panel below them (their x labels are the figure's)."""
    out = []
    for target in targets:
        box = axes[target].get_subplotspec()
        below = [
            t
            for t in targets
            if t != target
            and axes[t].get_subplotspec().rowspan.start > box.rowspan.start
            and axes[t].get_subplotspec().colspan.start == box.colspan.start
        ]
        if not below:
            out.append(target)
    return out


def _finite(x: Any) -> bool:
    return x is not None and math.isfinite(x)


Whisker = tuple[float, float, float, float]  # y, the bar's end, interval low, high
REACH = 2.0  # whiskers are drawn up to this multiple of the bars' extent, then cut


def _morris_row(ax: Any, i: int, row: dict[str, Any], scale: float, colour: str) -> list[Whisker]:
    effect, mu = row["effect"] * scale, (row.get("mu") or 0.0) * scale
    if effect > 0 and abs(mu) < ONE_WAY * effect:
        style = {"color": colour, "alpha": 0.35}
    elif mu < 0:
        style = {"facecolor": "white", "edgecolor": colour, "hatch": "////", "lw": 1.0}
    else:
        style = {"color": colour}
    ax.barh(i, effect, height=0.62, **style)
    ci = row.get("ci95")
    if ci and _finite(ci[0]) and _finite(ci[1]):
        return [(i, effect, ci[0] * scale, ci[1] * scale)]
    return []


def _oat_row(ax: Any, i: int, row: dict[str, Any], scale: float, colour: str) -> list[Whisker]:
    low, high = (row.get("low") or 0.0) * scale, (row.get("high") or 0.0) * scale
    ax.barh(i - 0.18, low, height=0.34, color=colour, alpha=0.4)
    ax.barh(i + 0.18, high, height=0.34, color=colour)
    ci = row.get("ci95")
    if ci and _finite(ci[0]) and _finite(ci[1]):
        # the interval is of high minus low: where the high end lies, given the low end
        return [(i + 0.18, high, low + ci[0] * scale, low + ci[1] * scale)]
    return []


def _sobol_row(ax: Any, i: int, row: dict[str, Any], colour: str) -> list[Whisker]:
    out: list[Whisker] = []
    for key, offset, alpha in (("effect", -0.18, 1.0), ("first_order", 0.18, 0.4)):
        value, ci = row.get(key), row.get("ci95" if key == "effect" else f"{key}_ci95")
        if value is None or not _finite(value):
            continue
        x = max(float(value), 0.0)
        ax.barh(i + offset, x, height=0.34, color=colour, alpha=alpha)
        if ci and _finite(ci[0]) and _finite(ci[1]):
            out.append((i + offset, x, max(float(ci[0]), 0.0), float(ci[1])))
    return out


def _limits(bars: list[float], whiskers: list[Whisker], floor: float | None) -> tuple[float, float]:
    """x limits that show every bar whole and the whiskers up to `REACH` times the bars'
    extent (a wide interval from few replications would otherwise flatten the bars)."""
    low, high = min([0.0, *bars]), max([0.0, *bars])
    span = (high - low) or max([abs(w[3]) for w in whiskers] + [1e-9])
    reach_low = low - (REACH - 1) * span if low < 0 else -0.0
    reach_high = high + (REACH - 1) * span
    w_low = min([low, *(w[2] for w in whiskers)])
    w_high = max([high, *(w[3] for w in whiskers)])
    left, right = max(w_low, reach_low), min(w_high, reach_high)
    pad = (right - left) * 0.04
    left = floor if floor is not None else left - pad
    right += pad
    return (left, right) if right - left > 1e-8 else (left, left + 1.0)  # all zero: a unit axis


def _draw_whiskers(ax: Any, whiskers: list[Whisker], left: float, right: float) -> bool:
    """Intervals as capped lines; an end cut at the panel's edge gets an arrow head.
    True when some interval was cut."""
    cut = False
    for y, _, lo, hi in whiskers:
        a, b = max(lo, left), min(hi, right)
        ax.plot([a, b], [y, y], color="#333333", lw=1, solid_capstyle="butt", zorder=4)
        for end, was, marker in ((a, lo, "<"), (b, hi, ">")):
            if end != was:
                cut = True
                ax.plot(end, y, marker=marker, ms=4, color="#333333", zorder=4, clip_on=False)
            else:
                ax.plot(end, y, marker="|", ms=5, color="#333333", zorder=4)
    return cut


def _largest(
    view: View, by_target: dict[str, list[dict[str, Any]]], targets: list[str]
) -> tuple[str, dict[str, Any]] | None:
    """The target and row of the largest effect clear of zero among `targets`."""
    best = None
    for target in targets:
        for row in by_target.get(target, []):
            if row["negligible"] or not _finite(row["effect"]):
                continue
            if best is None or row["effect"] > best[1]["effect"]:
                best = (target, row)
    return best


def _tornado_caption(
    view: View, stage: dict[str, Any], metric: str, targets: list[str], cut: bool
) -> str:
    by_target = stage["effects"][metric]
    unit = view.unit(metric)
    method = stage["method"]
    if method == "oat":
        how = (
            "Each factor alone at its low end (light) and its high end (dark), every other "
            "factor at its value; bars are the change from the base run, the line on the "
            "dark bar the 95% interval of high minus low (over replications)."
        )
    elif method == "sobol":
        how = (
            "Dark: total-order index ST (the share of the metric's variance the factor "
            "accounts for, its interactions included); light: first-order index S1 (alone); "
            "lines: 95% bootstrap intervals. A gap between ST and S1 is interaction."
        )
    else:
        how = (
            "Bars: μ*, the mean size of the change when the factor moves over its whole "
            "range (whatever the others are), with its 95% bootstrap interval; plain bars "
            "raise the metric, hatched lower it, faint ones move it both ways."
        )
    notes = []
    for group, word in ((view.policies, "a policy"), (view.comparisons, "a comparison")):
        best = _largest(view, by_target, [t for t in targets if t in group])
        if best is None:
            continue
        target, row = best
        name = view.flat.get(row["factor"], row["factor"])
        if method == "sobol":
            notes.append(
                f"largest for {word}: {name} on {view.title(target)}, ST "
                f"{number(row['effect'])} (S1 {number(row.get('first_order') or 0.0)})"
            )
            continue
        ci = row.get("ci95")
        interval = (
            f" (95% interval {number(ci[0] * unit.scale)} to {number(ci[1] * unit.scale)})"
            if ci and _finite(ci[0]) and _finite(ci[1])
            else ""
        )
        if method == "oat":
            notes.append(
                f"largest for {word}: {name} moves {view.title(target)} by "
                f"{signed(row['low'] * unit.scale)}{unit.change} at its low end and "
                f"{signed(row['high'] * unit.scale)}{unit.change} at its high end"
            )
        else:
            notes.append(
                f"largest for {word}: {name} moves {view.title(target)} by "
                f"{number(row['effect'] * unit.scale)}{unit.change}{interval}"
            )
    many = max(len(by_target[t]) for t in targets)
    tail = f" The {TOP} largest of {many} factors per panel." if many > TOP else ""
    if method == "sobol" and any(
        r["effect"] > 1.05 for t in targets for r in by_target[t] if _finite(r["effect"])
    ):
        tail += (
            " Indices above 1 are sampling error: too few samples for this metric "
            f"({stage.get('samples', '?')} base samples)."
        )
    if cut:
        tail += " An interval much wider than the bars is cut at the panel's edge (arrow head)" + (
            ": with few replications the oat intervals are wide." if method == "oat" else "."
        )
    if unit.scale == 100:
        tail += " Shares in percentage points."
    lead = "; ".join(notes) + ". " if notes else ""
    lead = lead[:1].upper() + lead[1:]
    return f"{lead}{how} Grey labels: the 95% interval includes zero.{tail}"


def mu_sigma(view: View, stage: dict[str, Any]) -> Figure | None:
    """Per metric, each factor's mu* against its sigma for the paired comparisons (the
    policies when there are none): one marker per comparison, the top points labelled."""
    plt = _plt()
    targets = view.comparisons or view.policies
    metrics = [
        m
        for m in view.summary["metrics"]
        if any(not r["negligible"] for t in targets for r in stage["effects"].get(m, {}).get(t, []))
    ]
    if not metrics:
        return None
    columns = min(COLUMNS, len(metrics))
    lines = math.ceil(len(metrics) / columns)
    fig, axes = plt.subplots(
        lines, columns, figsize=(4.3 * columns, 3.7 * lines + 0.8), layout="constrained"
    )
    flat = list(axes.flat) if hasattr(axes, "flat") else [axes]
    markers = ["o", "s", "^", "D", "v", "P", "X", "<", ">"]
    above = []
    for ax, metric in zip(flat, metrics, strict=False):
        unit = view.unit(metric)
        points = []
        for k, target in enumerate(targets):
            for row in stage["effects"].get(metric, {}).get(target, []):
                if not (_finite(row["effect"]) and _finite(row.get("sigma"))):
                    continue
                x, y = row["effect"] * unit.scale, row["sigma"] * unit.scale
                faint = row["negligible"]
                ax.scatter(
                    x,
                    y,
                    marker=markers[k % len(markers)],
                    s=36,
                    color=view.colour(target),
                    alpha=0.35 if faint else 0.95,
                    edgecolors="white",
                    linewidths=0.5,
                    zorder=3,
                )
                points.append((x, y, row, target))
        top = max([max(x, y) for x, y, _, _ in points] + [1e-12]) * 1.12
        ax.plot([0, top], [0, top], ls="--", color="#999999", lw=0.9, zorder=1)
        ax.set_xlim(-top * 0.03, top)
        ax.set_ylim(-top * 0.03, top)
        ax.set_aspect("equal")
        _label_points(ax, view, points, top)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel(f"μ*, {unit.axis}", fontsize=8)
        ax.set_ylabel(f"σ, {unit.axis}", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(color="#eeeeee", lw=0.8)
        ax.set_axisbelow(True)
        above += [
            (metric, row, target)
            for x, y, row, target in points
            if not row["negligible"] and y > x and x > 0
        ]
    for ax in flat[len(metrics) :]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            marker=markers[k % len(markers)],
            ls="",
            color=view.colour(t),
            label=view.title(t),
        )
        for k, t in enumerate(targets)
    ]
    handles.append(Line2D([], [], ls="--", color="#999999", label="σ = μ*"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    fig.suptitle("Screening: size of each effect (μ*) against its spread (σ)", fontweight="bold")
    which = "paired comparisons" if view.comparisons else "policies"
    caption = (
        f"Each marker is one factor's effect on one of the {which} (the conclusions the "
        "report draws rest on them; each policy's own effects are in the tornado charts). "
        "Right: a larger effect. Above the dashed line σ = μ*: the effect changes a lot "
        "from one point to the next, so it depends on the other factors or is not linear; "
        "below it, the factor moves the metric about the same way everywhere. Faint "
        "markers: the 95% interval of μ* includes zero; the largest three per panel are "
        "labelled."
    )
    if above:
        metric, row, target = max(above, key=lambda a: a[1]["sigma"] / max(a[1]["effect"], 1e-12))
        caption += (
            f" Most dependent on the others: {view.flat.get(row['factor'], row['factor'])} on "
            f"{view.title(target)}'s {metric} (σ {number(row['sigma'] / row['effect'])} × μ*)."
        )
    return Figure("morris_mu_sigma", "Effects and their interactions (Morris)", caption, fig)


def _label_points(ax: Any, view: View, points: list[tuple], top: float) -> None:
    """Label the `LABELLED` largest effects: each label beside its marker, on the side
    where it covers no other marker or label (estimated in data units; the axes are
    square), else moved down with a thin line to its marker."""
    chosen = sorted((p for p in points if not p[2]["negligible"]), key=lambda p: -p[0])
    char, high, gap = top * 0.0165, top * 0.05, top * 0.025
    boxes: list[tuple[float, float, float, float]] = []  # x0, y0, x1, y1 of labels
    markers = [(x, y) for x, y, _, _ in points]

    def clashes(box: tuple[float, float, float, float]) -> int:
        x0, y0, x1, y1 = box
        hits = sum(
            x0 - gap / 2 < x < x1 + gap / 2 and y0 - gap / 2 < y < y1 + gap / 2 for x, y in markers
        )
        hits += sum(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in boxes)
        outside = x0 < 0 or x1 > top or y0 < -top * 0.03 or y1 > top
        return hits + 10 * outside

    done: list[tuple[str, float, float]] = []
    for x, y, row, _target in chosen[:LABELLED]:
        label = view.flat.get(row["factor"], row["factor"])
        if any(t == label and abs(x - a) < gap and abs(y - b) < gap for t, a, b in done):
            continue  # the same factor on another comparison, at the same place
        done.append((label, x, y))
        width = len(label) * char
        options = []
        for dy in (0.0, high, -high, 2 * high, -2 * high, -3 * high, 3 * high):
            options.append((x + gap, y + dy, "left"))
            options.append((x - gap, y + dy, "right"))

        def box_of(
            o: tuple[float, float, str], width: float = width
        ) -> tuple[float, float, float, float]:
            tx, ty, side = o
            x0 = tx if side == "left" else tx - width
            return (x0, ty - high / 2, x0 + width, ty + high / 2)

        best = min(options, key=lambda o: (clashes(box_of(o)), options.index(o)))
        boxes.append(box_of(best))
        tx, ty, side = best
        ax.annotate(
            label,
            (x, y),
            xytext=(tx, ty),
            fontsize=7,
            ha=side,
            va="center",
            color="#333333",
            arrowprops={"arrowstyle": "-", "color": "#aaaaaa", "lw": 0.6} if ty != y else None,
        )
