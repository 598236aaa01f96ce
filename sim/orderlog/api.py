"""Real orders in, from Python: `import_orders` (as `cancelsim import`) and `read_log`."""

from __future__ import annotations

import datetime as dt
import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.orderlog.formats import FORMATS
from sim.orderlog.importer import ImportOptions, ImportSummary, Reader
from sim.orderlog.importer import import_orders as _import
from sim.orderlog.log import read_log
from sim.orderlog.rows import TimeReading

__all__ = ["FORMATS", "import_orders", "prepare", "read_log"]


def prepare(
    format: str,
    *,
    map_file: str | Path | None = None,
    columns: Mapping[str, str] | Sequence[str] = (),
    statuses: Mapping[str, str] | Sequence[str] = (),
    timezone: str | None = None,
    time_unit: str | None = None,
    time_origin: dt.datetime | None = None,
    currency: str | None = None,
    seller: str | None = None,
    encoding: str | None = None,
) -> tuple[Reader, ImportOptions]:
    """The reader and options for an import; every bad option is an `InputError`.

    `columns` and `statuses` are the csv format's mapping, as a dict (`{"placed_at":
    "created"}`) or `FIELD=COLUMN` strings; `map_file` a YAML mapping beneath them."""
    from sim.orderlog.formats.csv_mapped import check_zone, load_mapping

    fmt = format.lower()
    if fmt not in FORMATS:
        raise InputError.single("--format", f"{format!r} is not one of {', '.join(FORMATS)}")
    try:
        zone = check_zone(timezone)
    except ValueError as error:
        raise InputError.single("--timezone", str(error)) from None
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise InputError.single("--currency", f"{currency!r} is not a 3-letter code such as EUR")
    pairs, status_pairs = _pairs(columns), _pairs(statuses)
    unit, origin = time_unit, time_origin
    reader: Reader
    if fmt == "csv":
        from sim.orderlog.formats import csv_mapped

        if not pairs and map_file is None:
            raise InputError.single(
                "--map", "the csv format needs a column mapping: --map FIELD=COLUMN or --map-file"
            )
        mapping = load_mapping(Path(map_file) if map_file else None, pairs, status_pairs)
        if seller is not None:
            mapping = mapping.model_copy(update={"seller": seller})
        unit = unit or mapping.time.unit
        origin = origin or mapping.time.origin
        zone = zone or mapping.time.zone
        reader = functools.partial(csv_mapped.read, mapping=mapping, encoding=encoding)
        currency = currency or mapping.currency
    else:
        if pairs or map_file or status_pairs or time_unit or time_origin:
            raise InputError.single(
                "--map", f"--map, --map-file, --status and --time-* are for --format csv, not {fmt}"
            )
        module = importlib.import_module(f"sim.orderlog.formats.{fmt.replace('-', '_')}")
        reader = functools.partial(module.read, encoding=encoding, seller=seller)
    if origin is not None and unit is None:
        raise InputError.single(
            "--time-origin", "needs --time-unit: the unit numeric times count in"
        )
    options = ImportOptions(
        currency=currency.upper() if currency else None,
        reading=TimeReading(zone=zone, unit=unit, origin=origin),
    )
    return reader, options


def _pairs(given: Mapping[str, str] | Sequence[str]) -> tuple[str, ...]:
    if isinstance(given, Mapping):
        return tuple(f"{key}={value}" for key, value in given.items())
    return tuple(given)


def import_orders(
    files: str | Path | Sequence[str | Path],
    *,
    format: str,
    out: str | Path,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> ImportSummary:
    """`cancelsim import` from Python: read `files` into the order log `out` and return
    the summary (rows read, rejected, replaced, written, and the problems). `options` are
    `prepare`'s: `map_file`, `columns`, `statuses`, `timezone`, `time_unit`,
    `time_origin`, `currency`, `seller`, `encoding`."""
    paths = [Path(files)] if isinstance(files, str | Path) else [Path(f) for f in files]
    reader, prepared = prepare(format, **options)
    return _import(paths, reader, prepared, Path(out), progress=progress, strict=strict)
