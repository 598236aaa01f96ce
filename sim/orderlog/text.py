"""Delimited text exports, read a chunk of rows at a time with each row's line number."""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError

CHUNK_ROWS = 65_536
SNIFF_BYTES = 1 << 20
csv.field_size_limit(min(sys.maxsize, 1 << 24))  # one field may not exceed 16 MiB


def detect_encoding(path: Path, preferred: str | None) -> str:
    """The given encoding, or UTF-8 (with or without BOM) if the start decodes as UTF-8,
    else GB18030 (a superset of GBK and GB2312, which Chinese exports use)."""
    if preferred:
        try:
            codecs.lookup(preferred)
        except LookupError:
            raise InputError.single(str(path), f"unknown encoding {preferred!r}") from None
        return preferred
    with open(path, "rb") as handle:
        start = handle.read(SNIFF_BYTES)
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(start) - 4:  # not merely a character cut at the sniff's end
            return "gb18030"
    return "utf-8-sig"


@dataclass
class TextChunk:
    lines: list[int]
    rows: list[list[str]]
    short: list[tuple[int, int]]  # (line, fields) of rows whose field count is wrong


def read_chunks(
    path: Path, delimiter: str, encoding: str | None, quoted: bool = True
) -> tuple[list[str], Iterator[TextChunk]]:
    """The header (stripped) and an iterator over chunks of data rows.

    `quoted=False` reads a format without quoting (Amazon's tab-separated reports), where
    a `"` is an ordinary character: a product name may begin with one and never close it.
    """
    codec = detect_encoding(path, encoding)
    handle = open(path, encoding=codec, errors="strict", newline="")  # noqa: SIM115
    if quoted:
        reader = csv.reader(handle, delimiter=delimiter)
    else:
        reader = csv.reader(handle, delimiter=delimiter, quoting=csv.QUOTE_NONE)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise InputError.single(str(path), "the file is empty; expected a header row") from None
    except (UnicodeDecodeError, csv.Error) as error:
        handle.close()
        raise InputError.single(
            str(path), f"cannot read the header: {error}", line=1, col=1
        ) from None
    header = [h.strip().lstrip("\ufeff").strip('"').strip() for h in header]

    def chunks() -> Iterator[TextChunk]:
        width = len(header)
        previous = reader.line_num
        chunk = TextChunk([], [], [])
        try:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError as error:
                    raise InputError.single(
                        str(path), f"not {codec} text ({error.reason}) after line {previous}"
                    ) from None
                except csv.Error as error:
                    raise InputError.single(
                        str(path), f"cannot read line {previous + 1}: {error}"
                    ) from None
                line = previous + 1
                previous = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line
                if len(row) != width:
                    if (
                        delimiter == "\t"
                        and len(row) > width
                        and not any(f.strip() for f in row[width:])
                    ):
                        row = row[:width]  # a trailing tab, which tab-separated reports have
                    else:
                        chunk.short.append((line, len(row)))
                        continue
                chunk.lines.append(line)
                chunk.rows.append(row)
                if len(chunk.rows) + len(chunk.short) >= CHUNK_ROWS:
                    yield chunk
                    chunk = TextChunk([], [], [])
            if chunk.rows or chunk.short:
                yield chunk
        finally:
            handle.close()

    return header, chunks()


def columns_of(chunk: TextChunk, header: list[str], wanted: dict[str, str]) -> dict[str, list[str]]:
    """The chunk's text under the log's names: field -> the values of its source column."""
    index = {name: i for i, name in enumerate(header)}
    transposed = list(zip(*chunk.rows, strict=True)) if chunk.rows else []
    return {
        field: list(transposed[index[column]]) if transposed else []
        for field, column in wanted.items()
    }


def require_columns(path: Path, header: list[str], wanted: dict[str, str], how: str) -> None:
    """Exit with every mapped column that the header lacks, by name."""
    twice = sorted({c for c in wanted.values() if header.count(c) > 1})
    if twice:
        raise InputError.single(
            str(path),
            f"the header has more than one column named {twice[0]!r}; a mapped column "
            "must be named once",
            line=1,
            col=1,
        )
    missing = [(f, c) for f, c in wanted.items() if c not in header]
    if missing:
        from sim.errors import Problem

        raise InputError(
            [
                Problem(
                    str(path),
                    1,
                    1,
                    "",
                    f"no column {column!r} (for {field}, {how}); the header has: "
                    + ", ".join(header[:30])
                    + (" ..." if len(header) > 30 else ""),
                )
                for field, column in missing
            ]
        )


ARROW_BLOCK = 1 << 22  # bytes per parsed block (also the longest row Arrow can read)


@dataclass
class ArrowText:
    """A delimited file read by Arrow: its header and batches of string columns."""

    path: Path
    codec: str
    delimiter: str
    header: list[str]
    invalid: int = 0  # rows whose field count is wrong (located later by `scan`)

    def batches(self, columns: list[str]) -> Iterator[tuple[Any, int]]:
        """(record batch of `columns` as strings, number of its first record) pairs."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        def invalid(row: Any) -> str:
            self.invalid += 1
            return "skip"

        wanted = list(dict.fromkeys(columns))
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(
                    encoding=_arrow_codec(self.codec), block_size=ARROW_BLOCK, use_threads=True
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=invalid
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(wanted, pa.string()),
                    include_columns=wanted,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            first = 0
            for batch in reader:
                yield batch, first
                first += batch.num_rows
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            message = str(error).splitlines()[0]
            raise InputError.single(
                str(self.path), f"cannot be read as {self.codec} text: {message}"
            ) from None

    def locate(self, records: np.ndarray) -> np.ndarray:
        """Line numbers of these records (ascending, as `batches` numbers them)."""
        return scan(self, records)[0]


def open_arrow(path: Path, delimiter: str, encoding: str | None) -> ArrowText:
    """Read the header of a delimited file (the rows are read by `ArrowText.batches`)."""
    codec = detect_encoding(path, encoding)
    with open(path, encoding=codec, newline="") as handle:
        try:
            header = next(csv.reader(handle, delimiter=delimiter))
        except StopIteration:
            raise InputError.single(str(path), "the file is empty; expected a header row") from None
        except UnicodeDecodeError:
            raise InputError.single(
                str(path),
                f"is not {codec} text (binary data?); give --encoding if it is text",
                line=1,
                col=1,
            ) from None
        except csv.Error as error:
            raise InputError.single(
                str(path), f"cannot read the header: {error}", line=1, col=1
            ) from None
    header = [h.strip().lstrip("\ufeff").strip('"').strip() for h in header]
    line = unclosed_quote(path, codec, delimiter)
    if line is not None:
        raise InputError.single(
            str(path),
            "a quote opened on this line is never closed, so every line after it would be "
            "read as one value; close or remove the quote",
            line=line,
            col=1,
        )
    return ArrowText(path, codec, delimiter, header)


def unclosed_quote(path: Path, codec: str, delimiter: str) -> int | None:
    """The line where a quote that is never closed opens, or None.

    A well-formed file has an even number of quote characters (an escaped quote is two),
    and counting bytes is fast: only an odd count is looked into, with Python's csv module
    in strict mode, which fails at the end of the data inside an open quote. (The byte of
    `"` is never part of a UTF-8 or GB18030 multibyte character.)"""
    quotes = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            quotes += chunk.count(b'"')
    if quotes % 2 == 0:
        return None
    with open(path, encoding=codec, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        previous = 0
        try:
            for _ in reader:
                previous = reader.line_num
        except csv.Error:
            return previous + 1
    return None


def scan(text: ArrowText, records: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """One pass with Python's csv module, which knows lines: (the line of each of the
    ascending `records`, (line, fields) of every row whose field count is wrong)."""
    width = len(text.header)
    lines = np.zeros(len(records), dtype=np.int64)
    wanted = records.tolist()
    next_wanted = 0
    wrong: list[tuple[int, int]] = []
    # undecodable bytes (in a column no field reads, which Arrow did not check) cannot
    # move a row's boundaries: read them as replacement characters
    with open(text.path, encoding=text.codec, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=text.delimiter)
        next(reader, None)
        previous, record = reader.line_num, 0
        for row in reader:
            line, previous = previous + 1, reader.line_num
            if not row:
                continue  # a blank line, which Arrow skips too
            if len(row) != width:
                wrong.append((line, len(row)))
                continue
            while next_wanted < len(wanted) and wanted[next_wanted] == record:
                lines[next_wanted] = line
                next_wanted += 1
            record += 1
    return lines, wrong


def _arrow_codec(codec: str) -> str:
    return "utf8" if codec.replace("-", "").lower() in ("utf8", "utf8sig") else codec
