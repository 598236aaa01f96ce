"""How every figure looks: matplotlib settings, fonts (CJK when installed), the units of
time axes, and the study's dates marked on time axes.

Figures are drawn at 100 px to the inch as the report shows them (the PNG is saved at
1.5x for sharp screens and shown at 2/3 of its pixel size), so a 9 pt label reads as
12.5 px in the browser. No figure is wider than `WIDTH` inches, the report's column.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.report.data import ReportData

WIDTH = 10.2  # inches: the report's 1100 px column less its padding, at 100 px an inch
SHOWN_DPI = 100
SAVED_DPI = 150
CJK_FAMILIES = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR")


@functools.cache
def has_cjk_font() -> bool:
    """Whether matplotlib can draw Chinese and Japanese text (Debian's fonts-noto-cjk).

    A font installed after matplotlib cached its font list is found and added here."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    if any(family in names for family in CJK_FAMILIES):
        return True
    for path in font_manager.findSystemFonts():
        if "NotoSansCJK" in path or "NotoSerifCJK" in path:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # pragma: no cover - a broken file
                continue
    names = {f.name for f in font_manager.fontManager.ttflist}
    return any(family in names for family in CJK_FAMILIES)


def plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    families = ["DejaVu Sans"]
    if has_cjk_font():
        families += [f for f in CJK_FAMILIES]  # matplotlib falls back glyph by glyph
    pyplot.rcParams.update(
        {
            "figure.dpi": SHOWN_DPI,
            "savefig.dpi": SAVED_DPI,
            "font.family": families,
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.titleweight": "bold",
            "axes.labelsize": 10,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "legend.fontsize": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.fonttype": "path",
        }
    )
    return pyplot


def hours_text(h: float) -> str:
    if math.isnan(h):
        return "n/a"
    if h < 1:
        return f"{h * 60:.0f} min"
    if h < 48:
        return f"{h:.1f} h"
    return f"{h / 24:.1f} days"


def time_scale(unit: str, values: list[float]) -> tuple[float, str]:
    """The factor and name that put `values` (in `unit`: h, bd or plain) in the unit that
    fits them: minutes up to 2 h, hours up to 3 days, then days."""
    if unit != "h":
        return 1.0, {"bd": "business days", "": ""}.get(unit, unit)
    top = max((abs(v) for v in values if not math.isnan(v)), default=0.0)
    if top <= 2:
        return 60.0, "minutes"
    if top <= 72:
        return 1.0, "hours"
    return 1 / 24, "days"


def mark_dates(ax: Any, data: ReportData, legend: bool = True) -> None:
    """The warm-up, each promotion (named, its own colour) and each rule change (a
    labelled vertical line) on a time axis whose x values are dates."""
    from sim.report.data import PROMOTION_COLOURS

    start = data.start().date()
    warm = data.first_measured_day()
    ax.axvspan(
        start,
        start + dt.timedelta(days=warm),
        color="#eeeeee",
        zorder=0,
        label="warm-up (not measured)" if legend else None,
    )
    if data.promotions():  # room above the data for the ribbons
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + (high - low) * 0.08)
    for i, promo in enumerate(data.promotions()):
        day = dt.date.fromisoformat(promo["date"])
        ax.axvspan(  # a ribbon along the top: it covers no data
            day,
            day + dt.timedelta(days=1),
            ymin=0.94,
            ymax=1.0,
            color=PROMOTION_COLOURS[i % len(PROMOTION_COLOURS)],
            lw=0,
            zorder=4,
            label=f"{promo['name']} (x{promo['multiplier']:g})" if legend else None,
        )
    for change in data.changes():
        ax.axvline(
            change.date,
            color=data.colour(change.policy),
            ls=(0, (4, 2)),
            lw=1.6,
            zorder=3,
            label=f"{data.label(change.policy)} rule change, {change.date:%d %b %Y}"
            if legend
            else None,
        )


def date_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
