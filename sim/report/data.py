"""What the report's figures and tables draw on: the results of one study, gathered per
policy at the point the report is about, with the study's dates (warm-up, promotions,
rule changes) and the colours every figure shares."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.recorder import EDGES, OUTCOME_INDEX
from sim.engine.result import RunResult
from sim.model.policy import Outcome

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PLATFORM_COLOURS = {"amazon": "#E69F00", "taobao": "#D55E00", "jd": "#0072B2", "jd-pop": "#56B4E9"}
SPARE_COLOURS = ["#009E73", "#CC79A7", "#F0E442", "#000000", "#999999"]
# then Paul Tol's muted scheme (also safe for colour-vision deficiencies): more policies
# than Okabe-Ito has colours (scenarios/global.yaml plays ten) still get one each
SPARE_COLOURS += ["#332288", "#117733", "#882255", "#999933", "#44AA99", "#AA4499"]

# Outcomes get their own colours, never a platform's: Paul Tol's "light" scheme (safe for
# colour-vision deficiencies, and paler than every platform colour above).
OUTCOME_GROUPS: list[tuple[str, tuple[Outcome, ...], str]] = [
    ("cancelled alone", (Outcome.SELF_CANCELLED,), "#44BB99"),
    ("instant refund", (Outcome.INSTANT_REFUNDED,), "#99DDFF"),
    ("cancelled on request", (Outcome.REQUEST_CANCELLED, Outcome.REQUEST_AUTO_APPROVED), "#77AADD"),
    ("cancelled by the seller", (Outcome.SELLER_CANCELLED,), "#EE8866"),
    ("auto-cancelled", (Outcome.AUTO_CANCELLED,), "#FFAABB"),
    (
        "cancel failed: shipped",
        (
            Outcome.KEPT_AFTER_FAILED_CANCEL,
            Outcome.INTERCEPTED,
            Outcome.REFUSED_DELIVERY,
            Outcome.RETURNED,
        ),
        "#EEDD88",
    ),
    ("still open at the end", (Outcome.OPEN,), "#DDDDDD"),
]

# Promotions are named on their own, each a ribbon of its own colour along the top of every
# time axis (Paul Tol's muted scheme, darker than the outcome colours the bars use).
PROMOTION_COLOURS = ["#882255", "#117733", "#332288", "#999933", "#AA4499", "#44AA99"]


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


def plain(text: str) -> str:
    """Text for a figure when no CJK font is installed: without CJK characters, which the
    default font lacks (`退款率 (refund rate)` -> `refund rate`)."""
    from sim.report.style import has_cjk_font

    if has_cjk_font():
        return text
    kept = "".join(c for c in text if ord(c) < 0x2E80).strip()
    if kept.startswith("(") and kept.endswith(")"):
        kept = kept[1:-1]
    return kept or text


@dataclass(frozen=True)
class RuleChange:
    """A policy's rules changing within the scenario: the day index and what changed."""

    policy: str
    date: dt.date
    day: int
    rules: list[dict[str, str]]

    def short(self) -> str:
        first = self.rules[0] if self.rules else {"rule": "rules", "before": "", "after": ""}
        more = f" (+{len(self.rules) - 1} more)" if len(self.rules) > 1 else ""
        return f"{first['rule']}: {first['before']} -> {first['after']}{more}"


@dataclass
class ReportData:
    """The results the figures draw on, gathered per policy at the report's point: the
    only one, or in a sweep the point with today's values (else the first)."""

    summary: dict[str, Any]
    inputs: dict[str, Any]
    runs: list[RunResult]
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base, self.base_is_current = base_point(self.summary, self.inputs)
        self.here = [r for r in self.runs if r.point == self.base]
        ran = {r.policy for r in self.here}
        self.keys = [k for k in self.inputs["policies"] if k in ran]  # failed policies: none
        self.colours = _colours(self.inputs["policies"])

    # ------------------------------------------------------------------ naming
    def colour(self, key: str) -> str:
        return self.colours[key]

    def label(self, key: str) -> str:
        return plain(self.inputs["policies"][key]["name"])

    # ------------------------------------------------------------------ runs
    def runs_of(self, key: str, point: int | None = None) -> list[RunResult]:
        point = self.base if point is None else point
        return [r for r in self.runs if r.policy == key and r.point == point]

    def pooled_hist(self, key: str, clock: str = "money_back") -> np.ndarray:
        """Outcome x bin counts over the replications: `money_back` or `issued` hours."""
        hists = [getattr(r, f"{clock}_hist") for r in self.runs_of(key)]
        return (
            sum(hists, np.zeros_like(hists[0]))
            if hists
            else np.zeros((len(OUTCOME_INDEX), len(EDGES) + 1), dtype=np.int64)
        )

    def block(self) -> dict[str, Any]:
        """The summary block of the report's point (the whole summary without a sweep)."""
        return self.summary["points"][self.base] if "points" in self.summary else self.summary

    def point_note(self) -> str:
        if "points" not in self.summary:
            return ""
        label = self.summary["points"][self.base]["point"]
        values = ", ".join(f"{k} = {v}" for k, v in label.items())
        if self.base_is_current:
            return f" At today's value of the swept key{'s' if len(label) > 1 else ''} ({values})."
        return f" At the first sweep point ({values}); today's value is not among the swept ones."

    # ------------------------------------------------------------------ dates
    def start(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.inputs["scenario"]["start"])

    def days(self) -> int:
        return max((len(r.daily_orders) for r in self.here), default=0)

    def dates(self) -> list[dt.date]:
        first = self.start().date()
        return [first + dt.timedelta(days=i) for i in range(self.days())]

    def first_measured_day(self) -> int:
        """The first day whose orders are all measured (placed after the warm-up)."""
        start = self.start()
        hours = start.hour + start.minute / 60 + self.inputs["scenario"]["warmup_hours"]
        return math.ceil(hours / 24 - 1e-9)

    def promotions(self) -> list[dict[str, Any]]:
        """The promotions on days the scenario plays."""
        first, days = self.start().date(), self.days()
        return [
            p
            for p in self.inputs["scenario"]["promotions"]
            if 0 <= (dt.date.fromisoformat(p["date"]) - first).days < days
        ]

    def changes(self) -> list[RuleChange]:
        """Rule changes of the policies that ran, within the scenario, by date."""
        first = self.start().date()
        out = []
        for key in self.keys:
            for change in self.inputs["policies"][key].get("changes", []):
                day = dt.date.fromisoformat(change["date"])
                out.append(RuleChange(key, day, (day - first).days, change["rules"]))
        return sorted(out, key=lambda c: (c.date, c.policy))

    def daily_outcomes(self, key: str) -> np.ndarray:
        """Day x outcome group: mean count over the replications."""
        runs = [r for r in self.runs_of(key) if r.daily_outcomes.size]
        if not runs:
            return np.zeros((self.days(), len(OUTCOME_GROUPS)))
        total = np.mean([r.daily_outcomes for r in runs], axis=0)
        return np.stack(
            [
                total[:, [OUTCOME_INDEX[o] for o in outcomes]].sum(axis=1)
                for _, outcomes, _ in OUTCOME_GROUPS
            ],
            axis=1,
        )


def base_point(summary: dict[str, Any], inputs: dict[str, Any]) -> tuple[int, bool]:
    """The sweep point whose values are today's (the policies as written), and whether
    there is one; without a sweep, point 0."""
    points = summary.get("points")
    sweep = inputs.get("sweep")
    if not points or not sweep:
        return 0, False
    axes = sweep["axes"]
    for i, point in enumerate(points):
        if all(_is_current(axes.get(k, {}), i, point["point"][k]) for k in point["point"]):
            return i, True
    return 0, False


def _is_current(axis: dict[str, Any], index: int, label: str) -> bool:
    if axis.get("values") is not None and axis.get("current") is not None:
        return math.isclose(axis["values"][index], axis["current"], rel_tol=1e-9, abs_tol=1e-12)
    return axis.get("current_label") is not None and str(label) == axis["current_label"]
