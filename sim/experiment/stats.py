"""Means and 95% t-intervals across replications, cut at the bounds a metric cannot leave."""

from __future__ import annotations

import math
from collections.abc import Sequence


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
