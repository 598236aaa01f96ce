"""The market a set of policies is played against: orders, sellers, buyers, delivery."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from sim.model.base import Model
from sim.model.distributions import (
    AmountDist,
    ClockTimeDist,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    LogNormal,
    Uniform,
    WeightDist,
    larger_than,
)
from sim.model.policy import KEY_PATTERN, Cause
from sim.model.units import (
    MAX_AMOUNT,
    Bounds,
    ClockDurationField,
    ClockTime,
    Duration,
    Probability,
    Seed,
    Shares,
    SpanField,
    parse_clock_duration,
)

MAX_SIZE_SIGMA = 3.0  # of a lognormal seller size within one kind of seller
MAX_RATE = 1e7
"""Orders an hour: the size check before a run still estimates a finite memory for the
peak (rate x 24 for a profile in one hour x 7 for one weekday x 1000 for a promotion,
x 72 hours: about 1.2e14 open orders, refused without --force)."""
MAX_MULTIPLIER = 1000.0
"""A promotion day's multiplier of the rate (Singles' Day is some tens)."""
MAX_WEIGHT, MIN_TOP_WEIGHT = 1e6, 1e-6
"""A profile's weights (relative): the largest at least 1e-6, so their mean is a normal
float, and none above 1e6, so their sum stays finite."""
MIN_RATE_OF_EXCHANGE, MAX_RATE_OF_EXCHANGE = 1e-9, 1e9
"""One unit of a policy's currency in the scenario's: wider than any two currencies are
apart, narrow enough that prices converted either way stay finite."""
MAX_SWEEP_POINTS = 1000
"""Points of a scenario's sweep block (the product of its lists' lengths): each is a study
loaded and played."""
MAX_RUNS = 1_000_000
"""Runs a scenario asks for: sweep points x replications x policies."""

Weight = Annotated[float, Bounds(ge=0.0, le=MAX_WEIGHT)]
Weights = Annotated[list[Weight], Field(min_length=1)]
Multiplier = Annotated[float, Bounds(gt=0.0, le=MAX_MULTIPLIER)]
Rate = Annotated[float, Bounds(gt=0.0, le=MAX_RATE)]
RateOfExchange = Annotated[float, Bounds(ge=MIN_RATE_OF_EXCHANGE, le=MAX_RATE_OF_EXCHANGE)]
OrdersAWeek = Annotated[float, Bounds(ge=0.0, le=MAX_AMOUNT)]
SellerCount = Annotated[int, Strict(), Field(ge=1, le=1_000_000)]
Replications = Annotated[int, Strict(), Field(ge=1, le=10_000)]


def _profile(weights: list[float], length: int, what: str) -> list[float]:
    if len(weights) != length or not any(weights):
        raise ValueError(f"has {len(weights)} weights; expected {length} ({what}), not all 0")
    if max(weights) < MIN_TOP_WEIGHT:
        raise ValueError(
            f"the largest weight is {max(weights):g}; expected at least {MIN_TOP_WEIGHT:g} "
            "(weights are relative: scale them all up)"
        )
    return weights


class Promotion(Model):
    """A day whose order rate is multiplied (a sale, Singles' Day, Prime Day)."""

    date: dt.date
    multiplier: Multiplier
    name: str = "promotion"


class OrderStream(Model):
    """When orders arrive and what they are worth: generated, or replayed from a log.

    Generated: a Poisson stream at `rate_per_hour`, shaped by the profiles and promotions,
    each order's value drawn from `value`. Replayed (`replay: orders.parquet`, an order log
    written by `cancelsim import`, relative to the scenario's folder): every order of the
    log placed within the horizon, at its own time, from its own seller, at its own value
    and, where the policy knows the log's payment method by name, paid that way; `value`,
    if given, is drawn for orders whose value the log lacks.
    """

    replay: str | None = Field(None, min_length=1)
    rate_per_hour: Rate | None = None
    daily_profile: Weights = [1.0] * 24
    weekly_profile: Weights = [1.0] * 7
    promotions: list[Promotion] = []
    value: AmountDist | None = None

    @field_validator("daily_profile")
    @classmethod
    def _hours(cls, v: list[float]) -> list[float]:
        return _profile(v, 24, "one per hour")

    @field_validator("weekly_profile")
    @classmethod
    def _days(cls, v: list[float]) -> list[float]:
        return _profile(v, 7, "Monday to Sunday")

    @model_validator(mode="after")
    def _generated_or_replayed(self) -> OrderStream:
        if self.replay is None:
            missing = [k for k in ("rate_per_hour", "value") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"needs {' and '.join(missing)} (or replay: an order log to play)")
            return self
        shaped = [
            k
            for k in ("rate_per_hour", "daily_profile", "weekly_profile", "promotions")
            if k in self.model_fields_set
        ]
        if shaped:
            raise ValueError(
                f"replays a log, whose orders come at their own times: {', '.join(shaped)} "
                "would not be used; remove it"
            )
        return self


class RequestAnswers(Model):
    """How a seller answers buyers' cancel requests (shares summing to 1)."""

    accept: Probability
    refuse: Probability
    ignore: Probability

    @model_validator(mode="after")
    def _sum(self) -> RequestAnswers:
        total = self.accept + self.refuse + self.ignore
        if abs(total - 1) > 1e-6:
            raise ValueError(f"accept + refuse + ignore = {total:.6g}; they must sum to 1")
        return self


ON_PACKING = "on_packing"


def _pickup(value: Any) -> Any:
    """`on_packing`, or `every 2h`: a carrier every 2 hours from the start."""
    if value == ON_PACKING or isinstance(value, Duration):
        return value
    if isinstance(value, str) and value.strip().lower().startswith("every "):
        interval = parse_clock_duration(value.strip()[6:])
        if not 1 / 60 <= interval.amount <= 24 * 7:
            raise ValueError(f"{value!r}: expected an interval from 1m to 7d")
        return interval
    raise ValueError(
        f"{value!r} is not a pickup; expected on_packing, or every N (every 30m, every 2h)"
    )


Pickup = Annotated[
    Duration | Literal["on_packing"],
    BeforeValidator(_pickup),
    PlainSerializer(lambda v: v if isinstance(v, str) else f"every {v}"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(on_packing|every\s+\S.*)$",
            "description": "on_packing, or every N (every 30m, every 2h)",
        }
    ),
]


MAX_STATIONS = 1000


def _stations(value: Any) -> int | str:
    if value == "unlimited" or (type(value) is int and 1 <= value <= MAX_STATIONS):
        return value
    shown = "true or false" if isinstance(value, bool) else repr(value)
    raise ValueError(
        f"{shown} is wrong; expected a whole number from 1 to {MAX_STATIONS}, or unlimited"
    )


Stations = Annotated[
    int | Literal["unlimited"],
    PlainValidator(_stations),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_STATIONS},
                {"const": "unlimited"},
            ],
            "description": "packing stations working at once, or unlimited",
        }
    ),
]


class SellerType(Model):
    """A kind of seller: capacity, carrier, behaviour."""

    share: Probability
    popularity: WeightDist = Field(1.0, validate_default=True)  # each seller's weight
    # who packs and ships: the seller, or the platform's warehouse (Amazon FBA, JD's own
    # stock) under a policy with platform_fulfilment; the type's packing, pickups and
    # cancels then describe that warehouse
    fulfilment: Literal["seller", "platform"] = "seller"
    # packing stations working at once; `unlimited`: every order is packed as it comes
    packing_stations: Stations
    pack_time: ClockTimeDist
    # when carriers collect packed parcels: clock times every day ("16:00"), or `pickup:
    # on_packing` (each parcel leaves as soon as it is packed) or `every 2h` (from the start)
    pickup_times: list[ClockTime] = []
    pickup: Pickup | None = None
    cancels: dict[Cause, Probability] = {}
    cancels_at: str = Field("packing", pattern="^(packing|pickup)$")
    never_ships: Probability = 0.0
    answers: RequestAnswers
    response_time: ClockTimeDist

    @field_validator("popularity")
    @classmethod
    def _sizes(cls, v: Any) -> Any:
        """Each seller's weight is a draw; every possible draw must be above 0.

        A continuous distribution reaches 0 only at its very edge (at a random uniform of
        exactly 0, or by underflow); `Population` floors those at the smallest float."""
        if isinstance(v, LogNormal) and v.log_sigma <= 0:
            spread = "sigma above 0" if v.sigma is not None else "p90 above the median"
            raise ValueError(f"a heavy tail needs {spread}; give a plain number for equal sellers")
        if isinstance(v, LogNormal) and v.log_sigma > MAX_SIZE_SIGMA:
            raise ValueError(
                f"a sigma of {v.log_sigma:.3g} gives one seller nearly every order; expected "
                f"at most {MAX_SIZE_SIGMA:g} (a whole marketplace measures about 2.1 to 2.5)"
            )
        if isinstance(v, Fixed) and v.value <= 0:
            raise ValueError(f"{v.value:g} is out of range; expected a value > 0")
        if isinstance(v, Uniform) and v.low <= 0:
            raise ValueError(
                f"low is {v.low:g}: some sellers would weigh 0 and get no orders; expected low > 0"
            )
        if isinstance(v, Empirical) and min(v.values) <= 0:
            raise ValueError(
                f"a value of {min(v.values):g} would give a seller no orders; "
                "expected every value > 0"
            )
        if isinstance(v, Exponential | Gamma) and v.mean_ <= 0:
            raise ValueError("a mean of 0 gives every seller a weight of 0; expected a mean > 0")
        too_large = larger_than(v, MAX_AMOUNT)  # a million of them sum to a finite weight
        if too_large:
            raise ValueError(too_large)
        return v

    @field_validator("cancels")
    @classmethod
    def _not_buyer(cls, v: dict[Cause, float]) -> dict[Cause, float]:
        if Cause.BUYER_REQUEST in v:
            raise ValueError(
                "buyer_request is not a seller's own cause; "
                "set buyers' requests under buyers and answers"
            )
        if sum(v.values()) > 1:
            raise ValueError("the cancel shares add up to more than 1")
        return v

    @model_validator(mode="after")
    def _one_way_to_ship(self) -> SellerType:
        if bool(self.pickup_times) == (self.pickup is not None):
            raise ValueError(
                'give exactly one of pickup_times (daily clock times, e.g. ["16:00"]) or '
                "pickup (on_packing, or every N, e.g. every 2h)"
            )
        return self

    @property
    def stations(self) -> float:
        """Packing stations as a number (infinite when unlimited)."""
        return math.inf if self.packing_stations == "unlimited" else self.packing_stations

    @model_validator(mode="after")
    def _at_most_one(self) -> SellerType:
        if sum(self.cancels.values()) + self.never_ships > 1:
            raise ValueError("cancels and never_ships add up to more than 1 of the orders")
        return self


def _default_bands() -> dict[str, float]:
    return {"under 10 orders a week": 0.0, "10-99 a week": 10.0, "100 or more a week": 100.0}


class Sellers(Model):
    count: SellerCount
    types: dict[str, SellerType] = Field(min_length=1)
    # Seller-size bands for reporting flagged shares: name -> fewest measured orders a week
    size_bands: dict[str, OrdersAWeek] = Field(default_factory=_default_bands, min_length=1)

    def type_of(self) -> Any:
        """Each seller's type index: the types take consecutive sellers by their shares."""
        import numpy as np

        shares = np.array([t.share for t in self.types.values()])
        bounds = np.round(np.cumsum(shares) * self.count).astype(int)
        bounds[-1] = self.count
        return np.searchsorted(bounds, np.arange(self.count), side="right")

    @field_validator("size_bands")
    @classmethod
    def _bands(cls, v: dict[str, float]) -> dict[str, float]:
        lows = list(v.values())
        if lows[0] != 0:
            raise ValueError(f"the first band starts at {lows[0]:g}; it must start at 0")
        for a, b in zip(lows, lows[1:], strict=False):
            if b <= a:
                raise ValueError(f"bands must start at increasing sizes: {b:g} comes after {a:g}")
        return v

    @field_validator("types")
    @classmethod
    def _shares(cls, v: dict[str, SellerType]) -> dict[str, SellerType]:
        total = sum(t.share for t in v.values())
        if abs(total - 1) > 1e-6:
            raise ValueError(f"the seller types' shares sum to {total:.6g}; they must sum to 1")
        return v


class Buyers(Model):
    """Buyers' wish to cancel and what they do when it is too late."""

    cancel_intent: Probability
    intent_delay: ClockTimeDist | None = None  # needed when some buyers wish to cancel
    good_record: Probability = 1.0
    pursue_after_shipment: Probability = 0.0
    chase_unshipped_after: ClockDurationField | None = None
    # of buyers who ask the seller to cancel, the share who ask only in a message rather
    # than by the platform's official request (a policy says whether those cancels count)
    ask_by_message: Probability = 0.0

    @model_validator(mode="after")
    def _delay_when_intent(self) -> Buyers:
        if self.cancel_intent > 0 and self.intent_delay is None:
            raise ValueError(
                "needs intent_delay (when buyers wish to cancel), since cancel_intent is "
                f"{self.cancel_intent:g}"
            )
        return self


class Delivery(Model):
    transit: ClockTimeDist
    return_transit: ClockTimeDist


class PolicyRun(Model):
    """A policy file to play, with the payment mix its buyers use.

    The policy goes by its own `key:` (else its file's stem) in results, `--set` and
    `baseline:`; `key` here plays it under another (the same file twice, say, with two
    payment mixes)."""

    file: str
    key: str | None = Field(None, pattern=KEY_PATTERN)
    payment_mix: Annotated[Shares, Field(min_length=1)]

    @field_validator("file")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value:
            raise ValueError(
                f"{value!r} names no file; expected a policy file, relative to the "
                "scenario (../policies/amazon.yaml), or builtin:NAME"
            )
        return value


class Scenario(Model):
    """One market, over one horizon, to be played through each policy."""

    # the scenario this one changes (a file relative to this one; see sim.model.extends)
    extends: str | None = None
    name: str
    description: str | None = None
    start: AwareDatetime
    horizon: SpanField
    warmup: SpanField
    drain: SpanField = Field(default="30d", validate_default=True)
    replications: Replications = 1
    seed: Seed = 0
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    exchange_rates: dict[str, RateOfExchange] = {}
    policies: list[PolicyRun] = Field(min_length=1)
    baseline: str | None = None  # compare every other policy with this one (its key)
    sweep: dict[str, Annotated[list[Any], Field(min_length=1)]] = {}

    @field_validator("sweep")
    @classmethod
    def _sweepable(cls, value: dict[str, list[Any]], info: ValidationInfo) -> dict[str, list[Any]]:
        for key in value:
            if key in ("seed", "replications", "sweep"):
                raise ValueError(
                    f"{key} cannot be swept: every point uses the experiment's "
                    "seed and replications"
                )
        points = math.prod(len(v) for v in value.values())
        if points > MAX_SWEEP_POINTS:
            raise ValueError(
                f"{' x '.join(str(len(v)) for v in value.values())} values make "
                f"{points:,} points; expected at most {MAX_SWEEP_POINTS:,}"
            )
        replications, runs = info.data.get("replications", 1), info.data.get("policies", [])
        if points * replications * len(runs) > MAX_RUNS:
            raise ValueError(
                f"{points:,} points x {replications:,} replications x {len(runs)} policies "
                f"make {points * replications * len(runs):,} runs; expected at most "
                f"{MAX_RUNS:,}"
            )
        return value

    orders: OrderStream
    sellers: Sellers
    buyers: Buyers
    delivery: Delivery

    @field_validator("start")
    @classmethod
    def _plausible_start(cls, value: dt.datetime) -> dt.datetime:
        if not 1970 <= value.year <= 2200:
            raise ValueError(
                f"{value.isoformat()} is outside 1970-2200; expected a date "
                "within the calendars' range"
            )
        return value

    @field_validator("warmup")
    @classmethod
    def _shorter_than_horizon(cls, value: Duration, info: ValidationInfo) -> Duration:
        horizon = info.data.get("horizon")
        if horizon is not None and horizon.amount <= value.amount:
            raise ValueError(f"the warm-up ({value}) must be shorter than the horizon ({horizon})")
        return value
