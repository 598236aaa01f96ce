"""Means and 95% t-intervals across replications, cut at the bounds a metric cannot leave."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.engine.result import quantile_from_hist


def flat_around(hist: np.ndarray, q: float, share: float = 0.02) -> list[float] | None:
    """Where a quantile of a refund-time histogram is fragile: if the refunds within
    `share` of it on either side (the q - share and q + share quantiles) span more than a
    factor of 3 and more than a quarter of an hour, few refunds lie near it (the
    distribution is flat there, between two groups), and a small change of the runs moves
    it far. Returns that span, or None where the quantile is well placed (or undefined)."""
    if not hist.sum() or not share < q < 1 - share:
        return None
    low = quantile_from_hist(hist, q - share)
    high = quantile_from_hist(hist, q + share)
    return [low, high] if far_apart(low, high) else None


def far_apart(low: float, high: float) -> bool:
    """More than a quarter of an hour and more than a factor of 3 between two times."""
    return high - low > 0.25 and high > 3 * low


def mean_ci(
    values: Sequence[float],
    level: float = 0.95,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> tuple[float, list[float] | None]:
    """Mean and two-sided t confidence interval; no interval from fewer than 2 values.

    The interval is cut at `bounds`, the values the metric cannot leave (a share lies in
    [0, 1], a time is not negative): a t-interval of a few replications near a bound
    would otherwise reach past it. NaN values (a metric undefined in a run, such as a
    percentile with no refunds) are left out; if all are NaN the mean is NaN.
    """
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return math.nan, None
    n = len(finite)
    mean = math.fsum(finite) / n
    if n < 2:
        return mean, None
    from scipy.stats import t

    variance = math.fsum((v - mean) ** 2 for v in finite) / (n - 1)
    half = float(t.ppf(0.5 + level / 2, n - 1)) * math.sqrt(variance / n)
    low, high = bounds
    return mean, [max(mean - half, low), min(mean + half, high)]
