"""Arrival rate, daily and weekly profiles, and promotion days, from orders per local hour.

The model is the scenario's own (`sim.engine.arrivals`): the orders of local hour h of
day d are Poisson with mean r * a_h * b_w(d) * m_d, where the daily profile a and the
weekly profile b have mean 1 and m_d is 1 except on promotion days. Over a grid of whole
days the maximum-likelihood fit is closed form: a_h is 24 times hour h's share of the
ordinary days' orders, b_w is weekday w's mean ordinary day over the mean of the seven,
and r is the ordinary orders over their exposure, 24 * sum of b over the ordinary days.

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
CHI2_1_MEDIAN = 0.45493642311957283  # median of a chi-square with 1 degree of freedom
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class PromotionFit:
    """A day whose orders are an outlier: its multiplier over the ordinary expectation."""

    day: int  # index in the span
    date: dt.date
    multiplier: Estimate
    p_value: float  # one-sided, before the Bonferroni correction
    expected: float  # orders the ordinary fit expects that day


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

    @property
    def ordinary(self) -> np.ndarray:
        return self.multiplier == 1.0

    def expected_cells(self) -> np.ndarray:
        """Orders per (day, hour) that the fitted scenario expects, promotions included."""
        a = np.array([e.value for e in self.daily])
        b = np.array([e.value for e in self.weekly])
        day_factor = b[self.weekday] * self.multiplier
        return self.rate.value * day_factor[:, None] * a[None, :]


def fit_arrivals(
    day: np.ndarray, hour: np.ndarray, span: Span, base_weekly: list[float]
) -> ArrivalFit:
    """Fit the order stream to orders' local days and hours (both from their own offset)."""
    cells = np.zeros((span.days, 24))
    np.add.at(cells, (day, hour), 1.0)
    weekday = span.weekdays()
    totals = cells.sum(axis=1)
    promo = np.zeros(span.days, dtype=bool)
    for _ in range(MAX_ROUNDS):
        expected = _ordinary_expectation(totals, weekday, ~promo, base_weekly)
        phi = _robust_dispersion(totals[~promo], expected[~promo])
        p_value = upper_tail(totals, expected, phi)
        flagged = (p_value < ALPHA / span.days) & (totals >= MIN_LIFT * expected)
        if flagged.all() or (flagged == promo).all():
            break
        promo = flagged
    expected = _ordinary_expectation(totals, weekday, ~promo, base_weekly)
    p_value = upper_tail(totals, expected, _robust_dispersion(totals[~promo], expected[~promo]))
    return _fit(cells, weekday, promo, expected, p_value, span, base_weekly)


def _fit(
    cells: np.ndarray,
    weekday: np.ndarray,
    promo: np.ndarray,
    expected: np.ndarray,
    p_value: np.ndarray,
    span: Span,
    base_weekly: list[float],
) -> ArrivalFit:
    totals = cells.sum(axis=1)
    weights, seen, mean_day = weekly_weights(totals, weekday, ~promo, base_weekly)
    day_phi = _pearson_dispersion(totals[~promo], expected[~promo], int(seen.sum()))
    hours = cells[~promo]
    daily = _daily(hours)
    a = np.array([e.value for e in daily])
    hour_expected = hours.sum(axis=1, keepdims=True) * a[None, :] / 24
    hour_phi = _pearson_dispersion(
        hours.ravel(), hour_expected.ravel(), len(hours) + 23, minimum_mean=0.0
    )
    if hour_phi > 1:
        daily = _widen_all(daily, hour_phi, "for hour-to-hour overdispersion")
    multiplier = np.ones(span.days)
    promotions = []
    same_days = np.bincount(weekday[~promo], minlength=7)
    same_orders = np.bincount(weekday[~promo], weights=totals[~promo], minlength=7)
    for d in np.flatnonzero(promo).tolist():
        w = weekday[d]
        fit = _promotion(
            int(totals[d]), float(expected[d]), same_orders[w], int(same_days[w]), day_phi
        )
        multiplier[d] = fit.value
        promotions.append(PromotionFit(d, span.date(d), fit, float(p_value[d]), expected[d]))
    return ArrivalFit(
        rate=_rate(totals[~promo], weights[weekday[~promo]], day_phi),
        daily=daily,
        weekly=_weekly(totals, weekday, ~promo, (weights, seen, mean_day), day_phi),
        weekly_seen=tuple(bool(s) for s in seen),
        promotions=tuple(promotions),
        day_dispersion=day_phi,
        hour_dispersion=hour_phi,
        cells=cells,
        weekday=weekday,
        multiplier=multiplier,
    )


def weekly_weights(
    totals: np.ndarray, weekday: np.ndarray, ordinary: np.ndarray, base: list[float]
) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean-1 weekday weights from the ordinary days, which weekdays had any, and the
    mean day's orders they are relative to. A weekday without an ordinary day takes the
    base's weight, scaled to the seen ones."""
    n = np.bincount(weekday[ordinary], minlength=7)
    sums = np.bincount(weekday[ordinary], weights=totals[ordinary], minlength=7)
    seen = n > 0
    mean_day = np.where(seen, sums / np.maximum(n, 1), 0.0)
    base_w = np.asarray(base, dtype=float)
    if not seen.all() and base_w[seen].sum() > 0:
        scale = mean_day[seen].mean() / base_w[seen].mean()
        mean_day = np.where(seen, mean_day, base_w * scale)
    if mean_day.sum() <= 0:  # no ordinary orders at all: nothing to shape the week
        return np.ones(7), seen, 0.0
    return mean_day / mean_day.mean(), seen, float(mean_day.mean())


def _ordinary_expectation(
    totals: np.ndarray, weekday: np.ndarray, ordinary: np.ndarray, base: list[float]
) -> np.ndarray:
    """Each day's expected orders under the fit to the ordinary days."""
    weights, _, _ = weekly_weights(totals, weekday, ordinary, base)
    exposure = 24 * weights[weekday[ordinary]].sum()
    rate = totals[ordinary].sum() / exposure if exposure > 0 else 0.0
    return rate * 24 * weights[weekday]


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


def _rate(totals: np.ndarray, day_weights: np.ndarray, phi: float) -> Estimate:
    count = float(totals.sum())
    exposure = 24 * float(day_weights.sum())
    poisson_low, poisson_high = garwood(count)
    value = count / exposure
    low, high = widened(
        value, float(poisson_low) / exposure, float(poisson_high) / exposure, math.sqrt(phi)
    )
    method = _note("Poisson exact (Garwood)", phi, "for day-to-day overdispersion")
    return Estimate(value, low, high, int(count), method)


def _daily(hours: np.ndarray) -> tuple[Estimate, ...]:
    """24 x each hour's share of the ordinary days' orders, Wilson intervals."""
    per_hour = hours.sum(axis=0)
    total = float(per_hour.sum())
    if total == 0:
        return tuple(Estimate(1.0, 1.0, 1.0, 0, "no ordinary orders") for _ in range(24))
    low, high = wilson(per_hour, total)
    method = "Wilson on the hour's share, x24"
    return tuple(
        Estimate(24 * k / total, 24 * float(lo), 24 * float(hi), int(k), method)
        for k, lo, hi in zip(per_hour, low, high, strict=True)
    )


def _widen_all(estimates: tuple[Estimate, ...], phi: float, why: str) -> tuple[Estimate, ...]:
    out = []
    for e in estimates:
        low, high = widened(e.value, e.low, e.high, math.sqrt(phi))
        out.append(Estimate(e.value, low, high, e.n, _note(e.method, phi, why), e.basis))
    return tuple(out)


def _weekly(
    totals: np.ndarray,
    weekday: np.ndarray,
    ordinary: np.ndarray,
    fitted: tuple[np.ndarray, np.ndarray, float],
    phi: float,
) -> tuple[Estimate, ...]:
    """Each weekday's weight, b_w = (its orders / its days) / the mean day, with a Wilson
    interval on its share of the ordinary orders mapped through that formula (the mean
    day held fixed)."""
    weights, seen, mean_day = fitted
    n = np.bincount(weekday[ordinary], minlength=7)
    sums = np.bincount(weekday[ordinary], weights=totals[ordinary], minlength=7)
    total = float(sums.sum())
    low, high = wilson(sums, total)
    method = _note("Wilson on the weekday's share", phi, "for day-to-day overdispersion")
    out = []
    for w in range(7):
        if not seen[w] or mean_day <= 0:
            assumed = "assumed: the base's weight (no ordinary day of this weekday in the log)"
            out.append(Estimate(float(weights[w]), math.nan, math.nan, 0, assumed))
            continue
        per_share = total / (n[w] * mean_day)
        lo, hi = widened(weights[w], low[w] * per_share, high[w] * per_share, math.sqrt(phi))
        out.append(Estimate(float(weights[w]), lo, hi, int(sums[w]), method))
    return tuple(out)


def _promotion(count: int, expected: float, ordinary: float, days: int, phi: float) -> Estimate:
    """The day's multiplier over its weekday's ordinary mean (`ordinary` orders on `days`
    ordinary days of that weekday): the ratio of two Poisson rates, by Wilson's interval
    on the day's share of both counts (which, given their sum, is binomial), widened by
    sqrt(phi) where days vary more than Poisson. Without an ordinary day of that weekday,
    Garwood's interval on the day alone, the expectation held fixed."""
    if days == 0 or ordinary == 0:
        poisson_low, poisson_high = garwood(count)
        method = "Poisson exact on the day's count, the expectation held fixed"
        return Estimate(
            count / expected,
            float(poisson_low) / expected,
            float(poisson_high) / expected,
            count,
            method,
        )
    p_low, p_high = wilson(count, count + ordinary)
    value = count * days / ordinary
    low, high = widened(
        value, _odds(float(p_low), days), _odds(float(p_high), days), math.sqrt(phi)
    )
    method = _note(
        f"ratio of Poisson rates against the {days} ordinary same weekdays (Wilson)",
        phi,
        "for day-to-day overdispersion",
    )
    return Estimate(value, low, high, count, method)


def _odds(p: float, days: int) -> float:
    """The multiplier a day's share p of (day + `days` ordinary days) stands for."""
    return days * p / (1 - p) if p < 1 else math.inf
