"""Fit a scenario's market to an order log: the `Calibration` and how it is made.

`calibrate` reads nothing from disk but the base scenario: it takes the log as a
DataFrame (`sim.orderlog.log.read_log`), fits each part of the market with its own
module (arrivals, kinds of seller with their sizes, packing and cancels, values) and
keeps every fitted number with its interval and count. `run_calibration` is the whole
command: read, fit, write the scenario (checked by loading it back) and the figure.
"""

from __future__ import annotations

import errno
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.calibrate.arrivals import (
    MIN_HOUR_OBSERVED,
    MIN_WEEKDAY_OBSERVED,
    WEEKDAYS,
    ArrivalFit,
    fit_arrivals,
)
from sim.calibrate.cancels import CancelFit, fit_cancels
from sim.calibrate.estimate import Estimate
from sim.calibrate.kinds import (
    KindFit,
    fit_kinds,
    never_ships,
    pack_hours,
    pickup_times,
    seller_facts,
    size_fits,
)
from sim.calibrate.logtable import LogQuality, LogTable, Span
from sim.calibrate.packing import implied_ship_hours
from sim.calibrate.shipping import APPROXIMATE_BELOW, QUANTILES, BandShip, quantile_estimates
from sim.calibrate.values import ValueFit, fit_values, in_currency
from sim.errors import InputError, Problem
from sim.model.builtin import located
from sim.model.load import Study, load_study
from sim.model.units import parse_duration

FIGURE_NAME = "calibration.png"


@dataclass(frozen=True)
class ProfileRow:
    """One line of the fit report: observed against fitted.

    The daily and weekly rows are a view of the fit, not a test of it: a Poisson fit of
    main effects reproduces its margins, so each weekday's fitted mean equals the observed
    one by construction, and each hour's does on the ordinary days (the promotion days'
    hours make the difference). Their unit says so. The ship-time rows compare two
    independent things: the log's quantiles and those of the fitted packing and pickups."""

    profile: str  # daily, weekly, promotion, ship time
    label: str
    observed: float
    fitted: float
    unit: str
    estimate: Estimate | None = None  # the number written, with its interval


@dataclass(frozen=True)
class Calibration:
    """Every fitted number of a scenario, with what it rests on."""

    source: str
    base: Study
    base_path: Path
    out_path: Path
    quality: LogQuality
    span: Span
    arrivals: ArrivalFit
    values: ValueFit | None
    kinds: tuple[KindFit, ...]
    buyers: CancelFit  # cancel shares over the whole log
    sellers_seen: int
    seller_counts: np.ndarray  # orders of each seller seen
    bands: tuple[BandShip, ...]  # the last row is every order
    ship_observed: np.ndarray  # hours from placement to shipment, every shipped order
    ship_fitted: np.ndarray  # orders with a time, under the fitted packing (those shipped)
    hold: float = 0.0  # hours: the log's platform's pending hold, before packing

    @property
    def horizon_days(self) -> int:
        return self.span.days

    @property
    def warmup_days(self) -> int:
        """The base's warm-up, at most a quarter of the log's days (0 for a day or two)."""
        base = self.base.scenario.warmup.amount / 24
        return int(min(math.floor(base), self.span.days // 4))

    def scenario_yaml(self) -> str:
        """The calibrated scenario: complete, commented, loadable by `load_study`."""
        from sim.calibrate.scenario_text import scenario_yaml

        return scenario_yaml(self)

    def fit_figure(self, path: str | Path) -> Path:
        """Observed against fitted, six panels, as a PNG at `path`."""
        from sim.calibrate.figure import fit_figure

        return fit_figure(self, Path(path))

    def report_rows(self) -> list[ProfileRow]:
        """Observed against fitted: each local hour, weekday, promotion and ship-time
        quantile per size band (orders per hour, per day, hours)."""
        return _report_rows(self)

    def estimate_rows(self) -> list[tuple[str, Estimate]]:
        """Each fitted scalar with its interval, for a summary table."""
        return _estimate_rows(self)

    def notes(self) -> list[str]:
        """What the user should know beyond the numbers: gaps in the log, policies left
        out of the scenario, and what the log could not tell."""
        from sim.calibrate.scenario_text import unplayable
        from sim.calibrate.sellers_text import seller_count

        notes = [f"{line} (of {self.quality.orders:,})" for line in self.quality.lines()]
        notes += self.quality.spells()
        notes += self.observed_notes()
        notes += [f"policy {name} left out: {why}" for name, why in unplayable(self).items()]
        count = seller_count(self)
        if self.sellers_seen > 1 and (count.estimate is None or count.count > self.sellers_seen):
            notes.append(count.note)
        for fulfilment, sizes in size_fits(self.kinds).items():
            if not sizes.identified:
                notes.append(
                    f"{fulfilment}-fulfilled sellers: the order counts do not tell the sizes' "
                    "spread; the base's popularity is kept"
                )
        for kind in self.kinds:
            if kind.pack is None:
                notes.append(
                    f"{kind.key}: the log cannot tell its packing (too few shipped orders "
                    "with a time, or too few that waited for a later pickup, after the "
                    "hold); the base's packing and pickups are kept"
                )
            elif "bound" in kind.pack.median.method:
                notes.append(
                    f"{kind.key}: pack time at the fit's bound ({kind.pack.median.method})"
                )
        rough = [b.band for b in self.bands if "approximate" in b.observed[0].method]
        if rough:
            notes.append(
                f"ship-time intervals of {', '.join(rough)}: approximate (fewer than "
                f"{APPROXIMATE_BELOW} sellers; a bootstrap over few sellers covers the truth "
                "less often than its 95% says)"
            )
        return notes

    def observed_notes(self) -> list[str]:
        """What the log did not observe of its days: hours and weekdays, or any time."""
        span, a = self.span, self.arrivals
        if span.window is None:
            if self.quality.orders - self.quality.outside_stretch > 1:
                return [
                    "the orders span no time (all placed at one instant): their whole local "
                    "day is taken as observed"
                ]
            return ["one order: its whole local day is taken as observed"]
        notes = []
        hours = [f"{h:02d}:00" for h in range(24) if not a.daily_seen[h]]
        if hours:
            notes.append(
                f"local hours the log observed for less than {MIN_HOUR_OBSERVED:g} hours in "
                f"all ({', '.join(hours)}): their daily weights are the base's, scaled "
                "(assumed)"
            )
        days = [WEEKDAYS[w] for w in range(7) if not a.weekly_seen[w]]
        if days:
            notes.append(
                f"weekdays the log observed for less than {MIN_WEEKDAY_OBSERVED:g} hours of "
                f"ordinary days ({', '.join(days)}): their weights are the base's, scaled "
                "(assumed)"
            )
        return notes


def calibrate(
    log: Any,
    base_path: str | Path,
    out_path: str | Path,
    *,
    source: str = "",
    hold: float = 0.0,
    seed: int = 0,
) -> Calibration:
    """Fit the market of the scenario at `base_path` to `log` (a `read_log` DataFrame);
    `out_path` is where its YAML will be written (policy paths are made relative to it).
    `hold` is the pending hold, in hours, of the platform the log comes from (Amazon's
    30 minutes): packing is fitted from its end, as the simulation adds each policy's
    own hold. `seed` fixes the bootstrap and the Monte Carlo of the fitted ship times."""
    base = load_study(base_path)
    scenario = base.scenario
    table = LogTable.of(log)
    value, rated = in_currency(
        table.value, table.currency, scenario.currency, scenario.exchange_rates
    )
    rng = np.random.default_rng(seed)
    arrivals = fit_arrivals(
        table.local_day(),
        table.local_hour(),
        table.span,
        list(scenario.orders.weekly_profile),
        list(scenario.orders.daily_profile),
    )
    kinds, kind = fit_kinds(table, arrivals, base, hold)
    _, counts = seller_facts(table)
    bands, observed, fitted = _ship_bands(table, (kind, kinds), counts, base, hold, rng)
    return Calibration(
        source=source,
        base=base,
        base_path=located(base_path, "scenario"),  # builtin:NAME as its bundled file
        out_path=Path(out_path),
        quality=table.quality(rated),
        span=table.span,
        arrivals=arrivals,
        values=fit_values(value),
        kinds=kinds,
        buyers=fit_cancels(table.status, table.cancelled_by, table.requested, table.reason),
        sellers_seen=len(counts),
        seller_counts=counts,
        bands=bands,
        ship_observed=observed,
        ship_fitted=fitted,
        hold=hold,
    )


def run_calibration(
    orders: str | Path,
    out: str | Path,
    base: str | Path,
    figure_dir: str | Path | None = None,
    hold: str | float = 0.0,
    seed: int = 0,
) -> Calibration:
    """`cancelsim calibrate`: read the order log, check it, fit, write the scenario to
    `out` (only once it loads back without error) and, with `figure_dir`, the fit figure
    there. `hold` is the log's platform's pending hold: hours, or a duration such as
    `30m`. A bad log, or a scenario that would not load, is an `InputError`; a file that
    cannot be written, an `OSError` naming it."""
    from sim.orderlog.log import check_log, read_log

    out = Path(out)
    hours = parse_duration(hold).hours if isinstance(hold, str) else float(hold)
    log = read_log(orders)
    check_log(orders, log)
    fit = calibrate(log, base, out, source=str(orders), hold=hours, seed=seed)
    write_scenario(fit.scenario_yaml(), out)
    if figure_dir is not None:
        fit.fit_figure(Path(figure_dir) / FIGURE_NAME)
    return fit


def write_scenario(text: str, out: Path) -> None:
    """Write `text` to `out` through a hidden partial file beside it, once it loads back:
    a scenario that does not is one problem per line, each naming `out`."""
    partial = out.with_name(f".{out.name}.partial")
    try:
        if out.parent.exists() and not out.parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(out.parent))
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error), str(out)) from error
    try:
        load_study(partial)
    except InputError as error:
        partial.unlink(missing_ok=True)
        why = "calibrate could not write a valid scenario from this log"
        raise InputError(
            [Problem(str(out), 0, 0, p.path, f"{why}: {p.message}") for p in error.problems]
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    try:
        os.replace(partial, out)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror or str(error), str(out)) from error


# ---------------------------------------------------------------------- ship times
def _ship_bands(
    table: LogTable,
    typed: tuple[np.ndarray, tuple[KindFit, ...]],
    counts: np.ndarray,
    study: Study,
    hold: float,
    rng: np.random.Generator,
) -> tuple[tuple[BandShip, ...], np.ndarray, np.ndarray]:
    """Observed and fitted ship-time quantiles per size band (orders a week), and a last
    row for every shipped order; `typed` is each order's type and the types."""
    kind, kinds = typed
    hours, event, usable = table.time_to_ship()
    observed, shipped = hours[usable], event[usable]
    fitted = np.empty(len(observed))
    u, lost = rng.random(len(fitted)), rng.random(len(fitted))
    local = table.local_h[usable]
    for i, fit in enumerate(kinds):
        mine = kind[usable] == i
        implied = implied_ship_hours(
            local[mine], hold + pack_hours(fit, study, u[mine]), pickup_times(fit, study)
        )
        fitted[mine] = np.where(lost[mine] < never_ships(fit, study), np.inf, implied)
    seller = table.seller[usable]
    weekly = counts / table.span.weeks
    lows = np.array(list(study.scenario.sellers.size_bands.values()))
    names = list(study.scenario.sellers.size_bands)
    band = table.of_seller(np.searchsorted(lows, weekly, "right") - 1, -1)[usable]
    rows = []
    for b, name in enumerate(names):
        mask = band == b
        if shipped[mask].sum() >= 2:
            rows.append(
                _band_row(name, observed[mask], shipped[mask], fitted[mask], seller[mask], rng)
            )
    if shipped.sum() >= 2:
        rows.append(_band_row("all orders", observed, shipped, fitted, seller, rng))
    return tuple(rows), observed[shipped], fitted[np.isfinite(fitted)]


def _band_row(
    name: str,
    observed: np.ndarray,
    shipped: np.ndarray,
    fitted: np.ndarray,
    seller: np.ndarray,
    rng: np.random.Generator,
) -> BandShip:
    return BandShip(
        band=name,
        sellers=len(np.unique(seller[seller >= 0])),
        observed=quantile_estimates(observed, shipped, seller, rng),
        fitted=tuple(float(x) for x in np.quantile(fitted, QUANTILES)),
    )


# ---------------------------------------------------------------------- report rows
DAILY_UNIT = "orders/h; fitted = observed on ordinary days, by construction"
WEEKLY_UNIT = "orders/day; fitted = observed, by construction"


def _report_rows(fit: Calibration) -> list[ProfileRow]:
    """Per observed hour and weekday, orders over the time the log observed of them."""
    a = fit.arrivals
    expected = a.expected_cells()
    hours = a.exposure.sum(axis=0)
    rows = [
        ProfileRow(
            "daily",
            f"{h:02d}:00",
            float(a.cells[:, h].sum() / hours[h]),
            float(expected[:, h].sum() / hours[h]),
            DAILY_UNIT,
            a.daily[h],
        )
        for h in range(24)
        if a.daily_seen[h]
    ]
    days = a.exposure.sum(axis=1) / 24
    for w in range(7):
        on = a.weekday == w
        if a.weekly_seen[w]:
            rows.append(
                ProfileRow(
                    "weekly",
                    WEEKDAYS[w],
                    float(a.cells[on].sum() / days[on].sum()),
                    float(expected[on].sum() / days[on].sum()),
                    WEEKLY_UNIT,
                    a.weekly[w],
                )
            )
    for p in a.promotions:
        rows.append(
            ProfileRow(
                "promotion",
                p.date.isoformat(),
                float(a.cells[p.day].sum()),
                p.fitted,
                "orders/day; fitted: the ordinary day x the multiplier",
                p.multiplier,
            )
        )
    for band in fit.bands:
        rough = " (approximate interval)" if "approximate" in band.observed[0].method else ""
        for q, obs, fitted in zip(QUANTILES, band.observed, band.fitted, strict=True):
            rows.append(
                ProfileRow(
                    "ship time", f"p{q * 100:.0f} {band.band}{rough}", obs.value, fitted, "h", obs
                )
            )
    return rows


def _estimate_rows(fit: Calibration) -> list[tuple[str, Estimate]]:
    from sim.calibrate.sellers_text import seller_count

    rows = [("orders.rate_per_hour", fit.arrivals.rate)]
    rows += [(f"promotion {p.date} multiplier", p.multiplier) for p in fit.arrivals.promotions]
    if fit.values is not None:
        rows += [
            ("orders.value median", fit.values.median),
            ("orders.value sigma", fit.values.sigma),
        ]
    count = seller_count(fit)
    if count.estimate is not None:
        rows.append(("sellers.count (seen + estimated without an order)", count.estimate))
    for fulfilment, sizes in size_fits(fit.kinds).items():
        rows.append((f"{fulfilment}-fulfilled size sigma", sizes.sigma))
    for k in fit.kinds:
        if k.pack is not None:
            rows += [(f"type {k.key}: pack_time median (h)", k.pack.median)]
            rows += [(f"type {k.key}: pack_time sigma", k.pack.sigma)]
        rows.append((f"type {k.key}: own cancel share", k.cancels.seller_total))
    rows.append(("buyer cancel share (95% low: bound on intent)", fit.buyers.buyer))
    return rows
