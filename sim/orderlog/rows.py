"""From a reader's raw text fields to typed, checked columns of the normalised log.

Readers (one per export format) yield `RawBatch`es: the log's field names mapped to the
source's text, one entry per row, and where each row came from. `parse` checks and
converts a whole batch at once with Arrow's compute kernels, and returns the good rows as
an Arrow table and one `RowProblem` for each rejected row: nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.orderlog.schema import (
    CANCELLED_BY,
    FULFILMENT,
    NAMES,
    REQUIRED,
    STATUSES,
    TIME_COLUMNS,
    arrow_schema,
)

# An ISO 8601 date and time: date, T or space, hh:mm, optional :ss and fraction, optional
# offset (Z, +hh:mm or +hhmm)
_TIME = (
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<hm>\d{2}:\d{2})(?P<sec>:\d{2})?"
    r"(?P<frac>\.\d+)?(?P<off>Z|[+-]\d{2}:?\d{2})?$"
)
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
# a thousands separator: 1,000 or 12,345,678.90 (a decimal comma, 12,50, is not a number)
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
THOUSANDS = re.compile(_THOUSANDS)
_TRUE, _FALSE = ("true", "1", "yes", "y"), ("false", "0", "no", "n")
MAX_VALUE = 1e12  # what one order may be worth, in its currency
EARLIEST = pa.scalar(dt.datetime(1900, 1, 1, tzinfo=dt.UTC), pa.timestamp("ms", tz="UTC"))
LATEST = pa.scalar(dt.datetime(2200, 1, 1, tzinfo=dt.UTC), pa.timestamp("ms", tz="UTC"))
EARLIEST_MS, LATEST_MS = EARLIEST.value, LATEST.value
UNIT_HOURS = {"ms": 1 / 3_600_000, "s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0}


@dataclass(frozen=True)
class RowProblem:
    """One rejected row: where it was, and why."""

    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


Locator = Callable[[np.ndarray], np.ndarray]
"""Ascending record numbers (0-based data records of one text file) -> their lines."""


@dataclass
class RawBatch:
    """Rows of one source file, as text, under the log's field names.

    Each column is a list of str/None or an Arrow string array. Rows are located by
    `lines` (line numbers), `paths` (a JSON path per row), or `records` (record numbers,
    turned into line numbers by `locator` only for the rows that are reported). A reader
    that already rejected rows of this stretch of the file lists them in `problems`; rows
    it leaves out on purpose (not orders) are counted in `skipped`.
    """

    file: str
    columns: dict[str, Any]
    lines: list[int] | None = None
    paths: list[str] | None = None
    records: np.ndarray | None = None
    locator: Locator | None = None
    problems: list[RowProblem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        for located in (self.lines, self.paths, self.records):
            if located is not None:
                return len(located)
        return 0

    def position(self, i: int) -> int | str:
        """Row i's line, JSON path or record number (see `where`)."""
        if self.lines is not None:
            return int(self.lines[i])
        if self.paths is not None:
            return self.paths[i]
        assert self.records is not None
        return int(self.records[i])

    def where(self, i: int) -> str:
        """Row i's place, for rows located by lines or paths."""
        return f"{self.file}:{self.position(i)}"


@dataclass(frozen=True)
class TimeReading:
    """How to read a source's times.

    `zone` places times that carry no offset (an export in local time); without it such a
    time is an error. `unit` reads numbers as `unit`s after `origin` instead of dates.
    """

    zone: str | None = None
    unit: str | None = None  # 'ms', 's', 'min', 'h' or 'd': numeric times
    origin: dt.datetime | None = None


class _Reasons:
    """The first reason each row is rejected, built only for rejected rows."""

    def __init__(self, n: int):
        self.bad = np.zeros(n, dtype=bool)
        self.why: dict[int, str] = {}

    def add(self, mask: Any, reason: str, shown: Any = None) -> None:
        mask = _numpy_mask(mask) & ~self.bad
        if not mask.any():
            return
        rows = np.flatnonzero(mask)
        values = shown.take(pa.array(rows)).to_pylist() if shown is not None else None
        for k, row in enumerate(rows.tolist()):
            self.why[row] = f"{reason}: {_short(values[k])}" if values is not None else reason
        self.bad |= mask


def _numpy_mask(mask: Any) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask.astype(bool)
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if value is not None else "empty"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(values: Any, n: int) -> pa.Array:
    """A column as a trimmed Arrow string array, empty text as null."""
    if values is None:
        return pa.nulls(n, pa.string())
    array = (
        values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values, pa.string())
    )
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.string():
        array = array.cast(pa.string())
    if array.null_count == len(array):
        return array
    trimmed = pc.utf8_trim_whitespace(array)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


@dataclass
class _Times:
    """A column of times read: UTC instants, offsets, and what went wrong where."""

    stamps: pa.Array
    offsets: np.ndarray  # minutes east of UTC in which each time was given
    bad: np.ndarray  # not a date and time (or no such offset)
    zoneless: np.ndarray  # a date and time without an offset, and no zone given
    gap: np.ndarray  # a wall-clock time the zone skipped (clocks went forward)


def _instants(text: pa.Array, reading: TimeReading) -> _Times:
    """Text times -> UTC instants in ms with their offsets, and the rows that failed."""
    n = len(text)
    offsets = np.zeros(n, dtype=np.int16)
    bad, zoneless, gap = (np.zeros(n, dtype=bool) for _ in range(3))
    present = _numpy_mask(pc.is_valid(text))
    if not present.any():
        return _Times(pa.nulls(n, pa.timestamp("ms", tz="UTC")), offsets, bad, zoneless, gap)
    if reading.unit is not None:
        return _numeric(text, reading, present)
    parts = pc.extract_regex(text, _TIME)
    matched = _numpy_mask(pc.is_valid(parts))
    stamp = pc.binary_join_element_wise(
        parts.field("date"),
        "T",
        parts.field("hm"),
        pc.if_else(pc.equal(parts.field("sec"), ""), ":00", parts.field("sec")),
        "",
    )
    local = pc.strptime(stamp, format="%Y-%m-%dT%H:%M:%S", unit="ms", error_is_null=True)
    local_ms = pc.fill_null(pc.cast(local, pa.int64()), 0).to_numpy(zero_copy_only=False)
    valid = matched & _numpy_mask(pc.is_valid(local)) & _on_the_calendar(parts)
    frac_ms, _ = _by_value(parts.field("frac"), lambda f: round(float("0" + f) * 1000))
    local_ms = np.where(valid, local_ms + frac_ms, local_ms)
    minutes, known = _by_value(parts.field("off"), _offset_minutes)
    aware = valid & (_numpy_mask(pc.not_equal(parts.field("off"), "")))
    valid &= known | ~aware
    aware &= known
    utc = np.where(aware, local_ms - minutes * 60_000, 0)
    naive = valid & ~aware
    if naive.any():
        if reading.zone is None:
            zoneless = naive
        else:
            utc_naive, minutes_naive, ok, skipped = _localise(local_ms[naive], reading.zone)
            utc[naive] = utc_naive
            minutes[naive] = minutes_naive
            rows = np.flatnonzero(naive)
            valid[rows[~ok]] = False
            aware[rows[ok]] = True
            gap[rows[skipped]] = True
    offsets[:] = np.where(aware, minutes, 0).astype(np.int16)
    bad = present & ~valid & ~zoneless & ~gap
    stamps = pa.array(utc.astype(np.int64), pa.int64(), mask=~aware).cast(
        pa.timestamp("ms", tz="UTC")
    )
    return _Times(stamps, offsets, bad, zoneless, gap)


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _on_the_calendar(parts: Any) -> np.ndarray:
    """True where the date and time exist: Arrow's strptime rolls 2026-02-30 over into
    March and a 60th second into the next minute instead of failing."""

    def number(field: str, start: int, stop: int) -> np.ndarray:
        text = pc.utf8_slice_codeunits(pc.fill_null(parts.field(field), "0000-00-00"), start, stop)
        return pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.int64()).to_numpy(
            zero_copy_only=False
        )

    year, month, day = number("date", 0, 4), number("date", 5, 7), number("date", 8, 10)
    hour, minute = number("hm", 0, 2), number("hm", 3, 5)
    second = number("sec", 1, 3)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    days = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    return month_ok & (day >= 1) & (day <= days) & (hour < 24) & (minute < 60) & (second < 60)


def _numeric(text: pa.Array, reading: TimeReading, present: np.ndarray) -> _Times:
    """Numbers of `reading.unit` after `reading.origin`; their offset is the zone's at that
    instant if a zone is given, else the origin's."""
    n = len(text)
    assert reading.unit is not None
    ok = _numpy_mask(pc.match_substring_regex(text, _NUMBER))
    number = pc.cast(pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string())), pa.float64())
    hours = number.to_numpy(zero_copy_only=False) * UNIT_HOURS[reading.unit]
    origin = reading.origin or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    base = np.datetime64(origin.astimezone(dt.UTC).replace(tzinfo=None), "ms").astype(np.int64)
    finite = ok & np.isfinite(hours) & (np.abs(hours) < 24 * 366 * 500)
    ms = np.where(finite, base + np.round(np.where(finite, hours, 0) * 3_600_000), 0)
    ms = ms.astype(np.int64)
    if reading.zone is not None:
        offsets = np.zeros(n, dtype=np.int16)
        inside = finite & (ms >= EARLIEST_MS) & (ms < LATEST_MS)
        offsets[inside] = _zone_offsets(ms[inside], reading.zone)
    else:
        minutes = int((origin.utcoffset() or dt.timedelta(0)).total_seconds() // 60)
        offsets = np.full(n, minutes, dtype=np.int16)
    stamps = pa.array(ms, pa.int64(), mask=~finite).cast(pa.timestamp("ms", tz="UTC"))
    none = np.zeros(n, dtype=bool)
    return _Times(stamps, offsets, present & ~finite, none, none.copy())


def _zone_offsets(utc_ms: np.ndarray, zone: str) -> np.ndarray:
    """The zone's UTC offset in minutes at each instant."""
    import pandas as pd

    instants = pd.DatetimeIndex(utc_ms.astype("datetime64[ms]")).tz_localize("UTC")
    wall = instants.tz_convert(zone).tz_localize(None).as_unit("ms").asi8
    return ((wall - utc_ms) // 60_000).astype(np.int16)


def _offset_minutes(text: str) -> int | None:
    """'Z' -> 0, '+08:00' or '+0800' -> 480; None for an offset beyond +-18:00."""
    if text in ("", "Z"):
        return 0
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4])
    if hours > 18 or minutes > 59:
        return None
    return (-1 if text[0] == "-" else 1) * (hours * 60 + minutes)


def _by_value(text: Any, convert: Callable[[str], int | None]) -> tuple[np.ndarray, np.ndarray]:
    """`convert` applied once per distinct value (offsets and fractions repeat a lot):
    (values, 0 where null or None; known mask)."""
    encoded = pc.dictionary_encode(pc.fill_null(text, ""))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    converted = [convert(v) for v in encoded.dictionary.to_pylist()]
    table = np.array([0 if c is None else c for c in converted], dtype=np.int64)
    ok = np.array([c is not None for c in converted], dtype=bool)
    index = encoded.indices.to_numpy(zero_copy_only=False)
    return table[index], ok[index]


def _localise(
    local_ms: np.ndarray, zone: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Wall-clock times in `zone` -> (UTC ms, offset minutes, ok, skipped).

    A time the zone repeats (the hour after clocks go back) is read as its first
    occurrence, in summer time: an export without offsets cannot say which was meant. A
    time the zone skipped (clocks went forward) is not ok, and marked `skipped`; so is a
    time outside the years 1900-2199, without the mark."""
    import pandas as pd

    inside = (local_ms >= EARLIEST_MS) & (local_ms < LATEST_MS)
    utc_ms = np.zeros(len(local_ms), dtype=np.int64)
    ok = np.zeros(len(local_ms), dtype=bool)
    wall = pd.DatetimeIndex(local_ms[inside].astype("datetime64[ms]"))
    placed = wall.tz_localize(zone, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="NaT")
    found = ~np.asarray(placed.isna())
    utc = placed.tz_convert("UTC").tz_localize(None).as_unit("ms").asi8
    rows = np.flatnonzero(inside)
    utc_ms[rows[found]] = utc[found]
    ok[rows[found]] = True
    skipped = np.zeros(len(local_ms), dtype=bool)
    skipped[rows[~found]] = True
    minutes = np.where(ok, (local_ms - utc_ms) // 60_000, 0)
    return utc_ms, minutes, ok, skipped


def parse(
    raw: RawBatch, reading: TimeReading, currency: str | None
) -> tuple[Any, list[tuple[int, str]], np.ndarray]:
    """Check and convert one batch: (Arrow table of the good rows, (row, why) of each
    rejected row, the good rows' positions in the batch)."""
    n = len(raw)
    text = {name: _text(raw.columns.get(name), n) for name in NAMES}
    reasons = _Reasons(n)
    for name in REQUIRED:
        reasons.add(pc.is_null(text[name]), f"{name} is empty")
    out: dict[str, Any] = {}
    # A cancel's time, who made it and why belong to a cancelled order, a ship time to one
    # that left (shipped, or cancelled after shipping): what does not belong is dropped
    # before it is read, so that a leftover in such a column rejects no order.
    status = pc.utf8_lower(text["status"])
    cancelled = pc.fill_null(pc.equal(status, "cancelled"), False)
    left = pc.fill_null(pc.not_equal(status, "open"), False)
    for name in ("cancelled_at", "cancelled_by", "cancel_reason", "buyer_requested"):
        text[name] = pc.if_else(cancelled, text[name], pa.scalar(None, pa.string()))
    text["shipped_at"] = pc.if_else(left, text["shipped_at"], pa.scalar(None, pa.string()))

    for name, allowed in (
        ("status", STATUSES),
        ("fulfilment", FULFILMENT),
        ("cancelled_by", CANCELLED_BY),
    ):
        column = pc.utf8_lower(text[name])
        known = pc.is_in(column, value_set=pa.array(allowed))
        reasons.add(
            pc.and_(pc.is_valid(column), pc.invert(known)),
            f"{name} is not one of {', '.join(allowed)}"
            + (" (for csv, --status VALUE=STATUS maps a value)" if name == "status" else ""),
            text[name],
        )
        out[name] = column

    for name in TIME_COLUMNS:
        times = _instants(text[name], reading)
        stamps = times.stamps
        reasons.add(times.zoneless, f"{name} has no time zone (give --timezone)", text[name])
        reasons.add(
            times.gap,
            f"{name} is a time that {reading.zone} skipped (clocks went forward)",
            text[name],
        )
        reasons.add(times.bad, f"{name} is not a date and time", text[name])
        out[name] = stamps
        if name == "placed_at":
            out["utc_offset_min"] = pa.array(times.offsets, pa.int16())
        reasons.add(
            pc.or_(pc.less(stamps, EARLIEST), pc.greater_equal(stamps, LATEST)),
            f"{name} is outside the years 1900-2199",
            text[name],
        )
    for name in ("shipped_at", "cancelled_at"):
        reasons.add(pc.less(out[name], out["placed_at"]), f"{name} is before placed_at", text[name])

    grouped = pc.match_substring_regex(text["value"], _THOUSANDS)
    value_text = pc.if_else(grouped, pc.replace_substring(text["value"], ",", ""), text["value"])
    number = pc.match_substring_regex(value_text, _NUMBER)
    reasons.add(
        pc.and_(pc.is_valid(value_text), pc.invert(number)),
        "value is not a number (a decimal point, not a comma; commas only between thousands)",
        text["value"],
    )
    value = pc.cast(pc.if_else(number, value_text, pa.scalar(None, pa.string())), pa.float64())
    reasons.add(pc.less(value, 0), "value is negative", text["value"])
    reasons.add(
        pc.or_(pc.invert(pc.is_finite(value)), pc.greater(value, MAX_VALUE)),
        f"value is not a number up to {MAX_VALUE:,.0f}",
        text["value"],
    )
    out["value"] = value

    cur = pc.utf8_upper(text["currency"])
    if currency is not None:
        cur = pc.fill_null(cur, currency)
    reasons.add(
        pc.and_(pc.is_valid(cur), pc.invert(pc.match_substring_regex(cur, r"^[A-Z]{3}$"))),
        "currency is not a 3-letter code",
        text["currency"],
    )
    reasons.add(
        pc.and_(pc.is_valid(value), pc.is_null(cur)), "value has no currency (give --currency)"
    )
    out["currency"] = cur

    flag = pc.utf8_lower(text["buyer_requested"])
    yes, no = pc.is_in(flag, value_set=pa.array(_TRUE)), pc.is_in(flag, value_set=pa.array(_FALSE))
    reasons.add(
        pc.and_(pc.is_valid(flag), pc.invert(pc.or_(yes, no))),
        "buyer_requested is not true or false",
        text["buyer_requested"],
    )
    out["buyer_requested"] = pc.if_else(pc.is_valid(flag), yes, pa.scalar(None, pa.bool_()))

    for name in ("order_id", "seller_id", "payment_method", "cancel_reason"):
        out[name] = text[name]

    good = ~reasons.bad
    keep = pa.array(good)
    schema = arrow_schema()
    table = pa.Table.from_arrays(
        [pc.filter(out[f.name], keep).cast(f.type) for f in schema], schema=schema
    )
    problems = sorted(reasons.why.items())
    return table, problems, np.flatnonzero(good)
