"""Seller sizes: a lognormal of sellers' expected orders, seen through Poisson counts.

A seller's orders over the log, k, are Poisson with mean lambda, and log lambda is
normal (mu, sigma) across the sellers of a kind: the scenario's lognormal popularity.
Sellers without an order are not in the log, so each seller's likelihood is zero-
truncated, P(k) / (1 - P(0)), with P(k) the Poisson-lognormal marginal: the Poisson
probability integrated over the lognormal, by Gauss-Hermite quadrature centred on each
integrand's mode (adaptive, so that a seller with 10,000 orders is as exact as one with
one). sigma's interval is the profile likelihood's: mu re-fitted at each sigma, the
bounds where twice the log-likelihood's drop reaches 3.84 (chi-square, 1 df, 95%).

What the counts tell: sigma, from the spread of the counts beyond Poisson noise (a
seller with one order is no evidence of sigma 0: one order is likely from a small seller
and from a middling one); and mu, the scale, which the scenario normalises away. From
both, the sellers who had no order at all, n P(0) / (1 - P(0)) for n sellers seen, with
an interval from the ends of sigma's (mu re-fitted there): it rests on the lognormal's
lower tail, which no seller in the log shows. What the counts cannot tell: whether the
tail is lognormal rather than another heavy tail (the figure compares). Every seller is
taken to have been open over the whole log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.calibrate.estimate import Z95, Estimate, standard_errors
from sim.model.scenario import MAX_SIZE_SIGMA

NODES = 24  # Gauss-Hermite nodes around each integrand's mode
SIGMA_BOUNDS = (0.01, 6.0)
CHI2_1_95 = 3.841458820694124
IMPOSSIBLE = -1e300  # a finite log-likelihood for impossible parameters (optimisers need one)
PROFILE = "profile likelihood, zero-truncated Poisson-lognormal"


@dataclass(frozen=True)
class SizeFit:
    """The lognormal of one kind's sellers' sizes, fitted to their order counts."""

    counts: np.ndarray  # orders of each seller seen
    mu: float  # log of the median seller's expected orders over the log
    sigma: Estimate  # of the log of sellers' sizes
    median: Estimate  # the median seller's expected orders (over the log)
    unseen: float  # sellers with no order in the log, expected under the fit
    unseen_range: tuple[float, float] = (math.nan, math.nan)  # at sigma's 95% bounds

    @property
    def sellers(self) -> int:
        return len(self.counts)

    @property
    def identified(self) -> bool:
        """False when the counts allow anything from equal sellers to a sigma beyond the
        scenario's limit (say, every seller with one order)."""
        at_floor = self.sigma.low <= SIGMA_BOUNDS[0] * 1.01
        return not (at_floor and self.sigma.high >= MAX_SIZE_SIGMA)


def log_pln(k: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """log P(k) of the Poisson-lognormal: Poisson(k | e^x), x ~ normal(mu, sigma)."""
    from scipy.special import gammaln, logsumexp

    k = np.asarray(k, dtype=float)
    s2 = sigma**2
    x = (np.log(np.maximum(k, 0.5)) * k + mu / s2) / (k + 1 / s2)  # near the mode
    for _ in range(100):  # Newton on the concave log-integrand
        ex = np.exp(x)
        step = np.clip((k - ex - (x - mu) / s2) / (-ex - 1 / s2), -2.0, 2.0)
        x = x - step
        if np.abs(step).max(initial=0.0) < 1e-12:
            break
    scale = 1 / np.sqrt(np.exp(x) + 1 / s2)
    t, w = np.polynomial.hermite.hermgauss(NODES)
    xs = x[:, None] + math.sqrt(2) * scale[:, None] * t[None, :]
    g = k[:, None] * xs - np.exp(xs) - (xs - mu) ** 2 / (2 * s2) + t[None, :] ** 2
    integral = logsumexp(g, b=w[None, :], axis=1) + np.log(math.sqrt(2) * scale)
    return np.asarray(integral - gammaln(k + 1) - math.log(sigma * math.sqrt(2 * math.pi)))


def truncated_loglik(counts: np.ndarray, weights: np.ndarray, mu: float, sigma: float) -> float:
    """Zero-truncated log-likelihood of sellers' counts (`weights` sellers each)."""
    logs = log_pln(np.concatenate([[0.0], counts]), mu, sigma)
    zero = float(logs[0])
    if zero >= 0:  # every seller would have no order: these counts are impossible
        return IMPOSSIBLE
    seen = math.log(-math.expm1(zero))
    total = float((weights * (logs[1:] - seen)).sum())
    return total if math.isfinite(total) else IMPOSSIBLE


def fit_sizes(counts: np.ndarray) -> SizeFit | None:
    """The lognormal fit of sellers' order counts (each at least 1); None for one seller."""
    from scipy.optimize import minimize

    counts = np.asarray(counts, dtype=float)
    if len(counts) < 2:
        return None
    unique, weights = np.unique(counts, return_counts=True)

    def loss(theta: np.ndarray) -> float:
        return -truncated_loglik(unique, weights, float(theta[0]), math.exp(theta[1]))

    mu0, sigma0 = _moments(counts)
    bounds = [(-20.0, 25.0), tuple(math.log(b) for b in SIGMA_BOUNDS)]
    best = minimize(loss, np.array([mu0, math.log(sigma0)]), method="L-BFGS-B", bounds=bounds)
    mu, sigma = float(best.x[0]), math.exp(float(best.x[1]))
    top = -float(best.fun)
    low, high = _profile_bounds(unique, weights, mu, sigma, top)
    se_mu = float(standard_errors(loss, best.x, 1e-3)[0])
    n = len(counts)
    unseen = [unseen_sellers(n, _profile(unique, weights, s, mu)[1], s) for s in (low, sigma, high)]
    return SizeFit(
        counts=counts,
        mu=mu,
        sigma=Estimate(sigma, low, high, n, PROFILE, "sellers"),
        median=Estimate(
            math.exp(mu),
            math.exp(mu - Z95 * se_mu),
            math.exp(mu + Z95 * se_mu),
            n,
            "Wald on log scale, zero-truncated Poisson-lognormal",
            "sellers",
        ),
        unseen=unseen_sellers(n, mu, sigma),
        unseen_range=(min(unseen), max(unseen)),
    )


def unseen_sellers(seen: int, mu: float, sigma: float) -> float:
    """Sellers without an order that `seen` sellers with one imply: n P(0) / (1 - P(0))."""
    zero = math.exp(float(log_pln(np.zeros(1), mu, sigma)[0]))
    return seen * zero / (1 - zero) if zero < 1 else math.inf


def _moments(counts: np.ndarray) -> tuple[float, float]:
    """A starting point: the lognormal whose Poisson mixture has the counts' mean and
    variance (sigma at least 0.1)."""
    mean, var = counts.mean(), counts.var()
    s2 = math.log1p(max(var - mean, 0.01 * mean**2) / mean**2)
    sigma = max(math.sqrt(s2), 0.1)
    return math.log(mean) - sigma**2 / 2, sigma


def _profile(
    unique: np.ndarray, weights: np.ndarray, sigma: float, mu_hat: float
) -> tuple[float, float]:
    """The largest log-likelihood at this sigma, and the mu that reaches it."""
    from scipy.optimize import minimize_scalar

    best = minimize_scalar(
        lambda mu: -truncated_loglik(unique, weights, mu, sigma),
        bracket=(mu_hat - 1.0, mu_hat),
        method="brent",
    )
    return -float(best.fun), float(best.x)


def _profile_bounds(
    unique: np.ndarray, weights: np.ndarray, mu: float, sigma: float, top: float
) -> tuple[float, float]:
    """Where the profile log-likelihood has dropped by 3.84 / 2 on each side of sigma; the
    search's bound where it never drops that far."""
    from scipy.optimize import brentq

    def drop(s: float) -> float:
        return 2 * (top - _profile(unique, weights, s, mu)[0]) - CHI2_1_95

    lo_edge, hi_edge = SIGMA_BOUNDS
    at_floor = sigma <= lo_edge * 1.01 or drop(lo_edge) < 0
    low = lo_edge if at_floor else brentq(drop, lo_edge, sigma, xtol=1e-4)
    high = hi_edge if drop(hi_edge) < 0 else brentq(drop, sigma, hi_edge, xtol=1e-4)
    return float(low), float(high)


def simulated_counts(mu: float, sigma: float, sellers: int, rng: np.random.Generator) -> np.ndarray:
    """Order counts of `sellers` sellers drawn from the fit, those with none left out (as
    in a log): for comparing the fitted tail with the observed one."""
    counts = rng.poisson(np.exp(rng.normal(mu, sigma, sellers)))
    return counts[counts > 0]
