"""Seller kinds: the seller types of the calibrated scenario, as a log shows them.

A log tells three things about a seller besides its orders: who fulfils them (the
seller, or the platform's warehouse: `fulfilment`), when its parcels leave (its own
pickup schedule, from the clock times of its shipments) and how big it is. Sellers are
grouped by fulfilment; within it by pickup schedule, when several schedules each have
MIN_TYPE_SHIPMENTS shipments (sellers of rarer schedules, or with too few shipments to
tell, join the commonest); within that by size band (the base scenario's `size_bands`,
in orders a week), next bands with too few shipments for a fit of their own merged.
Each group is a seller type with its own packing, pickups and cancels: one packing fit
over sellers of different schedules would read every missed pickup of the union as slow
packing.

Sizes are one lognormal per fulfilment (`sizes`): with one type it is the type's
popularity; with a type per band, each draws its sellers' sizes from its band's slice of
that lognormal (as quantiles, an empirical list), so that together they are the fitted
lognormal again. What a log cannot tell about a kind (how it answers requests, how fast,
when it cancels) comes from the base's most similar seller type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from sim.calibrate.arrivals import ArrivalFit
from sim.calibrate.cancels import CancelFit, fit_cancels
from sim.calibrate.estimate import Estimate
from sim.calibrate.logtable import LogTable
from sim.calibrate.packing import PackFit, Pickups, detect_pickups, fit_pack_time
from sim.calibrate.sizes import SizeFit, fit_sizes
from sim.model.load import Study
from sim.model.scenario import SellerType

MIN_SHIPMENTS = 20  # fewer shipped orders of a kind: its packing stays the base's
MIN_TYPE_SHIPMENTS = 200  # a size band with fewer joins the next one
TARGET_UTILISATION = 0.5  # stations for the busiest seller's busiest hour
MAX_STATIONS = 1000
SLICE_POINTS = 50  # quantiles of a band's slice of the size lognormal


class Place(NamedTuple):
    """Where a type sits among its fulfilment's sellers: sizes held, pickup schedule."""

    low: float
    high: float
    ships: str


@dataclass(frozen=True)
class KindFit:
    """One seller type as the log shows it, and the base type it borrows the rest from."""

    key: str  # its name in the written scenario
    fulfilment: str  # seller | platform
    base_type: str
    low: float  # the sizes it holds, in orders a week: [low, high)
    high: float
    ships: str  # its sellers' pickup schedule when sellers differ in it (1100_1800), or ''
    sellers: int
    orders: int
    sizes: SizeFit | None  # of every seller of its fulfilment; None: one seller (or none)
    pickups: Pickups | None  # None: too few shipments; the base type's
    pack: PackFit | None
    cancels: CancelFit
    stations: int | str  # or "unlimited", as the base type
    stations_note: str

    @property
    def split(self) -> bool:
        """It holds only some of its fulfilment's sizes (a slice of their lognormal)."""
        return self.low > 0 or not math.isinf(self.high)

    def size_slice(self, weeks: float) -> list[float]:
        """SLICE_POINTS sizes (expected orders a week) spread evenly over the fitted
        lognormal's probability between `low` and `high`."""
        from scipy.special import ndtr, ndtri

        assert self.sizes is not None
        mu, sigma = self.sizes.mu - math.log(weeks), self.sizes.sigma.value
        edges = [
            0.0 if x <= 0 else float(ndtr((math.log(x) - mu) / sigma))
            for x in (self.low, self.high)
        ]
        u = edges[0] + (np.arange(SLICE_POINTS) + 0.5) / SLICE_POINTS * (edges[1] - edges[0])
        u = np.clip(u, 1e-12, 1 - 1e-12)
        return [float(v) for v in np.exp(mu + sigma * ndtri(u))]


def size_fits(kinds: tuple[KindFit, ...]) -> dict[str, SizeFit]:
    """Each fulfilment's size fit (its band types share one), by fulfilment."""
    return {k.fulfilment: k.sizes for k in kinds if k.sizes is not None}


def base_type(study: Study, fulfilment: str) -> tuple[str, SellerType]:
    """The base's seller type most like a kind: the largest share of the same fulfilment,
    or of any if the base has none of it."""
    types = study.scenario.sellers.types
    same = {k: t for k, t in types.items() if t.fulfilment == fulfilment} or dict(types)
    name = max(same, key=lambda k: same[k].share)
    return name, same[name]


def band_groups(sellers: np.ndarray, shipped: np.ndarray, bands: int) -> list[list[int]]:
    """Runs of next size bands, each with sellers and at least MIN_TYPE_SHIPMENTS shipped
    orders (the last run joins the one before it when short); every band is in a run.
    `sellers` and `shipped` count them per band."""
    groups: list[list[int]] = []
    current: list[int] = []
    for band in range(bands):
        current.append(band)
        if shipped[current].sum() >= MIN_TYPE_SHIPMENTS and sellers[current].sum() > 0:
            groups.append(current)
            current = []
    if current and groups:
        groups[-1] += current
    elif current:
        groups.append(current)
    return groups


def fit_kinds(
    table: LogTable, arrivals: ArrivalFit, study: Study, hold: float = 0.0
) -> tuple[tuple[KindFit, ...], np.ndarray]:
    """The seller types, and each order's type (an index into them); packing starts `hold`
    hours after placement."""
    platform_seller, counts = seller_facts(table)
    own = table.of_seller(platform_seller, table.platform)
    lows = np.array(list(study.scenario.sellers.size_bands.values()))
    band = np.searchsorted(lows, counts / table.span.weeks, side="right") - 1
    _, shipped, _ = table.time_to_ship()
    known = table.seller >= 0
    shipped_of = np.bincount(table.seller[known & shipped], minlength=len(counts))
    schedule, schedules = pickup_signatures(table, shipped_of)
    kinds: list[KindFit] = []
    order_kind = np.zeros(len(own), dtype=np.int64)  # a kind no seller has: the first
    for platform in sorted(set(platform_seller.tolist()) or set(own.tolist())):
        mine = platform_seller == platform
        members: list[np.ndarray] = []
        places: list[Place] = []
        for signature in _signature_groups(schedule, mine, shipped_of):
            ships = "" if signature < 0 else schedules[signature]
            sellers = mine & ((schedule == signature) if signature >= 0 else True)
            groups = band_groups(
                np.bincount(band[sellers], minlength=len(lows)),
                np.bincount(band[sellers], weights=shipped_of[sellers], minlength=len(lows)),
                len(lows),
            )
            for g, (low, high) in zip(groups, _ranges(groups, lows), strict=True):
                members.append(sellers & np.isin(band, g))
                places.append(Place(low, high, ships))
        orders = [(own == platform) & table.of_seller(m, False) for m in members]
        biggest = int(np.argmax([o.sum() for o in orders]))
        orders[biggest] = orders[biggest] | ((own == platform) & ~known)  # no seller id
        sizes = fit_sizes(counts[mine])
        for place, m, o in zip(places, members, orders, strict=True):
            order_kind[o] = len(kinds)
            fit = _fit_kind(place, table, o, counts[m], (arrivals, hold), study, platform, sizes)
            kinds.append(fit)
    return _named(tuple(kinds), len(counts)), order_kind


def pickup_signatures(table: LogTable, shipped_of: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each seller's own pickup schedule, as an index into the schedules' names
    (`1100_1800`, or `hourly` for shipments spread through the day). A seller with fewer
    than MIN_SHIPMENTS shipments gets the schedule that holds most of its shipments (-1
    without any shipment)."""
    minutes = _shipment_minutes(table, len(shipped_of))
    names: dict[str, int] = {}
    out = np.full(len(shipped_of), -1, dtype=np.int64)
    for s in np.flatnonzero(shipped_of >= MIN_SHIPMENTS).tolist():
        found = detect_pickups(minutes[s] / 60)
        name = (
            "hourly"
            if found.rule.startswith("hourly")
            else "_".join(f"{round(t * 60) // 60:02d}{round(t * 60) % 60:02d}" for t in found.times)
        )
        out[s] = names.setdefault(name, len(names))
    for s in np.flatnonzero((shipped_of < MIN_SHIPMENTS) & (shipped_of > 0)).tolist():
        out[s] = closest_schedule(minutes[s], list(names))
    return out, list(names)


def _shipment_minutes(table: LogTable, sellers: int) -> list[np.ndarray]:
    """Each seller's shipments as local clock minutes (0..1439)."""
    _, shipped, _ = table.time_to_ship()
    known = shipped & (table.seller >= 0)
    local = table.shipped_h[known] + table.offset_h[known]
    minute = np.round((local % 24) * 60).astype(np.int64) % 1440
    seller = table.seller[known]
    order = np.argsort(seller, kind="stable")
    starts = np.searchsorted(seller[order], np.arange(sellers + 1))
    return [minute[order[starts[s] : starts[s + 1]]] for s in range(sellers)]


def closest_schedule(minutes: np.ndarray, names: list[str]) -> int:
    """The schedule (index into `names`) whose clock times hold most of these shipments;
    `hourly` holds those at none of the scheduled times. -1 when there is none."""
    sets = {n: [int(t[:2]) * 60 + int(t[2:]) for t in n.split("_")] for n in names if n != "hourly"}
    scheduled = [m for times in sets.values() for m in times]
    scores = [
        np.isin(minutes, sets[n]).mean() if n in sets else (~np.isin(minutes, scheduled)).mean()
        for n in names
    ]
    return int(np.argmax(scores)) if names else -1


def _signature_groups(schedule: np.ndarray, mine: np.ndarray, shipped_of: np.ndarray) -> list[int]:
    """The schedules that get types of their own among these sellers: those with at least
    MIN_TYPE_SHIPMENTS shipments, biggest first; [-1] (all together) when fewer than two.
    Sellers of other schedules, or with no shipment, join the biggest."""
    ids = np.unique(schedule[mine & (schedule >= 0)])
    shipments = [int(shipped_of[mine & (schedule == i)].sum()) for i in ids]
    ranked = sorted(zip(ids.tolist(), shipments, strict=True), key=lambda p: -p[1])
    big = [i for i, n in ranked if n >= MIN_TYPE_SHIPMENTS]
    if len(big) < 2:
        return [-1]
    rest = mine & ~np.isin(schedule, big)
    schedule[rest] = big[0]
    return big


def _ranges(groups: list[list[int]], lows: np.ndarray) -> list[tuple[float, float]]:
    """The sizes (orders a week) each run of bands holds; together 0 to infinity."""
    starts = [float(lows[g[0]]) if i else 0.0 for i, g in enumerate(groups)]
    return list(zip(starts, [*starts[1:], math.inf], strict=True))


def seller_facts(table: LogTable) -> tuple[np.ndarray, np.ndarray]:
    """Per seller seen: fulfilled by the platform (most of its orders), and its orders."""
    known = table.seller >= 0
    sellers = len(table.seller_ids)
    counts = np.bincount(table.seller[known], minlength=sellers)
    by_platform = np.bincount(table.seller[known], weights=table.platform[known], minlength=sellers)
    return by_platform * 2 > counts, counts


def _named(kinds: tuple[KindFit, ...], sellers: int) -> tuple[KindFit, ...]:
    """Type names: `seller` for a one-seller log, else by who fulfils, the pickup schedule
    when sellers differ in it, and the sizes held when split by size
    (`seller_fulfilled_ships_1100_1800_10_to_100_a_week`)."""
    if sellers == 1 and len(kinds) == 1:
        return (replace(kinds[0], key="seller"),)
    named = []
    for k in kinds:
        key = f"{k.fulfilment}_fulfilled"
        if k.ships:
            key += f"_ships_{k.ships}"
        if k.split:
            if k.low == 0:
                key += f"_under_{k.high:g}_a_week"
            elif math.isinf(k.high):
                key += f"_{k.low:g}_plus_a_week"
            else:
                key += f"_{k.low:g}_to_{k.high:g}_a_week"
        named.append(replace(k, key=key.replace(".", "_")))
    return tuple(named)


def _fit_kind(
    place: Place,
    table: LogTable,
    orders: np.ndarray,
    counts: np.ndarray,
    stream: tuple[ArrivalFit, float],
    study: Study,
    platform: bool,
    sizes: SizeFit | None,
) -> KindFit:
    """Packing and pickups, and cancels of one group of sellers (`counts`: their orders)
    at its `place` (sizes held, schedule); `stream` is the fitted arrivals and the hold."""
    arrivals, hold = stream
    fulfilment = "platform" if platform else "seller"
    name, kind = base_type(study, fulfilment)
    hours, shipped, usable = table.time_to_ship()
    pickups = pack = None
    if (orders & shipped).sum() >= MIN_SHIPMENTS:
        local = table.local_h
        # an order the seller cancelled for its own cause never shipped because of that
        # cause (the scenario's `cancels`), not because packing never ended: it is left
        # out of the packing fit, whose never-shipped share is then of the other orders
        event = orders & shipped
        censored = orders & usable & ~shipped & ~table.own_cancel
        pickups = detect_pickups(local[event] + hours[event])
        pack = fit_pack_time(
            (local[event], local[event] + hours[event]),
            (local[censored], local[censored] + hours[censored]),
            pickups,
            hold,
        )
        if pack is not None:
            others = int((orders & ~table.own_cancel).sum())
            pack = replace(pack, never=of_all(pack.never, others, int(orders.sum())))
    total = len(table.placed_h)
    # the busiest seller's share of all orders (with no seller ids: an even share)
    busiest = counts.max() / total if len(counts) else orders.mean() / study.scenario.sellers.count
    stations, note = _stations(kind, pack, float(busiest), arrivals)
    return KindFit(
        key=name,
        fulfilment=fulfilment,
        base_type=name,
        low=place.low,
        high=place.high,
        ships=place.ships,
        sellers=len(counts),
        orders=int(orders.sum()),
        sizes=sizes,
        pickups=pickups,
        pack=pack,
        cancels=fit_cancels(
            table.status[orders],
            table.cancelled_by[orders],
            table.requested[orders],
            table.reason[orders],
        ),
        stations=stations,
        stations_note=note,
    )


def of_all(never: Estimate, others: int, orders: int) -> Estimate:
    """The never-shipped share of the orders the seller did not cancel itself (`others`
    of `orders`), as a share of all orders, which is what `never_ships` is: each bound
    times others / orders (that share taken as known)."""
    share = others / orders if orders else 1.0
    method = (
        f"{never.method}; of the {others:,} orders the seller did not cancel itself, times "
        f"their share {share:.3g}"
        if others < orders
        else never.method
    )
    return Estimate(never.value * share, never.low * share, never.high * share, orders, method)


def _stations(
    kind: SellerType, pack: PackFit | None, busiest: float, fit: ArrivalFit
) -> tuple[int | str, str]:
    """Packing stations that keep the busiest seller (`busiest`: its share of all orders)
    under TARGET_UTILISATION in the busiest hour, so that the simulation adds no queue to
    the fitted pack time (which already holds any the sellers had); never fewer than the
    base type's."""
    if pack is None:
        return kind.packing_stations, "assumed: the base type's"
    if kind.packing_stations == "unlimited":
        return "unlimited", "the base type's: no station ever makes an order wait"
    peak = (
        fit.rate.value
        * max(e.value for e in fit.daily)
        * max(e.value for e in fit.weekly)
        * max(float(fit.multiplier.max()), 1.0)
        * busiest
    )
    mean_pack = pack.median.value * math.exp(pack.sigma.value**2 / 2)
    needed = math.ceil(peak * mean_pack / TARGET_UTILISATION)
    stations = min(max(needed, kind.packing_stations), MAX_STATIONS)
    note = (
        f"the busiest seller's busiest hour: {peak:.3g} orders/h x {mean_pack:.3g} h mean "
        f"pack time / {TARGET_UTILISATION:.0%} utilisation = {needed} (at least the base "
        f"type's {kind.packing_stations}, at most {MAX_STATIONS}): the fitted pack time "
        "already holds any queue, so the stations must add none"
    )
    return stations, note


def pack_hours(kind: KindFit, study: Study, u: np.ndarray) -> np.ndarray:
    """Pack times of this kind at uniforms `u`: the fitted lognormal, or the base type's."""
    if kind.pack is not None:
        from scipy.special import ndtri

        return np.asarray(kind.pack.median.value * np.exp(kind.pack.sigma.value * ndtri(u)))
    return np.asarray(study.scenario.sellers.types[kind.base_type].pack_time.quantile(u))


def never_ships(kind: KindFit, study: Study) -> float:
    """The share of this kind's orders that never ship: fitted, or the base type's, at
    most what the kind's own cancels leave (the two exclude each other)."""
    if kind.pack is not None:
        return kind.pack.never.value
    base = study.scenario.sellers.types[kind.base_type].never_ships
    return min(base, max(0.0, 1.0 - kind.cancels.seller_total.value))


def pickup_times(kind: KindFit, study: Study) -> tuple[float, ...]:
    """The daily pickup clock times of a fitted kind (none when its base type ships as
    packed or every N hours: those are taken to leave when packed)."""
    if kind.pickups is not None:
        return kind.pickups.times
    return tuple(study.scenario.sellers.types[kind.base_type].pickup_times)
