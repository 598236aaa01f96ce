"""Order values: a lognormal in the scenario's currency, fitted to the log's positive values.

Values in another currency are converted with the base scenario's exchange rates (a
currency it has no rate for is left out, and counted). The lognormal's median and sigma
are the exponential of the mean and the standard deviation of log values; intervals are
Student's t for the mean and chi-square for the standard deviation (exact for lognormal
values; the shape itself is assumed, not tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.calibrate.estimate import Estimate


@dataclass(frozen=True)
class ValueFit:
    median: Estimate
    sigma: Estimate


def in_currency(
    value: np.ndarray, currency: np.ndarray, target: str, rates: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Values in `target` (NaN where no rate converts them), and which could be."""
    factor = np.array(
        [1.0 if c in ("", target.lower()) else rates.get(c.upper(), math.nan) for c in currency]
    )
    return value * factor, ~np.isnan(factor)


def fit_values(values: np.ndarray) -> ValueFit | None:
    """The lognormal of the positive, known values; None with fewer than two."""
    from scipy.stats import chi2, t

    positive = values[np.isfinite(values) & (values > 0)]
    n = len(positive)
    if n < 2:
        return None
    logs = np.log(positive)
    mean, sd = float(logs.mean()), float(logs.std(ddof=1))
    half = float(t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    scale = (n - 1) * sd**2
    return ValueFit(
        median=Estimate(
            math.exp(mean), math.exp(mean - half), math.exp(mean + half), n, "Student t on logs"
        ),
        sigma=Estimate(
            sd,
            math.sqrt(scale / float(chi2.ppf(0.975, n - 1))),
            math.sqrt(scale / float(chi2.ppf(0.025, n - 1))),
            n,
            "chi-square on logs",
        ),
    )
