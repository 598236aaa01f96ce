"""A fitted number with its 95% interval, how the interval was made, and what it rests on.

Every quantity `calibrate` writes into a scenario is an `Estimate`; its `describe()` is
the comment beside it. The interval helpers are the classical ones: Wilson's score
interval for a share, Garwood's exact interval for a Poisson count, and standard errors
from the observed information of a maximum-likelihood fit (for Wald intervals).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # standard normal quantile at 0.975
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point estimate, its 95% interval, the interval's method and the count behind it."""

    value: float
    low: float
    high: float
    n: int
    method: str
    basis: str = "orders"  # what n counts: orders, sellers, days

    def covers(self, truth: float, widen: float = 1.0) -> bool:
        """True if `truth` lies in the interval, its half-widths scaled by `widen`."""
        low = self.value - widen * (self.value - self.low)
        high = self.value + widen * (self.high - self.value)
        return low <= truth <= high

    def describe(self, digits: int = 3, unit: str = "") -> str:
        """'22.1 orders/h (95% CI 21.8-22.4, Poisson exact; n = 28,473 orders)'."""
        tail = f" {unit}" if unit else ""
        return (
            f"{number(self.value, digits)}{tail} (95% CI {number(self.low, digits)}-"
            f"{number(self.high, digits)}, {self.method}; n = {self.n:,} {self.basis})"
        )

    def scaled(self, factor: float) -> Estimate:
        """The same estimate in other units (every bound times `factor` > 0)."""
        return Estimate(
            self.value * factor,
            self.low * factor,
            self.high * factor,
            self.n,
            self.method,
            self.basis,
        )


def number(x: float, digits: int = 3) -> str:
    """A short, readable number: 3 significant digits, thousands separated."""
    if not math.isfinite(x):
        return str(x)
    if x != 0 and abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def count(n: int, noun: str) -> str:
    """'1 seller', '2,991 orders'."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def wilson(k: np.ndarray | float, n: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's score interval for the share k/n (both bounds; 0 and 0 when n is 0)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    safe = np.maximum(n, 1.0)
    p = k / safe
    z2 = Z95**2
    centre = (p + z2 / (2 * safe)) / (1 + z2 / safe)
    half = Z95 * np.sqrt(p * (1 - p) / safe + z2 / (4 * safe**2)) / (1 + z2 / safe)
    low = np.where(k > 0, np.clip(centre - half, 0, 1), 0.0)  # exact at the edges
    high = np.where(k < n, np.clip(centre + half, 0, 1), 1.0)
    return np.where(n > 0, low, 0.0), np.where(n > 0, high, 0.0)


def share(k: int, n: int, method: str = "Wilson", basis: str = "orders") -> Estimate:
    """The share k/n with its Wilson interval."""
    low, high = wilson(k, n)
    return Estimate(k / n if n else 0.0, float(low), float(high), n, method, basis)


def garwood(k: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Garwood's exact 95% interval for the mean of a Poisson count k."""
    from scipy.stats import chi2

    k = np.asarray(k, dtype=float)
    low = np.where(k > 0, chi2.ppf(0.025, 2 * k) / 2, 0.0)
    high = chi2.ppf(0.975, 2 * (k + 1)) / 2
    return low, high


def widened(value: float, low: float, high: float, factor: float) -> tuple[float, float]:
    """An interval's half-widths scaled by `factor` (>= 1) around `value`, kept >= 0."""
    return max(0.0, value - factor * (value - low)), value + factor * (high - value)


def standard_errors(
    loss: Callable[[np.ndarray], float], theta: np.ndarray, step: float = 1e-4
) -> np.ndarray:
    """Standard errors of a minimum `theta` of a negative log-likelihood `loss`, from the
    inverse of the observed information (central differences); inf where it is singular."""
    k = len(theta)
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * step, np.eye(k)[j] * step
            hessian[i, j] = (
                loss(theta + e_i + e_j)
                - loss(theta + e_i - e_j)
                - loss(theta - e_i + e_j)
                + loss(theta - e_i - e_j)
            ) / (4 * step * step)
    try:
        diagonal = np.diag(np.linalg.inv(hessian))
    except np.linalg.LinAlgError:
        return np.full(k, math.inf)
    return np.where(diagonal > 0, np.sqrt(np.abs(diagonal)), math.inf)
