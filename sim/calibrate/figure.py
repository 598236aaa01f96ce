"""The fit figure: what the log shows against what the calibrated scenario would produce.

Six panels on one page (matplotlib, Agg): orders by local hour and by weekday, orders
per day with the detected promotions, sellers' sizes (the share of sellers with at least
so many orders a week, log-log), the time from placement to shipment, and its quantiles
per seller-size band with their intervals. Observed is dark, fitted orange throughout.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.calibrate.arrivals import MIN_WEEKDAY_OBSERVED, WEEKDAYS
from sim.calibrate.estimate import count, garwood
from sim.calibrate.kinds import size_fits
from sim.calibrate.shipping import QUANTILES
from sim.calibrate.sizes import simulated_counts

if TYPE_CHECKING:
    from sim.calibrate.calibration import Calibration

OBSERVED = "#1f3b5c"
FITTED = "#e07b00"
PROMOTION = "#c0392b"
SIZE = (13.0, 8.0)  # inches; at DPI 150 the PNG is 1950 px wide
DPI = 150
SIMULATED_SELLERS = 200_000


def fit_figure(fit: Calibration, path: Path) -> Path:
    """Draw the six panels to `path` (PNG); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # an empty histogram (nothing shipped within the range) divides by zero: draw it empty
    with (
        plt.rc_context({"font.size": 10.5, "axes.titlesize": 12, "axes.titleweight": "bold"}),
        np.errstate(invalid="ignore", divide="ignore"),
    ):
        figure, axes = plt.subplots(2, 3, figsize=SIZE, dpi=DPI)
        _hours(axes[0, 0], fit)
        _weekdays(axes[0, 1], fit)
        _days(axes[0, 2], fit)
        _sizes(axes[1, 0], fit)
        _ship_times(axes[1, 1], fit)
        _bands(axes[1, 2], fit)
        figure.suptitle(
            f"Calibration: {Path(fit.source).name or 'order log'}: {fit.quality.orders:,} "
            f"orders, {count(fit.sellers_seen, 'seller')}, {fit.span.days} days "
            f"({fit.span.date(0)} to {fit.span.date(fit.span.days - 1)})",
            fontsize=14,
            fontweight="bold",
        )
        figure.tight_layout(rect=(0, 0, 1, 0.96))
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
        plt.close(figure)
    return path


def _per_day_bars(counts: np.ndarray, days: np.ndarray | float) -> np.ndarray:
    """Garwood 95% error bars (below, above) of counts shown as means over `days`."""
    low, high = garwood(counts)
    return np.vstack([counts - low, high - counts]) / days


def _bars(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Error bars (below, above) that matplotlib can draw: never negative, 0 where an
    interval is unknown (an interval that misses its estimate is drawn to it)."""
    bars = np.vstack([values - low, high - values])
    return np.nan_to_num(np.clip(bars, 0.0, None), nan=0.0, posinf=0.0)


def _hours(ax: Any, fit: Calibration) -> None:
    a = fit.arrivals
    observed = a.exposure.sum(axis=0)  # hours the log observed of each local hour
    seen = np.array(a.daily_seen)  # an hour observed for minutes would need a huge bar
    counts = a.cells.sum(axis=0)[seen]
    hours = np.arange(24)[seen]
    ax.errorbar(
        hours,
        counts / observed[seen],
        yerr=_per_day_bars(counts, observed[seen]),
        fmt="o",
        color=OBSERVED,
        ms=4,
        capsize=2,
        label="observed (95% CI)",
    )
    expected = a.expected_cells().sum(axis=0)[seen] / observed[seen]
    ax.plot(hours, expected, color=FITTED, lw=2, label="fitted")
    ax.set(
        title="Orders by local hour",
        xlabel="local hour of placement",
        ylabel="orders per hour (mean over the hours observed)",
        xticks=range(0, 24, 3),
        xlim=(-0.5, 23.5),
    )
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", frameon=False)


def _weekdays(ax: Any, fit: Calibration) -> None:
    a = fit.arrivals
    expected = a.expected_cells().sum(axis=1)
    totals = a.cells.sum(axis=1)
    days = np.bincount(a.weekday, weights=a.exposure.sum(axis=1) / 24, minlength=7)
    seen = days * 24 >= MIN_WEEKDAY_OBSERVED
    observed = np.bincount(a.weekday, weights=totals, minlength=7)
    fitted = np.bincount(a.weekday, weights=expected, minlength=7)
    x = np.arange(7)[seen]
    ax.bar(x, observed[seen] / days[seen], color=OBSERVED, alpha=0.85, label="observed")
    ax.errorbar(
        x,
        observed[seen] / days[seen],
        yerr=_per_day_bars(observed[seen], days[seen]),
        fmt="none",
        ecolor="black",
        capsize=3,
    )
    ax.plot(x, fitted[seen] / days[seen], "D", color=FITTED, ms=8, label="fitted")
    ax.set(
        title="Orders by weekday (promotions included)",
        xlabel="local weekday",
        ylabel="orders per day (mean over the time observed)",
        xticks=range(7),
        xticklabels=WEEKDAYS,
    )
    ax.set_ylim(0, ax.get_ylim()[1] * 1.2)
    ax.legend(loc="upper left", frameon=False, ncol=2)


def _days(ax: Any, fit: Calibration) -> None:
    a = fit.arrivals
    totals = a.cells.sum(axis=1)
    expected = a.expected_cells().sum(axis=1)
    ordinary = expected / a.multiplier
    dates = np.array([np.datetime64(fit.span.date(d)) for d in range(fit.span.days)])
    ax.plot(dates, totals, "o-", color=OBSERVED, ms=3, lw=1, label="observed")
    ax.plot(dates, ordinary, "--", color=FITTED, lw=1.5, label="fitted, ordinary day")
    for p in a.promotions:
        m = p.multiplier
        ax.plot(dates[p.day], totals[p.day], "o", color=PROMOTION, ms=9, zorder=3)
        ax.annotate(
            f"promotion x{m.value:.2f}\n(95% CI {m.low:.2f}-{m.high:.2f})",
            (dates[p.day], totals[p.day]),
            textcoords="offset points",
            xytext=(8, -4),
            va="top",
            color=PROMOTION,
            fontsize=9.5,
        )
    import matplotlib.dates as mdates

    ax.set(title="Orders per day, detected promotions", xlabel="local date", ylabel="orders")
    ax.set_ylim(bottom=0, top=max(totals.max(), expected.max()) * 1.12)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(loc="lower left", frameon=True)


def _sizes(ax: Any, fit: Calibration) -> None:
    weeks = fit.span.weeks
    ax.set(
        title="Seller sizes",
        xlabel="orders a week (log scale)",
        ylabel="share of sellers with at least this many",
    )
    counts = fit.seller_counts[fit.seller_counts > 0]
    if len(counts) < 2:
        _empty(ax, "one seller:\nno size distribution")
        return
    _ccdf(ax, counts / weeks, OBSERVED, "observed", "o", 1.5)
    rng = np.random.default_rng(0)
    fits = size_fits(fit.kinds)
    for fulfilment, sizes in fits.items():
        draws = simulated_counts(sizes.mu, sizes.sigma.value, SIMULATED_SELLERS, rng)
        label = "fitted lognormal" + ("" if len(fits) == 1 else f" ({fulfilment}-fulfilled)")
        _ccdf(ax, draws / weeks, FITTED, label, None, 2.0)
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for axis in (ax.xaxis, ax.yaxis):  # a narrow range labels minor ticks over each other
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(NullFormatter())
    if counts.max() < 10 * counts.min():  # within a decade: label some minor ticks too
        ax.xaxis.set_minor_formatter(plain)
        for label in ax.xaxis.get_minorticklabels():
            label.set_fontsize(8)
    ax.set_ylim(bottom=0.5 / len(counts))
    ax.legend(loc="lower left", frameon=False)


def _ccdf(
    ax: Any, values: np.ndarray, color: str, label: str, marker: str | None, lw: float
) -> None:
    ordered = np.sort(values)
    share = 1 - np.arange(len(ordered)) / len(ordered)
    if marker:
        ax.plot(ordered, share, marker, color=color, ms=3.5, label=label, ls="none")
    else:
        ax.plot(ordered, share, color=color, lw=lw, label=label)


def _ship_times(ax: Any, fit: Calibration) -> None:
    ax.set(
        title="Time from placement to shipment",
        xlabel="hours from placement to shipment",
        ylabel="share of shipped orders per hour",
    )
    observed, fitted = fit.ship_observed, fit.ship_fitted
    if len(observed) < 2:
        _empty(ax, "no shipped orders with a time")
        return
    top = float(np.quantile(observed, 0.99))
    bins = np.linspace(0, max(top, 1.0), 60)
    ax.hist(observed, bins=bins, density=True, color=OBSERVED, alpha=0.6, label="observed")
    ax.hist(
        fitted,
        bins=bins,
        density=True,
        histtype="step",
        color=FITTED,
        lw=2,
        label="fitted packing and pickups",
    )
    ax.legend(loc="upper left", frameon=False)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)
    ax.set_xlim(0, bins[-1])


def _empty(ax: Any, text: str) -> None:
    """A panel with nothing to draw says why, in its middle."""
    ax.set(xticks=[], yticks=[])
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=12)


def _bands(ax: Any, fit: Calibration) -> None:
    ax.set(
        title="Ship-time quantiles by seller size",
        ylabel="hours from placement to shipment",
    )
    if not fit.bands:
        _empty(ax, "no shipped orders with a time")
        return
    x = np.arange(len(fit.bands))
    for i, q in enumerate(QUANTILES):
        values = np.array([b.observed[i].value for b in fit.bands])
        low = np.array([b.observed[i].low for b in fit.bands])
        high = np.array([b.observed[i].high for b in fit.bands])
        ax.errorbar(
            x - 0.1,
            values,
            yerr=_bars(values, low, high),
            fmt="o",
            color=OBSERVED,
            ms=6,
            capsize=3,
            label="observed p10 / p50 / p90 (95% CI)" if i == 0 else None,
        )
        ax.plot(
            x + 0.1,
            [b.fitted[i] for b in fit.bands],
            "D",
            color=FITTED,
            ms=6,
            label="fitted" if i == 0 else None,
        )
        ax.annotate(
            f"p{q * 100:.0f}", (x[-1] + 0.22, values[-1]), va="center", fontsize=9, color="0.3"
        )
    labels = [f"{textwrap.fill(b.band, 10)}\n({count(b.sellers, 'seller')})" for b in fit.bands]
    ax.set_xticks(x, labels, fontsize=9)
    ax.set_xlim(-0.5, len(fit.bands) - 0.3)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.2)
    ax.legend(loc="upper left", frameon=False, fontsize=9.5)
