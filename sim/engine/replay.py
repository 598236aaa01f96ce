"""Orders replayed from an order log (`orders: {replay: ...}`) instead of generated.

The log is read once per process (cached on its path, size and modification time) into
arrays: each order's time in hours after the scenario's start, its seller's index, its
value in the scenario's currency (cents) and its payment method's name. Only orders
placed within the horizon are played; those before or after are counted for the report.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import InputError

if TYPE_CHECKING:
    from sim.model.scenario import Scenario, Sellers


UNKNOWN_SELLER = "(no seller id)"


@dataclass(frozen=True)
class ReplayOrders:
    """The orders of a log that a scenario plays, in time order."""

    times: np.ndarray  # hours after the scenario's start, ascending, within the horizon
    seller: np.ndarray  # index into seller_ids
    seller_ids: tuple[str, ...]  # in order of each seller's first order
    platform: np.ndarray  # per seller: most of its orders were fulfilled by the platform
    cents: np.ndarray  # value in the scenario's currency; -1 where the log has none
    payment: np.ndarray  # the log's payment method names (object; None where unknown)
    before: int  # orders placed before the start: not played
    after: int  # orders placed at or after the end of the horizon: not played


def replay_orders(scenario: Scenario) -> ReplayOrders:
    """The scenario's replayed orders (its `orders.replay` is an absolute path by now)."""
    path = scenario.orders.replay
    assert path is not None
    try:
        stat = os.stat(path)
    except OSError:
        raise InputError.single(path, "file not found") from None
    rates = tuple(sorted(scenario.exchange_rates.items()))
    return _load(
        path,
        stat.st_size,
        stat.st_mtime_ns,
        scenario.start.timestamp(),
        scenario.horizon.amount,
        scenario.currency,
        rates,
    )


@functools.lru_cache(maxsize=4)
def _load(
    path: str,
    size: int,
    modified: int,
    start: float,
    horizon: float,
    currency: str,
    rates: tuple[tuple[str, float], ...],
) -> ReplayOrders:
    from sim.orderlog.log import check_log, read_log

    log = read_log(
        path,
        columns=[
            "order_id",
            "seller_id",
            "placed_at",
            "value",
            "currency",
            "payment_method",
            "fulfilment",
        ],
    )
    check_log(path, log)
    placed = log["placed_at"].to_numpy(dtype="datetime64[ms]").astype(np.int64) / 3_600_000
    hours = placed - start / 3600
    order = np.argsort(hours, kind="stable")
    hours = hours[order]
    inside = (hours >= 0) & (hours < horizon)
    before = int((hours < 0).sum())
    after = int((hours >= horizon).sum())
    rows = order[inside]
    sellers = log["seller_id"].to_numpy(dtype=object, na_value=None)[rows]
    sellers = np.where(sellers == None, UNKNOWN_SELLER, sellers)  # noqa: E711
    ids, first, index = np.unique(sellers.astype(str), return_index=True, return_inverse=True)
    appearance = np.argsort(first, kind="stable")  # sellers numbered by their first order
    renumber = np.empty_like(appearance)
    renumber[appearance] = np.arange(len(appearance))
    value = log["value"].to_numpy(dtype=float, na_value=np.nan)[rows]
    code = log["currency"].to_numpy(dtype=object, na_value=None)[rows]
    fx = dict(rates)
    factor = np.ones(len(rows))
    for name in {c for c in code.tolist() if c is not None and c != currency}:
        if name not in fx:
            raise InputError.single(
                path,
                f"has orders in {name}; the scenario's exchange_rates has no rate from "
                f"{name} to {currency}",
            )
        factor[code == name] = fx[name]
    cents = np.where(np.isnan(value), -1, np.maximum(np.round(value * factor * 100), 1))
    seller = renumber[index].astype(np.int64)
    by_platform = log["fulfilment"].to_numpy(dtype=object, na_value=None)[rows] == "platform"
    platform_orders = np.bincount(seller, weights=by_platform, minlength=len(ids))
    all_orders = np.bincount(seller, minlength=len(ids))
    return ReplayOrders(
        times=hours[inside],
        seller=seller,
        seller_ids=tuple(ids[appearance].tolist()),
        platform=platform_orders > all_orders / 2,
        cents=cents.astype(np.int64),
        payment=log["payment_method"].to_numpy(dtype=object, na_value=None)[rows],
        before=before,
        after=after,
    )


def seller_types(sellers: Sellers, replay: ReplayOrders) -> np.ndarray:
    """Each replayed seller's type index.

    The log says who sold an order, not what kind of seller that is: a seller whose orders
    the platform mostly fulfilled gets a type with `fulfilment: platform`, the others a
    seller-fulfilled type (any type, if the scenario has none of the kind needed). Within
    each group types take sellers by their shares, the sellers in the order of a hash of
    their id: neither their size nor their first order decides their type."""
    import pandas as pd

    types = list(sellers.types.values())
    platform_kind = np.array([t.fulfilment == "platform" for t in types])
    hashed = pd.util.hash_array(np.asarray(replay.seller_ids, dtype=object), categorize=False)
    type_of = np.zeros(len(replay.seller_ids), dtype=np.int64)
    for group in (True, False):
        members = np.flatnonzero(replay.platform == group)
        if not len(members):
            continue
        kinds = np.flatnonzero(platform_kind == group)
        if not len(kinds):
            kinds = np.arange(len(types))
        shares = np.array([types[k].share for k in kinds])
        bounds = np.round(np.cumsum(shares / shares.sum()) * len(members)).astype(int)
        bounds[-1] = len(members)
        ordered = members[np.argsort(hashed[members], kind="stable")]
        type_of[ordered] = kinds[np.searchsorted(bounds, np.arange(len(ordered)), side="right")]
    return type_of


def matched_methods(replay: ReplayOrders, methods: tuple[str, ...]) -> np.ndarray:
    """Per replayed order, the index of the policy's payment method of the same name
    (case does not matter), or -1 where the policy has none: that order's method is drawn
    from the scenario's payment mix."""
    index = {name.casefold(): i for i, name in enumerate(methods)}
    return np.array(
        [index.get(name.casefold(), -1) if name else -1 for name in replay.payment.tolist()],
        dtype=np.int64,
    )


def resolve(scenario: Scenario, folder: Path) -> Scenario:
    """The scenario with its replayed log's path made absolute (from the scenario's folder)."""
    path = scenario.orders.replay
    if path is None or os.path.isabs(path):
        return scenario
    orders = scenario.orders.model_copy(update={"replay": str((folder / path).resolve())})
    return scenario.model_copy(update={"orders": orders})


class ReplayClock:
    """Hands out the log's order times a block at a time, like `ArrivalClock`."""

    last: slice  # the orders of the latest block (set by `times`)

    def __init__(self, replay: ReplayOrders):
        self.replay = replay
        self.position = 0

    def times(self, gaps: np.ndarray) -> np.ndarray:
        """The next len(gaps) orders' times (the gaps themselves are not used)."""
        first = self.position
        self.position = min(first + len(gaps), len(self.replay.times))
        self.last = slice(first, self.position)
        return self.replay.times[self.last]


def hourly_counts(replay: ReplayOrders, hours: int) -> np.ndarray:
    """Orders per hour of the horizon: the replayed stream's 'rate'."""
    counts = np.bincount(replay.times.astype(np.int64), minlength=hours)
    return counts[:hours].astype(float)
