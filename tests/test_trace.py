"""The per-order trace writer: chunks, final names, schemas, failed runs."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest

import sim.engine.trace as trace
from sim.engine.trace import COLUMNS, TraceWriter

ROWS = [
    (0, 3, 1.5, "shipped", 20.0, None, 20.0, None, None, 12.5, "card", True),
    (1, 4, 2.5, "self_cancelled", 2.75, 2.75, None, 3.0, 3.75, 7.0, "wallet", False),
    (2, 5, 3.5, "open", 40.0, None, None, None, None, 1.0, "card", True),
]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_rows_appear_under_the_final_name_only_when_closed(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(trace, "CHUNK", 2)  # the third row makes a second chunk
    path = tmp_path / "deep" / "er" / f"amazon-r0{suffix}"
    writer = TraceWriter(path)
    for row in ROWS:
        writer.add(row)
    assert len(writer.rows) == 1  # two rows went to disk as a chunk
    assert not path.exists() and (path.parent / f".amazon-r0{suffix}.partial").exists()
    writer.close()
    assert path.exists() and not list(path.parent.glob(".*partial"))
    if suffix == ".csv":
        assert b"\r" not in path.read_bytes()  # plain newlines, whatever the platform
        with path.open() as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == list(COLUMNS)
        assert rows[1] == [
            "0",
            "3",
            "1.5",
            "shipped",
            "20.0",
            "",
            "20.0",
            "",
            "",
            "12.5",
            "card",
            "True",
        ]
        assert len(rows) == 4
    else:
        table = pq.read_table(path)
        assert table.column_names == list(COLUMNS)
        assert table.to_pylist()[1] == dict(zip(COLUMNS, ROWS[1], strict=True))
        assert str(table.schema.field("intent_h").type) == "double"
        assert str(table.schema.field("measured").type) == "bool"
        assert str(table.schema.field("order").type) == "int64"
        assert table.num_rows == 3


def test_a_chunk_of_nulls_keeps_its_column_types(tmp_path, monkeypatch):
    monkeypatch.setattr(trace, "CHUNK", 1)
    path = tmp_path / "t.parquet"
    writer = TraceWriter(path)
    writer.add(ROWS[0])  # intent_h and money_back_h are null in this chunk
    writer.add(ROWS[1])
    writer.close()
    assert pq.read_table(path).column("money_back_h").to_pylist() == [None, 3.75]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_failed_run_leaves_no_trace_file(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(trace, "CHUNK", 1)
    path = tmp_path / f"t{suffix}"
    writer = TraceWriter(path)
    writer.add(ROWS[0])
    writer.discard()
    assert list(tmp_path.iterdir()) == []
    if writer._handle is not None:
        assert writer._handle.closed


def test_parquet_availability_follows_the_import(monkeypatch):
    import builtins

    assert trace.parquet_available()
    real = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow":
            raise ImportError("no pyarrow here")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    assert not trace.parquet_available()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_run_that_fails_before_its_first_chunk_leaves_nothing(tmp_path, suffix):
    writer = TraceWriter(tmp_path / f"t{suffix}")
    writer.discard()  # a Parquet file is only created with its first chunk
    assert list(tmp_path.iterdir()) == []


def test_text_is_written_as_utf_8(tmp_path):
    path = tmp_path / "t.csv"
    writer = TraceWriter(path)
    writer.add((*ROWS[0][:9], "支付宝", True))
    writer.close()
    assert "支付宝".encode() in path.read_bytes()
