"""The reference model: a plain SimPy model of an Amazon-like cancellation policy, written
the way an analyst would write it by hand. It is the yardstick of benchmarks/bench.py,
not a part of cancelsim (it imports nothing from it).

    python benchmarks/reference_model.py --hours 100 --seed 1

Its world is the one benchmarks/reference.yaml and benchmarks/reference-policy.yaml
describe in cancelsim's format. All times are in hours; time 0 is midnight.

* Orders arrive as a Poisson process (1,000 an hour) during [0, hours]. The simulation
  then runs until no event is left, so every order ends in one of four states.
* 200 sellers, each a simpy.Resource with 3 packing stations. An order is a SimPy
  process: it queues for a station of its seller, is packed in LogNormal(median 20 min,
  sigma 0.5), then waits for the daily carrier pickup at 17:00, when it ships; until
  then it can still be cancelled.
* 1% of orders are found out of stock at the pickup: the seller cancels them (counted
  against the seller).
* 8% of buyers want to cancel, Exp(mean 2 h) after ordering:
    - within 30 minutes of ordering and not shipped: they cancel themselves, at once;
    - later and not shipped: they ask; the seller answers after Exp(mean 4 h) and, if the
      order is still unshipped, accepts with p = 0.9 (not counted against the seller);
    - shipped first: the wish comes to nothing.
* Every cancelled order is refunded: 60% to a card (Uniform(24, 120) h), 40% to a
  wallet (at once).

The random numbers are drawn from one NumPy generator in the order the events happen;
the model does the same work, draw for draw, as the hand-written model the project's
speed target was first set against (`bench/naive_reference.py` in the workplace's
shared folder, outside this repository; the same seed gives the same report), so that
figures measured against either compare. Events are counted by overriding
Environment.step: one count per event taken off SimPy's queue and processed.
The report's lines (`orders`, `simpy events processed`, `sim loop wall (s)`,
`share <state>`) are what benchmarks/bench.py reads.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

ARRIVAL_RATE = 1000.0  # orders an hour
N_SELLERS = 200
STATIONS_PER_SELLER = 3
PACK_MEDIAN = 1.0 / 3.0  # hours of packing at a station (20 minutes)
PACK_SIGMA = 0.5
PICKUP_HOUR = 17.0  # the carrier collects the packed orders once a day, at 17:00
P_INTENT = 0.08
INTENT_MEAN = 2.0  # hours after ordering
SELF_CANCEL_WINDOW = 0.5  # hours after ordering
RESPONSE_MEAN = 4.0  # hours for the seller to answer a cancel request
P_ACCEPT = 0.9
P_OUT_OF_STOCK = 0.01
P_CARD = 0.6
CARD_MIN, CARD_MAX = 24.0, 120.0  # hours for a card refund; a wallet's is at once
SELLER_RATE_THRESHOLD = 0.025

SHIPPED = "shipped"
BUYER_SELF = "cancelled_buyer_self"
BUYER_REQUEST = "cancelled_buyer_request"
SELLER_OOS = "cancelled_seller_oos"
STATES = [SHIPPED, BUYER_SELF, BUYER_REQUEST, SELLER_OOS]
CANCELLED = [BUYER_SELF, BUYER_REQUEST, SELLER_OOS]

Process = Generator[simpy.Event, Any, None]


class CountingEnvironment(simpy.Environment):
    """A simpy.Environment that counts the events it processes (run() calls step())."""

    def __init__(self) -> None:
        super().__init__()
        self.n_events = 0

    def step(self) -> None:
        super().step()  # raises EmptySchedule at the end: that one is not counted
        self.n_events += 1


class Order:
    def __init__(self, number: int, seller: int, placed: float) -> None:
        self.number = number
        self.seller = seller
        self.placed = placed
        self.state: str | None = None  # None while the order is open
        self.shipped_at: float | None = None
        self.wish_at: float | None = None  # when the buyer acted on a wish to cancel
        self.cancelled_at: float | None = None
        self.refunded_at: float | None = None  # when the money is back
        self.packing: simpy.Process | None = None  # the order's own process


class Market:
    def __init__(self, env: CountingEnvironment, rng: np.random.Generator, hours: float):
        self.env = env
        self.rng = rng
        self.hours = hours
        self.sellers = [simpy.Resource(env, capacity=STATIONS_PER_SELLER) for _ in range(N_SELLERS)]
        self.orders: list[Order] = []

    def arrivals(self) -> Process:
        """Places orders until the arrival horizon; each gets its own process."""
        env, rng = self.env, self.rng
        number = 0
        while True:
            yield env.timeout(rng.exponential(1.0 / ARRIVAL_RATE))
            if env.now > self.hours:
                return
            order = Order(number, int(rng.integers(N_SELLERS)), env.now)
            self.orders.append(order)
            order.packing = env.process(self.pack_and_ship(order))
            if rng.random() < P_INTENT:
                env.process(self.buyer(order))
            number += 1

    def pack_and_ship(self, order: Order) -> Process:
        """Waits for a packing station, is packed, waits for the pickup, ships."""
        env, rng = self.env, self.rng
        try:
            with self.sellers[order.seller].request() as station:
                yield station
                yield env.timeout(rng.lognormal(math.log(PACK_MEDIAN), PACK_SIGMA))
            # packed: unshipped (and cancellable) until the carrier comes
            yield env.timeout((PICKUP_HOUR - env.now) % 24.0)
        except simpy.Interrupt:
            return  # cancelled while waiting; leaving `with` frees or withdraws the station
        if rng.random() < P_OUT_OF_STOCK:
            self.cancel(order, SELLER_OOS)
        else:
            order.state = SHIPPED
            order.shipped_at = env.now

    def buyer(self, order: Order) -> Process:
        """A buyer who will want to cancel: by themselves at first, then by asking."""
        env, rng = self.env, self.rng
        yield env.timeout(rng.exponential(INTENT_MEAN))
        if order.state is not None:  # shipped (too late) or cancelled already
            return
        order.wish_at = env.now
        if env.now - order.placed <= SELF_CANCEL_WINDOW:
            self.cancel(order, BUYER_SELF)
            return
        yield env.timeout(rng.exponential(RESPONSE_MEAN))  # the seller's answer
        if order.state is None and rng.random() < P_ACCEPT:
            self.cancel(order, BUYER_REQUEST)

    def cancel(self, order: Order, state: str) -> None:
        order.state = state
        order.cancelled_at = self.env.now
        # a buyer's cancel stops the packing process; the seller's comes from inside it
        if state != SELLER_OOS and order.packing is not None and order.packing.is_alive:
            order.packing.interrupt("cancelled")
        self.env.process(self.refund(order))

    def refund(self, order: Order) -> Process:
        delay = self.rng.uniform(CARD_MIN, CARD_MAX) if self.rng.random() < P_CARD else 0.0
        yield self.env.timeout(delay)
        order.refunded_at = self.env.now


def run(hours: float, seed: int) -> tuple[Market, float]:
    """Builds the market, runs it until no event is left; returns it and the loop's time."""
    env = CountingEnvironment()
    market = Market(env, np.random.default_rng(seed), hours)
    env.process(market.arrivals())
    started = time.perf_counter()
    env.run()
    return market, time.perf_counter() - started


def report(market: Market, seconds: float, hours: float, seed: int) -> list[str]:
    """The report's lines: counts, shares, refund times, the seller metric."""
    env, orders = market.env, market.orders
    n = len(orders)
    counts = dict.fromkeys(STATES, 0)
    open_orders = 0
    for order in orders:
        if order.state is None:
            open_orders += 1
        else:
            counts[order.state] += 1

    # hours from the buyer's wish (the seller's cancel, for out of stock) to the money
    waits: dict[str, list[float]] = {state: [] for state in CANCELLED}
    for order in orders:
        if order.state in waits:
            start = order.cancelled_at if order.state == SELLER_OOS else order.wish_at
            assert start is not None and order.refunded_at is not None
            waits[order.state].append(order.refunded_at - start)
    every_wait = np.array(waits[BUYER_SELF] + waits[BUYER_REQUEST] + waits[SELLER_OOS])

    seller_orders = np.zeros(N_SELLERS, dtype=np.int64)
    seller_cancels = np.zeros(N_SELLERS, dtype=np.int64)
    for order in orders:
        seller_orders[order.seller] += 1
        if order.state == SELLER_OOS:
            seller_cancels[order.seller] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(seller_orders > 0, seller_cancels / seller_orders, 0.0)
    over = float(np.mean(rate > SELLER_RATE_THRESHOLD))

    per_order = env.n_events / max(n, 1)
    lines = [
        f"hours={hours:g} seed={seed} simpy={simpy.__version__} numpy={np.__version__}",
        f"orders                 : {n}",
        f"simpy events processed : {env.n_events}  ({per_order:.2f} per order)",
        f"sim end time (h)       : {env.now:.1f}  (arrivals stop at {hours:g}; queue drain)",
        f"sim loop wall (s)      : {seconds:.3f}  -> {n / seconds:,.0f} orders/s, "
        f"{env.n_events / seconds:,.0f} events/s",
        f"open (non-terminal)    : {open_orders}",
    ]
    for state in STATES:
        share = counts[state] / n if n else 0.0
        lines.append(f"share {state:<24}: {share:.5f}  ({counts[state]})")
    quantiles = [0.5, 0.9, 0.99]
    if every_wait.size:
        p = np.quantile(every_wait, quantiles)
        lines.append(
            f"intent->refund hours (all {every_wait.size} cancels): "
            f"p50={p[0]:.2f} p90={p[1]:.2f} p99={p[2]:.2f}"
        )
        for state in CANCELLED:
            if waits[state]:
                p = np.quantile(waits[state], quantiles)
                lines.append(
                    f"   {state:<24}: n={len(waits[state]):6d} "
                    f"p50={p[0]:.2f} p90={p[1]:.2f} p99={p[2]:.2f}"
                )
    lines.append(f"seller cancellation rate overall : {seller_cancels.sum() / max(n, 1):.5f}")
    lines.append(
        f"fraction of sellers with rate > {SELLER_RATE_THRESHOLD:.1%}: {over:.4f} "
        f"({int(round(over * N_SELLERS))}/{N_SELLERS})"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=100.0, help="arrival horizon (hours)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    market, seconds = run(args.hours, args.seed)
    print("\n".join(report(market, seconds, args.hours, args.seed)))


if __name__ == "__main__":
    main()
