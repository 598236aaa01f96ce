"""The order log's core: the csv format, row checks, duplicates, strictness, re-import."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.errors import InputError
from sim.orderlog.formats import csv_mapped
from sim.orderlog.importer import ImportOptions, import_orders
from sim.orderlog.log import read_log
from sim.orderlog.rows import TimeReading

UTC_ONLY = TimeReading()
COLUMNS = ("order_id=id", "placed_at=created", "status=state", "value=total", "seller_id=shop")


def run_import(
    tmp_path: Path,
    text: str | bytes,
    *,
    pairs: tuple[str, ...] = COLUMNS,
    statuses: tuple[str, ...] = (),
    out: str = "orders.parquet",
    reading: TimeReading = UTC_ONLY,
    currency: str | None = "EUR",
    strict: bool = False,
):
    source = tmp_path / "export.csv"
    source.write_bytes(text.encode() if isinstance(text, str) else text)
    mapping = csv_mapped.load_mapping(None, pairs, statuses)
    reader = functools.partial(csv_mapped.read, mapping=mapping, encoding=None)
    options = ImportOptions(currency=currency, reading=reading)
    summary = import_orders([source], reader, options, tmp_path / out, strict=strict)
    return summary, tmp_path / out


def test_rows_become_orders_with_utc_instants_and_their_offsets(tmp_path: Path) -> None:
    summary, out = run_import(
        tmp_path,
        "id,created,state,total,shop\n"
        "a,2025-01-06T10:00:00+08:00,Shipped,12.50,s1\n"
        "b,2025-01-06 10:00:00.250Z,CANCELED,3,s2\n"
        'c,2025-01-06T10:00-0530,open,"1,000.5",s1\n',
    )
    assert (summary.read, summary.rejected, summary.written) == (3, 0, 3)
    log = read_log(out)
    assert log.order_id.tolist() == ["a", "b", "c"]
    assert log.placed_at.tolist() == [
        pd.Timestamp("2025-01-06T02:00:00Z"),
        pd.Timestamp("2025-01-06T10:00:00.250Z"),
        pd.Timestamp("2025-01-06T15:30:00Z"),
    ]
    assert log.utc_offset_min.tolist() == [480, 0, -330]
    assert log.value.tolist() == [12.5, 3.0, 1000.5]
    assert log.status.tolist() == ["shipped", "cancelled", "open"]
    assert log.currency.tolist() == ["EUR"] * 3


def test_times_without_an_offset_need_a_zone_and_keep_its_offset(tmp_path: Path) -> None:
    text = (
        "id,created,state,total,shop\n"
        "a,2025-07-01 12:00,shipped,1,s\n"
        "b,2025-01-01 12:00,shipped,1,s\n"
    )
    summary, _ = run_import(tmp_path, text)
    assert summary.written == 0
    assert [str(p) for p in summary.problems] == [
        f"{tmp_path / 'export.csv'}:2: placed_at has no time zone (give --timezone): "
        "'2025-07-01 12:00'",
        f"{tmp_path / 'export.csv'}:3: placed_at has no time zone (give --timezone): "
        "'2025-01-01 12:00'",
    ]
    summary, out = run_import(tmp_path, text, reading=TimeReading(zone="Europe/Berlin"))
    log = read_log(out)
    assert log.utc_offset_min.tolist() == [120, 60]  # summer and winter time
    assert log.placed_at.tolist() == [
        pd.Timestamp("2025-07-01T10:00Z"),
        pd.Timestamp("2025-01-01T11:00Z"),
    ]


def test_a_wall_time_that_does_not_exist_in_the_zone_is_rejected(tmp_path: Path) -> None:
    # 2025-03-30 02:30 never happened in Berlin (clocks went from 02:00 to 03:00)
    summary, _ = run_import(
        tmp_path,
        "id,created,state,total,shop\na,2025-03-30 02:30,shipped,1,s\n",
        reading=TimeReading(zone="Europe/Berlin"),
    )
    assert [p.why for p in summary.problems] == [
        "placed_at is a time that Europe/Berlin skipped (clocks went forward): '2025-03-30 02:30'"
    ]


def test_a_repeated_wall_time_is_read_as_its_first_occurrence(tmp_path: Path) -> None:
    # 2025-10-26 02:30 happened twice in Berlin: first in summer time (UTC+2)
    _, out = run_import(
        tmp_path,
        "id,created,state,total,shop\na,2025-10-26 02:30,shipped,1,s\n",
        reading=TimeReading(zone="Europe/Berlin"),
    )
    log = read_log(out)
    assert log.placed_at[0] == pd.Timestamp("2025-10-26T00:30Z")
    assert log.utc_offset_min[0] == 120


def test_times_outside_1900_to_2199_are_rejected_not_crashed_on(tmp_path: Path) -> None:
    summary, _ = run_import(
        tmp_path,
        "id,created,state,total,shop\n"
        "a,9999-12-31 23:59,shipped,1,s\n"
        "b,1850-01-01T00:00Z,shipped,1,s\n",
        reading=TimeReading(zone="America/New_York"),
    )
    assert [p.why for p in summary.problems] == [
        "placed_at is not a date and time: '9999-12-31 23:59'",
        "placed_at is outside the years 1900-2199: '1850-01-01T00:00Z'",
    ]


def test_only_thousands_separators_are_read_as_commas(tmp_path: Path) -> None:
    summary, out = run_import(
        tmp_path,
        "id,created,state,total,shop\n"
        'a,2025-01-06T10:00Z,open,"12,345.50",s\n'
        'b,2025-01-06T10:00Z,open,"12,50",s\n'
        'c,2025-01-06T10:00Z,open,"1,2,3",s\n',
    )
    assert read_log(out).value.tolist() == [12345.5]
    assert [p.why.split(":")[0] for p in summary.problems] == [
        "value is not a number (a decimal point, not a comma; commas only between thousands)"
    ] * 2


def test_times_that_do_not_belong_to_the_status_are_dropped_and_order_is_checked(
    tmp_path: Path,
) -> None:
    pairs = (*COLUMNS, "shipped_at=sent", "cancelled_at=gone")
    summary, out = run_import(
        tmp_path,
        "id,created,state,total,shop,sent,gone\n"
        "a,2025-01-06T10:00Z,shipped,1,s,2025-01-07T10:00Z,garbage\n"  # cancel time ignored
        "b,2025-01-06T10:00Z,open,1,s,2025-01-07T10:00Z,\n"  # an open order did not ship
        "c,2025-01-06T10:00Z,cancelled,1,s,,2025-01-05T10:00Z\n",  # cancelled before placed
        pairs=pairs,
    )
    assert [p.why for p in summary.problems] == [
        "cancelled_at is before placed_at: '2025-01-05T10:00Z'"
    ]
    log = read_log(out)
    assert log.order_id.tolist() == ["a", "b"]
    assert log.shipped_at[0] == pd.Timestamp("2025-01-07T10:00Z") and pd.isna(log.shipped_at[1])
    assert log.cancelled_at.isna().all()


def test_numeric_times_count_units_from_an_origin(tmp_path: Path) -> None:
    import datetime as dt

    origin = dt.datetime(2026, 3, 2, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    _, out = run_import(
        tmp_path,
        "id,created,state,total,shop,sent\na,1.5,shipped,1,s,26.25\nb,0,cancelled,1,s,\n",
        pairs=(*COLUMNS, "shipped_at=sent"),
        reading=TimeReading(unit="h", origin=origin),
    )
    log = read_log(out)
    assert log.placed_at.tolist() == [
        pd.Timestamp("2026-03-01T17:30Z"),
        pd.Timestamp("2026-03-01T16:00Z"),
    ]
    assert log.utc_offset_min.tolist() == [480, 480]
    assert log.shipped_at[0] == pd.Timestamp("2026-03-02T18:15Z")
    assert pd.isna(log.shipped_at[1])
    # with a zone, each time's offset is the zone's at that instant (summer time from
    # 2026-03-29 in Berlin)
    _, out = run_import(
        tmp_path,
        "id,created,state,total,shop\na,0,shipped,1,s\nb,720,shipped,1,s\n",
        reading=TimeReading(unit="h", origin=origin, zone="Europe/Berlin"),
    )
    assert read_log(out).utc_offset_min.tolist() == [60, 120]


def test_bad_rows_are_reported_by_line_and_the_rest_imported(tmp_path: Path) -> None:
    summary, out = run_import(
        tmp_path,
        "id,created,state,total,shop\n"
        'a,2025-01-06T10:00Z,shipped,1,"two\nlines"\n'  # lines 2-3: one record
        "\n"  # line 4: blank, skipped
        "b,yesterday,shipped,1,s\n"  # line 5
        "c,2025-01-06T10:00Z,lost,1,s\n"  # line 6
        "d,2025-01-06T10:00Z,shipped,-2,s\n"  # line 7
        "e,2025-01-06T10:00Z,shipped\n"  # line 8: too few fields
        ",2025-01-06T10:00Z,shipped,1,s\n"  # line 9: no id
        "f,2025-01-06T10:00+25:00,shipped,1,s\n"  # line 10: no such offset
        "g,2025-01-06T10:00Z,shipped,1,s\n",
    )
    where = f"{tmp_path / 'export.csv'}"
    assert [str(p) for p in summary.problems] == [
        f"{where}:5: placed_at is not a date and time: 'yesterday'",
        f"{where}:6: status is not one of open, shipped, cancelled (for csv, --status "
        "VALUE=STATUS maps a value): 'lost'",
        f"{where}:7: value is negative: '-2'",
        f"{where}:8: has 3 fields; the header has 5",
        f"{where}:9: order_id is empty",
        f"{where}:10: placed_at is not a date and time: '2025-01-06T10:00+25:00'",
    ]
    assert (summary.read, summary.rejected, summary.written) == (8, 6, 2)
    assert read_log(out).order_id.tolist() == ["a", "g"]
    assert read_log(out).seller_id.tolist() == ["two\nlines", "s"]
    listing = out.with_name(out.name + ".problems.txt").read_text().splitlines()
    assert listing == [str(p) for p in summary.problems]


def test_a_status_value_can_be_mapped(tmp_path: Path) -> None:
    summary, out = run_import(
        tmp_path,
        "id,created,state,total,shop\na,2025-01-06T10:00Z,Delivered,1,s\n",
        statuses=("Delivered=shipped",),
    )
    assert summary.problems == [] and read_log(out).status.tolist() == ["shipped"]


def test_trace_outcomes_say_who_cancelled_and_whether_the_buyer_asked(tmp_path: Path) -> None:
    _, out = run_import(
        tmp_path,
        "id,created,state,total,shop\n"
        "a,2025-01-06T10:00Z,self_cancelled,1,s\n"
        "b,2025-01-06T10:00Z,seller_cancelled,1,s\n"
        "c,2025-01-06T10:00Z,request_auto_approved,1,s\n"
        "d,2025-01-06T10:00Z,intercepted,1,s\n",
    )
    log = read_log(out)
    assert log.status.tolist() == ["cancelled", "cancelled", "cancelled", "shipped"]
    assert log.cancelled_by.tolist()[:3] == ["buyer", "seller", "platform"]
    assert log.buyer_requested.tolist() == [True, False, True, None]


def test_a_repeated_order_id_keeps_the_later_row_and_reports_the_earlier(tmp_path: Path) -> None:
    summary, out = run_import(
        tmp_path,
        "id,created,state,total,shop\n"
        "a,2025-01-06T10:00Z,open,1,s\n"
        "b,2025-01-06T11:00Z,open,2,s\n"
        "a,2025-01-06T10:00Z,shipped,1,s\n",
    )
    assert summary.duplicates == 1 and summary.rejected == 0
    assert [str(p) for p in summary.problems] == [
        f"{tmp_path / 'export.csv'}:2: order id a comes again at {tmp_path / 'export.csv'}:4; "
        "the later row is kept"
    ]
    log = read_log(out)
    assert log.order_id.tolist() == ["b", "a"] and log.status.tolist() == ["open", "shipped"]


def test_strict_writes_nothing_when_a_row_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "orders.parquet").write_bytes(b"the previous log")
    summary, out = run_import(
        tmp_path, "id,created,state,total,shop\na,soon,open,1,s\n", strict=True
    )
    assert summary.rejected == 1 and summary.written == 0
    assert out.read_bytes() == b"the previous log"


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_importing_again_gives_the_same_bytes(tmp_path: Path, suffix: str) -> None:
    rows = "".join(
        f"o{i},2025-01-{1 + i % 28:02d}T{i % 24:02d}:00+0{i % 9}:00,"
        f"{('shipped', 'open', 'cancelled')[i % 3]},{i * 1.25},s{i % 7}\n"
        for i in range(3000)
    )
    text = "id,created,state,total,shop\n" + rows
    _, first = run_import(tmp_path, text, out="a" + suffix)
    _, second = run_import(tmp_path, text, out="b" + suffix)
    assert first.read_bytes() == second.read_bytes()
    assert len(read_log(first)) == 3000


def test_the_csv_log_reads_back_as_the_parquet_log(tmp_path: Path) -> None:
    text = (
        "id,created,state,total,shop,sent,why\n"
        "a,2025-01-06T10:00:00.5+08:00,shipped,1.25,s,2025-01-07T09:00Z,\n"
        "b,2025-01-06T10:00Z,cancelled,2,,,out of stock\n"
    )
    pairs = (*COLUMNS, "shipped_at=sent", "cancel_reason=why")
    _, parquet = run_import(tmp_path, text, pairs=pairs, out="o.parquet")
    _, csv = run_import(tmp_path, text, pairs=pairs, out="o.csv")
    pd.testing.assert_frame_equal(read_log(parquet), read_log(csv))


def test_a_mapped_column_missing_from_the_header_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        run_import(tmp_path, "id,created,state\na,2025-01-06T10:00Z,open\n")
    assert sorted(p.message for p in error.value.problems) == [
        "no column 'shop' (for seller_id, from the mapping); the header has: id, created, state",
        "no column 'total' (for value, from the mapping); the header has: id, created, state",
    ]


def test_a_gbk_file_is_read_without_being_told(tmp_path: Path) -> None:
    text = "编号,时间,状态,金额,店铺\n1,2025-01-06T10:00+08:00,shipped,9.9,小店\n"
    pairs = ("order_id=编号", "placed_at=时间", "status=状态", "value=金额", "seller_id=店铺")
    _, out = run_import(tmp_path, text.encode("gbk"), pairs=pairs)
    assert read_log(out).seller_id.tolist() == ["小店"]


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_cli_imports_and_summarises(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("id,created,state,total\na,2025-01-06T10:00Z,open,1\nb,bad,open,1\n")
    out = tmp_path / "log.csv"
    args = ["import", str(source), "--format", "csv", "--out", str(out), "--currency", "eur"]
    args += ["--map", "order_id=id", "--map", "placed_at=created", "--map", "status=state"]
    result = cli(*args, "--map", "value=total", "--seller", "me")
    assert result.exit_code == 0, result.output
    assert "2 rows read from 1 file; 1 rejected. 1 order written to" in result.output
    assert f"{source}:3: placed_at is not a date and time: 'bad'" in result.output
    log = read_log(out)
    assert log.seller_id.tolist() == ["me"] and log.currency.tolist() == ["EUR"]
    strict = cli(*args, "--map", "value=total", "--strict")
    assert strict.exit_code == 2 and "--strict: nothing written" in strict.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "--map: the csv format needs a column mapping"),
        (("--map", "placed=created"), "unknown log field 'placed'"),
        (("--map", "order_id"), "expected FIELD=COLUMN"),
        (("--map", "order_id=id", "--map", "status=state"), "no column is mapped to placed_at"),
        (("--map", "order_id=id", "--timezone", "Mars/Base"), "unknown time zone 'Mars/Base'"),
        (("--map-file", "missing.yaml"), "missing.yaml: file not found"),
    ],
)
def test_cli_bad_mappings_exit_2_with_one_line(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    source = tmp_path / "export.csv"
    source.write_text("id,created,state\na,2025-01-06T10:00Z,open\n")
    result = cli(
        "import", str(source), "--format", "csv", "--out", str(tmp_path / "o.parquet"), *extra
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o.parquet").exists()


def test_a_mapping_file_points_at_its_own_line(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "columns:\n  order_id: id\n  placed_at: created\n  status: state\ntime:\n  unit: hours\n"
    )
    source = tmp_path / "export.csv"
    source.write_text("id,created,state\na,1,open\n")
    result = cli(
        "import",
        str(source),
        "--format",
        "csv",
        "--out",
        str(tmp_path / "o.parquet"),
        "--map-file",
        str(mapping),
    )
    assert result.exit_code == 2
    assert result.output.startswith(f"{mapping}:6:")


def test_hostile_exports_are_one_line_errors(tmp_path: Path) -> None:
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(128, 256)) * 20)
    twice = tmp_path / "twice.csv"
    twice.write_text("id,id,state\n1,2,open\n")
    args = ["--format", "csv", "--map", "order_id=id", "--map", "placed_at=id"]
    args += ["--map", "status=state", "--out", str(tmp_path / "o.parquet")]
    result = cli("import", str(binary), *args)
    assert result.exit_code == 2
    assert (
        result.output
        == f"{binary}:1:1: is not gb18030 text (binary data?); give --encoding if it is text\n"
    )
    result = cli("import", str(twice), *args)
    assert result.exit_code == 2
    assert "the header has more than one column named 'id'" in result.output
    good = tmp_path / "good.csv"
    good.write_text("id,state\n1,open\n")
    deep = tmp_path / "missing" / "dir" / "o.parquet"
    result = cli("import", str(good), *args[:-1], str(deep))
    assert result.exit_code == 0 and deep.exists()  # a missing folder is made
    blocked = tmp_path / "file"
    blocked.write_text("")
    result = cli("import", str(good), *args[:-1], str(blocked / "o.parquet"))
    assert result.exit_code == 1 and "cannot write the order log" in result.output
    assert "Traceback" not in result.output


def test_many_problems_are_listed_in_file_order_and_only_the_first_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.orderlog.importer as importer

    monkeypatch.setattr(importer, "KEPT_PROBLEMS", 3)
    monkeypatch.setattr(importer, "DUPLICATES_AT_ONCE", 2)  # located in steps of two
    rows = [f"o{i % 4},2025-01-06T10:00Z,open,1,s\n" for i in range(10)]  # o0..o3 repeat
    rows[5] = "bad,never,open,1,s\n"  # line 7: rejected, between the repeats
    summary, out = run_import(tmp_path, "id,created,state,total,shop\n" + "".join(rows))
    listing = out.with_name(out.name + ".problems.txt").read_text().splitlines()
    where = str(tmp_path / "export.csv")
    assert [line.split(": ", 1)[0].removeprefix(where + ":") for line in listing] == [
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
    ]
    assert listing[0] == f"{where}:2: order id o0 comes again at {where}:6; the later row is kept"
    assert listing[5] == f"{where}:7: placed_at is not a date and time: 'never'"
    assert (summary.duplicates, summary.rejected, summary.reported) == (5, 1, 6)
    assert [str(p) for p in summary.problems] == listing[:3]
    assert sorted(read_log(out).order_id) == ["o0", "o1", "o2", "o3"]


def test_a_large_export_with_one_percent_garbage_imports_the_rest(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(5)
    n = 20_000
    garbage = set(rng.choice(n, n // 100, replace=False).tolist())
    zones = ("+08:00", "Z", "-05:00", "+05:30")
    lines = ["id,created,state,total,shop\n"]
    for i in range(n):
        if i in garbage:  # one kind of damage each: time, status, value, field count
            lines.append(
                (
                    f"g{i},31/02/2025,shipped,1,s\n",
                    f"g{i},2025-01-06T10:00Z,???,1,s\n",
                    f'g{i},2025-01-06T10:00Z,open,"1,5",s\n',
                    f"g{i},2025-01-06T10:00Z\n",
                )[i % 4]
            )
        else:
            lines.append(f"o{i},2025-01-06T{i % 24:02d}:00{zones[i % 4]},open,{i},s{i % 50}\n")
    summary, out = run_import(tmp_path, "".join(lines))
    assert (summary.read, summary.rejected, summary.written) == (n, n // 100, n - n // 100)
    reported = sorted(int(p.where.rsplit(":", 1)[1]) for p in summary.problems)
    assert reported == sorted(i + 2 for i in garbage)  # each by its own line
    log = read_log(out)
    assert not log.order_id.str.startswith("g").any()
    assert sorted(log.utc_offset_min.unique().tolist()) == [-300, 0, 330, 480]


def test_a_quote_that_is_never_closed_is_named_by_its_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        run_import(
            tmp_path,
            "id,created,state,total,shop\n"
            "a,2025-01-06T10:00Z,open,1,s\n"
            'b,2025-01-06T10:00Z,open,1,"my shop\n'  # line 3: the quote never closes
            "c,2025-01-06T10:00Z,open,1,s\n",
        )
    assert [str(p) for p in error.value.problems] == [
        f"{tmp_path / 'export.csv'}:3:1: a quote opened on this line is never closed, so "
        "every line after it would be read as one value; close or remove the quote"
    ]
    # quotes that close, escaped ones and line breaks inside them are fine
    summary, out = run_import(
        tmp_path, 'id,created,state,total,shop\na,2025-01-06T10:00Z,open,1,"a ""b""\nc"\n'
    )
    assert summary.problems == [] and read_log(out).seller_id.tolist() == ['a "b"\nc']


def test_dates_and_times_that_do_not_exist_are_rejected_not_rolled_over(tmp_path: Path) -> None:
    summary, out = run_import(
        tmp_path,
        "id,created,state,total,shop\n"
        "a,2026-02-30T10:00Z,open,1,s\n"  # no 30 February
        "b,2024-02-29T10:00Z,open,1,s\n"  # a leap day
        "c,2025-02-29T10:00Z,open,1,s\n"  # not a leap year
        "d,2026-04-31 10:00+08:00,open,1,s\n"  # April has 30 days
        "e,2026-01-01T10:00:60Z,open,1,s\n"  # no 60th second
        "f,2026-01-01T24:00Z,open,1,s\n"  # no hour 24
        "g,2026-13-01T10:00Z,open,1,s\n",  # no month 13
    )
    assert [p.where.rsplit(":", 1)[1] for p in summary.problems] == ["2", "4", "5", "6", "7", "8"]
    assert read_log(out).placed_at.tolist() == [pd.Timestamp("2024-02-29T10:00Z")]


def test_who_cancelled_is_not_read_for_an_order_that_was_not_cancelled(tmp_path: Path) -> None:
    summary, out = run_import(
        tmp_path,
        "id,created,state,total,shop,by\n"
        "a,2026-01-01T10:00Z,shipped,1,s,someone\n"  # a leftover: dropped, not rejected
        "b,2026-01-01T10:00Z,cancelled,1,s,someone\n",  # a cancel's: checked
        pairs=(*COLUMNS, "cancelled_by=by"),
    )
    assert [p.why for p in summary.problems] == [
        "cancelled_by is not one of buyer, seller, platform: 'someone'"
    ]
    assert read_log(out).order_id.tolist() == ["a"]


def test_a_file_given_twice_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("id,created,state,total,shop\na,2026-01-01T10:00Z,open,1,s\n")
    mapping = csv_mapped.load_mapping(None, COLUMNS, ())
    reader = functools.partial(csv_mapped.read, mapping=mapping, encoding=None)
    with pytest.raises(InputError) as error:
        import_orders(
            [source, tmp_path / "." / "export.csv"], reader, ImportOptions(), tmp_path / "o.csv"
        )
    assert "is given twice; give each export once" in str(error.value)


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        ("garbage", "--time-origin: 'garbage' is not an ISO 8601 date and time"),
        ("2026-01-01T00:00", "--time-origin: '2026-01-01T00:00' has no UTC offset"),
    ],
)
def test_a_bad_time_origin_is_one_line(tmp_path: Path, origin: str, message: str) -> None:
    source = tmp_path / "export.csv"
    source.write_text("id,created,state\na,1,open\n")
    result = cli(
        "import", str(source), "--format", "csv", "--map", "order_id=id",
        "--map", "placed_at=created", "--map", "status=state", "--time-unit", "h",
        "--time-origin", origin, "--out", str(tmp_path / "o.csv"),
    )  # fmt: skip
    assert result.exit_code == 2 and result.output.startswith(message)
    assert len(result.output.splitlines()) == 1


@pytest.mark.parametrize(
    ("fmt", "text", "column"),
    [
        ("taobao-orders", "订单编号,订单状态\n1,交易成功\n", "订单付款时间"),
        ("amazon-all-orders", "amazon-order-id\torder-status\n1\tShipped\n", "purchase-date"),
        ("csv", "id,state\n1,open\n", "created"),
    ],
)
def test_a_missing_column_exits_2_naming_it(
    tmp_path: Path, fmt: str, text: str, column: str
) -> None:
    source = tmp_path / "export.txt"
    source.write_text(text, encoding="utf-8")
    mapping = ["--map", "order_id=id", "--map", "placed_at=created", "--map", "status=state"]
    args = ["import", str(source), "--format", fmt, "--out", str(tmp_path / "o.csv")]
    result = cli(*args, *(mapping if fmt == "csv" else []))
    assert result.exit_code == 2, result.output
    assert f"no column {column!r}" in result.output
    assert all(line.startswith(f"{source}:1:") for line in result.output.splitlines())
    assert not (tmp_path / "o.csv").exists()
