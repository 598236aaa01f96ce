"""The order log as plain arrays, in local time, with what is missing counted.

`LogTable.of(frame)` turns `read_log`'s DataFrame into numpy arrays once: hours since
1970 in UTC and in each order's own local time (its `utc_offset_min`), seller codes
(-1 where the seller is unknown), outcomes and values. `Span` is the run of whole local
days the log covers, in the zone most of its orders were placed in (the written
scenario starts at its first midnight), and the part of them the log observed: from
its first order to its last, not the whole days around them. A log whose orders stop
for longer than its stream explains (a stray test order months before the rest) is cut
at that quiet spell and only its main stretch is fitted (`main_stretch`). `LogQuality`
counts the rows that a fit had to leave out, and why, so that nothing is dropped
silently.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import InputError

EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday is 0)
QUIET_DAYS = 7.0  # a spell without orders shorter than this never cuts the log
QUIET_ALPHA = 0.01  # chance that a stream at the log's mean rate makes a cut anywhere


@dataclass(frozen=True)
class Span:
    """Whole local days from the log's first order to its last, in its main zone, and
    the hours of them the log observed (`window`; None: all of them)."""

    first_day: int  # local days since 1970-01-01
    days: int
    offset_min: int  # the most common UTC offset of the orders
    offset_share: float  # the share of orders placed at that offset
    window: tuple[float, float] | None = None  # observed, local hours since 1970
    # the UTC offsets of the first and the last order: a log across a change of clocks
    # starts and ends at local midnights of two offsets
    first_offset_min: int | None = None
    last_offset_min: int | None = None

    @property
    def zone(self) -> dt.timezone:
        return dt.timezone(dt.timedelta(minutes=self.offset_min))

    @property
    def start(self) -> dt.datetime:
        """Local midnight of the first day, in the offset of the first order (so that no
        order of the first day falls before it when the clocks change within the log)."""
        offset = self.offset_min if self.first_offset_min is None else self.first_offset_min
        zone = dt.timezone(dt.timedelta(minutes=offset))
        return dt.datetime.combine(self.date(0), dt.time(0), tzinfo=zone)

    @property
    def horizon_hours(self) -> float:
        """From `start` to the local midnight after the last day, in the last order's
        offset: whole days, plus or minus a change of clocks."""
        first = self.offset_min if self.first_offset_min is None else self.first_offset_min
        last = self.offset_min if self.last_offset_min is None else self.last_offset_min
        return 24.0 * self.days + (first - last) / 60

    @property
    def observed_hours(self) -> float:
        if self.window is None:
            return 24.0 * self.days
        return self.window[1] - self.window[0]

    @property
    def weeks(self) -> float:
        """The observed time in weeks (what sellers' orders a week are counted over)."""
        return self.observed_hours / (24 * 7)

    def exposure(self) -> np.ndarray:
        """(days, 24): the share of each local hour of each day that the log observed."""
        if self.window is None:
            return np.ones((self.days, 24))
        start = 24.0 * (self.first_day + np.arange(self.days))[:, None] + np.arange(24)[None, :]
        low, high = self.window
        return np.clip(np.minimum(start + 1, high) - np.maximum(start, low), 0.0, 1.0)

    def date(self, day: int) -> dt.date:
        """The local date of day `day` of the span (0 is the first)."""
        return dt.date(1970, 1, 1) + dt.timedelta(days=self.first_day + day)

    def weekdays(self) -> np.ndarray:
        """Monday=0 .. Sunday=6 for each day of the span."""
        return (self.first_day + np.arange(self.days) + EPOCH_WEEKDAY) % 7


@dataclass(frozen=True)
class LogQuality:
    """Rows and values a fit could not use, counted."""

    orders: int
    no_seller: int = 0  # in arrival, ship-time and cancel fits; not in sizes or bands
    no_value: int = 0
    other_currency: int = 0  # a currency the base scenario has no exchange rate for
    shipped_no_time: int = 0
    shipped_before_placed: int = 0
    no_fulfilment: int = 0  # read as seller-fulfilled
    cancel_unattributed: int = 0  # cancelled, with neither who cancelled nor a request
    cancel_no_time: int = 0  # cancelled without a time (and not shipped)
    outside_stretch: int = 0  # placed beyond a quiet spell, outside the main stretch
    quiet: tuple[tuple[dt.date, dt.date], ...] = ()  # the spells the log was cut at
    stretch: tuple[dt.date, dt.date] | None = None  # the main stretch, when cut

    def lines(self) -> list[str]:
        """One sentence per kind of gap that occurred."""
        said = {
            "no_seller": "orders without a seller id (left out of seller sizes and bands)",
            "no_value": "orders without a value (left out of the value fit)",
            "other_currency": "orders in a currency without an exchange rate (value fit)",
            "shipped_no_time": "shipped orders without a ship time (ship-time fits)",
            "shipped_before_placed": "orders shipped before they were placed (ship-time fits)",
            "no_fulfilment": "orders without fulfilment, read as seller-fulfilled",
            "cancel_unattributed": "cancels with no canceller or request (in no cancel share)",
            "cancel_no_time": (
                "cancels without a time and not shipped, left out of the ship-time fits "
                "(nothing says how long they waited unshipped; if the slow orders are the "
                "ones cancelled, shipping looks faster than it was)"
            ),
            "outside_stretch": (
                "orders outside the log's main stretch, beyond a quiet spell (left out of "
                "every fit)"
            ),
        }
        return [f"{getattr(self, k):,} {text}" for k, text in said.items() if getattr(self, k)]

    def spells(self) -> list[str]:
        """The quiet spells the log was cut at, and the stretch that was fitted."""
        if self.stretch is None:
            return []
        quiet = ", ".join(f"{a} to {b} ({(b - a).days:,} days)" for a, b in self.quiet)
        return [
            f"no order from {quiet}: a quiet spell of more than {QUIET_DAYS:g} days, which a "
            f"stream at the log's mean rate leaves with a chance under {QUIET_ALPHA:g}; only "
            f"the main stretch, {self.stretch[0]} to {self.stretch[1]}, is fitted"
        ]


@dataclass(frozen=True)
class LogTable:
    """The log's columns as numpy arrays (one entry per order)."""

    placed_h: np.ndarray  # hours since 1970, UTC
    offset_h: np.ndarray  # each order's own UTC offset, hours
    seller: np.ndarray  # seller codes 0..sellers-1, -1 when unknown
    seller_ids: tuple[str, ...]
    status: np.ndarray  # open | shipped | cancelled
    shipped_h: np.ndarray  # NaN when not shipped or not given
    cancelled_h: np.ndarray  # NaN when not cancelled or not given
    cancelled_by: np.ndarray  # buyer | seller | platform | '' (unknown)
    requested: np.ndarray  # the buyer asked for the cancel (True), else False
    reason: np.ndarray  # the cancel reason text, '' when none
    platform: np.ndarray  # fulfilled by the platform
    value: np.ndarray  # NaN when unknown
    currency: np.ndarray  # '' when unknown
    fulfilment_given: np.ndarray  # the log states the order's fulfilment
    span: Span
    outside: int = 0  # orders of the log left out: outside its main stretch
    quiet: tuple[tuple[float, float], ...] = ()  # the spells cut at (local hours)

    @property
    def local_h(self) -> np.ndarray:
        """Hours since 1970 in each order's own local time."""
        return self.placed_h + self.offset_h

    def local_day(self) -> np.ndarray:
        """Each order's local day, counted from the span's first day."""
        return (np.floor(self.local_h / 24) - self.span.first_day).astype(np.int64)

    def local_hour(self) -> np.ndarray:
        return (np.floor(self.local_h) % 24).astype(np.int64)

    def of_seller(self, per_seller: np.ndarray, unknown: np.ndarray | float) -> np.ndarray:
        """Each order's seller's value from `per_seller`; `unknown` (per order, or one
        value) where the seller is unknown."""
        if not len(per_seller):
            return np.broadcast_to(np.asarray(unknown), self.seller.shape).copy()
        return np.where(self.seller >= 0, per_seller[np.maximum(self.seller, 0)], unknown)

    @property
    def own_cancel(self) -> np.ndarray:
        """Cancelled by the seller for its own cause (not on the buyer's request)."""
        return (self.status == "cancelled") & (self.cancelled_by == "seller") & ~self.requested

    def time_to_ship(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hours from placement to shipment, whether the order shipped (else it is
        censored: cancelled then, or still open at the log's last recorded time), and
        which orders have a usable time. A shipped order without a ship time has none;
        nor has a cancelled one without a cancel time: the last time known of it is its
        placement, and being unshipped at placement says nothing (counted in `quality`)."""
        shipped = (
            np.isfinite(self.shipped_h)
            & (self.shipped_h >= self.placed_h)
            & (self.status != "open")
        )
        end = float(np.nanmax([self.placed_h.max(), *_maxima(self.shipped_h, self.cancelled_h)]))
        until = np.where(self.status == "open", end, self.cancelled_h)
        censored = ~shipped & (self.status != "shipped") & (until >= self.placed_h)
        hours = np.where(shipped, self.shipped_h, until) - self.placed_h
        return hours, shipped, shipped | censored

    @classmethod
    def of(cls, frame: Any) -> LogTable:
        """The arrays of `read_log`'s DataFrame, its main stretch only; an empty log is an
        input error."""
        if len(frame) == 0:
            raise InputError.single("order log", "has no orders; there is nothing to fit")
        placed_h = _hours(frame["placed_at"])
        offset_min = frame["utc_offset_min"].to_numpy(dtype=float, na_value=0.0)
        keep, quiet = main_stretch(placed_h + offset_min / 60)
        outside = int((~keep).sum())
        if outside:
            frame = frame.loc[keep].reset_index(drop=True)
            placed_h, offset_min = placed_h[keep], offset_min[keep]
        codes, uniques = _factorize(frame["seller_id"])
        local_h = placed_h + offset_min / 60
        days = np.floor(local_h / 24).astype(np.int64)
        offsets = Counter(offset_min.astype(int).tolist())
        main, count = offsets.most_common(1)[0]
        first, n_days = int(days.min()), int(days.max() - days.min()) + 1
        window = observed_window(local_h, first, n_days)
        order = np.argsort(placed_h, kind="stable")
        span = Span(
            first,
            n_days,
            main,
            count / len(frame),
            window,
            int(offset_min[order[0]]),
            int(offset_min[order[-1]]),
        )
        return cls(
            placed_h=placed_h,
            offset_h=offset_min / 60,
            seller=codes,
            seller_ids=uniques,
            status=_text(frame["status"]),
            shipped_h=_hours(frame["shipped_at"]),
            cancelled_h=_hours(frame["cancelled_at"]),
            cancelled_by=_text(frame["cancelled_by"]),
            requested=_flag(frame["buyer_requested"]),
            reason=_text(frame["cancel_reason"]),
            platform=_text(frame["fulfilment"]) == "platform",
            value=frame["value"].to_numpy(dtype=float, na_value=np.nan),
            currency=_text(frame["currency"]),
            fulfilment_given=fulfilment_given(frame),
            span=span,
            outside=outside,
            quiet=quiet,
        )

    def quality(self, rated: np.ndarray) -> LogQuality:
        """What is missing; `rated` (a value the fit can convert) comes from the caller,
        which knows the exchange rates."""
        shipped = self.status == "shipped"
        cancelled = self.status == "cancelled"
        day = dt.date(1970, 1, 1)
        stretch = None
        if self.quiet:
            stretch = (self.span.date(0), self.span.date(self.span.days - 1))
        return LogQuality(
            orders=len(self.placed_h) + self.outside,
            no_seller=int((self.seller < 0).sum()),
            no_value=int(np.isnan(self.value).sum()),
            other_currency=int((~np.isnan(self.value) & ~rated).sum()),
            shipped_no_time=int((shipped & np.isnan(self.shipped_h)).sum()),
            shipped_before_placed=int((shipped & (self.shipped_h < self.placed_h)).sum()),
            no_fulfilment=int((~self.fulfilment_given).sum()),
            cancel_unattributed=int(
                (cancelled & (self.cancelled_by == "") & ~self.requested).sum()
            ),
            cancel_no_time=int(
                (cancelled & np.isnan(self.cancelled_h) & np.isnan(self.shipped_h)).sum()
            ),
            outside_stretch=self.outside,
            quiet=tuple(
                (day + dt.timedelta(hours=a), day + dt.timedelta(hours=b)) for a, b in self.quiet
            ),
            stretch=stretch,
        )


def main_stretch(local_h: np.ndarray) -> tuple[np.ndarray, tuple[tuple[float, float], ...]]:
    """The orders of the log's main stretch, and the quiet spells it was cut at.

    The rule: a spell without orders cuts the log when it is longer than QUIET_DAYS (so
    that a shop closed on some weekdays, or a slow week, is never cut) and longer than a
    Poisson stream at the log's mean rate, (orders - 1) / its whole time, leaves quiet
    anywhere among its gaps but with chance QUIET_ALPHA: rate x spell > log(orders /
    QUIET_ALPHA). The mean rate counts the spells' own time, so that a sparse log is not
    cut at its ordinary gaps. The main stretch is the piece with the most orders (the
    latest of equals)."""
    n = len(local_h)
    if n < 3:
        return np.ones(n, dtype=bool), ()
    order = np.sort(local_h)
    gaps = np.diff(order)
    total = float(order[-1] - order[0])
    rate = (n - 1) / total if total > 0 else 0.0
    cut = (gaps > 24 * QUIET_DAYS) & (rate * gaps > math.log(n / QUIET_ALPHA))
    if not cut.any():
        return np.ones(n, dtype=bool), ()
    starts = np.concatenate([[0], np.flatnonzero(cut) + 1])
    ends = np.concatenate([starts[1:], [n]])
    sizes = ends - starts
    best = int(len(sizes) - 1 - np.argmax(sizes[::-1]))
    low, high = order[starts[best]], order[ends[best] - 1]
    quiet = tuple((float(order[i]), float(order[i + 1])) for i in np.flatnonzero(cut).tolist())
    return (local_h >= low) & (local_h <= high), quiet


def observed_window(local_h: np.ndarray, first_day: int, days: int) -> tuple[float, float] | None:
    """The local hours the log observed: from its first order to its last, reaching half
    a mean gap between orders beyond each (a log starts and ends between two orders).
    With n orders over T hours the rate is then (n - 1) / T, the maximum-likelihood rate
    of its n - 1 gaps; n / T would overstate a short log (two orders an hour apart are a
    rate of one an hour, not two). Within its days. None when the orders span no time
    (one order, or all at one instant): then their whole days are taken as observed."""
    low, high = float(local_h.min()), float(local_h.max())
    if high <= low:
        return None
    half_gap = (high - low) / (len(local_h) - 1) / 2
    return max(low - half_gap, 24.0 * first_day), min(high + half_gap, 24.0 * (first_day + days))


def _maxima(*columns: np.ndarray) -> list[float]:
    return [float(np.nanmax(c)) for c in columns if np.isfinite(c).any()]


def _hours(column: Any) -> np.ndarray:
    """Timestamps as float hours since 1970 (UTC); NaN for missing ones."""
    import pandas as pd

    stamps = pd.to_datetime(column, utc=True)
    delta = stamps - pd.Timestamp(0, tz="UTC")
    return np.asarray((delta / pd.Timedelta(hours=1)).to_numpy(dtype=float, na_value=np.nan))


def _text(column: Any) -> np.ndarray:
    """Strings, stripped and lower-cased; '' where missing."""
    values = column.astype(object).where(column.notna(), "")
    return np.array([str(v).strip().lower() for v in values], dtype=object)


def _flag(column: Any) -> np.ndarray:
    """True only where the log says True (missing is not a request)."""
    return np.asarray(column.astype("boolean").fillna(False).to_numpy(dtype=bool))


def _factorize(column: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    import pandas as pd

    text = column.astype(object).where(column.notna(), None)
    text = text.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), tuple(str(u) for u in uniques)


def fulfilment_given(frame: Any) -> np.ndarray:
    """Rows whose fulfilment the log states."""
    return np.asarray(_text(frame["fulfilment"]) != "", dtype=bool)
