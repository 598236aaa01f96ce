"""Arrival rate, daily and weekly profiles, and promotion days, from orders per local hour.

The model is the scenario's own (`sim.engine.arrivals`): the orders of local hour h of
day d are Poisson with mean r * a_h * b_w(d) * m_d * e_dh, where the daily profile a
and the weekly profile b have mean 1, m_d is 1 except on promotion days, and e_dh is
the share of that hour the log observed (`Span.exposure`: a log runs from its first
order to its last, not over the whole days around them). The maximum-likelihood fit to
the ordinary days is by iterative proportional fitting (a and the weekdays' levels in
turn, each the orders over their exposure; with every hour observed it is closed form
after one round: a_h is 24 times hour h's share of the orders, b_w is weekday w's mean
day over the mean of the seven), and r is the ordinary orders over their exposure
weighted by the profiles. A local hour or weekday the log did not observe (or hardly:
less than MIN_HOUR_OBSERVED and MIN_WEEKDAY_OBSERVED hours in all) keeps the base
scenario's weight, scaled to the observed ones, and is marked assumed.

Promotion days are outliers of that fit, tested one-sided: a day is one when the chance
of at least its count under the fitted mean is below ALPHA / days (Bonferroni: at most a
1% chance of flagging any ordinary day of the log) and its count is at least MIN_LIFT
times the mean. Where days vary more than Poisson allows, the test uses a negative
binomial with the dispersion phi of the ordinary days (robustly, from the median squared
Pearson residual, so that the promotions themselves do not hide each other). Flagged
days leave the fit, which is repeated until the flagged set stops changing.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from sim.calibrate.estimate import Estimate, garwood, widened, wilson
from sim.calibrate.logtable import Span

ALPHA = 0.01  # family-wise chance of flagging an ordinary day as a promotion
MIN_LIFT = 1.25  # a promotion at least multiplies the day's orders by this
MAX_ROUNDS = 20
FIT_ROUNDS = 500  # iterative proportional fitting: at most this many rounds
FIT_TOLERANCE = 1e-12
# observed less than this in all, a local hour or a weekday keeps the base's weight: a few
# minutes without an order would otherwise write a weight of 0 (no orders ever then)
MIN_HOUR_OBSERVED = 0.5  # hours, over all the ordinary days
MIN_WEEKDAY_OBSERVED = 12.0  # hours, over that weekday's ordinary days
CHI2_1_MEDIAN = 0.45493642311957283  # median of a chi-square with 1 degree of freedom
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
UNSEEN_HOUR = "assumed: the base's weight, scaled (the log hardly observed this hour)"
UNSEEN_WEEKDAY = "assumed: the base's weight, scaled (the log hardly observed this weekday)"


@dataclass(frozen=True)
class PromotionFit:
    """A day whose orders are an outlier: its multiplier over the ordinary expectation."""

    day: int  # index in the span
    date: dt.date
    multiplier: Estimate
    p_value: float  # one-sided, before the Bonferroni correction
    expected: float  # orders the ordinary fit expects that day

    @property
    def fitted(self) -> float:
        """Orders the fitted scenario expects that day: the ordinary day x multiplier."""
        return self.expected * self.multiplier.value


@dataclass(frozen=True)
class ArrivalFit:
    """The fitted order stream, and the counts it was fitted to."""

    rate: Estimate  # orders per hour before profiles and promotions
    daily: tuple[Estimate, ...]  # 24 weights of mean 1, local hours 00..23
    weekly: tuple[Estimate, ...]  # 7 weights of mean 1, Monday..Sunday
    weekly_seen: tuple[bool, ...]  # False: no ordinary day of that weekday (base weight)
    promotions: tuple[PromotionFit, ...]
    day_dispersion: float  # Pearson phi of the ordinary days' totals (1 = Poisson)
    hour_dispersion: float  # Pearson phi of the hours within ordinary days
    cells: np.ndarray  # orders per (day, local hour)
    weekday: np.ndarray  # weekday of each day
    multiplier: np.ndarray  # 1 on ordinary days, the fitted multiplier on promotions
    exposure: np.ndarray  # (day, local hour): the share of it the log observed
    daily_seen: tuple[bool, ...] = (True,) * 24  # False: never observed (base weight)

    @property
    def ordinary(self) -> np.ndarray:
        return self.multiplier == 1.0

    @property
    def tested_days(self) -> int:
        """Days the log observed any of (each tested for a promotion)."""
        return int((self.exposure.sum(axis=1) > 0).sum())

    def expected_cells(self) -> np.ndarray:
        """Orders per (day, hour) that the fitted scenario expects over the hours the log
        observed, promotions included."""
        a = np.array([e.value for e in self.daily])
        b = np.array([e.value for e in self.weekly])
        day_factor = b[self.weekday] * self.multiplier
        return self.rate.value * day_factor[:, None] * a[None, :] * self.exposure


@dataclass(frozen=True)
class Profiles:
    """The fit to the ordinary days: mean-1 weights, the rate, and what was observed."""

    daily: np.ndarray  # 24
    weekly: np.ndarray  # 7
    rate: float  # orders per hour
    daily_seen: np.ndarray
    weekly_seen: np.ndarray

    def day_expected(self, exposure: np.ndarray, weekday: np.ndarray) -> np.ndarray:
        """Each day's ordinary expected orders over the hours observed of it."""
        return self.rate * self.weekly[weekday] * (exposure * self.daily[None, :]).sum(axis=1)


def fit_arrivals(
    day: np.ndarray,
    hour: np.ndarray,
    span: Span,
    base_weekly: list[float],
    base_daily: list[float] | None = None,
) -> ArrivalFit:
    """Fit the order stream to orders' local days and hours (both from their own offset);
    the base's profiles stand in for hours and weekdays the log never observed."""
    cells = np.zeros((span.days, 24))
    np.add.at(cells, (day, hour), 1.0)
    exposure = span.exposure()
    weekday = span.weekdays()
    bases = (
        np.ones(24) if base_daily is None else np.asarray(base_daily, dtype=float),
        np.asarray(base_weekly, dtype=float),
    )
    totals = cells.sum(axis=1)
    tested = exposure.sum(axis=1) > 0
    promo = np.zeros(span.days, dtype=bool)
    for _ in range(MAX_ROUNDS):
        expected = fit_profiles(cells, exposure, weekday, ~promo, bases).day_expected(
            exposure, weekday
        )
        ordinary = tested & ~promo
        phi = _robust_dispersion(totals[ordinary], expected[ordinary])
        p_value = upper_tail(totals, expected, phi)
        flagged = (
            tested & (p_value < ALPHA / max(int(tested.sum()), 1)) & (totals >= MIN_LIFT * expected)
        )
        if flagged[tested].all() or (flagged == promo).all():
            break
        promo = flagged
    profiles = fit_profiles(cells, exposure, weekday, ~promo, bases)
    expected = profiles.day_expected(exposure, weekday)
    ordinary = tested & ~promo
    p_value = upper_tail(totals, expected, _robust_dispersion(totals[ordinary], expected[ordinary]))
    return _fit(cells, exposure, weekday, promo, (profiles, expected, p_value), span)


def fit_profiles(
    cells: np.ndarray,
    exposure: np.ndarray,
    weekday: np.ndarray,
    ordinary: np.ndarray,
    bases: tuple[np.ndarray, np.ndarray],
) -> Profiles:
    """The maximum-likelihood weights and rate of the `ordinary` days, by iterative
    proportional fitting; hours and weekdays never observed take the base's weights
    (`bases`: daily, weekly), scaled to the observed ones."""
    c, e, w = cells[ordinary], exposure[ordinary], weekday[ordinary]
    by_hour = c.sum(axis=0)
    by_weekday = np.bincount(w, weights=c.sum(axis=1), minlength=7)
    daily_seen = e.sum(axis=0) >= MIN_HOUR_OBSERVED
    weekly_seen = np.bincount(w, weights=e.sum(axis=1), minlength=7) >= MIN_WEEKDAY_OBSERVED
    a, level = np.ones(24), np.zeros(7)
    for _ in range(FIT_ROUNDS):
        reach = np.bincount(w, weights=(e * a[None, :]).sum(axis=1), minlength=7)
        level = np.divide(by_weekday, reach, out=np.zeros(7), where=reach > 0)
        reach_h = (e * level[w][:, None]).sum(axis=0)
        new = np.divide(by_hour, reach_h, out=a.copy(), where=reach_h > 0)
        done = np.allclose(new, a, rtol=FIT_TOLERANCE, atol=0.0)
        a = new
        if done:
            break
    daily = _mean_one(_filled(a, daily_seen, bases[0]))
    weekly = _mean_one(_filled(level, weekly_seen, bases[1]))
    weighted = float((e * daily[None, :] * weekly[w][:, None]).sum())
    rate = float(c.sum()) / weighted if weighted > 0 else 0.0
    return Profiles(daily, weekly, rate, daily_seen, weekly_seen)


def _filled(values: np.ndarray, seen: np.ndarray, base: np.ndarray) -> np.ndarray:
    """`values` where seen; elsewhere the base's, scaled so that the seen ones keep their
    mean relative to the base's seen ones (the base's alone when none was seen)."""
    if seen.all():
        return values
    if not seen.any():
        return base.astype(float) if base.sum() > 0 else values
    scale = values[seen].mean() / base[seen].mean() if base[seen].sum() > 0 else 0.0
    return np.where(seen, values, base * scale if scale > 0 else values[seen].mean())


def _mean_one(values: np.ndarray) -> np.ndarray:
    """Weights of mean 1 (all 1 when there is nothing to shape them)."""
    return values / values.mean() if values.sum() > 0 else np.ones(len(values))


def _fit(
    cells: np.ndarray,
    exposure: np.ndarray,
    weekday: np.ndarray,
    promo: np.ndarray,
    fitted: tuple[Profiles, np.ndarray, np.ndarray],
    span: Span,
) -> ArrivalFit:
    profiles, expected, p_value = fitted
    totals = cells.sum(axis=1)
    ordinary = ~promo & (exposure.sum(axis=1) > 0)
    day_phi = _pearson_dispersion(
        totals[ordinary], expected[ordinary], int(profiles.weekly_seen.sum())
    )
    hours, e = cells[ordinary], exposure[ordinary]
    shape = e * profiles.daily[None, :]
    reach = shape.sum(axis=1, keepdims=True)
    hour_expected = np.divide(
        hours.sum(axis=1, keepdims=True) * shape, reach, out=np.zeros_like(shape), where=reach > 0
    )
    hour_phi = _pearson_dispersion(
        hours.ravel(),
        hour_expected.ravel(),
        len(hours) + int(profiles.daily_seen.sum()) - 1,
        minimum_mean=0.0,
    )
    daily = _daily(hours, e, weekday[ordinary], profiles)
    if hour_phi > 1:
        daily = _widen_all(daily, hour_phi, "for hour-to-hour overdispersion")
    multiplier = np.ones(span.days)
    promotions = []
    for d in np.flatnonzero(promo).tolist():
        fit = _promotion(d, totals, exposure, weekday, (ordinary, profiles), day_phi)
        multiplier[d] = fit.value
        promotions.append(PromotionFit(d, span.date(d), fit, float(p_value[d]), expected[d]))
    weighted = float(
        (e * profiles.daily[None, :] * profiles.weekly[weekday[ordinary]][:, None]).sum()
    )
    return ArrivalFit(
        rate=_rate(float(totals[ordinary].sum()), weighted, day_phi),
        daily=daily,
        weekly=_weekly(totals[ordinary], e, weekday[ordinary], profiles, day_phi),
        weekly_seen=tuple(bool(s) for s in profiles.weekly_seen),
        promotions=tuple(promotions),
        day_dispersion=day_phi,
        hour_dispersion=hour_phi,
        cells=cells,
        weekday=weekday,
        multiplier=multiplier,
        exposure=exposure,
        daily_seen=tuple(bool(s) for s in profiles.daily_seen),
    )


def upper_tail(counts: np.ndarray, expected: np.ndarray, phi: float) -> np.ndarray:
    """P(at least `counts`) under a Poisson of mean `expected`, or, where phi > 1, a
    negative binomial of that mean and variance phi * mean; 1 where nothing is expected."""
    from scipy.stats import nbinom, poisson

    mean = np.maximum(expected, 1e-12)
    if phi <= 1:
        p = poisson.sf(counts - 1, mean)
    else:
        p = nbinom.sf(counts - 1, mean / (phi - 1), 1 / phi)
    return np.where(expected > 0, p, 1.0)


def _robust_dispersion(counts: np.ndarray, expected: np.ndarray) -> float:
    """phi from the median squared Pearson residual (robust to a few outlying days)."""
    keep = expected > 0
    if keep.sum() < 3:
        return 1.0
    squared = (counts[keep] - expected[keep]) ** 2 / expected[keep]
    return max(1.0, float(np.median(squared)) / CHI2_1_MEDIAN)


def _pearson_dispersion(
    counts: np.ndarray, expected: np.ndarray, parameters: int, minimum_mean: float = 0.0
) -> float:
    """Pearson's chi-square over its degrees of freedom, at least 1 (1 = Poisson)."""
    keep = expected > minimum_mean
    df = int(keep.sum()) - parameters
    if df <= 0:
        return 1.0
    chi2 = float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())
    return max(1.0, chi2 / df)


def _note(method: str, phi: float, why: str) -> str:
    return f"{method}, widened x{math.sqrt(phi):.2f} {why}" if phi > 1 else method


def _rate(count: float, exposure: float, phi: float) -> Estimate:
    """Orders over their exposure (observed hours weighted by the profiles)."""
    poisson_low, poisson_high = garwood(count)
    value = count / exposure if exposure > 0 else 0.0
    scale = 1 / exposure if exposure > 0 else 0.0
    low, high = widened(
        value, float(poisson_low) * scale, float(poisson_high) * scale, math.sqrt(phi)
    )
    method = _note(
        f"Poisson exact (Garwood), over {exposure:,.0f} observed hours weighted by the profiles",
        phi,
        "for day-to-day overdispersion",
    )
    return Estimate(value, low, high, int(count), method)


def _daily(
    hours: np.ndarray, exposure: np.ndarray, weekday: np.ndarray, fit: Profiles
) -> tuple[Estimate, ...]:
    """Each hour's weight, a_h = its orders over its exposure (each observed day weighted
    by its weekday's level), with a Wilson interval on its share of the ordinary orders
    mapped through that formula (the rest held fixed)."""
    per_hour = hours.sum(axis=0)
    total = float(per_hour.sum())
    if total == 0:
        return tuple(Estimate(1.0, 1.0, 1.0, 0, "no ordinary orders") for _ in range(24))
    reach = fit.rate * (exposure * fit.weekly[weekday][:, None]).sum(axis=0)
    low, high = wilson(per_hour, total)
    method = "Wilson on the hour's share, over its exposure"
    out = []
    for h in range(24):
        if not fit.daily_seen[h]:
            out.append(Estimate(float(fit.daily[h]), math.nan, math.nan, 0, UNSEEN_HOUR))
            continue
        per_share = total / reach[h]
        value = float(fit.daily[h])
        out.append(
            Estimate(value, low[h] * per_share, high[h] * per_share, int(per_hour[h]), method)
        )
    return tuple(out)


def _widen_all(estimates: tuple[Estimate, ...], phi: float, why: str) -> tuple[Estimate, ...]:
    out = []
    for e in estimates:
        if math.isnan(e.low):  # assumed: no interval to widen
            out.append(e)
            continue
        low, high = widened(e.value, e.low, e.high, math.sqrt(phi))
        out.append(Estimate(e.value, low, high, e.n, _note(e.method, phi, why), e.basis))
    return tuple(out)


def _weekly(
    totals: np.ndarray,
    exposure: np.ndarray,
    weekday: np.ndarray,
    fit: Profiles,
    phi: float,
) -> tuple[Estimate, ...]:
    """Each weekday's weight, b_w = its orders over its exposure (each observed hour
    weighted by its daily weight), relative to the mean weekday; a Wilson interval on its
    share of the ordinary orders mapped through that formula (the rest held fixed).
    `totals`, `exposure` and `weekday` are of the ordinary days."""
    sums = np.bincount(weekday, weights=totals, minlength=7)
    reach = fit.rate * np.bincount(
        weekday, weights=(exposure * fit.daily[None, :]).sum(axis=1), minlength=7
    )
    total = float(sums.sum())
    low, high = wilson(sums, total)
    method = _note("Wilson on the weekday's share", phi, "for day-to-day overdispersion")
    out = []
    for w in range(7):
        value = float(fit.weekly[w])
        if not fit.weekly_seen[w] or total <= 0:
            out.append(Estimate(value, math.nan, math.nan, 0, UNSEEN_WEEKDAY))
            continue
        per_share = total / reach[w]
        lo, hi = widened(value, low[w] * per_share, high[w] * per_share, math.sqrt(phi))
        out.append(Estimate(value, lo, hi, int(sums[w]), method))
    return tuple(out)


def _promotion(
    d: int,
    totals: np.ndarray,
    exposure: np.ndarray,
    weekday: np.ndarray,
    fitted: tuple[np.ndarray, Profiles],
    phi: float,
) -> Estimate:
    """Day d's multiplier over its weekday's ordinary days: the ratio of two Poisson
    rates, each day's orders over its exposure (its observed hours weighted by the daily
    profile), by Wilson's interval on the day's share of both counts (which, given their
    sum, is binomial), widened by sqrt(phi) where days vary more than Poisson. Without an
    ordinary day of that weekday, Garwood's interval on the day alone, the expectation
    held fixed."""
    ordinary, fit = fitted
    count = int(totals[d])
    reach = (exposure * fit.daily[None, :]).sum(axis=1)
    same = ordinary & (weekday == weekday[d])
    days, others = int(same.sum()), float(totals[same].sum())
    if days == 0 or others == 0:
        expected = float(fit.day_expected(exposure[d : d + 1], weekday[d : d + 1])[0])
        poisson_low, poisson_high = garwood(count)
        method = "Poisson exact on the day's count, the expectation held fixed"
        return Estimate(
            count / expected,
            float(poisson_low) / expected,
            float(poisson_high) / expected,
            count,
            method,
        )
    ratio = float(reach[same].sum() / reach[d])  # the ordinary days' exposure over the day's
    p_low, p_high = wilson(count, count + others)
    value = count / others * ratio
    low, high = widened(
        value, _odds(float(p_low), ratio), _odds(float(p_high), ratio), math.sqrt(phi)
    )
    method = _note(
        f"ratio of Poisson rates against the {days} ordinary same weekdays (Wilson)",
        phi,
        "for day-to-day overdispersion",
    )
    return Estimate(value, low, high, count, method)


def _odds(p: float, ratio: float) -> float:
    """The multiplier a day's share p of (day + ordinary days) stands for, where the
    ordinary days had `ratio` times the day's exposure."""
    return ratio * p / (1 - p) if p < 1 else math.inf
