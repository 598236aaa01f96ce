"""`cancelsim import`: order exports in, one normalised order log out.

Batches from a format's reader are checked (`rows.parse`), then staged in a Parquet file
beside the output. Once every file is read, duplicated order ids are found from 64-bit
hashes (and confirmed on the ids themselves): the later row is kept and the earlier one
reported. The kept rows are then copied to the output (Parquet or CSV, by its extension),
which appears under its final name only when complete. Memory stays bounded by the batch
size plus 8 bytes a row for the hashes.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.orderlog.rows import Locator, RawBatch, RowProblem, TimeReading, parse

ROW_GROUP = 262_144


@dataclass(frozen=True)
class ImportOptions:
    currency: str | None = None  # for values without a currency column
    seller: str | None = None  # the seller of a one-seller export
    reading: TimeReading = TimeReading()
    encoding: str | None = None


@dataclass
class ImportSummary:
    files: int = 0
    read: int = 0  # rows (orders) found in the sources
    rejected: int = 0
    duplicates: int = 0  # earlier rows replaced by a later row of the same order id
    written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # not orders: reason -> rows
    problems: list[RowProblem] = field(default_factory=list)  # every rejection, in order

    @property
    def complete(self) -> bool:
        return not self.problems


Reader = Callable[[list[Path]], Iterator[RawBatch]]
"""A format's reader: every source file (in the order given) -> batches of raw rows."""


def import_orders(
    sources: Iterable[Path],
    reader: Reader,
    options: ImportOptions,
    out: Path,
    progress: Callable[[int], None] | None = None,
    strict: bool = False,
) -> ImportSummary:
    """Read every source with `reader` into the order log `out` (.parquet or .csv).

    Every problem is also listed, one per line, in `out` + `.problems.txt` (removed when
    there is none). With `strict`, any problem means nothing is written to `out`."""
    import pyarrow.parquet as pq

    if out.suffix not in (".parquet", ".csv"):
        raise InputError.single(str(out), "expected an output name ending in .parquet or .csv")
    sources = list(sources)
    for source in sources:
        if not source.is_file():
            raise InputError.single(
                str(source), "file not found" if not source.exists() else "is not a file"
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        summary = ImportSummary(files=len(sources))
        places = _Places()
        hashes: list[np.ndarray] = []
        writer: Any = None
        stage = staging / "rows.parquet"
        for raw in reader(sources):
            table, problems, good = parse(raw, options.reading, options.currency)
            summary.read += len(raw) + len(raw.problems)
            places.add_batch_problems(raw, problems)
            for reason, count in raw.skipped.items():
                summary.skipped[reason] = summary.skipped.get(reason, 0) + count
            if progress is not None:
                progress(len(raw) + len(raw.problems))
            if table.num_rows == 0:
                continue
            if writer is None:
                writer = pq.ParquetWriter(stage, table.schema, compression="none")
            writer.write_table(table)
            hashes.append(_hash(table.column("order_id")))
            places.add_rows(raw, good)
        if writer is not None:
            writer.close()
        keep = _later_rows_kept(stage, hashes, places, summary) if hashes else None
        summary.problems = places.resolve()
        summary.rejected = len(summary.problems) - summary.duplicates
        listing = out.with_name(out.name + ".problems.txt")
        listing.unlink(missing_ok=True)
        if summary.problems:
            listing.write_text("".join(f"{p}\n" for p in summary.problems), encoding="utf-8")
        if strict and summary.problems:
            return summary
        _write(stage if hashes else None, keep, out, staging)
        summary.written = int(keep.sum()) if keep is not None else 0
        return summary
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class _Places:
    """Where staged rows and problems came from; text positions are resolved at the end,
    so that a fast reader needs to find line numbers only for the rows it reports."""

    def __init__(self) -> None:
        self.order: dict[str, int] = {}  # file -> its place in the import
        self.locators: dict[str, Locator] = {}
        self.batches: list[tuple[str, np.ndarray]] = []  # per staged batch: file, positions
        # file, position, why; a "{other}" in why is replaced by the place `other`
        self.problems: list[tuple[str, int | str, str, tuple[str, int | str] | None]] = []
        self.ready: list[RowProblem] = []  # located by the reader itself

    def _file(self, raw: RawBatch) -> None:
        self.order.setdefault(raw.file, len(self.order))
        if raw.records is not None and raw.locator is not None:
            self.locators[raw.file] = raw.locator

    def add_batch_problems(self, raw: RawBatch, problems: list[tuple[int, str]]) -> None:
        self._file(raw)
        self.ready.extend(raw.problems)
        for row, why in problems:
            self.problems.append((raw.file, raw.position(row), why, None))

    def add_rows(self, raw: RawBatch, good: np.ndarray) -> None:
        if raw.paths is not None:
            positions = np.asarray(raw.paths, dtype=object)[good]
        else:
            located = raw.lines if raw.lines is not None else raw.records
            positions = np.asarray(located, dtype=np.int64)[good]
        self.batches.append((raw.file, positions))

    def row(self, staged: int) -> tuple[str, int | str]:
        """The file and position of a staged row."""
        for file, positions in self.batches:
            if staged < len(positions):
                value = positions[staged]
                return file, value if isinstance(value, str) else int(value)
            staged -= len(positions)
        raise IndexError(staged)

    def resolve(self) -> list[RowProblem]:
        """Every problem, located and in file order."""
        places = [(f, p) for f, p, _, _ in self.problems]
        places += [other for *_, other in self.problems if other is not None]
        lines: dict[str, dict[int, int]] = {}
        for file, locator in self.locators.items():
            wanted = sorted({p for f, p in places if f == file and isinstance(p, int)})
            lines[file] = locator(wanted) if wanted else {}

        def shown(file: str, position: int | str) -> int | str:
            if file in lines and isinstance(position, int):
                return lines[file].get(position, position)
            return position

        placed = []
        for f, p, why, other in self.problems:
            if other is not None:
                why = why.replace("{other}", f"{other[0]}:{shown(*other)}")
            at = shown(f, p)
            placed.append((self.order[f], _key(at), f"{f}:{at}", why))
        for problem in self.ready:
            file, _, position = problem.where.rpartition(":")
            order = self.order.get(file, len(self.order))
            placed.append((order, _key(position), problem.where, problem.why))
        placed.sort(key=lambda item: (item[0], item[1]))
        return [RowProblem(where, why) for _, _, where, why in placed]


def _key(position: int | str) -> tuple[Any, ...]:
    """Sorts lines as numbers and JSON paths naturally: Orders[42] before Orders[142]."""
    if isinstance(position, int):
        return (0, position)
    if position.isdigit():
        return (0, int(position))
    parts = re.split(r"(\d+)", position)
    return (1, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts))


def _hash(column: Any) -> np.ndarray:
    import pandas as pd

    ids = column.to_numpy(zero_copy_only=False).astype(object)
    return pd.util.hash_array(ids, categorize=False)


def _later_rows_kept(
    stage: Path, hashes: list[np.ndarray], places: _Places, summary: ImportSummary
) -> np.ndarray:
    """A mask over the staged rows: False for a row whose order id comes again later."""
    import pyarrow.parquet as pq

    h = np.concatenate(hashes)
    keep = np.ones(len(h), dtype=bool)
    order = np.argsort(h, kind="stable")
    ordered = h[order]
    same = ordered[1:] == ordered[:-1]
    del ordered
    if not same.any():
        return keep
    candidates = np.unique(np.concatenate([order[1:][same], order[:-1][same]]))
    ids = pq.read_table(stage, columns=["order_id"]).column("order_id")
    last: dict[str, int] = {}
    for row, order_id in zip(candidates.tolist(), ids.take(candidates).to_pylist(), strict=True):
        if order_id in last:  # candidates are in row order: this one is later
            earlier = last[order_id]
            keep[earlier] = False
            summary.duplicates += 1
            file, position = places.row(earlier)
            later_file, later = places.row(row)
            places.problems.append(
                (
                    file,
                    position,
                    f"order id {order_id} comes again at {{other}}; the later row is kept",
                    (later_file, later),
                )
            )
        last[order_id] = row
    return keep


def _write(stage: Path | None, keep: np.ndarray | None, out: Path, staging: Path) -> None:
    """Copy the kept staged rows to `out`, atomically; an empty log when nothing was read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sim.orderlog.schema import arrow_schema

    partial = staging / ("final" + out.suffix)
    schema = arrow_schema()
    if out.suffix == ".parquet":
        writer: Any = pq.ParquetWriter(partial, schema, compression="zstd")
        write = lambda t: writer.write_table(t, row_group_size=ROW_GROUP)  # noqa: E731
        close = writer.close
    else:
        handle = open(partial, "wb")  # noqa: SIM115
        csv_writer = _CsvLog(handle)
        write = csv_writer.write
        close = handle.close
    try:
        if stage is None or keep is None:
            write(schema.empty_table())
        else:
            source = pq.ParquetFile(stage)
            start = 0
            for group in range(source.num_row_groups):
                table = source.read_row_group(group)
                mask = keep[start : start + table.num_rows]
                start += table.num_rows
                write(table.filter(pa.array(mask)) if not mask.all() else table)
    finally:
        close()
    os.replace(partial, out)


class _CsvLog:
    """The log as CSV: ISO 8601 times in UTC with a Z, empty for null, plain numbers."""

    def __init__(self, handle: Any):
        self.handle = handle
        self.first = True

    def write(self, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        columns = []
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_timestamp(column.type):
                # %S of a millisecond timestamp carries the milliseconds: 03.456
                column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
            columns.append(column)
        plain = pa.table(columns, names=table.column_names)
        options = pacsv.WriteOptions(include_header=self.first, quoting_style="needed")
        pacsv.write_csv(plain, self.handle, write_options=options)
        self.first = False
