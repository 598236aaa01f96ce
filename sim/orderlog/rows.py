"""From a reader's raw text fields to typed, checked columns of the normalised log.

Readers (one per export format) yield `RawBatch`es: the log's field names mapped to the
source's text, one entry per row, and where each row came from. `parse` checks and
converts a whole batch at once (vectorised), and returns the good rows as an Arrow table
and one `RowProblem` for each rejected row: nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sim.orderlog.schema import CANCELLED_BY, FULFILMENT, NAMES, REQUIRED, STATUSES, TIME_COLUMNS

_OFFSET = r"(Z|[+-]\d\d:?\d\d)$"
_HAS_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)$"


@dataclass(frozen=True, order=True)
class RowProblem:
    """One rejected row: where it was, and why."""

    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


@dataclass
class RawBatch:
    """Rows of one source file, as text, under the log's field names.

    `lines` (a text file's line numbers) or `paths` (a JSON path per row) locate each row.
    A reader that already rejected rows of this stretch of the file lists them in
    `problems`; they are not in `columns`. Rows it leaves out on purpose are counted in
    `skipped`.
    """

    file: str
    columns: dict[str, list[Any]]
    lines: list[int] | None = None
    paths: list[str] | None = None
    problems: list[RowProblem] = field(default_factory=list)
    # rows that are readable but are not orders to simulate (an order closed before it was
    # paid): reason -> count, reported in the summary, not as errors
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lines if self.lines is not None else self.paths or [])

    def where(self, i: int) -> str:
        if self.lines is not None:
            return f"{self.file}:{self.lines[i]}"
        assert self.paths is not None
        return f"{self.file}:{self.paths[i]}"


@dataclass(frozen=True)
class TimeReading:
    """How to read a source's times.

    `zone` places times that carry no offset (an export in local time); without it such a
    time is an error. `unit` reads numbers as `unit`s after `origin` instead of dates.
    """

    zone: str | None = None
    unit: str | None = None  # 's', 'ms', 'h' or 'min': numeric times
    origin: dt.datetime | None = None


UNIT_HOURS = {"ms": 1 / 3_600_000, "s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0}


def _instants(text: pd.Series, reading: TimeReading) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Text times -> (UTC instants, UTC offsets in minutes, bad mask); empty text is NaT."""
    n = len(text)
    missing = text.isna() | (text.str.strip() == "")
    utc = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ms, UTC]")
    offset = pd.Series(np.zeros(n, dtype=np.int16), index=text.index)
    bad = pd.Series(np.zeros(n, dtype=bool), index=text.index)
    present = text[~missing].str.strip()
    if present.empty:
        return utc, offset, bad
    if reading.unit is not None:
        number = pd.to_numeric(present, errors="coerce")
        ok = number.notna() & np.isfinite(number.astype(float))
        origin = reading.origin or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        hours = number[ok].astype(float) * UNIT_HOURS[reading.unit]
        stamps = pd.Timestamp(origin).tz_convert("UTC") + pd.to_timedelta(hours, unit="h")
        utc[ok.index[ok]] = stamps.dt.round("ms").astype("datetime64[ms, UTC]")
        off = origin.utcoffset() or dt.timedelta(0)
        offset[present.index] = int(off.total_seconds() // 60)
        bad[ok.index[~ok]] = True
        return utc, offset, bad
    suffix = present.str.extract(_OFFSET, expand=False)
    aware = suffix.notna()
    if aware.any():
        parsed = pd.to_datetime(present[aware], format="ISO8601", utc=True, errors="coerce")
        utc[parsed.index] = parsed.dt.round("ms").astype("datetime64[ms, UTC]")
        sign = np.where(suffix[aware].str[0] == "-", -1, 1)
        digits = suffix[aware].str.replace(":", "", regex=False).str[1:]
        hh = pd.to_numeric(digits.str[:2], errors="coerce").fillna(0)
        mm = pd.to_numeric(digits.str[2:4], errors="coerce").fillna(0)
        minutes = np.where(suffix[aware] == "Z", 0, sign * (hh * 60 + mm))
        offset[parsed.index] = minutes.astype(np.int16)
        bad[parsed.index] = parsed.isna()
    naive = present[~aware]
    if len(naive):
        if reading.zone is None:
            bad[naive.index] = True  # reported with its own message by the caller
        else:
            wall = pd.to_datetime(naive, format="ISO8601", errors="coerce")
            local = wall.dt.tz_localize(ZoneInfo(reading.zone), ambiguous="NaT", nonexistent="NaT")
            instants = local.dt.tz_convert("UTC")
            utc[instants.index] = instants.dt.round("ms").astype("datetime64[ms, UTC]")
            minutes = (wall - instants.dt.tz_localize(None)).dt.total_seconds() // 60
            offset[instants.index] = minutes.fillna(0).astype(np.int16)
            bad[instants.index] = instants.isna()
    return utc, offset, bad


def _zoneless(text: pd.Series) -> pd.Series:
    """Dates and times written without an offset (text that is no date is not among them)."""
    stripped = text.str.strip()
    naive = text.notna() & (stripped != "") & ~stripped.str.contains(_HAS_OFFSET, na=False)
    if not naive.any():
        return naive
    parsed = pd.to_datetime(stripped[naive], format="ISO8601", errors="coerce")
    return naive & parsed.reindex(text.index).notna()


def parse(
    raw: RawBatch, reading: TimeReading, currency: str | None
) -> tuple[Any, list[RowProblem], np.ndarray]:
    """Check and convert one batch: (Arrow table of the good rows, problems of the rest,
    the good rows' positions in the batch)."""
    import pyarrow as pa

    from sim.orderlog.schema import arrow_schema

    n = len(raw)
    frame = pd.DataFrame(
        {name: pd.Series(raw.columns.get(name, [None] * n), dtype="string") for name in NAMES}
    )
    why = np.full(n, "", dtype=object)  # first reason a row is rejected

    def reject(mask: Any, reason: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool) & (why == "")
        if isinstance(reason, pd.Series):
            why[mask] = reason.to_numpy(dtype=object)[mask]
        else:
            why[mask] = reason

    for name in REQUIRED:
        column = frame[name]
        reject(column.isna() | (column.str.strip() == ""), f"{name} is empty")

    out: dict[str, Any] = {}
    for name in TIME_COLUMNS:
        text = frame[name]
        utc, offset, bad = _instants(text, reading)
        if reading.unit is None and reading.zone is None:
            naive = _zoneless(text)
            reject(naive, f"{name} has no time zone: " + text.fillna("") + " (give --timezone)")
            bad = bad & ~naive
        reject(bad, f"{name} is not a date and time: " + text.fillna(""))
        out[name] = utc
        if name == "placed_at":
            out["utc_offset_min"] = offset

    value_text = frame["value"]
    value = pd.to_numeric(value_text.str.strip().str.replace(",", "", regex=False), errors="coerce")
    has_value = value_text.notna() & (value_text.str.strip() != "")
    reject(
        has_value & (value.isna() | ~np.isfinite(value.astype(float))),
        "value is not a number: " + value_text.fillna(""),
    )
    reject(value < 0, "value is negative: " + value_text.fillna(""))
    out["value"] = value.astype("Float64")

    cur = frame["currency"].str.strip().str.upper()
    if currency is not None:
        cur = cur.fillna(currency).where(cur.fillna("") != "", currency)
    reject(
        cur.notna() & ~cur.str.fullmatch(r"[A-Z]{3}", na=False),
        "currency is not a 3-letter code: " + frame["currency"].fillna(""),
    )
    reject(has_value & cur.isna(), "value has no currency (give --currency)")
    out["currency"] = cur

    for name, allowed in (
        ("status", STATUSES),
        ("fulfilment", FULFILMENT),
        ("cancelled_by", CANCELLED_BY),
    ):
        column = frame[name].str.strip().str.lower()
        column = column.where(column != "", None)
        reject(
            column.notna() & ~column.isin(allowed),
            f"{name} is not one of {', '.join(allowed)}: " + frame[name].fillna(""),
        )
        out[name] = column

    flag = frame["buyer_requested"].str.strip().str.lower()
    truth = flag.map(
        {
            "true": True,
            "1": True,
            "yes": True,
            "y": True,
            "false": False,
            "0": False,
            "no": False,
            "n": False,
            "": None,
        }
    )
    reject(
        flag.notna() & (flag != "") & truth.isna(),
        "buyer_requested is not true or false: " + frame["buyer_requested"].fillna(""),
    )
    out["buyer_requested"] = truth.astype("boolean")

    for name in ("order_id", "seller_id", "payment_method", "cancel_reason"):
        column = frame[name].str.strip()
        out[name] = column.where(column != "", None)

    # a cancel time belongs to a cancelled order, a ship time to a shipped one
    status = out["status"]
    out["cancelled_at"] = out["cancelled_at"].where(status == "cancelled")
    for name in ("cancelled_by", "cancel_reason", "buyer_requested"):
        out[name] = out[name].where(status == "cancelled")

    good = why == ""
    problems = list(raw.problems)
    for i in np.flatnonzero(~good).tolist():
        problems.append(RowProblem(raw.where(i), str(why[i])))
    schema = arrow_schema()
    arrays = []
    for f in schema:
        column = out[f.name][good]
        if f.type == pa.int16():
            arrays.append(pa.array(column.to_numpy(dtype=np.int16), type=f.type))
        else:
            arrays.append(pa.array(column, type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema), problems, np.flatnonzero(good)
