"""A marketplace's cancellation and refund rules, as validated data.

Every rule section names the sources it was taken from (ids into `sources:`), and each
source says how sure we are of it: S (the platform's own page), W (a third-party copy or
translation), R (not found: an assumption).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
)

from sim.model import wording as words
from sim.model.base import Model
from sim.model.dated import in_force
from sim.model.distributions import TimeDist
from sim.model.units import (
    DURATION_PATTERN,
    Amount,
    Duration,
    DurationField,
    Flag,
    Probability,
    parse_duration,
)


class Stage(IntEnum):
    """How far an order has gone at the seller: placed, released by the platform (end of
    the pending hold), packing begun, packed (waiting for the carrier), shipped (handed to
    the carrier). Written by name in YAML; compared as numbers in the engine."""

    PLACED = 0
    RELEASED = 1
    PACKING = 2
    PACKED = 3
    SHIPPED = 4

    def __str__(self) -> str:
        return self.name.lower()


STAGE_NAMES = ("released", "packing", "packed", "shipped")
STAGE_ORDER = {s.name.lower(): int(s) for s in Stage}


def _stage(value: Any) -> Stage:
    if isinstance(value, Stage):
        return value
    if isinstance(value, str) and value in STAGE_NAMES:
        return Stage[value.upper()]
    import difflib

    hint = difflib.get_close_matches(str(value), STAGE_NAMES, n=1)
    tip = f"did you mean {hint[0]!r}? " if hint else ""
    expected = ", ".join(repr(s) for s in STAGE_NAMES[:-1]) + f" or {STAGE_NAMES[-1]!r}"
    raise ValueError(f"{value!r} is not allowed; {tip}expected {expected}")


StageField = Annotated[
    Stage,
    BeforeValidator(_stage),
    PlainSerializer(str),
    WithJsonSchema({"enum": list(STAGE_NAMES), "description": "a stage of the order"}),
]


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


Row = tuple[str, str, list[str]]
"""One line of the report's rules table: the rule, what it says, its source ids."""


class Sourced(Model):
    """A rule section: its numbers and the sources they come from.

    Each section says in words what it does (`describe`), under its `title`; `absent` is
    what the report says of a policy without the section (no row when None)."""

    title: ClassVar[str] = ""
    absent: ClassVar[str | None] = None

    source: str | list[str]
    note: str | None = None

    @property
    def source_ids(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)

    def describe(self, rules: Rules) -> str:
        raise NotImplementedError

    def rows(self, rules: Rules) -> list[Row]:
        """The report's rows for this section (one, unless it has parts)."""
        return [(self.title, self.describe(rules), self.source_ids)]


class Pending(Sourced):
    """New orders are held by the platform before the seller may work on them."""

    title: ClassVar[str] = "Pending hold before the seller may start"

    hold: DurationField

    def describe(self, rules: Rules) -> str:
        return words.duration(self.hold)


class SelfCancel(Sourced):
    """The buyer cancels alone, at once, within a window from placement (`window: null`:
    at any time) and before the order reaches a stage."""

    title: ClassVar[str] = "Buyer cancels alone"
    absent: ClassVar[str | None] = "not possible"

    window: DurationField | None  # null: no time limit, only the stage
    until: StageField = Stage.SHIPPED

    def describe(self, rules: Rules) -> str:
        if self.window is None:
            return f"at any time {words.until(self.until)}"
        return f"within {words.duration(self.window)} of ordering, {words.until(self.until)}"


class CancelRequest(Sourced):
    """After the self-service window the buyer asks; the seller and/or platform decide."""

    title: ClassVar[str] = "Buyer's cancel request"
    absent: ClassVar[str | None] = "not possible"

    until: StageField = Stage.SHIPPED
    seller_decides: Flag = True
    platform_approves_after: DurationField | None = None

    def describe(self, rules: Rules) -> str:
        approve = self.platform_approves_after
        who = "the seller accepts or refuses" if self.seller_decides else "the platform decides"
        auto = (
            f"; approved automatically after {words.duration(approve)} unless refused or shipped"
            if approve is not None
            else "; no deadline"
        )
        return f"{who}, {words.until(self.until)}{auto}"


class InstantRefund(Sourced):
    """Buyers with a good record are refunded at once while the order has not shipped."""

    title: ClassVar[str] = "Instant refund (good-record buyers)"
    absent: ClassVar[str | None] = "none"

    until: StageField = Stage.SHIPPED

    def describe(self, rules: Rules) -> str:
        return f"at once, {words.until(self.until)}"


class Reason(Model):
    """A seller-cancellation reason code of the platform."""

    cause: Cause
    counted: Flag


class SellerCancel(Sourced):
    """The platform's reason codes and whether each counts against the seller."""

    reasons: dict[str, Reason] = Field(min_length=1)

    def counts(self, cause: Cause | None) -> bool:
        """Does a seller's cancel for `cause` count against it (under some reason code)?"""
        return any(r.counted and r.cause == cause for r in self.reasons.values())

    def rows(self, rules: Rules) -> list[Row]:
        return []  # shown with the seller metric, which says what counts


class ShipBy(Sourced):
    """The ship-by deadline, measured from placement."""

    title: ClassVar[str] = "Ship-by deadline"

    within: DurationField

    def describe(self, rules: Rules) -> str:
        return f"{words.duration(self.within)} after ordering"


class AutoCancel(Sourced):
    """The platform cancels an order not shipped this long after its ship-by deadline.

    Whether auto-cancels count against the seller is said by `seller_metric.counts`."""

    title: ClassVar[str] = "Auto-cancel if not shipped"
    absent: ClassVar[str | None] = "never"

    after: DurationField

    def describe(self, rules: Rules) -> str:
        return f"{words.duration(self.after)} after ship-by"


class Compensation(Model):
    """Paid by the seller to the buyer for a late shipment: a share of the price, capped."""

    share: Probability
    minimum: Amount = 0.0  # money, at most 1e12 (units.MAX_AMOUNT)
    maximum: Amount | None = None


class LateShipment(Sourced):
    title: ClassVar[str] = "Late-shipment compensation"
    absent: ClassVar[str | None] = "none"

    compensation: Compensation | None

    def describe(self, rules: Rules) -> str:
        rule, currency = self.compensation, rules.currency
        if rule is None:
            return "none"
        cap = f", at most {rule.maximum:g} {currency}" if rule.maximum is not None else ""
        return f"{rule.share:.0%} of the price, at least {rule.minimum:g} {currency}{cap}"


class Interception(Sourced):
    """The carrier is asked to stop a shipped parcel."""

    title: ClassVar[str] = "After shipment: interception"

    success: Probability
    refund_after: TimeDist

    def describe(self, rules: Rules) -> str:
        return (
            f"the carrier stops {self.success:.0%} of parcels; refund "
            f"{words.dist(self.refund_after)} after the request"
        )


class RefusedDelivery(Sourced):
    """The buyer refuses the parcel at the door; refund after it is refused."""

    title: ClassVar[str] = "After shipment: delivery refused"

    refund_after: TimeDist

    def describe(self, rules: Rules) -> str:
        return f"refund {words.dist(self.refund_after)} after the refusal"


class ReturnAfterDelivery(Sourced):
    """The buyer sends the parcel back; refund after the return arrives."""

    title: ClassVar[str] = "After delivery: return"

    refund_after: TimeDist

    def describe(self, rules: Rules) -> str:
        return f"refund {words.dist(self.refund_after)} after the return arrives"


class AfterShipment(Model):
    """What a buyer who still wants out can do once the order has shipped, tried in order."""

    interception: Interception | None = None
    refuse_delivery: RefusedDelivery | None = None
    return_: ReturnAfterDelivery | None = Field(default=None, alias="return")


class Rail(Sourced):
    """A payment method: how long its refunds take once the platform has processed them."""

    delay: TimeDist
    # an uncharged card's authorisation, released by the bank (charge_at: shipment)
    release: TimeDist | None = None

    def describe(self, rules: Rules) -> str:
        released = (
            f"; uncharged authorisation released in {words.dist(self.release)}"
            if self.release is not None
            else ""
        )
        return words.dist(self.delay) + released


class PlatformFulfilment(Sourced):
    """Orders the platform's own warehouses pack and ship (Amazon FBA, JD self-operated).

    The platform, not the seller, answers the buyer's cancel; no seller metric judges
    these orders. `serves: some` plays the scenario's seller types marked
    `fulfilment: platform` this way; `serves: all` makes the platform the seller of every
    order (a self-operated store): every order goes to those types' warehouses."""

    title: ClassVar[str] = "Fulfilled by the platform"
    absent: ClassVar[str | None] = "none: every seller ships itself"

    serves: Literal["some", "all"] = "some"
    # the buyer cancels alone, with no time limit, until the order reaches this stage
    self_cancel_until: StageField | None = None
    # the platform approves a cancel request this long after it is made (None: as in
    # cancel_request)
    approves_after: DurationField | None = None

    def describe(self, rules: Rules) -> str:
        who = (
            "every order, from the platform's own warehouses"
            if self.serves == "all"
            else "the orders of sellers whose stock the platform holds"
        )
        alone = (
            f"; their buyers cancel alone {words.until(self.self_cancel_until)}"
            if self.self_cancel_until is not None
            else ""
        )
        approve = self.approves_after
        approval = f"; requests approved after {words.duration(approve)}" if approve else ""
        return (
            f"{who}: the platform packs and answers the buyer{alone}{approval}; in no seller metric"
        )


class Refunds(Sourced):
    """Refund processing by the platform, then the payment rail."""

    title: ClassVar[str] = "Refund processing"

    processing: TimeDist
    charge_at: Literal["order", "shipment"] = "order"
    rails: dict[str, Rail] = Field(min_length=1)

    def describe(self, rules: Rules) -> str:
        return f"{words.dist(self.processing)}; charged at {self.charge_at}"

    def rows(self, rules: Rules) -> list[Row]:
        return [
            *super().rows(rules),
            *[
                (f"Refund rail: {method}", rail.describe(rules), rail.source_ids)
                for method, rail in self.rails.items()
            ],
        ]


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


def _whole_days(value: Duration) -> Duration:
    if value.business_days or value.amount % 24 or not value.amount <= 365 * 24:
        raise ValueError(f"{value} is not a whole number of calendar days up to 365d (0d, 7d)")
    return value


LagField = Annotated[
    Duration,
    BeforeValidator(parse_duration),
    AfterValidator(_whole_days),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": DURATION_PATTERN}, {"const": 0}],
            "description": "whole calendar days, 0d to 365d",
        }
    ),
]
"""A look-back of the seller metric: whole days up to a year (it reaches back, not ahead,
so it is not bound by the calendar built past the run)."""

MAX_MINIMUM = 1_000_000_000
"""A seller metric's minimum counts: more than any seller's window can hold."""
MinimumCount = Annotated[int, Strict(), Field(ge=0, le=MAX_MINIMUM)]


class Minimum(Model):
    """Counts a seller's window must reach before the platform can flag it."""

    orders: MinimumCount = 0  # orders in the window
    counted: MinimumCount = 0  # counted events (cancels, refunds) in the window


class SellerMetric(Sourced):
    """The platform's own seller cancellation (or refund) rate, evaluated as it evaluates it.

    At each evaluation (every day, at the end of each week on Sunday, or on the last day of
    each month) the platform looks back over `window`; a seller whose counted share of
    orders in the window is above `threshold`, with at least the `minimum` counts, is
    flagged, with `consequence`."""

    title: ClassVar[str] = "Seller metric"
    absent: ClassVar[str | None] = "none"

    name: str
    counts: list[Outcome] = Field(min_length=1)
    counts_message_requests: Flag = False
    window: WindowField
    # whole days between the window's last day and the evaluation (Lazada looks at orders
    # created 35 to 8 days before: a 28d window with a 7d lag)
    lag: LagField = Field(default=Duration(0.0), validate_default=True)
    cadence: Literal["daily", "weekly", "monthly"] = "daily"
    minimum: Minimum = Minimum()
    threshold: Probability | None = None
    consequence: str | None = None

    def evaluation(self) -> str:
        """How the platform evaluates it: '7d window, evaluated daily, no minimum counts'."""
        minimum = self.minimum
        needs = [
            f"{n} {what}"
            for n, what in ((minimum.orders, "orders"), (minimum.counted, "counted events"))
            if n
        ]
        lag = f" ending {words.duration(self.lag)} before the evaluation" if self.lag.amount else ""
        return f"{self.window} window{lag}, evaluated {self.cadence}, " + (
            f"at least {' and '.join(needs)} in the window" if needs else "no minimum counts"
        )

    def describe(self, rules: Rules) -> str:
        threshold = (
            f"threshold {self.threshold:.1%}"
            if self.threshold is not None
            else "no public threshold"
        )
        consequence = f" ({self.consequence})" if self.consequence else ""
        messages = "; cancels asked only by message count" if self.counts_message_requests else ""
        return (
            f"{self.name}: {', '.join(self.counts)}{messages}; "
            f"{self.evaluation()}; {threshold}{consequence}"
        )


# The metrics a policy's seller metric defines, by what they depend on (see
# Policy.metric_definitions); sim.metrics marks the same names platform_defined.
RATE = ("platform_metric_rate",)
RAW = ("sellers_over_threshold_share", "seller_days_over_threshold_share")
FLAGGED = ("sellers_flagged_share", "seller_weeks_flagged_share")

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
FIXED = ("key", "name", "platform", "description", "currency", "calendar", "sources")
"""A policy's top-level keys that say what it is, not what it rules: never dated."""


class Rules(Model):
    """A marketplace's cancellation and refund rules as in force on one day: a policy file
    with every dated value resolved (`Policy.at(day)`), under the file's own names."""

    key: str | None = Field(None, pattern=KEY_PATTERN)
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

    def rows(self) -> list[Row]:
        """The rules in words, section by section, as the report's rules table shows them."""
        found: list[Row] = []
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, AfterShipment):
                for sub in AfterShipment.model_fields:
                    part = getattr(value, sub)
                    found += part.rows(self) if part is not None else []
            elif isinstance(value, Sourced):
                found += value.rows(self)
            elif value is None:
                section = _section_type(info.annotation)
                if section is not None and section.absent is not None:
                    found.append((section.title, section.absent, []))
        return found

    def for_platform_orders(self) -> Rules:
        """The rules for an order the platform fulfils: the platform answers the buyer's
        cancel (never the seller), and may let the buyer cancel alone until a stage."""
        fulfilment = self.platform_fulfilment
        if fulfilment is None:
            return self
        update: dict[str, Any] = {}
        if fulfilment.self_cancel_until is not None:
            update["self_cancel"] = SelfCancel.model_construct(
                window=None,
                until=fulfilment.self_cancel_until,
                source=fulfilment.source,
            )
        request = self.cancel_request
        if request is not None:
            request = request.model_copy(update={"seller_decides": False})
        if fulfilment.approves_after is not None:
            request = (
                request.model_copy(update={"platform_approves_after": fulfilment.approves_after})
                if request is not None
                else CancelRequest.model_construct(
                    until=Stage.SHIPPED,
                    seller_decides=False,
                    platform_approves_after=fulfilment.approves_after,
                    source=fulfilment.source,
                )
            )
        update["cancel_request"] = request
        return self.model_copy(update=update)


def _section_type(annotation: Any) -> type[Sourced] | None:
    """`Pending | None` -> Pending."""
    import typing

    for member in typing.get_args(annotation) or (annotation,):
        if isinstance(member, type) and issubclass(member, Sourced):
            return member
    return None


@dataclass(frozen=True)
class Policy:
    """A policy file: the rules in force from each effective date, and the key the policy
    goes by (its `key:`, else its file's stem).

    `versions` starts on the first day on which every rule has a value (`ALWAYS` for a
    file without dates), then holds one version from each later effective date."""

    key: str
    versions: dict[dt.date, Rules]
    dated: dict[tuple[Any, ...], list[dt.date]] = field(default_factory=dict)

    def at(self, day: dt.date) -> Rules:
        """The rules in force on `day`."""
        return in_force(self.versions, day)

    @property
    def first(self) -> Rules:
        return next(iter(self.versions.values()))

    @property
    def starts(self) -> dt.date:
        """The first day the policy has rules for."""
        return next(iter(self.versions))

    @property
    def name(self) -> str:
        return self.first.name

    @property
    def platform(self) -> str:
        return self.first.platform

    @property
    def currency(self) -> str:
        return self.first.currency

    @property
    def calendar(self) -> str:
        return self.first.calendar

    @property
    def sources(self) -> dict[str, Source]:
        return self.first.sources

    def changes(self) -> list[dt.date]:
        """The effective dates after the first version."""
        return list(self.versions)[1:]

    def renamed(self, key: str) -> Policy:
        """The same rules under another key (`cancelsim diff` plays two files as old, new)."""
        return Policy(key, self.versions, self.dated)

    def to_json(self) -> dict[str, Any]:
        """Plain data: every version by its effective date."""
        return {
            "key": self.key,
            "versions": {
                str(day): rules.model_dump(mode="json", by_alias=True)
                for day, rules in self.versions.items()
            },
        }

    def metric_definitions(self) -> dict[str, str | None]:
        """What each metric the seller metric defines depends on, for telling whether two
        policies' values can be compared: the rate on what counts; the raw reading also
        on the window and threshold; the platform's flags also on the cadence and the
        minimum counts. None without a seller metric in any version."""
        if all(r.seller_metric is None for r in self.versions.values()):
            return dict.fromkeys(RATE + RAW + FLAGGED)
        parts: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        for day, rules in self.versions.items():
            metric = rules.seller_metric
            if metric is None:
                parts.append((str(day), {}, {}, {}))
                continue
            counts = {
                "counts": sorted(o.value for o in metric.counts),
                "counted_causes": sorted(
                    {r.cause.value for r in rules.seller_cancel.reasons.values() if r.counted}
                ),
                "counts_message_requests": metric.counts_message_requests,
            }
            raw = {**counts, "window": str(metric.window), "threshold": metric.threshold}
            if metric.lag.amount:
                raw["lag"] = str(metric.lag)
            flagged = {**raw, "cadence": metric.cadence, "minimum": metric.minimum.model_dump()}
            parts.append((str(day), counts, raw, flagged))
        texts = [
            json.dumps(_merged([(day, p[i]) for day, *p in parts]), sort_keys=True)
            for i in range(3)
        ]
        return {
            **dict.fromkeys(RATE, texts[0]),
            **dict.fromkeys(RAW, texts[1]),
            **dict.fromkeys(FLAGGED, texts[2]),
        }


def _merged(dated: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """A definition's history with repeats left out: a change elsewhere in the rules makes
    a new version without changing what the metric means."""
    out: list[tuple[str, dict[str, Any]]] = []
    for day, value in dated:
        if not out or out[-1][1] != value:
            out.append((day if out else "first", value))
    return out
