"""Reading a normalised order log back (for replay and calibration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.orderlog.schema import NAMES, REQUIRED, arrow_schema


def read_log(path: str | Path, columns: list[str] | None = None) -> Any:
    """The log at `path` (.parquet or .csv, as `cancelsim import` writes it) as a pandas
    DataFrame with the log's types; a file that is not such a log is an `InputError`."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    file = Path(path)
    wanted = list(columns) if columns is not None else list(NAMES)
    if not file.is_file():
        raise InputError.single(
            str(path), "file not found" if not file.exists() else "is not a file"
        )
    schema = arrow_schema()
    try:
        if file.suffix == ".parquet":
            present = pq.read_schema(file).names
            _require(path, present)
            table = pq.read_table(file, columns=wanted)
        elif file.suffix == ".csv":
            with open(file, "rb") as handle:
                header = handle.readline().decode("utf-8", "replace").strip()
            present = [h.strip('"') for h in header.split(",")]
            _require(path, present)
            missing = [n for n in wanted if n not in present]
            if missing:
                raise InputError.single(
                    str(path),
                    f"has no {', '.join(missing)} column; expected an order log as cancelsim "
                    "import writes it",
                )
            table = pacsv.read_csv(
                file,
                convert_options=pacsv.ConvertOptions(
                    column_types={f.name: f.type for f in schema},
                    include_columns=wanted,
                    strings_can_be_null=True,
                    timestamp_parsers=["%Y-%m-%dT%H:%M:%S%z", pacsv.ISO8601],
                ),
            )
        else:
            raise InputError.single(
                str(path), "expected an order log ending in .parquet or .csv (cancelsim import)"
            )
        table = table.cast(pa.schema([schema.field(n) for n in wanted]))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowKeyError, OSError) as error:
        first = str(error).splitlines()[0]
        raise InputError.single(
            str(path), f"is not an order log as cancelsim import writes it: {first}"
        ) from None
    return table.to_pandas()


def _require(path: str | Path, present: list[str]) -> None:
    missing = [n for n in REQUIRED if n not in present]
    if missing:
        raise InputError.single(
            str(path),
            f"has no {', '.join(missing)} column; expected an order log (cancelsim import)",
        )


MAX_VALUE = 1e12  # what one order may be worth, in its currency (as the importer checks)
MAX_OFFSET_MIN = 18 * 60


def check_log(path: str | Path, log: Any) -> None:
    """What `cancelsim import` guarantees of a log, checked again for one written another
    way (by hand, by another program): one `InputError` naming each kind of bad row."""
    import numpy as np

    from sim.orderlog.schema import CANCELLED_BY, FULFILMENT, STATUSES

    counts: dict[str, int] = {}
    columns = set(log.columns)

    def count(what: str, mask: Any) -> None:
        n = int(np.asarray(mask).sum())
        if n:
            counts[what] = n

    if "order_id" in columns:
        count("have no order_id", log["order_id"].isna())
        count(
            "repeat an earlier order's order_id",
            log["order_id"].duplicated() & log["order_id"].notna(),
        )
    if "placed_at" in columns:
        count("have no placed_at", log["placed_at"].isna())
    if "status" in columns:
        count(f"have a status other than {', '.join(STATUSES)}", ~log["status"].isin(STATUSES))
    if "utc_offset_min" in columns:
        offset = log["utc_offset_min"].to_numpy(dtype=float, na_value=np.nan)
        count(
            "have no utc_offset_min, or one beyond 18 hours",
            np.isnan(offset) | (np.abs(offset) > MAX_OFFSET_MIN),
        )
    if "value" in columns:
        value = log["value"].to_numpy(dtype=float, na_value=np.nan)
        count("have a negative value", value < 0)
        count(f"have a value above {MAX_VALUE:,.0f} (or infinite)", value > MAX_VALUE)
        if "currency" in columns:
            count("have a value but no currency", ~np.isnan(value) & log["currency"].isna())
    for name, allowed in (("fulfilment", FULFILMENT), ("cancelled_by", CANCELLED_BY)):
        if name in columns:
            count(
                f"have a {name} other than {', '.join(allowed)}",
                log[name].notna() & ~log[name].isin(allowed),
            )
    for name in ("shipped_at", "cancelled_at"):
        if name in columns and "placed_at" in columns:
            count(f"have {name} before placed_at", log[name] < log["placed_at"])
    if counts:
        problems = "; ".join(f"{n:,} orders {what}" for what, n in counts.items())
        raise InputError.single(str(path), problems + " (cancelsim import checks what a log holds)")
