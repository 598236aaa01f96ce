"""The SimPy model of one run: orders flow to sellers, buyers change their minds, money
comes back. Only the policy's data decides what happens; no platform is named here.

Only events that can change an outcome are scheduled: arrivals, packing at each seller's
stations, daily carrier pickups, a buyer's cancel intent (for the few buyers who have
one) and the decision on a cancel request. The rest is arithmetic on the clock: the
pending hold and the ship-by and auto-cancel deadlines are compared when an order is
next touched (an overdue order is cancelled as of its deadline), and refunds are
computed when a cancellation happens, so they need no event of their own.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from typing import Any, cast

import numpy as np
import simpy

from sim.engine.arrivals import ArrivalClock
from sim.engine.orders import (
    ACCEPT,
    IGNORE,
    Batch,
    GivenOrders,
    Order,
    OrderFacts,
    Population,
)
from sim.engine.recorder import FAILED, REFUNDING, InvariantError, Recorder
from sim.engine.replay import ReplayClock, matched_methods, replay_orders
from sim.engine.rules import CompiledPolicy
from sim.engine.streams import BLOCK, RandomStreams
from sim.engine.trace import TraceWriter
from sim.model.distributions import Distribution
from sim.model.policy import Cause, Outcome, Stage
from sim.model.scenario import ON_PACKING, Scenario, SellerType
from sim.model.units import Duration

# Orders that end unshipped because of the seller, whatever the platform counts: the
# seller's own cancel, the platform's cancel of an order not shipped in time, and any
# cancel of an order the seller never ships that the buyer asked for only after waiting.
SELLER_FAULT = frozenset({Outcome.SELLER_CANCELLED, Outcome.AUTO_CANCELLED})
UNSHIPPED_CANCELS = REFUNDING - frozenset(FAILED)  # refunded before it ever shipped

RELEASED, PACKING, PACKED, SHIPPED = Stage.RELEASED, Stage.PACKING, Stage.PACKED, Stage.SHIPPED


def describe(order: Order) -> str:
    """An order, for the report of an internal error."""
    return (
        f"order {order.seq} (placed at {order.placed:.3f} h, seller {order.seller}, "
        f"stage {order.stage}, intent at {order.intent_at:.3f} h, shipped at "
        f"{order.shipped_at:.3f} h)"
    )


class Desk:
    """One seller's packing stations, its queue, and the parcels waiting for the carrier.

    Stations are driven by callbacks: free stations take the oldest open orders that the
    platform has released, pack them and set them aside for the carrier. While the oldest
    open order is still in the platform's pending hold, one timer (not one per free
    station) wakes the desk when the hold ends.
    """

    def __init__(self, market: Market, kind: SellerType):
        self.market = market
        self.queue: deque[Order] = deque()
        self.free = kind.stations  # infinite when unlimited
        self.packed: list[Order] = []
        self.cancels_at_packing = kind.cancels_at == "packing"
        self.ships_when_packed = kind.pickup == ON_PACKING
        self.wake_at = math.inf  # when the armed timer looks at the queue again

    def enqueue(self, order: Order) -> None:
        self.queue.append(order)
        if self.free:
            self.take_next()

    def take_next(self) -> None:
        """Free stations start on the oldest open orders, in order, while there are any
        released; a held oldest order arms the timer for the end of its hold."""
        env, market, queue = self.market.env, self.market, self.queue
        now = env.now
        while queue and self.free:
            order = queue[0]
            if order.closed or (order.deadline <= now and market.expired(order)):
                queue.popleft()
            elif order.ready_at > now:  # still in the platform's pending hold
                if order.ready_at < self.wake_at:
                    self.wake_at = order.ready_at
                    env.timeout(order.ready_at - now, order.ready_at).callbacks.append(self.wake)
                return
            else:
                queue.popleft()
                if self.cancels_at_packing and order.facts.cause[order.row] is not None:
                    market.seller_cancel(order)
                    continue
                self.free -= 1
                order.stage = PACKING
                env.timeout(order.facts.pack[order.row], order).callbacks.append(self.done)

    def wake(self, event: simpy.Event) -> None:
        """The timer: the hold it waited for is over (a later timer may be armed too)."""
        if event.value == self.wake_at:
            self.wake_at = math.inf
        self.take_next()

    def done(self, event: simpy.Event) -> None:
        order = cast(Order, event.value)
        if not self.market.expired(order):
            order.stage = PACKED
            if self.ships_when_packed:
                self.market.ship(order, self)
            else:
                self.packed.append(order)
        self.free += 1
        self.take_next()


class Market:
    """One policy, one replication: the whole simulated market."""

    def __init__(
        self,
        scenario: Scenario,
        compiled: CompiledPolicy,
        streams: RandomStreams,
        payment_mix: dict[str, float],
        trace: TraceWriter | None = None,
    ):
        self.trace = trace
        self.env = simpy.Environment()
        self.scenario = scenario
        self.compiled = compiled
        self.calendar = compiled.calendar
        self.streams = streams
        replay = replay_orders(scenario) if scenario.orders.replay is not None else None
        self.people = Population(
            scenario, streams.seller_sizes(scenario.sellers.count), compiled.serves, replay
        )
        self.warmup = scenario.warmup.amount
        self.end = scenario.horizon.amount + scenario.drain.amount
        chase = scenario.buyers.chase_unshipped_after
        self.chase_after = chase.hours if chase is not None else None
        self.mix = np.cumsum([payment_mix[m] for m in compiled.methods])
        self.methods = compiled.methods
        self.open: dict[int, Order] = {}
        days = math.ceil((scenario.horizon.amount + self.calendar.hour_offset) / 24)
        self.recorder = Recorder(self.people.count, days, len(compiled.methods), self.end)
        self.desks = [Desk(self, self.people.types[k]) for k in self.people.type_of]
        self._start_carriers()
        self.clock: ArrivalClock | ReplayClock = (
            ReplayClock(replay) if replay is not None else ArrivalClock(scenario)
        )
        self.replay_methods = (
            matched_methods(replay, compiled.methods) if replay is not None else None
        )
        self._seq = 0
        if self._open_block():
            self._next_arrival()

    # ------------------------------------------------------------------ the run
    def run(self) -> Recorder:
        self.env.run(until=self.end)
        for order in list(self.open.values()):
            if not self.expired(order):
                self.close(order, Outcome.SHIPPED if order.stage == SHIPPED else Outcome.OPEN)
        self.recorder.finish()
        return self.recorder

    def _open_block(self) -> bool:
        """Draw the next block of orders; False once no order of it arrives in the horizon."""
        draws = self.streams.block()
        times = self.clock.times(draws["gap"])
        self._last_block = len(times) < BLOCK
        if not len(times):
            return False
        given = None
        if isinstance(self.clock, ReplayClock):
            assert self.replay_methods is not None
            given = GivenOrders.of(self.clock.replay, self.replay_methods, self.clock.last)
        facts = OrderFacts(self.scenario, self.people, draws, len(times), given)
        self._batch = batch = Batch(facts, times, self.compiled, self.warmup, self.mix)
        self._row = 0
        self.recorder.place_batch(
            np.asarray(facts.seller),
            np.asarray(batch.day),
            np.asarray(facts.cents),
            np.asarray(batch.measured),
            np.asarray(facts.intent),
        )
        return True

    def _next_arrival(self) -> None:
        when = self._batch.times[self._row]
        self.env.timeout(when - self.env.now).callbacks.append(self._arrive)

    def _arrive(self, event: simpy.Event) -> None:
        """An order arrives; the next one is scheduled (one pending arrival at a time)."""
        batch, row = self._batch, self._row
        self.place(batch, row)
        self._row = row = row + 1
        if row < batch.size:
            self.env.timeout(batch.times[row] - self.env.now).callbacks.append(self._arrive)
        elif not self._last_block and self._open_block():
            self._next_arrival()

    def _start_carriers(self) -> None:
        """One carrier per pickup time (daily at a clock time, or every N hours from the
        start), collecting from every seller that uses it."""
        rounds: dict[tuple[float, float], list[Desk]] = {}
        for seller, desk in enumerate(self.desks):
            kind = self.people.types[self.people.type_of[seller]]
            for clock_time in kind.pickup_times:
                first = (clock_time - self.calendar.hour_offset) % 24
                rounds.setdefault((first, 24.0), []).append(desk)
            if isinstance(kind.pickup, Duration):
                every = kind.pickup.amount
                rounds.setdefault((every, every), []).append(desk)
        for (first, every), desks in sorted(rounds.items()):
            self.env.process(self.carrier(first, every, desks))

    def carrier(
        self, first: float, every: float, desks: list[Desk]
    ) -> Generator[simpy.Event, Any, None]:
        """Collects every packed parcel of these sellers at hour `first`, then every
        `every` hours."""
        yield self.env.timeout(first)
        while True:
            for desk in desks:
                if desk.packed:
                    batch, desk.packed = desk.packed, []
                    for order in batch:
                        self.ship(order, desk)
            yield self.env.timeout(every)

    # ------------------------------------------------------------------ order life
    def place(self, batch: Batch, row: int) -> None:
        self.recorder.clock(self.env.now)
        seq = self._seq
        self._seq = seq + 1
        self.open[seq] = order = Order(batch, row, seq)
        facts = batch.facts
        never_ships = facts.never_ships[row]
        if not never_ships:
            self.desks[order.seller].enqueue(order)
        if facts.intent[row]:
            self._intend(order, facts.intent_delay[row])
        elif never_ships and self.chase_after is not None:
            self._intend(order, self.chase_after)

    def _intend(self, order: Order, delay: float) -> None:
        order.intent_pending = True
        self.env.timeout(delay, order).callbacks.append(self.on_intent)

    def stage_of(self, order: Order) -> int:
        if order.stage:
            return order.stage
        return RELEASED if self.env.now >= order.ready_at else 0

    def expired(self, order: Order) -> bool:
        """True if the order is closed, auto-cancelling it first if its deadline has passed."""
        if order.closed:
            return True
        if order.deadline <= self.env.now and order.stage < SHIPPED:
            self.cancel(order, Outcome.AUTO_CANCELLED, at=order.deadline, started=order.deadline)
            return True
        return False

    def ship(self, order: Order, desk: Desk) -> None:
        now = self.env.now
        if order.closed or (order.deadline <= now and self.expired(order)):
            return
        if not desk.cancels_at_packing and order.facts.cause[order.row] is not None:
            self.seller_cancel(order)
            return
        order.stage, order.shipped_at = SHIPPED, now
        late = now > order.ship_by
        self.recorder.ship(order.measured, late, self.compensation(order) if late else 0.0)
        if order.wants_out:
            self.after_shipment(order)
        elif not order.intent_pending:
            self.close(order, Outcome.SHIPPED)

    def on_intent(self, event: simpy.Event) -> None:
        """The buyer wants to cancel: the policy says what they can do now."""
        order = cast(Order, event.value)
        now = self.env.now
        order.intent_pending = False
        order.intent_at = now
        if self.expired(order):
            return
        if order.stage == SHIPPED:
            self.after_shipment(order)
            return
        rules, stage = order.rules, self.stage_of(order)
        alone, instant, request = rules.self_cancel, rules.instant_refund, rules.cancel_request
        if (
            alone is not None
            and stage < alone.until
            and (alone.window is None or now <= self.calendar.after(order.placed, alone.window))
        ):
            self.cancel(order, Outcome.SELF_CANCELLED, at=now, started=now)
        elif instant is not None and stage < instant.until and order.facts.good_record[order.row]:
            self.cancel(order, Outcome.INSTANT_REFUNDED, at=now, started=now)
        else:
            order.wants_out = True
            if request is not None and stage < request.until:
                self.request(order)

    def request(self, order: Order) -> None:
        """Schedule the one decision on a cancel request: the seller's or the platform's."""
        now, row = self.env.now, order.row
        request = order.rules.cancel_request
        assert request is not None  # on_intent asks only under a policy with requests
        when, handler = float("inf"), self.on_seller_answer
        if request.seller_decides and order.facts.answer[row] != IGNORE:
            when = now + order.facts.response[row]
        if request.platform_approves_after is not None:
            approve = self.calendar.after(now, request.platform_approves_after)
            if approve < when:
                when, handler = approve, self.on_platform_approval
        if when < float("inf"):
            self.env.timeout(when - now, order).callbacks.append(handler)

    def on_seller_answer(self, event: simpy.Event) -> None:
        order = cast(Order, event.value)
        if self.expired(order) or order.stage == SHIPPED:
            return  # shipping first closed the request
        accepted = order.facts.answer[order.row] == ACCEPT
        if accepted and self.stage_of(order) < self.request_until(order):
            self.cancel(
                order,
                Outcome.REQUEST_CANCELLED,
                at=self.env.now,
                started=order.intent_at,
            )

    def on_platform_approval(self, event: simpy.Event) -> None:
        order = cast(Order, event.value)
        if self.expired(order) or order.stage == SHIPPED:
            return
        if self.stage_of(order) < self.request_until(order):
            self.cancel(
                order, Outcome.REQUEST_AUTO_APPROVED, at=self.env.now, started=order.intent_at
            )

    @staticmethod
    def request_until(order: Order) -> int:
        """The stage before which the order's cancel request can still succeed (asked only
        of an order whose rules take requests)."""
        request = order.rules.cancel_request
        assert request is not None
        return request.until

    def seller_cancel(self, order: Order) -> None:
        now = self.env.now
        self.cancel(
            order, Outcome.SELLER_CANCELLED, at=now, started=now, cause=order.facts.cause[order.row]
        )

    def after_shipment(self, order: Order) -> None:
        """A buyer who wanted out of a shipped order: before delivery the carrier may stop
        the parcel, or the buyer refuses it at the door; after delivery only a return is
        left. Without a path (or the wish to use one) the buyer keeps it."""
        facts, row, now = order.facts, order.row, self.env.now
        after = order.rules.after_shipment
        delivered = order.shipped_at + facts.transit[row]
        u = facts.u_after[row]
        outcome, approved = Outcome.KEPT_AFTER_FAILED_CANCEL, 0.0
        if not facts.pursue[row]:
            pass
        elif (
            now < delivered
            and after.interception is not None
            and (facts.u_intercept[row] < after.interception.success)
        ):
            outcome = Outcome.INTERCEPTED
            approved = self.delay(now, after.interception.refund_after, u)
        elif now < delivered and after.refuse_delivery is not None:
            outcome = Outcome.REFUSED_DELIVERY
            approved = self.delay(delivered, after.refuse_delivery.refund_after, u)
        elif after.return_ is not None:
            outcome = Outcome.RETURNED
            sent = max(delivered, now)  # the parcel goes back once the buyer has it
            approved = self.delay(sent + facts.return_transit[row], after.return_.refund_after, u)
        if outcome is Outcome.KEPT_AFTER_FAILED_CANCEL:
            self.close(order, outcome)
        else:
            self.cancel(order, outcome, at=approved, started=order.intent_at)

    # ------------------------------------------------------------------ money
    def cancel(
        self, order: Order, outcome: Outcome, at: float, started: float, cause: Cause | None = None
    ) -> None:
        """Close the order and refund it: platform processing issues the refund (or voids
        the charge), then the payment rail brings the money back.

        The refund time runs from `started`, or from the buyer's own wish to cancel if
        that came first (a buyer who asked, then saw the seller or platform cancel)."""
        facts, row, refunds = order.facts, order.row, order.rules.refunds
        if 0 <= order.intent_at < started:
            started = order.intent_at
        issued = self.delay(at, refunds.processing, facts.u_processing[row])
        rail = refunds.rails[self.methods[order.method]]
        charged = refunds.charge_at == "order" or order.stage >= SHIPPED
        if rail.release is not None and not charged:
            back = self.delay(issued, rail.release, facts.u_release[row])  # the bank lets it go
        else:
            back = self.delay(issued, rail.delay, facts.u_rail[row])
        if not started <= issued <= back:
            raise InvariantError(
                f"{describe(order)}: refund issued at {issued:.3f} h, money back at "
                f"{back:.3f} h, against its cancellation at {started:.3f} h ({outcome})"
            )
        self.close(order, outcome, cause, (issued, back), at)
        self.recorder.refund(
            outcome, order.measured, order.cents, order.method, started, issued, back, order.day
        )

    def close(
        self,
        order: Order,
        outcome: Outcome,
        cause: Cause | None = None,
        refund: tuple[float, float] | None = None,
        at: float | None = None,
    ) -> None:
        """Give the order its one outcome; `refund` is (issued, back) for a refunded one."""
        facts, row = order.facts, order.row
        counted = False  # against the seller, in the policy's seller metric
        metric = order.rules.seller_metric
        if facts.platform[row] or metric is None:
            pass  # an order the platform fulfils is in no seller metric
        elif outcome in metric.counts:
            counted = outcome is not Outcome.SELLER_CANCELLED or (
                order.rules.seller_cancel.counts(cause)
            )
        elif outcome is Outcome.REQUEST_CANCELLED:  # asked only in a message, where that counts
            counted = metric.counts_message_requests and facts.by_message[row]
        seller_fault = outcome in SELLER_FAULT or (
            outcome in UNSHIPPED_CANCELS and facts.never_ships[row] and not facts.intent[row]
        )
        if order.closed:
            raise InvariantError(f"{describe(order)} was given a second outcome, {outcome}")
        order.closed = True
        del self.open[order.seq]
        self.recorder.close(
            outcome, order.measured, order.cents, order.seller, order.day, counted, seller_fault
        )
        if self.trace is not None:
            closed = self.env.now if at is None else at
            self.trace.add(self._trace_row(order, outcome, closed, refund))

    def _trace_row(
        self, order: Order, outcome: Outcome, closed: float, refund: tuple[float, float] | None
    ) -> tuple:
        def hours(x: float) -> float | None:
            return None if x < 0 else round(x, 6)

        return (
            order.seq,
            order.seller,
            round(order.placed, 6),
            outcome.value,
            round(closed, 6),
            hours(order.intent_at),
            hours(order.shipped_at),
            None if refund is None else round(refund[0], 6),
            None if refund is None else round(refund[1], 6),
            order.cents / 100,
            self.compiled.methods[order.method],
            order.measured,
        )

    def delay(self, start: float, dist: Distribution, u: float) -> float:
        """`start` plus a draw of `dist` (clock hours or business days) from uniform `u`."""
        amount = float(dist.quantile(u))  # type: ignore[arg-type]
        if dist.business_days:
            return self.calendar.add_business_days(start, amount)
        return start + amount

    def compensation(self, order: Order) -> float:
        """Late-shipment compensation in the scenario's currency."""
        late = order.rules.late_shipment
        rule = late.compensation if late is not None else None
        if rule is None:
            return 0.0
        price = order.cents / 100 / self.compiled.fx
        amount = max(rule.minimum, rule.share * price)
        if rule.maximum is not None:
            amount = min(amount, rule.maximum)
        return amount * self.compiled.fx
