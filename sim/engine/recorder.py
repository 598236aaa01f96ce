"""Collects what a run measures in small aggregates, and checks the run's invariants.

Nothing is kept per order: outcome counts, a log-spaced histogram of refund times per
outcome and per payment method, per seller-day counts, and money totals in cents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.model.policy import Outcome

OUTCOMES = tuple(Outcome)
OUTCOME_INDEX = {o: i for i, o in enumerate(OUTCOMES)}
REFUNDING = frozenset(OUTCOMES) - {Outcome.SHIPPED, Outcome.KEPT_AFTER_FAILED_CANCEL, Outcome.OPEN}
FAILED = (
    Outcome.KEPT_AFTER_FAILED_CANCEL,
    Outcome.INTERCEPTED,
    Outcome.REFUSED_DELIVERY,
    Outcome.RETURNED,
)

# Refund-time histogram: bin 0 holds exact zeros; then log-spaced bins from 1e-3 h to 1e5 h.
EDGES = np.concatenate([[0.0], np.logspace(-3, 5, 1601)])
N_BINS = len(EDGES) + 1  # the last bin collects anything from 1e5 h on


class InvariantError(AssertionError):
    """An internal bug: a run broke a rule that every run must keep."""


def bin_of(hours: float) -> int:
    if hours <= 0.0:
        return 0
    return min(int(np.searchsorted(EDGES, hours, side="right")), N_BINS - 1)


@dataclass
class Recorder:
    """Aggregates of one run."""

    sellers: int
    days: int
    methods: int
    end: float
    placed: int = 0
    measured: int = 0
    intents: int = 0
    shipped: int = 0
    seller_fault: int = 0  # measured orders cancelled unshipped because of the seller
    late: int = 0
    compensation: float = 0.0
    money_hours: float = 0.0
    paid_cents: int = 0
    kept_cents: int = 0
    refunded_cents: int = 0
    in_flight_cents: int = 0
    open_cents: int = 0
    last_time: float = 0.0
    outcomes_all: np.ndarray = field(init=False)
    outcomes: np.ndarray = field(init=False)
    money_back_hist: np.ndarray = field(init=False)  # outcome x bin: money back with the buyer
    issued_hist: np.ndarray = field(init=False)  # outcome x bin: refund issued by the platform
    method_hist: np.ndarray = field(init=False)  # payment method x bin, money back
    money_back_sum: float = 0.0
    issued_sum: float = 0.0
    seller_orders: np.ndarray = field(init=False)
    seller_counted: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self._closed_all = dict.fromkeys(OUTCOMES, 0)  # plain ints: cheaper than numpy per order
        self._closed = dict.fromkeys(OUTCOMES, 0)
        self.outcomes_all = np.zeros(len(OUTCOMES), dtype=np.int64)
        self.outcomes = np.zeros(len(OUTCOMES), dtype=np.int64)
        self.money_back_hist = np.zeros((len(OUTCOMES), N_BINS), dtype=np.int64)
        self.issued_hist = np.zeros((len(OUTCOMES), N_BINS), dtype=np.int64)
        self.method_hist = np.zeros((self.methods, N_BINS), dtype=np.int64)
        self.seller_orders = np.zeros((self.sellers, self.days), dtype=np.int32)
        self.seller_counted = np.zeros((self.sellers, self.days), dtype=np.int32)
        # per day of placement: every order's outcome, and the measured refunds' count and
        # hours to money back (the report's daily figures and before/after a rule change)
        self._daily_closed: list[dict[Outcome, int]] = [
            dict.fromkeys(OUTCOMES, 0) for _ in range(self.days)
        ]
        self._day_refunds = [0] * self.days
        self._day_money_back = [0.0] * self.days
        self.daily_refunds = np.zeros(self.days, dtype=np.int64)
        self.daily_money_back = np.zeros(self.days)
        self.daily_outcomes = np.zeros((self.days, len(OUTCOMES)), dtype=np.int64)

    def clock(self, now: float) -> None:
        """Event times must never go backwards."""
        if now < self.last_time:
            raise InvariantError(f"time went back from {self.last_time} to {now}")
        self.last_time = now

    def place_batch(
        self,
        seller: np.ndarray,
        day: np.ndarray,
        cents: np.ndarray,
        measured: np.ndarray,
        intent: np.ndarray,
    ) -> None:
        """Account for a block of orders that will all be placed (all arrive in the horizon)."""
        self.placed += len(seller)
        self.paid_cents += int(cents.sum())
        np.add.at(self.seller_orders, (seller, day), 1)
        self.measured += int(measured.sum())
        self.intents += int((measured & intent).sum())

    def ship(self, measured: bool, late: bool, compensation: float) -> None:
        if measured:
            self.shipped += 1
            self.late += late
            self.compensation += compensation

    def close(
        self,
        outcome: Outcome,
        measured: bool,
        cents: int,
        seller: int,
        day: int,
        counted: bool,
        seller_fault: bool = False,
    ) -> None:
        self._closed_all[outcome] += 1
        self._daily_closed[day][outcome] += 1
        if outcome not in REFUNDING:
            if outcome is Outcome.OPEN:
                self.open_cents += cents
            else:
                self.kept_cents += cents
        if counted:
            self.seller_counted[seller, day] += 1
        if measured:
            self._closed[outcome] += 1
            self.seller_fault += seller_fault

    def refund(
        self,
        outcome: Outcome,
        measured: bool,
        cents: int,
        method: int,
        started: float,
        issued: float,
        back: float,
        day: int,
    ) -> None:
        """A refund on two clocks from `started`: `issued` when the platform refunds (or
        voids the charge), `back` when the money is with the buyer (the rail's delay, or
        the bank's release of an authorisation)."""
        if not started <= issued <= back:
            raise InvariantError(
                f"refund issued at {issued} and back at {back}: out of order with its "
                f"cancellation at {started}"
            )
        if back <= self.end:
            self.refunded_cents += cents
        else:
            self.in_flight_cents += cents
        if measured:
            i = OUTCOME_INDEX[outcome]
            hours = back - started
            b = bin_of(hours)
            self.money_back_hist[i, b] += 1
            self.method_hist[method, b] += 1
            self.money_back_sum += hours
            self._day_refunds[day] += 1
            self._day_money_back[day] += hours
            self.money_hours += hours * cents / 100
            issued_hours = issued - started
            self.issued_hist[i, bin_of(issued_hours)] += 1
            self.issued_sum += issued_hours

    def finish(self) -> None:
        """Move the outcome counters into arrays and check the run's invariants."""
        self.outcomes_all = np.array([self._closed_all[o] for o in OUTCOMES], dtype=np.int64)
        self.outcomes = np.array([self._closed[o] for o in OUTCOMES], dtype=np.int64)
        self.daily_outcomes = np.array(
            [[closed[o] for o in OUTCOMES] for closed in self._daily_closed], dtype=np.int64
        ).reshape(self.days, len(OUTCOMES))
        self.daily_refunds = np.array(self._day_refunds, dtype=np.int64)
        self.daily_money_back = np.array(self._day_money_back)
        self.check()

    def check(self) -> None:
        """One outcome per order and money conserved; raise `InvariantError` if not."""
        closed = int(self.outcomes_all.sum())
        if closed != self.placed:
            raise InvariantError(f"{self.placed} orders placed but {closed} outcomes recorded")
        held = self.kept_cents + self.refunded_cents + self.in_flight_cents + self.open_cents
        if held != self.paid_cents:
            raise InvariantError(
                f"money not conserved: paid {self.paid_cents} cents, but kept + "
                f"refunded + in flight + open = {held}"
            )
        refunds = int(sum(self.outcomes_all[OUTCOME_INDEX[o]] for o in REFUNDING))
        if int(self.money_back_hist.sum()) > refunds:
            raise InvariantError("more refunds measured than refunding outcomes")
        if not np.array_equal(self.daily_outcomes.sum(axis=0), self.outcomes_all):
            raise InvariantError("the daily outcome counts do not add up to the outcomes")
        if int(self.daily_refunds.sum()) != int(self.money_back_hist.sum()):
            raise InvariantError("the daily refund counts do not add up to the refunds")
