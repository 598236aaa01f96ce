"""`cancelsim import`: order exports in, one normalised order log out.

Batches from a format's reader are checked (`rows.parse`), then staged in a Parquet file
beside the output. Once every file is read, duplicated order ids are found from 64-bit
hashes (and confirmed on the ids themselves): the later row is kept and the earlier one
reported. The kept rows are then copied to the output (Parquet or CSV, by its extension),
which appears under its final name only when complete. Memory stays bounded by the batch
size plus 16 bytes a row (the id's hash, and where the row came from), plus, for repeated
ids, a few arrays of 8 bytes per repeat; problems are written to the listing file as they
are formatted, and at most `KEPT_PROBLEMS` are kept in memory.
"""

from __future__ import annotations

import heapq
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
KEPT_PROBLEMS = 100_000  # problems kept in the summary; the listing file has every one
DUPLICATES_AT_ONCE = 65_536  # repeated ids located and formatted per step


@dataclass(frozen=True)
class ImportOptions:
    """How rows are read, whatever the format (a format's own options go to its reader)."""

    currency: str | None = None  # for values without a currency column
    reading: TimeReading = TimeReading()


@dataclass
class ImportSummary:
    files: int = 0
    # records found in the sources: orders, rejected rows and skipped rows (an order whose
    # items a format lists on several rows, as Amazon's All Orders Report, counts once)
    read: int = 0
    rejected: int = 0  # rows reported and left out (not counting duplicates)
    duplicates: int = 0  # earlier rows replaced by a later row of the same order id
    written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # not orders: reason -> rows
    # the first KEPT_PROBLEMS problems (rejections and replaced duplicates), in file order;
    # `listing` (beside the log) has every one
    problems: list[RowProblem] = field(default_factory=list)
    listing: Path | None = None

    @property
    def reported(self) -> int:
        """Every problem: rejected rows and rows replaced by a later one."""
        return self.rejected + self.duplicates


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
    resolved = [source.resolve() for source in sources]
    twice = next((s for i, s in enumerate(sources) if resolved[i] in resolved[:i]), None)
    if twice is not None:
        raise InputError.single(str(twice), "is given twice; give each export once")
    if any(source.resolve() == out.resolve() for source in sources):
        raise InputError.single(str(out), "is one of the files to import; choose another --out")
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
            summary.read += len(raw) + len(raw.problems) + sum(raw.skipped.values())
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
        keep, repeats = _later_rows_kept(stage, hashes, places) if hashes else (None, None)
        del hashes
        summary.rejected = len(places.problems) + len(places.ready)
        summary.duplicates = len(repeats.earlier) if repeats is not None else 0
        listing = out.with_name(out.name + ".problems.txt")
        listing.unlink(missing_ok=True)
        if summary.reported:
            summary.listing = listing
            with listing.open("w", encoding="utf-8") as handle:
                lines = heapq.merge(
                    places.rejections(), places.duplicates(repeats), key=lambda item: item[0]
                )
                for _, problem in lines:
                    handle.write(f"{problem}\n")
                    if len(summary.problems) < KEPT_PROBLEMS:
                        summary.problems.append(problem)
        if strict and summary.reported:
            return summary
        _write(stage if keep is not None else None, keep, out, staging)
        summary.written = int(keep.sum()) if keep is not None else 0
        return summary
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass
class _Repeats:
    """Staged rows replaced by a later row of the same order id (`earlier` ascending)."""

    earlier: np.ndarray
    later: np.ndarray
    ids: Any  # Arrow array of the order ids, aligned with `earlier`


class _Places:
    """Where staged rows and problems came from; text positions are resolved at the end,
    so that a fast reader needs to find line numbers only for the rows it reports."""

    def __init__(self) -> None:
        self.order: dict[str, int] = {}  # file -> its place in the import
        self.locators: dict[str, Locator] = {}
        self.batches: list[tuple[int, np.ndarray]] = []  # per staged batch: file, positions
        self.problems: list[tuple[str, int | str, str]] = []  # file, position, why
        self.ready: list[RowProblem] = []  # located by the reader itself
        self.located: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # records -> lines

    def _file(self, raw: RawBatch) -> int:
        index = self.order.setdefault(raw.file, len(self.order))
        if raw.records is not None and raw.locator is not None:
            self.locators[raw.file] = raw.locator
        return index

    def add_batch_problems(self, raw: RawBatch, problems: list[tuple[int, str]]) -> None:
        self._file(raw)
        self.ready.extend(raw.problems)
        for row, why in problems:
            self.problems.append((raw.file, raw.position(row), why))

    def add_rows(self, raw: RawBatch, good: np.ndarray) -> None:
        if raw.paths is not None:
            positions = np.asarray(raw.paths, dtype=object)[good]
        else:
            located = raw.lines if raw.lines is not None else raw.records
            positions = np.asarray(located, dtype=np.int64)[good]
        self.batches.append((self._file(raw), positions))

    def _lines(self, file: str, positions: list[int | str]) -> list[int | str]:
        """Record numbers of a fast reader's file as line numbers (other places as given)."""
        locator = self.locators.get(file)
        if locator is None or not positions or not isinstance(positions[0], int):
            return positions
        records = np.asarray(positions, dtype=np.int64)
        known = self.located.get(file)
        if known is not None:  # looked up already, in one pass over the file
            return known[1][np.searchsorted(known[0], records)].tolist()
        unique, back = np.unique(records, return_inverse=True)
        return locator(unique)[back].tolist()

    def locate_all(self, files: np.ndarray, positions: np.ndarray) -> None:
        """Look up the lines of these staged rows' records, one pass per file."""
        names = list(self.order)
        for f in np.unique(files).tolist():
            if names[f] in self.locators:
                records = np.unique(positions[files == f].astype(np.int64))
                self.located[names[f]] = (records, self.locators[names[f]](records))

    def _sorted(self, file: int, position: int | str) -> tuple[Any, ...]:
        return (file, *_key(position))

    def rejections(self) -> Iterator[tuple[tuple[Any, ...], RowProblem]]:
        """Every rejected row, located and in file order (a sort key with each)."""
        by_file: dict[str, list[tuple[int | str, str]]] = {}
        for file, position, why in self.problems:
            by_file.setdefault(file, []).append((position, why))
        placed = []
        for file, rows in by_file.items():
            lines = self._lines(file, [p for p, _ in rows])
            for at, (_, why) in zip(lines, rows, strict=True):
                placed.append((self._sorted(self.order[file], at), RowProblem(f"{file}:{at}", why)))
        for problem in self.ready:
            file, _, position = problem.where.rpartition(":")
            order = self.order.get(file, len(self.order))
            placed.append((self._sorted(order, position), problem))
        placed.sort(key=lambda item: item[0])
        return iter(placed)

    def duplicates(self, repeats: _Repeats | None) -> Iterator[tuple[tuple[Any, ...], RowProblem]]:
        """Every replaced row, in file order, located a step at a time."""
        if repeats is None or not len(repeats.earlier):
            return
        names = list(self.order)
        files = np.concatenate([np.full(len(p), f, dtype=np.int32) for f, p in self.batches])
        positions = np.concatenate([p for _, p in self.batches])
        both = np.concatenate([repeats.earlier, repeats.later])
        self.locate_all(files[both], positions[both])
        del both
        for first in range(0, len(repeats.earlier), DUPLICATES_AT_ONCE):
            step = slice(first, first + DUPLICATES_AT_ONCE)
            earlier, later = repeats.earlier[step], repeats.later[step]
            ids = repeats.ids[step].to_pylist()
            here = self._located(names, files[earlier], positions[earlier])
            there = self._located(names, files[later], positions[later])
            for order_id, (f, at), (g, other) in zip(ids, here, there, strict=True):
                why = (
                    f"order id {order_id} comes again at {names[g]}:{other}; the later row is kept"
                )
                yield self._sorted(f, at), RowProblem(f"{names[f]}:{at}", why)

    def _located(
        self, names: list[str], files: np.ndarray, positions: np.ndarray
    ) -> list[tuple[int, int | str]]:
        out: list[tuple[int, int | str]] = [(0, 0)] * len(files)
        for f in np.unique(files).tolist():
            rows = np.flatnonzero(files == f)
            raw = [p if isinstance(p, str) else int(p) for p in positions[rows].tolist()]
            for row, at in zip(rows.tolist(), self._lines(names[f], raw), strict=True):
                out[row] = (f, at)
        return out


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
    stage: Path, hashes: list[np.ndarray], places: _Places
) -> tuple[np.ndarray, _Repeats | None]:
    """A mask over the staged rows, False for a row whose order id comes again later, and
    those rows. Rows whose ids' hashes collide are candidates; their ids are read back and
    compared, so a hash collision never merges two orders."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    h = np.concatenate(hashes)
    keep = np.ones(len(h), dtype=bool)
    order = np.argsort(h, kind="stable")
    ordered = h[order]
    same = ordered[1:] == ordered[:-1]
    del ordered, h
    if not same.any():
        return keep, None
    candidate = np.zeros(len(keep), dtype=bool)
    candidate[1:] |= same
    candidate[:-1] |= same
    rows = np.sort(order[candidate])
    del order, candidate
    ids = pq.read_table(stage, columns=["order_id"]).column("order_id").take(rows)
    frame = pd.DataFrame({"id": ids.to_pandas(), "row": rows}).sort_values(
        ["id", "row"], kind="stable"
    )
    frame["later"] = frame.groupby("id", sort=False)["row"].shift(-1)
    replaced = frame[frame["later"].notna()].sort_values("row")
    earlier = replaced["row"].to_numpy(dtype=np.int64)
    keep[earlier] = False
    repeats = _Repeats(
        earlier,
        replaced["later"].to_numpy(dtype=np.int64),
        pa.array(replaced["id"].to_numpy(dtype=object), pa.string()),
    )
    return keep, repeats


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
