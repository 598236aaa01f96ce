"""Orders and the pre-drawn facts about them.

`OrderFacts` turns one block of common random numbers into the scenario's facts about
each order (seller, value, buyer and seller behaviour); these do not depend on the
policy. An `Order` is the small mutable record of one open order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.engine.replay import seller_types
from sim.model.distributions import Fixed
from sim.model.policy import Cause
from sim.model.units import Duration

if TYPE_CHECKING:
    from sim.engine.replay import ReplayOrders
    from sim.engine.rules import CompiledPolicy
    from sim.model.scenario import Scenario

ACCEPT, REFUSE, IGNORE = 0, 1, 2
CAUSES = tuple(c for c in Cause if c is not Cause.BUYER_REQUEST)


class Population:
    """The sellers of a scenario: each seller's type, and how orders pick a seller.

    Each seller's weight (its size) is its type's `popularity` at the seller's own uniform
    from `RandomStreams.seller_sizes`: the same sellers for every policy of a replication.
    A fixed popularity ignores the uniforms (every seller of the type weighs the same), so
    `sizes` may be left out when no type draws its sellers' weights.
    """

    def __init__(
        self,
        scenario: Scenario,
        sizes: np.ndarray | None = None,
        serves: str | None = None,
        replay: ReplayOrders | None = None,
    ):
        types = list(scenario.sellers.types.values())
        self.names = list(scenario.sellers.types)
        self.types = types
        count = scenario.sellers.count
        if replay is not None:  # the log's sellers, typed by who fulfilled their orders
            self.type_of = seller_types(scenario.sellers, replay)
        else:
            self.type_of = scenario.sellers.type_of()
        if sizes is None:
            if not all(isinstance(t.popularity, Fixed) for t in types):
                raise ValueError("a drawn popularity needs the sellers' uniforms (sizes)")
            sizes = np.full(count, 0.5)
        weights = np.empty(count)
        for k, seller_type in enumerate(types):
            mask = self.type_of == k
            weights[mask] = seller_type.popularity.quantile(sizes[mask])
        # Validation keeps every possible draw above 0; only the edge of a continuous
        # distribution (u == 0, or an underflow) can give 0: such a seller gets (almost)
        # no orders, as it would with the smallest positive weight.
        self.weights = np.maximum(weights, np.finfo(float).tiny)
        marked = np.array([t.fulfilment == "platform" for t in types])[self.type_of]
        # Under a policy with platform fulfilment the marked sellers' orders are the
        # platform's to pack and answer; with `serves: all` the platform sells every order,
        # so orders go only to those sellers (its warehouses).
        self.platform = marked if serves is not None else np.zeros(count, dtype=bool)
        picked = self.weights
        if serves == "all" and replay is not None:
            # a replayed order keeps its seller: under a platform that sells every order
            # itself, every seller of the log stands for the platform
            self.platform = np.ones(count, dtype=bool)
        elif serves == "all":
            if not marked.any():
                raise ValueError("the platform serves every order, but no seller stands for it")
            picked = np.where(marked, self.weights, 0.0)
        # the seller metric judges the rest (under `serves: all` they have no orders)
        self.judged = ~self.platform
        self.cumulative = np.cumsum(picked) / picked.sum()
        # exactly 1 from the last seller with orders on, so that a uniform below 1 always
        # picks a seller with a weight
        self.cumulative[int(np.flatnonzero(picked).max()) :] = 1.0
        self.count = count


@dataclass(frozen=True)
class GivenOrders:
    """What a replayed log fixes about a block of orders: seller, value, payment method."""

    seller: np.ndarray
    cents: np.ndarray  # -1: not in the log, drawn from the scenario's value
    method: np.ndarray  # the policy's payment method; -1: not in the log or unknown, drawn

    @classmethod
    def of(cls, replay: ReplayOrders, methods: np.ndarray, block: slice) -> GivenOrders:
        return cls(replay.seller[block], replay.cents[block], methods[block])


class OrderFacts:
    """Scenario facts of one block of orders, as Python lists for fast scalar access."""

    def __init__(
        self,
        scenario: Scenario,
        people: Population,
        u: dict[str, np.ndarray],
        n: int,
        given: GivenOrders | None = None,
    ):
        if given is not None:
            seller = given.seller
        else:  # cumulative[-1] is exactly 1 and uniforms are below 1: a seller's index
            seller = np.searchsorted(people.cumulative, u["seller"][:n], side="right")
        kind = people.type_of[seller]
        buyers = scenario.buyers
        self.seller = seller.tolist()
        self.platform = people.platform[seller].tolist()  # the platform fulfils it
        self.kind = kind.tolist()
        self.cents = _cents(scenario, u["value"][:n], given)
        self.payment = u["payment"][:n]
        self.given_method = given.method if given is not None else None
        self.good_record = (u["good_record"][:n] < buyers.good_record).tolist()
        intent = u["intent"][:n] < buyers.cancel_intent
        self.intent = intent.tolist()
        delay = buyers.intent_delay  # None only where no buyer wishes to cancel
        self.intent_delay = (
            delay.quantile(u["intent_delay"][:n]).tolist() if delay is not None else [0.0] * n
        )
        self.pursue = (u["pursue"][:n] < buyers.pursue_after_shipment).tolist()
        self.transit = scenario.delivery.transit.quantile(u["transit"][:n]).tolist()
        self.return_transit = scenario.delivery.return_transit.quantile(
            u["return_transit"][:n]
        ).tolist()
        self.pack = _by_type(people, kind, u["pack"][:n], lambda t: t.pack_time)
        self.response = _by_type(people, kind, u["response"][:n], lambda t: t.response_time)
        self.cause, self.never_ships = _seller_fates(people, kind, u["cancel"][:n])
        accept = np.array([t.answers.accept for t in people.types])[kind]
        refuse = accept + np.array([t.answers.refuse for t in people.types])[kind]
        answer = u["answer"][:n]
        self.answer = np.where(
            answer < accept, ACCEPT, np.where(answer < refuse, REFUSE, IGNORE)
        ).tolist()
        self.u_processing = u["processing"][:n].tolist()
        self.u_rail = u["rail"][:n].tolist()
        self.u_release = u["release"][:n].tolist()
        self.u_intercept = u["intercept"][:n].tolist()
        self.u_after = u["after_refund"][:n].tolist()
        self.by_message = (u["by_message"][:n] < buyers.ask_by_message).tolist()


def _cents(scenario: Scenario, u: np.ndarray, given: GivenOrders | None) -> list[int]:
    """Order values in cents: the log's where it has them, else drawn."""
    dist = scenario.orders.value
    drawn = None
    if dist is not None:
        drawn = np.maximum(np.round(dist.quantile(u) * 100), 1).astype(np.int64)
    if given is None:
        assert drawn is not None  # validated: a generated stream has a value
        return drawn.tolist()
    if drawn is None:  # validated: every replayed order has a value
        return given.cents.tolist()
    return np.where(given.cents >= 0, given.cents, drawn).tolist()


def _by_type(people: Population, kind: np.ndarray, u: np.ndarray, dist_of) -> list[float]:
    out = np.empty(len(u))
    for k, seller_type in enumerate(people.types):
        mask = kind == k
        if mask.any():
            out[mask] = dist_of(seller_type).quantile(u[mask])  # clock hours (validated)
    return out.tolist()


def _seller_fates(
    people: Population, kind: np.ndarray, u: np.ndarray
) -> tuple[list[Cause | None], list[bool]]:
    """Which orders the seller cancels on its own (and why), and which it never ships.

    One uniform per order, cut into the type's shares in order (each cause, then
    never-ships, then the rest), so that the fates exclude each other as the shares say."""
    shares = np.zeros((len(people.types), len(CAUSES) + 1))
    for k, seller_type in enumerate(people.types):
        shares[k] = [*(seller_type.cancels.get(c, 0.0) for c in CAUSES), seller_type.never_ships]
    index = (u[:, None] >= np.cumsum(shares, axis=1)[kind]).sum(axis=1)
    causes = [CAUSES[i] if i < len(CAUSES) else None for i in index.tolist()]
    return causes, (index == len(CAUSES)).tolist()


NO_HOLD = Duration(0.0)


class Batch:
    """A block of orders as one policy sees them: arrival times, rules and deadlines.

    Computed with numpy for the whole block, so that placing an order is a few lookups.
    """

    def __init__(
        self,
        facts: OrderFacts,
        times: np.ndarray,
        compiled: CompiledPolicy,
        warmup: float,
        mix: np.ndarray,
    ):
        calendar = compiled.calendar
        version = np.searchsorted(compiled.starts, times, side="right") - 1
        ready, ship_by = np.empty(len(times)), np.empty(len(times))
        deadline = np.full(len(times), np.inf)
        for v in np.unique(version).tolist():
            rules, mask = compiled.versions[v], version == v
            hold = rules.pending.hold if rules.pending is not None else NO_HOLD
            ready[mask] = calendar.after_each(times[mask], hold)
            ship_by[mask] = calendar.after_each(times[mask], rules.ship_by.within)
            if rules.auto_cancel is not None:
                deadline[mask] = calendar.after_each(ship_by[mask], rules.auto_cancel.after)
        self.facts = facts
        self.size = len(times)
        self.times = times.tolist()
        self.rules = [
            (compiled.platform_versions if platform else compiled.versions)[v]
            for v, platform in zip(version.tolist(), facts.platform, strict=True)
        ]
        self.ready = ready.tolist()
        self.ship_by = ship_by.tolist()
        self.deadline = deadline.tolist()
        self.day = ((times + calendar.hour_offset) // 24).astype(np.int64).tolist()
        self.measured = (times >= warmup).tolist()
        method = np.minimum(np.searchsorted(mix, facts.payment, side="right"), len(mix) - 1)
        if facts.given_method is not None:  # a replayed order paid as the log says,
            method = np.where(facts.given_method >= 0, facts.given_method, method)  # if known
        self.method = method.tolist()


class Order:
    """One order while it is open."""

    __slots__ = (
        "facts",
        "row",
        "placed",
        "seller",
        "day",
        "cents",
        "method",
        "rules",
        "measured",
        "ready_at",
        "ship_by",
        "deadline",
        "stage",
        "closed",
        "intent_at",
        "intent_pending",
        "wants_out",
        "shipped_at",
        "seq",
    )

    def __init__(self, batch: Batch, row: int, seq: int):
        facts = batch.facts
        self.facts = facts
        self.row = row
        self.seq = seq
        self.placed = batch.times[row]
        self.seller = facts.seller[row]
        self.day = batch.day[row]
        self.cents = facts.cents[row]
        self.method = batch.method[row]
        self.rules = batch.rules[row]
        self.measured = batch.measured[row]
        self.ready_at = batch.ready[row]
        self.ship_by = batch.ship_by[row]
        self.deadline = batch.deadline[row]
        self.stage = 0  # a Stage (0: placed); 'released' is derived from ready_at
        self.closed = False
        self.intent_at = -1.0
        self.intent_pending = False
        self.wants_out = False
        self.shipped_at = -1.0
