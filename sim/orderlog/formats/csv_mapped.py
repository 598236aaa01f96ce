"""`csv`: any delimited file, with a mapping from the log's fields to its columns.

The mapping comes from `--map field=column` options or a small YAML file (`--map-file`):

    columns: {order_id: id, placed_at: created, status: state, value: total}
    statuses: {Delivered: shipped, Refunded: cancelled}
    time: {unit: h, origin: "2025-01-06T00:00:00+00:00"}   # numbers, not dates
    currency: EUR
    delimiter: ","

Status values are read case-insensitively: the log's own (open, shipped, cancelled) and
cancelsim's trace outcomes are known; others are mapped under `statuses`. A trace outcome
also says who cancelled and whether the buyer asked (`cancelled_by`, `buyer_requested`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import AwareDatetime, Field, ValidationError, field_validator

from sim.errors import InputError
from sim.model.base import Model, validate
from sim.model.yamlfile import read_document
from sim.orderlog.rows import RawBatch, RowProblem
from sim.orderlog.schema import NAMES, STATUSES
from sim.orderlog.text import open_arrow, require_columns, scan

# cancelsim's own outcomes (the trace's `outcome` column): status, who cancelled, asked
TRACE_OUTCOMES: dict[str, tuple[str, str | None, str | None]] = {
    "shipped": ("shipped", None, None),
    "kept_after_failed_cancel": ("shipped", None, None),
    "intercepted": ("shipped", None, None),
    "refused_delivery": ("shipped", None, None),
    "returned": ("shipped", None, None),
    "open": ("open", None, None),
    "self_cancelled": ("cancelled", "buyer", "true"),
    "instant_refunded": ("cancelled", "buyer", "true"),
    "request_cancelled": ("cancelled", "seller", "true"),
    "request_auto_approved": ("cancelled", "platform", "true"),
    "seller_cancelled": ("cancelled", "seller", "false"),
    "auto_cancelled": ("cancelled", "platform", "false"),
}
KNOWN_STATUSES: dict[str, tuple[str, str | None, str | None]] = {
    **TRACE_OUTCOMES,
    **{s: (s, None, None) for s in STATUSES},
    "canceled": ("cancelled", None, None),
}


class TimeSpec(Model):
    unit: Literal["ms", "s", "min", "h", "d"] | None = None
    origin: AwareDatetime | None = None
    zone: str | None = None

    @field_validator("zone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        return check_zone(v)


class Mapping(Model):
    """How a CSV's columns and status values read as the normalised log."""

    columns: dict[str, str] = Field(min_length=1)
    statuses: dict[str, Literal["open", "shipped", "cancelled"]] = {}
    time: TimeSpec = TimeSpec()
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    seller: str | None = None
    delimiter: str = Field(",", min_length=1, max_length=1)

    @field_validator("columns")
    @classmethod
    def _fields(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(NAMES))
        if unknown:
            raise ValueError(
                f"unknown log field {unknown[0]!r}; the fields are: {', '.join(NAMES)}"
            )
        for needed in ("order_id", "placed_at", "status"):
            if needed not in v:
                raise ValueError(f"no column is mapped to {needed}, which every order needs")
        return v


def check_zone(zone: str | None) -> str | None:
    if zone is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {zone!r}; expected an IANA name such as Asia/Shanghai"
        ) from None
    return zone


def load_mapping(file: Path | None, pairs: tuple[str, ...], statuses: tuple[str, ...]) -> Mapping:
    """The mapping file (if any) with `--map field=column` and `--status value=status`
    options laid over it."""
    data: dict = {}
    doc = None
    if file is not None:
        doc = read_document(file)
        if not isinstance(doc.data, dict):
            raise InputError.single(str(file), "expected a mapping with columns:", line=1, col=1)
        data = dict(doc.data)
        for key in ("columns", "statuses"):
            if key in data and not isinstance(data[key], dict):
                raise InputError(
                    [doc.problem((key,), "expected a mapping (NAME: VALUE, one per line)")]
                )
    columns = dict(data.get("columns") or {})
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputError.single(
                "--map", f"{pair!r}: expected FIELD=COLUMN, e.g. placed_at=created"
            )
        columns[field.strip()] = column.strip()
    status_map = dict(data.get("statuses") or {})
    for pair in statuses:
        value, sep, status = pair.partition("=")
        if not sep or not value.strip():
            raise InputError.single(
                "--status", f"{pair!r}: expected VALUE=STATUS, e.g. Delivered=shipped"
            )
        status_map[value.strip()] = status.strip()
    data["columns"] = columns
    data["statuses"] = status_map
    if doc is not None:
        doc.data = data
        return validate(Mapping, doc)
    try:
        return Mapping.model_validate(data)
    except ValidationError as error:  # from --map / --status only
        first = error.errors()[0]
        where = "--status" if first["loc"][:1] == ("statuses",) else "--map"
        raise InputError.single(where, first["msg"].removeprefix("Value error, ")) from None


def read(paths: list[Path], mapping: Mapping, encoding: str | None) -> Iterator[RawBatch]:
    for path in paths:
        yield from _read(path, mapping, encoding)


def _read(path: Path, mapping: Mapping, encoding: str | None) -> Iterator[RawBatch]:
    text = open_arrow(path, mapping.delimiter, encoding)
    require_columns(path, text.header, mapping.columns, "from the mapping")
    vocabulary = {k.casefold(): v for k, v in KNOWN_STATUSES.items()}
    vocabulary.update({k.casefold(): (v, None, None) for k, v in mapping.statuses.items()})
    values = list(vocabulary)
    status_of = pa.array([vocabulary[v][0] for v in values])
    by_of = pa.array([vocabulary[v][1] for v in values], pa.string())
    asked_of = pa.array([vocabulary[v][2] for v in values], pa.string())
    for batch, first in text.batches(list(mapping.columns.values())):
        n = batch.num_rows
        columns: dict[str, Any] = {f: batch.column(c) for f, c in mapping.columns.items()}
        if mapping.seller is not None and "seller_id" not in columns:
            columns["seller_id"] = pa.array([mapping.seller] * n, pa.string())
        raw_status = columns["status"]
        index = pc.index_in(
            pc.utf8_lower(pc.utf8_trim_whitespace(raw_status)), value_set=pa.array(values)
        )
        # an unknown value stays as written, for the checks to report
        columns["status"] = pc.if_else(pc.is_valid(index), pc.take(status_of, index), raw_status)
        if "cancelled_by" not in mapping.columns:
            columns["cancelled_by"] = pc.take(by_of, index)
        if "buyer_requested" not in mapping.columns:
            columns["buyer_requested"] = pc.take(asked_of, index)
        records = np.arange(first, first + n, dtype=np.int64)
        yield RawBatch(str(path), columns, records=records, locator=text.locate)
    if text.invalid:
        _, wrong = scan(text, np.zeros(0, dtype=np.int64))
        problems = [
            RowProblem(f"{path}:{line}", f"has {fields} fields; the header has {len(text.header)}")
            for line, fields in wrong
        ]
        yield RawBatch(str(path), {}, records=np.zeros(0, dtype=np.int64), problems=problems)
