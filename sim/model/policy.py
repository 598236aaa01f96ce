"""A marketplace's cancellation and refund rules, as validated data.

Every rule section names the sources it was taken from (ids into `sources:`), and each
source says how sure we are of it: S (the platform's own page), W (a third-party copy or
translation), R (not found: an assumption).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from enum import StrEnum
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

from sim.model.base import Model
from sim.model.dated import ALWAYS, Dated
from sim.model.distributions import TimeDist
from sim.model.units import (
    DURATION_PATTERN,
    Count,
    Duration,
    DurationField,
    Flag,
    NonNegative,
    Probability,
    parse_duration,
)

Stage = Literal["released", "packing", "packed", "shipped"]
"""How far an order has gone at the seller: released by the platform (end of the pending
hold), packing begun, packed (waiting for the carrier), shipped (handed to the carrier)."""

STAGE_ORDER = {"placed": 0, "released": 1, "packing": 2, "packed": 3, "shipped": 4}


class Cause(StrEnum):
    """Why a seller cancels, in the simulator's own words; policies map their codes to these."""

    OUT_OF_STOCK = "out_of_stock"
    PRICING_ERROR = "pricing_error"
    UNDELIVERABLE_ADDRESS = "undeliverable_address"
    BUYER_REQUEST = "buyer_request"


class Outcome(StrEnum):
    """The one terminal outcome of every order."""

    SHIPPED = "shipped"
    SELF_CANCELLED = "self_cancelled"
    INSTANT_REFUNDED = "instant_refunded"
    REQUEST_CANCELLED = "request_cancelled"
    REQUEST_AUTO_APPROVED = "request_auto_approved"
    SELLER_CANCELLED = "seller_cancelled"
    AUTO_CANCELLED = "auto_cancelled"
    KEPT_AFTER_FAILED_CANCEL = "kept_after_failed_cancel"
    INTERCEPTED = "intercepted"
    REFUSED_DELIVERY = "refused_delivery"
    RETURNED = "returned"
    OPEN = "open"


class Source(Model):
    """Where a rule was read, when, and how far to trust it."""

    title: str
    url: str | None = None
    seen: dt.date
    confidence: Literal["S", "W", "R"]
    note: str | None = None


class Sourced(Model):
    """A rule section: its numbers and the sources they come from."""

    source: str | list[str]
    note: str | None = None

    @property
    def source_ids(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


class Pending(Sourced):
    """New orders are held by the platform before the seller may work on them."""

    hold: Dated[DurationField]


class SelfCancel(Sourced):
    """The buyer cancels alone, at once, within a window from placement."""

    window: Dated[DurationField]
    until: Stage = "shipped"


def _never() -> dict[dt.date, Duration | None]:
    return {ALWAYS: None}


def _not_counted() -> dict[dt.date, bool]:
    return {ALWAYS: False}


class CancelRequest(Sourced):
    """After the self-service window the buyer asks; the seller and/or platform decide."""

    until: Stage = "shipped"
    seller_decides: Flag = True
    platform_approves_after: Dated[DurationField | None] = Field(default_factory=_never)


class InstantRefund(Sourced):
    """Buyers with a good record are refunded at once while the order has not shipped."""

    until: Stage = "shipped"


class Reason(Model):
    """A seller-cancellation reason code of the platform."""

    cause: Cause
    counted: Flag


class SellerCancel(Sourced):
    """The platform's reason codes and whether each counts against the seller."""

    reasons: dict[str, Reason] = Field(min_length=1)


class ShipBy(Sourced):
    """The ship-by deadline, measured from placement."""

    within: Dated[DurationField]


class AutoCancel(Sourced):
    """The platform cancels an order not shipped this long after its ship-by deadline.

    Whether auto-cancels count against the seller is said by `seller_metric.counts`."""

    after: Dated[DurationField]


class Compensation(Model):
    """Paid by the seller to the buyer for a late shipment: a share of the price, capped."""

    share: Probability
    minimum: NonNegative = 0.0
    maximum: NonNegative | None = None


class LateShipment(Sourced):
    compensation: Dated[Compensation | None]


class Interception(Sourced):
    """The carrier is asked to stop a shipped parcel."""

    success: Probability
    refund_after: TimeDist


class RefusedDelivery(Sourced):
    """The buyer refuses the parcel at the door; refund after it is refused."""

    refund_after: TimeDist


class ReturnAfterDelivery(Sourced):
    """The buyer sends the parcel back; refund after the return arrives."""

    refund_after: TimeDist


class AfterShipment(Model):
    """What a buyer who still wants out can do once the order has shipped, tried in order."""

    interception: Interception | None = None
    refuse_delivery: RefusedDelivery | None = None
    return_: ReturnAfterDelivery | None = Field(default=None, alias="return")


class Rail(Sourced):
    """A payment method: how long its refunds take once the platform has processed them."""

    delay: Dated[TimeDist]
    # an uncharged card's authorisation, released by the bank (charge_at: shipment)
    release: Dated[TimeDist | None] = Field(default_factory=_never)


class PlatformFulfilment(Sourced):
    """Orders the platform's own warehouses pack and ship (Amazon FBA, JD self-operated).

    The platform, not the seller, answers the buyer's cancel; no seller metric judges
    these orders. `serves: some` plays the scenario's seller types marked
    `fulfilment: platform` this way; `serves: all` makes the platform the seller of every
    order (a self-operated store): every order goes to those types' warehouses."""

    serves: Literal["some", "all"] = "some"
    # the buyer cancels alone, with no time limit, until the order reaches this stage
    self_cancel_until: Stage | None = None
    # the platform approves a cancel request this long after it is made (None: as in
    # cancel_request)
    approves_after: Dated[DurationField | None] = Field(default_factory=_never)


class Refunds(Sourced):
    """Refund processing by the platform, then the payment rail."""

    processing: Dated[TimeDist]
    charge_at: Literal["order", "shipment"] = "order"
    rails: dict[str, Rail] = Field(min_length=1)


class Window(NamedTuple):
    """A seller metric's look-back: whole days (7d, 60d) or whole calendar months."""

    days: int = 0
    months: int = 0

    def __str__(self) -> str:
        if self.months:
            return f"{self.months} month{'s' if self.months > 1 else ''}"
        return f"{self.days}d"


WINDOW_EXPECTED = "a window is whole days (7d, 30d, 60d) or whole months (3 months, 12 months)"
MAX_WINDOW_MONTHS = 120  # ten years: longer than any platform looks back


def parse_window(value: Any) -> Window:
    """Read `7d`, `60d`, `3 months`, `12 months`."""
    if isinstance(value, Window):
        return value
    if isinstance(value, str):
        months = re.fullmatch(r"\s*(\d+)\s*(months?|mo)\s*", value.lower())
        if months:
            if not 0 < int(months.group(1)) <= MAX_WINDOW_MONTHS:
                raise ValueError(
                    f"{value!r} is out of range; expected 1 to {MAX_WINDOW_MONTHS} months"
                )
            return Window(months=int(months.group(1)))
    try:
        duration = parse_duration(value)
    except ValueError as e:
        raise ValueError(f"{str(e).split(';')[0]}; {WINDOW_EXPECTED}") from None
    if duration.business_days or duration.amount % 24 or duration.amount <= 0:
        raise ValueError(f"{duration} is not a whole number of calendar days; {WINDOW_EXPECTED}")
    if duration.amount > 3650 * 24:
        raise ValueError(f"{duration} is out of range; expected at most 3650d (10 years)")
    return Window(days=int(duration.amount // 24))


WindowField = Annotated[
    Window,
    BeforeValidator(parse_window),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "type": "string",
            "anyOf": [
                {"pattern": r"^\s*\d+\s*(months?|mo)\s*$"},
                {"pattern": DURATION_PATTERN},
            ],
            "description": WINDOW_EXPECTED,
        }
    ),
]


class Minimum(Model):
    """Counts a seller's window must reach before the platform can flag it."""

    orders: Count = Field(default=0, ge=0)  # orders in the window
    counted: Count = Field(default=0, ge=0)  # counted events (cancels, refunds) in the window


class SellerMetric(Sourced):
    """The platform's own seller cancellation (or refund) rate, evaluated as it evaluates it.

    At each evaluation (every day, at the end of each week on Sunday, or on the last day of
    each month) the platform looks back over `window`; a seller whose counted share of
    orders in the window is above `threshold`, with at least the `minimum` counts, is
    flagged, with `consequence`."""

    name: str
    counts: list[Outcome] = Field(min_length=1)
    counts_message_requests: Dated[Flag] = Field(default_factory=_not_counted)
    window: WindowField
    cadence: Literal["daily", "weekly", "monthly"] = "daily"
    minimum: Minimum = Minimum()
    threshold: Probability | None = None
    consequence: str | None = None


# The metrics a policy's seller metric defines, by what they depend on (see
# Policy.metric_definitions); sim.metrics marks the same names platform_defined.
RATE = ("platform_metric_rate",)
RAW = ("sellers_over_threshold_share", "seller_days_over_threshold_share")
FLAGGED = ("sellers_flagged_share", "seller_weeks_flagged_share")


class Policy(Model):
    """All the cancellation and refund rules of one marketplace."""

    name: str
    platform: str
    description: str | None = None
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    calendar: str
    sources: dict[str, Source] = Field(min_length=1)
    pending: Pending | None = None
    self_cancel: SelfCancel | None = None
    cancel_request: CancelRequest | None = None
    instant_refund: InstantRefund | None = None
    seller_cancel: SellerCancel
    ship_by: ShipBy
    auto_cancel: AutoCancel | None = None
    late_shipment: LateShipment | None = None
    after_shipment: AfterShipment = AfterShipment()
    platform_fulfilment: PlatformFulfilment | None = None
    refunds: Refunds
    seller_metric: SellerMetric | None = None

    def metric_definitions(self) -> dict[str, str | None]:
        """What each metric the seller metric defines depends on, for telling whether two
        policies' values can be compared: the rate on what counts; the raw reading also
        on the window and threshold; the platform's flags also on the cadence and the
        minimum counts. None without a seller metric."""
        metric = self.seller_metric
        if metric is None:
            return dict.fromkeys(RATE + RAW + FLAGGED)
        counts = {
            "counts": sorted(o.value for o in metric.counts),
            "counted_causes": sorted(
                {r.cause.value for r in self.seller_cancel.reasons.values() if r.counted}
            ),
            "counts_message_requests": {
                str(d): v for d, v in metric.counts_message_requests.items()
            },
        }
        raw = {**counts, "window": str(metric.window), "threshold": metric.threshold}
        flagged = {**raw, "cadence": metric.cadence, "minimum": metric.minimum.model_dump()}
        texts = [json.dumps(d, sort_keys=True) for d in (counts, raw, flagged)]
        return {
            **dict.fromkeys(RATE, texts[0]),
            **dict.fromkeys(RAW, texts[1]),
            **dict.fromkeys(FLAGGED, texts[2]),
        }

    def sections(self) -> dict[tuple[Any, ...], Sourced]:
        """Every sourced rule section, by its key path."""
        found: dict[tuple[Any, ...], Sourced] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Sourced):
                found[(name,)] = value
            elif isinstance(value, AfterShipment):
                for sub, info in AfterShipment.model_fields.items():
                    if isinstance(getattr(value, sub), Sourced):
                        found[(name, info.alias or sub)] = getattr(value, sub)
        for method, rail in self.refunds.rails.items():
            found[("refunds", "rails", method)] = rail
        return found
