"""Time from placement to shipment: quantiles per seller-size band, with intervals.

Quantiles are Kaplan-Meier's, so that orders cancelled (or still open) before shipping
count as censored rather than vanish: leaving them out would make shipping look faster,
since the slow orders are the ones a buyer has time to cancel. Their intervals come from
a bootstrap that resamples whole sellers (orders of one seller are alike), or orders
where a band has fewer than MIN_CLUSTERS sellers. A percentile bootstrap over few
sellers is too narrow (the sellers' spread is underestimated, more so when a few big
sellers hold most orders): its half-widths are widened by t(0.975, G - 1) / z(0.975) x
sqrt(G / (G - 1)), G the effective number of sellers (Kish's, (sum of orders)^2 / sum of
squared orders per seller). In simulations of lognormal sellers (sizes sigma 1, seller
effects sigma 0.4, 3,000 orders) that brings the coverage of p10 / p50 / p90 from 81 /
88 / 82% to about 92 / 96 / 91% at 10 sellers, and from 84-93% to 91-96% at 20 to 40;
it stays a little under 95%, so intervals from fewer than APPROXIMATE_BELOW sellers are
labelled approximate. `calibration` compares the quantiles with the same under the fitted
packing and pickups (`packing`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.calibrate.estimate import Estimate

QUANTILES = (0.1, 0.5, 0.9)
MIN_CLUSTERS = 10
APPROXIMATE_BELOW = 40  # sellers: fewer, and the interval is labelled approximate
BOOTSTRAP = 400
Z975 = 1.959963984540054


@dataclass(frozen=True)
class BandShip:
    """Quantiles of hours from placement to shipment in one seller-size band."""

    band: str
    sellers: int
    observed: tuple[Estimate, ...]  # at QUANTILES
    fitted: tuple[float, ...]  # the same quantiles under the fitted packing and pickups


def quantile_estimates(
    hours: np.ndarray, shipped: np.ndarray, seller: np.ndarray, rng: np.random.Generator
) -> tuple[Estimate, ...]:
    """QUANTILES of the time to shipment by Kaplan-Meier (an unshipped order is censored
    at `hours`: cancelled or open then), with percentile intervals of a bootstrap that
    resamples whole sellers when there are at least MIN_CLUSTERS of them (widened for
    few effective sellers, as the module says), else orders. Each interval holds its
    estimate: the resamples are binned, the estimate is not, and with few orders a
    binned percentile can fall past it; the interval is then stretched to it."""
    points = kaplan_meier_quantiles(hours, shipped)
    sellers = len(np.unique(seller))
    widen = 1.0
    if sellers >= MIN_CLUSTERS:
        draws = _bootstrap(hours, shipped, seller, rng)
        effective = effective_sellers(seller)
        widen = small_sample_factor(effective)
        method = (
            f"Kaplan-Meier, bootstrap over sellers ({BOOTSTRAP} resamples), widened "
            f"x{widen:.2f} for {effective:.1f} effective sellers"
        )
    else:
        draws = _bootstrap(hours, shipped, None, rng)
        method = f"Kaplan-Meier, bootstrap over orders ({BOOTSTRAP} resamples)"
        if sellers > 1:
            method += "; the sellers' differences are not in it"
    if 1 < sellers < APPROXIMATE_BELOW:
        method += f"; approximate: {sellers} sellers"
    with np.errstate(invalid="ignore"):
        low, high = np.nanquantile(draws, [0.025, 0.975], axis=0)
    low = np.fmin(points - widen * (points - low), points)
    high = np.fmax(points + widen * (high - points), points)
    return tuple(
        Estimate(float(p), float(max(lo, 0.0)), float(hi), len(hours), method)
        for p, lo, hi in zip(points, low, high, strict=True)
    )


def effective_sellers(seller: np.ndarray) -> float:
    """Kish's effective number of sellers: (sum of orders)^2 / sum of squared orders."""
    _, orders = np.unique(seller, return_counts=True)
    return float(orders.sum() ** 2 / (orders.astype(float) ** 2).sum())


def small_sample_factor(effective: float) -> float:
    """t(0.975, G - 1) / z(0.975) x sqrt(G / (G - 1)), G effective sellers (at least 2)."""
    from scipy.stats import t

    g = max(effective, 2.0)
    return float(t.ppf(0.975, g - 1) / Z975 * np.sqrt(g / (g - 1)))


def kaplan_meier_quantiles(hours: np.ndarray, shipped: np.ndarray) -> np.ndarray:
    """QUANTILES of the Kaplan-Meier distribution (NaN past its last event)."""
    order = np.lexsort((~shipped, hours))  # at a tie, shipments before censorings
    t, event = hours[order], shipped[order]
    at_risk = len(t) - np.arange(len(t))
    done = 1 - np.cumprod(1 - event / at_risk)
    index = np.searchsorted(done, np.asarray(QUANTILES) - 1e-12, side="left")
    return np.where(index < len(t), t[np.minimum(index, len(t) - 1)], np.nan)


def _bootstrap(
    hours: np.ndarray,
    shipped: np.ndarray,
    seller: np.ndarray | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Kaplan-Meier QUANTILES of BOOTSTRAP resamples, of whole sellers or (without
    `seller`) of orders, on 400 bins at the pooled quantiles (linear within a bin): an
    array (BOOTSTRAP, len(QUANTILES))."""
    from scipy import sparse

    edges = np.unique(np.quantile(hours, np.linspace(0, 1, 401)))
    if len(edges) < 2:
        return np.full((BOOTSTRAP, len(QUANTILES)), edges[0])
    bins = np.clip(np.searchsorted(edges, hours, side="right") - 1, 0, len(edges) - 2)
    cells = bins * 2 + (~shipped)  # (bin, shipped) -> one column each
    width = 2 * (len(edges) - 1)
    if seller is None:
        observed = np.bincount(cells, minlength=width) / len(hours)
        counts = rng.multinomial(len(hours), observed, size=BOOTSTRAP)
        return _binned_quantiles(counts.astype(float), edges)
    _, group = np.unique(seller, return_inverse=True)
    groups = int(group.max()) + 1
    table = sparse.csr_matrix((np.ones(len(hours)), (group, cells)), shape=(groups, width))
    out = np.empty((BOOTSTRAP, len(QUANTILES)))
    for start in range(0, BOOTSTRAP, 50):
        stop = min(start + 50, BOOTSTRAP)
        times = rng.multinomial(groups, np.full(groups, 1 / groups), size=stop - start)
        out[start:stop] = _binned_quantiles(np.asarray((table.T @ times.T).T), edges)
    return out


def _binned_quantiles(counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Kaplan-Meier QUANTILES from (replicates, 2 x bins) counts of shipped and censored
    orders per bin: censorings in a bin are taken as after its shipments."""
    events, censored = counts[:, 0::2], counts[:, 1::2]
    leaving = events + censored
    at_risk = leaving.sum(axis=1, keepdims=True) - np.cumsum(leaving, axis=1) + leaving
    hazard = np.divide(events, at_risk, out=np.zeros_like(events), where=at_risk > 0)
    done = 1 - np.cumprod(1 - hazard, axis=1)
    done = np.concatenate([np.zeros((len(done), 1)), done], axis=1)
    out = np.empty((len(counts), len(QUANTILES)))
    for r, curve in enumerate(done):
        reached = np.asarray(QUANTILES) <= curve[-1]
        out[r] = np.where(reached, np.interp(QUANTILES, curve, edges), np.nan)
    return out
