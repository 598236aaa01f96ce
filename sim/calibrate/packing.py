"""Packing and carrier pickups: what makes the time from placement to shipment.

The scenario's sellers pack each order (pack_time) and hand it over at the next daily
carrier pickup (pickup_times, local clock). From a log both are fitted:

- Pickups, from the local clock times of shipments. Scheduled pickups show as a few
  clock minutes holding most shipments: every minute with at least 5% of them is a
  pickup when together they hold at least half. Otherwise (shipments confirmed through
  the day) each local hour holding at least 1/48 of the shipments gets a pickup at its
  end, and a shipment belongs to the pickup that closes its hour.
- Pack time, a lognormal, with a share of orders that never ship (`never_ships`), by
  maximum likelihood on censored data. An order shipped at pickup S was packed by S but
  after the pickup before S (else it would have gone then), unless it was placed after
  that one. An order cancelled, or still open when the log ends, had made no pickup by
  then: it either never ships or packs for longer than the wait to the last pickup it
  missed (cancels are taken as independent of packing). Intervals are Wald's, on the
  log scale for the lognormal and the logit scale for the share.

What the pack time holds: everything between placement and being ready for the carrier,
less the pending hold of the platform the log comes from when it is given (the
simulation adds each policy's own hold), including any queue at the seller; the
scenario's packing stations are therefore sized to add no queue of their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.calibrate.estimate import Z95, Estimate, standard_errors

SCHEDULED_MINUTE_SHARE = 0.05
SCHEDULED_TOTAL_SHARE = 0.5
HOURLY_SHARE = 1 / 48
SLOT_TOLERANCE_H = 1 / 60  # a shipment up to a minute before a pickup belongs to it
MAX_FIT_ORDERS = 200_000  # the fit uses a random subsample above this
PACK_BOUNDS_H = (1 / 60, 60 * 24.0)  # median: 1 minute to 60 days
SIGMA_BOUNDS = (0.05, 3.0)
NEVER_BOUNDS = (1e-7, 0.5)
METHOD = "Wald, censored lognormal with a never-shipped share"


@dataclass(frozen=True)
class Pickups:
    """Daily carrier pickups (local clock hours) and how they were found."""

    times: tuple[float, ...]
    rule: str
    shares: tuple[float, ...]  # share of shipments each pickup took


@dataclass(frozen=True)
class PackFit:
    """Lognormal pack time (hours) and the share of orders never shipped."""

    median: Estimate
    sigma: Estimate
    never: Estimate
    missed: int  # shipped orders that missed at least one pickup (they carry the sigma)


def detect_pickups(ship_local_h: np.ndarray) -> Pickups:
    """Pickup clock times from shipments' local times (hours since 1970, local)."""
    minute = np.round((ship_local_h % 24) * 60).astype(np.int64) % 1440
    share = np.bincount(minute, minlength=1440) / len(minute)
    top = np.flatnonzero(share >= SCHEDULED_MINUTE_SHARE)
    if share[top].sum() >= SCHEDULED_TOTAL_SHARE:
        rule = (
            f"scheduled: {len(top)} clock time(s) hold {share[top].sum():.0%} of "
            f"{len(minute):,} shipments (each at least {SCHEDULED_MINUTE_SHARE:.0%})"
        )
        return _with_shares(tuple(float(m) / 60 for m in top), ship_local_h, rule)
    closing = -(-minute // 60) % 24  # the hour that closes (h-1:00, h:00]
    per_hour = np.bincount(closing, minlength=24) / len(minute)
    hours = np.flatnonzero(per_hour >= HOURLY_SHARE)
    rule = (
        f"hourly: shipments spread through the day; a pickup closes each of the {len(hours)} "
        f"local hours holding at least 1/48 of {len(minute):,} shipments"
    )
    return _with_shares(tuple(float(h) for h in hours), ship_local_h, rule)


def _with_shares(times: tuple[float, ...], ship_local_h: np.ndarray, rule: str) -> Pickups:
    slot, _ = pickup_slots(ship_local_h, times)
    clock = np.round(slot % 24, 6)
    shares = tuple(float(np.mean(clock == round(t, 6))) for t in times)
    return Pickups(times, rule, shares)


def next_pickup(
    local_h: np.ndarray, times: tuple[float, ...], tolerance: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The first pickup at or after each local time (less `tolerance`), and the index of
    its clock time in the sorted `times`."""
    clocks = np.sort(np.asarray(times, dtype=float))
    day = np.floor(local_h / 24) * 24
    index = np.searchsorted(clocks, local_h - day - tolerance, side="left")
    wrap = index == len(clocks)
    slot = day + np.where(wrap, 24 + clocks[0], clocks[np.minimum(index, len(clocks) - 1)])
    return slot, np.where(wrap, 0, index)


def pickup_slots(
    ship_local_h: np.ndarray, times: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The pickup each shipment went with, and the pickup before it (local hours)."""
    clocks = np.sort(np.asarray(times, dtype=float))
    slot, index = next_pickup(ship_local_h, times, SLOT_TOLERANCE_H)
    gaps = np.diff(np.concatenate([[clocks[-1] - 24], clocks]))  # gap before each clock
    return slot, slot - gaps[index]


def implied_ship_hours(
    placed_local_h: np.ndarray, pack_h: np.ndarray, times: tuple[float, ...]
) -> np.ndarray:
    """Hours from placement to the first pickup after packing, for these placements and
    pack times (no queue); with no daily pickup times (a base type with `pickup:
    on_packing` or `every N`), the parcel leaves when packed."""
    if not times:
        return np.asarray(pack_h, dtype=float)
    slot, _ = next_pickup(placed_local_h + pack_h, times)
    return np.asarray(slot - placed_local_h)


def pack_intervals(
    shipped: tuple[np.ndarray, np.ndarray],
    unshipped: tuple[np.ndarray, np.ndarray],
    times: tuple[float, ...],
    hold: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) bounds of each order's pack time; upper is inf for an unshipped one.

    `shipped` is (placed, shipped) and `unshipped` (placed, until) in local hours; packing
    starts `hold` hours after placement (the platform's pending hold). An order shipped
    before its hold was over contradicts the hold and is left out."""
    placed, ship = shipped
    slot, previous = pickup_slots(ship, times)
    upper = slot - placed - hold
    lower = np.maximum(previous - placed - hold, 0.0)
    keep = upper > 0
    waited, until = unshipped
    _, last = pickup_slots(until, times)
    return (
        np.concatenate([lower[keep], np.maximum(last - waited - hold, 0.0)]),
        np.concatenate([upper[keep], np.full(len(waited), np.inf)]),
    )


def fit_pack_time(
    shipped: tuple[np.ndarray, np.ndarray],
    unshipped: tuple[np.ndarray, np.ndarray],
    pickups: Pickups,
    hold: float = 0.0,
    seed: int = 0,
) -> PackFit | None:
    """The pack time and never-shipped share that best explain which pickup each order
    made (None with fewer than two shipped orders); packing starts `hold` hours after
    placement."""
    lower, upper = pack_intervals(shipped, unshipped, pickups.times, hold)
    if len(upper) > MAX_FIT_ORDERS:
        pick = np.random.default_rng(seed).choice(len(upper), MAX_FIT_ORDERS, replace=False)
        lower, upper = lower[pick], upper[pick]
    if np.isfinite(upper).sum() < 2:
        return None
    theta, se = _mle(lower, upper)
    n = len(upper)
    missed = int(((lower > 0) & np.isfinite(upper)).sum())
    censored = int(np.isinf(upper).sum())
    method = f"{METHOD} ({censored:,} unshipped orders censored)" if censored else METHOD
    edge = _at_bound(theta)
    if edge:
        method += f"; at the search's bound ({edge}): the log only bounds it"
    never = _wald(theta[2], se[2], n, method, _expit)
    if abs(theta[2] - _logit(NEVER_BOUNDS[0])) < 1e-2:  # no order waited beyond packing
        never = Estimate(0.0, 0.0, 3 / n, n, "none waited beyond packing; rule of three")
    median = _wald(theta[0], se[0], n, method, np.exp)
    sigma = _wald(theta[1], se[1], n, method, np.exp)
    if not _identified(median) or not _identified(sigma):
        return None  # the log cannot tell the pack time (too few orders missed a pickup)
    return PackFit(median=median, sigma=sigma, never=never, missed=missed)


MAX_SPREAD = 100.0  # an interval wider than this factor says the log cannot tell the value


def _identified(estimate: Estimate) -> bool:
    """A fitted positive value the log pins down: a finite interval within a factor of
    MAX_SPREAD (when only a few orders missed a pickup, the likelihood is flat and the
    Wald interval runs to 0 and infinity)."""
    low, high = estimate.low, estimate.high
    return bool(np.isfinite(high) and low > 0 and high / low <= MAX_SPREAD)


def _expit(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _wald(
    x: float, se: float, n: int, method: str, back: Callable[[np.ndarray], np.ndarray]
) -> Estimate:
    """An estimate on a transformed scale, its Wald interval mapped back by `back`."""
    with np.errstate(over="ignore", invalid="ignore"):  # a flat likelihood: infinite bounds
        values = back(np.array([x, x - Z95 * se, x + Z95 * se]))
    return Estimate(float(values[0]), float(values[1]), float(values[2]), n, method)


def _at_bound(theta: np.ndarray) -> str:
    edges = {
        "median 1 minute": (theta[0], math.log(PACK_BOUNDS_H[0])),
        "median 60 days": (theta[0], math.log(PACK_BOUNDS_H[1])),
        f"sigma {SIGMA_BOUNDS[0]}": (theta[1], math.log(SIGMA_BOUNDS[0])),
        f"sigma {SIGMA_BOUNDS[1]}": (theta[1], math.log(SIGMA_BOUNDS[1])),
        f"never-shipped share {NEVER_BOUNDS[1]}": (theta[2], _logit(NEVER_BOUNDS[1])),
    }
    return ", ".join(name for name, (x, edge) in edges.items() if abs(x - edge) < 1e-3)


def _log_mass(lower: np.ndarray, upper: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """log P(lower < pack <= upper) for a lognormal, stable in both tails."""
    from scipy.special import log_ndtr

    with np.errstate(divide="ignore"):
        a = (np.log(lower) - mu) / sigma  # -inf where lower is 0
    b = (np.log(upper) - mu) / sigma
    right = a > 0  # both in the upper tail: use survival functions
    hi = np.where(right, log_ndtr(-a), log_ndtr(b))
    lo = np.where(right, log_ndtr(-b), log_ndtr(a))
    return np.asarray(hi + np.log1p(-np.exp(np.minimum(lo - hi, -1e-300))))


def log_likelihood(lower: np.ndarray, upper: np.ndarray, theta: np.ndarray) -> float:
    """Of (mu, log sigma, logit never-shipped share), for orders' pack-time bounds."""
    mu, sigma = float(theta[0]), math.exp(float(theta[1]))
    log_never = -math.log1p(math.exp(-float(theta[2])))
    log_ships = -math.log1p(math.exp(float(theta[2])))
    mass = _log_mass(lower, upper, mu, sigma)
    finite = np.isfinite(upper)
    waits = np.logaddexp(log_never, log_ships + mass[~finite])
    return float((log_ships + mass[finite]).sum() + waits.sum())


def _mle(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, log sigma, logit never-shipped share) and their standard errors."""
    from scipy.optimize import minimize

    def loss(theta: np.ndarray) -> float:
        return -log_likelihood(lower, upper, theta)

    finite = np.isfinite(upper)
    middle = np.where(lower > 0, np.sqrt(np.maximum(lower, 1e-6) * upper), upper / 2)[finite]
    bounds = [
        tuple(math.log(b) for b in PACK_BOUNDS_H),
        tuple(math.log(b) for b in SIGMA_BOUNDS),
        tuple(_logit(b) for b in NEVER_BOUNDS),
    ]
    start = np.array([math.log(float(np.median(middle))), 0.0, _logit(1e-3)])
    start = np.clip(start, [b[0] for b in bounds], [b[1] for b in bounds])
    best = minimize(loss, start, method="L-BFGS-B", bounds=bounds)
    return best.x, standard_errors(loss, best.x)
