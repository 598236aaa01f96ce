"""The optional per-order trace: one row per order as it closes, streamed to disk in chunks.

CSV by default; Parquet when pyarrow is installed and the file name ends in `.parquet`.
Rows are buffered `CHUNK` at a time, so memory does not grow with the order count; the
file appears under its final name only when the run has finished (written beside it,
then renamed).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

CHUNK = 65_536
COLUMNS = (
    "order",
    "seller",
    "placed_h",
    "outcome",
    "closed_h",
    "intent_h",
    "shipped_h",
    "refund_issued_h",
    "money_back_h",
    "amount",
    "payment_method",
    "measured",
)


def _arrow_types() -> dict[str, Any]:
    import pyarrow as pa

    return {
        "order": pa.int64,
        "seller": pa.int64,
        "placed_h": pa.float64,
        "outcome": pa.string,
        "closed_h": pa.float64,
        "intent_h": pa.float64,
        "shipped_h": pa.float64,
        "refund_issued_h": pa.float64,
        "money_back_h": pa.float64,
        "amount": pa.float64,
        "payment_method": pa.string,
        "measured": pa.bool_,
    }


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


class TraceWriter:
    """Appends order rows to a CSV or Parquet file, a chunk at a time."""

    def __init__(self, path: Path):
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: list[tuple[Any, ...]] = []
        self.parquet = path.suffix == ".parquet"
        self._parquet_writer: Any = None
        self._handle: Any = None
        if not self.parquet:
            self._handle = open(self.partial, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._csv = csv.writer(self._handle, lineterminator="\n")
            self._csv.writerow(COLUMNS)

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self.parquet:
            self._write_parquet()
        else:
            self._csv.writerows(self.rows)
        self.rows = []

    def close(self) -> None:
        """Write what is left and give the file its final name."""
        self.flush()
        if self._handle is not None:
            self._handle.close()
        if self._parquet_writer is not None:
            self._parquet_writer.close()
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        """Drop the unfinished file (the run failed)."""
        if self._handle is not None:
            self._handle.close()
        if self._parquet_writer is not None:
            self._parquet_writer.close()
        self.partial.unlink(missing_ok=True)

    def _write_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = _arrow_types()
        schema = pa.schema([(name, types[name]()) for name in COLUMNS])  # fixed: a chunk may
        table = pa.Table.from_pylist(  # hold only nulls in a column
            [dict(zip(COLUMNS, r, strict=True)) for r in self.rows], schema=schema
        )
        if self._parquet_writer is None:
            self._parquet_writer = pq.ParquetWriter(self.partial, schema)
        self._parquet_writer.write_table(table)
