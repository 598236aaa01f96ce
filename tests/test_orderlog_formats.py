"""The marketplace export readers: Amazon Orders API JSON, Amazon's All Orders Report and
the Taobao/Tmall order export, each read through `import_orders` into the order log."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

from sim.errors import InputError
from sim.orderlog.formats import amazon_all_orders, amazon_orders_api, taobao_orders
from sim.orderlog.importer import ImportOptions, ImportSummary, import_orders
from sim.orderlog.log import read_log

FIXTURES = Path(__file__).parent / "fixtures" / "orders"
API = FIXTURES / "amazon-api"
ALL_ORDERS = FIXTURES / "amazon-all-orders" / "all-orders-small.txt"
TAOBAO = FIXTURES / "taobao" / "ExportOrderList-gbk.csv"
UTC = dt.UTC


def run(
    module: ModuleType, paths: list[Path], out: Path, **options: Any
) -> tuple[ImportSummary, pd.DataFrame]:
    """Import `paths` with the module's reader; the summary and the log read back."""
    reader = functools.partial(module.read, **options)
    summary = import_orders(paths, reader, ImportOptions(), out)
    return summary, read_log(out).set_index("order_id")


def places(summary: ImportSummary) -> list[str]:
    return [problem.where for problem in summary.problems]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC))


# --- amazon-orders-api -------------------------------------------------------------------


def api_fixtures() -> list[Path]:
    return sorted(API.glob("*.json"))


def test_amazon_api_fixtures_give_the_published_fields_under_the_log_names(tmp_path):
    summary, log = run(amazon_orders_api, api_fixtures(), tmp_path / "o.parquet", seller="S-1")
    assert summary.problems == [] and summary.written == 5
    assert summary.skipped == {
        "Pending: payment not yet authorised": 1,
        "PendingAvailability: pre-order, payment not yet authorised": 1,
        "Unfulfillable: multi-channel order, not placed on Amazon": 1,
    }
    assert log["status"].to_dict() == {
        "111-0000001-0000001": "open",
        "111-0000002-0000002": "shipped",
        "111-0000003-0000003": "cancelled",
        "503-0000005-0000005": "shipped",  # PartiallyShipped
        "503-0000006-0000006": "shipped",  # InvoiceUnconfirmed
    }
    first, afn = log.loc["111-0000001-0000001"], log.loc["111-0000002-0000002"]
    assert (first["value"], first["currency"], first["fulfilment"]) == (24.99, "USD", "seller")
    assert (afn["value"], afn["fulfilment"]) == (105.5, "platform")
    assert afn["payment_method"] == "CreditCard+GiftCertificate"
    assert log.loc["503-0000005-0000005", "payment_method"] == "COD"
    assert log.loc["503-0000006-0000006", "value"] == 1200 and set(log["seller_id"]) == {"S-1"}
    assert log.loc["111-0000003-0000003", "placed_at"] == utc("2026-03-01T11:05:30.250Z")
    # getOrders has no ship or cancel time: LastUpdateDate is not used as one
    assert log["shipped_at"].isna().all() and log["cancelled_at"].isna().all()


def test_amazon_api_joins_the_buyers_cancel_request_whatever_the_file_order(tmp_path):
    _, forward = run(amazon_orders_api, api_fixtures(), tmp_path / "a.parquet")
    _, backward = run(amazon_orders_api, api_fixtures()[::-1], tmp_path / "b.parquet")
    cancelled = forward.loc["111-0000003-0000003"]
    assert forward["buyer_requested"].dropna().to_dict() == {"111-0000003-0000003": True}
    assert cancelled["cancel_reason"] == "Ordered by mistake."
    assert pd.isna(cancelled["cancelled_by"])  # who carried out the cancel is not given
    pd.testing.assert_frame_equal(forward.sort_index(), backward.sort_index())


def test_amazon_api_without_items_pages_the_cancel_request_is_unknown(tmp_path):
    orders = [p for p in api_fixtures() if p.name.startswith("getOrders-")]
    summary, log = run(amazon_orders_api, orders, tmp_path / "o.parquet")
    assert summary.written == 5
    assert log["buyer_requested"].isna().all() and log["cancel_reason"].isna().all()
    assert log["seller_id"].isna().all()  # no seller given, none in the response


def test_amazon_api_malformed_orders_are_rejected_at_their_json_paths(tmp_path):
    source = API / "bad" / "malformed-orders.json"
    summary, log = run(amazon_orders_api, [source], tmp_path / "o.parquet")
    assert list(log.index) == ["111-0000019-0000019"]
    assert places(summary) == [f"{source}:$.payload.Orders[{i}]" for i in range(8)]
    why = [problem.why for problem in summary.problems]
    assert "expected an order object" in why[0] and "AmazonOrderId is missing" in why[1]
    assert "yesterday" in why[2] and "PurchaseDate is a number" in why[3]
    assert "OrderTotal" in why[4] and "'Lost' is not known" in why[5]
    assert "'FBA' is not AFN or MFN" in why[6] and "PaymentMethodDetails" in why[7]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("not-json.json", "is not JSON"),
        ("neither.json", "is neither a getOrders response"),
        ("error-response.json", "is an error response, not orders: InvalidInput: Invalid Input"),
    ],
)
def test_amazon_api_file_of_the_wrong_kind_is_one_input_error_naming_it(tmp_path, name, expected):
    bad = API / "bad" / name
    with pytest.raises(InputError) as caught:
        run(amazon_orders_api, [*api_fixtures(), bad], tmp_path / "o.parquet")
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].file == str(bad) and expected in str(caught.value)
    assert not (tmp_path / "o.parquet").exists()


def test_amazon_api_malformed_items_page_names_each_bad_item(tmp_path):
    items = {
        "payload": {
            "AmazonOrderId": "111-0000003-0000003",
            "OrderItems": [
                "B0000000A1",
                {"BuyerRequestedCancel": {"IsBuyerRequestedCancel": "maybe"}},
                {"BuyerRequestedCancel": {"IsBuyerRequestedCancel": "false"}},
            ],
        }
    }
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items))
    with pytest.raises(InputError) as caught:
        run(amazon_orders_api, [path, *api_fixtures()], tmp_path / "o.parquet")
    assert [p.path for p in caught.value.problems] == [
        "$.payload.OrderItems[0]",
        "$.payload.OrderItems[1]",
    ]
    assert "'maybe'" in str(caught.value)


def test_amazon_api_mixed_offsets_duplicates_and_garbage(tmp_path):
    """2,000 generated orders in five zones over four files (the last an array of pages):
    1% malformed, 20 listed again later with a new status."""
    zones = ["Z", "+00:00", "-07:00", "+05:30", "+09:00"]
    start = dt.datetime(2026, 3, 1, 0, 0)
    pages: list[list[dict[str, Any]]] = [[] for _ in range(4)]
    expected: dict[str, tuple[str, int]] = {}
    garbage: list[tuple[int, int]] = []
    for k in range(2000):
        stamp = (start + dt.timedelta(minutes=17 * k)).strftime("%Y-%m-%dT%H:%M:%S")
        zone = zones[k % 5]
        order = {
            "AmazonOrderId": f"900-{k:07d}-0000001",
            "PurchaseDate": stamp + zone,
            "OrderStatus": "Unshipped",
            "FulfillmentChannel": "MFN" if k % 2 else "AFN",
            "OrderTotal": {"CurrencyCode": "EUR", "Amount": f"{k % 90 + 10}.25"},
        }
        if k % 100 == 42:
            del order["AmazonOrderId" if k % 200 == 42 else "PurchaseDate"]
            garbage.append((k // 500, k % 500))
        else:
            minutes = (
                0
                if zone in ("Z", "+00:00")
                else {"-": -1, "+": 1}[zone[0]] * (int(zone[1:3]) * 60 + int(zone[4:]))
            )
            expected[order["AmazonOrderId"]] = (stamp + zone, minutes)
        pages[k // 500].append(order)
    again = [dict(o, OrderStatus="Shipped") for o in pages[0][:20]]
    files = []
    for i, orders in enumerate(pages[:3]):
        files.append(tmp_path / f"page-{i}.json")
        files[-1].write_text(json.dumps({"payload": {"Orders": orders}}))
    files.append(tmp_path / "pages-3.json")
    array = [
        {"payload": {"Orders": pages[3][:250]}},
        {"payload": {"Orders": pages[3][250:] + again}},
    ]
    files[-1].write_text(json.dumps(array))

    summary, log = run(amazon_orders_api, files, tmp_path / "o.parquet")

    assert summary.duplicates == 20 and summary.written == len(expected)
    rejected = [p for p in summary.problems if "comes again" not in p.why]
    shown = [
        f"{files[f]}:"
        + (f"$.payload.Orders[{i}]" if f < 3 else f"$[{i // 250}].payload.Orders[{i % 250}]")
        for f, i in garbage
    ]
    assert sorted(p.where for p in rejected) == sorted(shown)
    assert set(log.index) == set(expected)
    assert (log.loc[[o["AmazonOrderId"] for o in again], "status"] == "shipped").all()
    assert (log.drop(index=[o["AmazonOrderId"] for o in again])["status"] == "open").all()
    for order_id in list(expected)[::37]:
        text, minutes = expected[order_id]
        assert log.loc[order_id, "placed_at"] == utc(text)
        assert log.loc[order_id, "utc_offset_min"] == minutes
    assert set(log["utc_offset_min"]) == {0, -420, 330, 540}


def sandbox_examples() -> Path:
    """The getOrders/getOrderItems sandbox examples of Amazon's Orders v0 model, as data
    files beside the repository (they are not committed here; see the fixtures' README)."""
    default = Path(__file__).resolve().parents[2] / "shared" / "amazon-orders-api-examples"
    return Path(os.environ.get("CANCELSIM_AMAZON_EXAMPLES", default))


@pytest.mark.skipif(
    not sandbox_examples().is_dir(), reason="Amazon's sandbox examples are not beside the repo"
)
def test_amazon_api_reads_amazons_own_sandbox_examples(tmp_path):
    summary, log = run(
        amazon_orders_api, sorted(sandbox_examples().glob("*.json")), tmp_path / "o.parquet"
    )
    assert summary.problems == [] and summary.written == 2
    assert summary.skipped == {"Pending: payment not yet authorised": 3}
    assert set(log.index) == {"902-1845936-5435065", "902-8745147-1934268"}
    assert (log["status"] == "open").all() and (log["value"] == 11.01).all()
    assert (log["fulfilment"] == "seller").all() and (log["currency"] == "USD").all()
    assert (log["placed_at"] == utc("1970-01-19T03:58:30Z")).all()


# --- amazon-all-orders -------------------------------------------------------------------

HEADER = ALL_ORDERS.read_text(encoding="utf-8").splitlines()[0].split("\t")


def all_orders_line(order_id: str, purchased: str, status: str, price: str, **more: str) -> str:
    values = dict.fromkeys(HEADER, "")
    values.update(
        {
            "amazon-order-id": order_id,
            "purchase-date": purchased,
            "order-status": status,
            "fulfillment-channel": more.get("channel", "AFN"),
            "currency": more.get("currency", "GBP"),
            "item-price": price,
            "quantity": "1",
        }
    )
    return "\t".join(values[h] for h in HEADER)


def test_amazon_all_orders_fixture_merges_items_into_orders(tmp_path):
    summary, log = run(amazon_all_orders, [ALL_ORDERS], tmp_path / "o.parquet", seller="S-2")
    assert summary.problems == [] and summary.written == 6
    assert summary.skipped == {"Pending: payment not yet authorised": 1}
    assert log["value"].to_dict() == pytest.approx(
        {
            "114-1111111-0000001": 25.5,  # two items: 10.00 + 15.50
            "114-1111111-0000002": float("nan"),  # cancelled, no price
            "114-1111111-0000004": 8.99,
            "503-2222222-0000005": 1800.0,  # "1,500" + "300"
            "114-1111111-0000006": 19.0,
            "114-1111111-0000007": 499.0,
        },
        nan_ok=True,
    )
    assert log["status"].to_dict() == {
        "114-1111111-0000001": "shipped",
        "114-1111111-0000002": "cancelled",
        "114-1111111-0000004": "shipped",  # Shipped - Delivered to Buyer
        "503-2222222-0000005": "open",
        "114-1111111-0000006": "open",  # Shipping
        "114-1111111-0000007": "open",  # Pending - Waiting for Pick Up
    }
    assert log["fulfilment"].to_dict()["114-1111111-0000001"] == "seller"  # Merchant
    assert log["fulfilment"].to_dict()["114-1111111-0000002"] == "platform"  # Amazon
    assert log.loc["503-2222222-0000005", "utc_offset_min"] == 540
    assert log.loc["114-1111111-0000006", "placed_at"] == utc("2026-03-02T14:00:00-08:00")
    assert log["buyer_requested"].isna().all() and set(log["seller_id"]) == {"S-2"}


@pytest.mark.parametrize("missing", ["item-price", "order-status", "amazon-order-id"])
def test_amazon_all_orders_missing_column_is_named(tmp_path, missing):
    keep = [i for i, h in enumerate(HEADER) if h != missing]
    lines = ALL_ORDERS.read_text(encoding="utf-8").splitlines()
    source = tmp_path / "report.txt"
    source.write_text("\n".join("\t".join(line.split("\t")[i] for i in keep) for line in lines))
    with pytest.raises(InputError) as caught:
        run(amazon_all_orders, [source], tmp_path / "o.parquet")
    assert f"no column {missing!r}" in str(caught.value) and str(source) in str(caught.value)


def test_amazon_all_orders_large_report_with_garbage_rows_and_chunk_edges(tmp_path, monkeypatch):
    """3,000 orders of one to three items, read 97 rows at a time so that orders straddle
    chunks; 1% garbage rows (wrong field counts, bad dates), even between an order's items."""
    monkeypatch.setattr("sim.orderlog.text.CHUNK_ROWS", 97)
    lines = ["\t".join(HEADER)]
    totals: dict[str, int] = {}
    garbage: list[int] = []
    for k in range(3000):
        order_id = f"205-{k:07d}-0000001"
        purchased = f"2026-03-{k % 28 + 1:02d}T{k % 24:02d}:30:00{['+00:00', '+01:00'][k % 2]}"
        bad_date = k % 250 == 3
        items = k % 3 + 1
        for item in range(items):
            if k % 50 == 25 and item == min(1, items - 1):
                lines.append("not\ta\treport line")
                garbage.append(len(lines))
            price = f"{item + 1}.00"
            lines.append(
                all_orders_line(order_id, "soon" if bad_date else purchased, "Shipped", price)
            )
        if bad_date:
            garbage.append(len(lines) - items + 1)  # the order's first line
        else:
            totals[order_id] = sum(range(1, items + 1))
    source = tmp_path / "report.txt"
    source.write_text("\n".join(lines) + "\n")

    summary, log = run(amazon_all_orders, [source], tmp_path / "o.parquet")

    assert sorted(places(summary)) == sorted(f"{source}:{line}" for line in garbage)
    assert len(garbage) / len(lines) == pytest.approx(0.01, abs=0.003)
    assert summary.written == len(totals) and summary.duplicates == 0
    assert log["value"].to_dict() == pytest.approx(totals)


def test_amazon_all_orders_items_apart_are_reported_as_a_repeated_order(tmp_path):
    lines = [
        "\t".join(HEADER),
        all_orders_line("A-1", "2026-03-01T10:00:00+00:00", "Shipped", "5.00"),
        all_orders_line("B-2", "2026-03-01T10:01:00+00:00", "Shipped", "7.00"),
        all_orders_line("A-1", "2026-03-01T10:00:00+00:00", "Shipped", "6.00"),
        all_orders_line("C-3", "2026-03-01T10:02:00+00:00", "Shipped", "1.00"),
        all_orders_line("C-3", "2026-03-01T10:02:00+00:00", "Shipped", "two"),
    ]
    source = tmp_path / "report.txt"
    source.write_text("\n".join(lines))
    summary, log = run(amazon_all_orders, [source], tmp_path / "o.parquet")
    assert summary.duplicates == 1
    assert log["value"].to_dict() == {"A-1": 6.0, "B-2": 7.0}  # the later run of A-1 is kept
    assert sorted(places(summary)) == [f"{source}:2", f"{source}:6"]
    why = sorted(p.why for p in summary.problems)
    assert (
        f"A-1 comes again at {source}:4" in why[1] and why[0] == "item-price is not a number: 'two'"
    )


def test_amazon_all_orders_later_report_replaces_an_earlier_order(tmp_path):
    first, second = tmp_path / "march.txt", tmp_path / "march-again.txt"
    first.write_text(
        "\t".join(HEADER)
        + "\n"
        + all_orders_line("A-1", "2026-03-01T10:00:00+00:00", "Unshipped", "5.00")
    )
    second.write_text(
        "\t".join(HEADER)
        + "\n"
        + all_orders_line("A-1", "2026-03-01T10:00:00+00:00", "Cancelled", "")
        + "\n"
        + all_orders_line("B-2", "2026-03-01T11:00:00+00:00", "Unknown status", "1.00")
    )
    summary, log = run(amazon_all_orders, [first, second], tmp_path / "o.parquet")
    assert summary.duplicates == 1 and log.loc["A-1", "status"] == "cancelled"
    assert f"{second}:3" in places(summary)
    assert any("'Unknown status' is not known" in p.why for p in summary.problems)


# --- taobao-orders -----------------------------------------------------------------------


def test_taobao_gbk_fixture_reads_statuses_times_and_close_reasons(tmp_path):
    summary, log = run(taobao_orders, [TAOBAO], tmp_path / "o.parquet", seller="ignored")
    assert summary.problems == [] and summary.written == 8
    assert summary.skipped == {
        "closed before payment: 交易关闭, 未付款": 1,
        "not paid yet: 等待买家付款": 1,
    }
    ids = [f"10000000000000{k:02d}" for k in (1, 2, 4, 6, 7, 8, 9, 10)]
    assert list(log.index) == ids  # ="…", =… and "…" guards removed
    assert log["status"].tolist() == [
        "shipped",  # 交易成功
        "open",  # 买家已付款，等待卖家发货
        "cancelled",  # 交易关闭 after payment, not shipped
        "shipped",  # 交易关闭 after it shipped: a return
        "shipped",  # 卖家已发货，等待买家确认
        "cancelled",
        "cancelled",
        "cancelled",  # 交易被淘宝关闭 after payment
    ]
    assert log["cancelled_by"].dropna().to_dict() == {
        "1000000000000004": "seller",  # 卖家缺货
        "1000000000000008": "buyer",  # 买家拍错了
        "1000000000000010": "platform",  # 淘宝客服介入，交易关闭
    }
    assert log.loc["1000000000000009", "cancel_reason"] == "退款"  # kept, who is unclear
    assert log["buyer_requested"].dropna().to_dict() == {"1000000000000008": True}
    assert (log["utc_offset_min"] == 480).all() and set(log["currency"]) == {"CNY"}
    assert log.loc["1000000000000001", "placed_at"] == utc("2026-03-01T02:00:00Z")
    assert log.loc["1000000000000007", "shipped_at"] == utc("2026-03-03T09:10:00+08:00")
    assert log.loc["1000000000000002", "value"] == 45.5
    assert pd.isna(log.loc["1000000000000002", "shipped_at"])  # "null"
    assert set(log["seller_id"]) == {"小茶馆旗舰店"}  # 店铺名称 before the --seller default


def test_taobao_reads_the_same_rows_with_the_encoding_given(tmp_path):
    _, guessed = run(taobao_orders, [TAOBAO], tmp_path / "a.parquet")
    _, given = run(taobao_orders, [TAOBAO], tmp_path / "b.parquet", encoding="gbk")
    pd.testing.assert_frame_equal(guessed, given)


QIANNIU = [
    "订单编号",
    "支付单号",
    "支付详情",
    "买家实付金额",
    "订单状态",
    "订单创建时间",
    "订单付款时间",
    "宝贝种类",
    "店铺名称",
    "卖家服务费",
    "退款金额",
    "发货时间",
    "确认收货时间",
    "确认收货打款金额",
]


def qianniu_line(order_id: str, status: str, paid: str, shipped: str = "", **more: str) -> str:
    values = dict.fromkeys(QIANNIU, "")
    values.update(
        {
            "订单编号": f'="{order_id}"',
            "支付详情": more.get("payment", "支付方式：支付宝，支付单号：P1，金额：10.00；"),
            "买家实付金额": more.get("value", "10.00"),
            "订单状态": status,
            "订单创建时间": paid,
            "订单付款时间": paid,
            "店铺名称": more.get("shop", ""),
            "发货时间": shipped,
        }
    )
    return ",".join(values[h] for h in QIANNIU)


def test_taobao_newer_export_with_payment_details_and_the_seller_argument(tmp_path):
    source = tmp_path / "qianniu.csv"
    wechat = (
        "支付方式：微信支付，支付单号：W1，金额：5.00；支付方式：支付宝，支付单号：A1，金额：5.00；"
    )
    source.write_text(
        "\n".join(
            [
                ",".join(QIANNIU),
                qianniu_line("1", "交易成功", "2026-04-29 23:57:43", "2026-04-30 00:03:21"),
                qianniu_line(
                    "2", '"买家已付款,等待卖家发货"', "2026-04-30 08:00:00", payment=wechat
                ),
                qianniu_line("3", "交易关闭", ""),  # never paid; no close reason column
            ]
        ),
        encoding="utf-8",
    )
    summary, log = run(taobao_orders, [source], tmp_path / "o.parquet", seller="shop-9")
    assert summary.problems == [] and list(log.index) == ["1", "2"]
    assert summary.skipped == {"closed before payment: 交易关闭, 未付款": 1}
    assert log["payment_method"].to_dict() == {"1": "支付宝", "2": "微信支付+支付宝"}
    assert log.loc["2", "status"] == "open"  # an ASCII comma in the status is read as "，"
    assert set(log["seller_id"]) == {"shop-9"}  # 店铺名称 is empty
    assert log.loc["1", "placed_at"] == utc("2026-04-29T15:57:43Z")


@pytest.mark.parametrize("missing", ["订单付款时间", "订单状态", "买家实付金额"])
def test_taobao_missing_column_is_named(tmp_path, missing):
    header = [h for h in QIANNIU if h != missing]
    source = tmp_path / "export.csv"
    source.write_text(",".join(header) + "\n" + ",".join("x" for _ in header) + "\n")
    with pytest.raises(InputError) as caught:
        run(taobao_orders, [source], tmp_path / "o.parquet")
    named = "买家实际支付金额" if missing == "买家实付金额" else missing
    assert f"no column {named!r}" in str(caught.value) and str(source) in str(caught.value)


def test_taobao_large_export_with_garbage_rows_and_a_later_export(tmp_path):
    """3,000 GBK rows with 1% garbage (unknown status, impossible time, short row), and a
    second export in which 30 of the orders have moved on: the later row is kept."""
    lines = [",".join(QIANNIU)]
    garbage: list[int] = []
    start = dt.datetime(2026, 3, 1, 0, 0, 5)
    for k in range(3000):
        paid = (start + dt.timedelta(minutes=13 * k)).strftime("%Y-%m-%d %H:%M:%S")
        status, value = ("交易成功", f"{k % 50 + 1}.80")
        line = qianniu_line(f"2{k:09d}", status, paid, paid, value=value)
        if k % 100 == 17:
            line = [
                qianniu_line(f"2{k:09d}", "乱码状态", paid),
                qianniu_line(f"2{k:09d}", status, "2026-13-45 99:99:99"),
                "只有,三列,而已",
            ][k // 100 % 3]
            garbage.append(len(lines) + 1)
        lines.append(line)
    first = tmp_path / "export-1.csv"
    first.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    second = tmp_path / "export-2.csv"
    moved = [k for k in range(31) if k != 17]  # order 17 is garbage in the first export
    later = [qianniu_line(f"2{k:09d}", "交易关闭", "2026-03-01 00:00:05") for k in moved]
    second.write_bytes(("\r\n".join([lines[0], *later]) + "\r\n").encode("gbk"))

    summary, log = run(taobao_orders, [first, second], tmp_path / "o.parquet")

    rejected = [p.where for p in summary.problems if "comes again" not in p.why]
    assert sorted(rejected) == sorted(f"{first}:{line}" for line in garbage)
    assert summary.duplicates == 30 and summary.written == 3000 - len(garbage)
    assert (log.loc[[f"2{k:09d}" for k in moved], "status"] == "cancelled").all()
    assert log.loc["2000000100", "value"] == pytest.approx(1.8)
    assert log.loc["2000000100", "placed_at"] == utc("2026-03-01T21:40:05+08:00")


# --- all formats -------------------------------------------------------------------------

FORMATS = {
    "amazon-orders-api": (amazon_orders_api, api_fixtures()),
    "amazon-all-orders": (amazon_all_orders, [ALL_ORDERS]),
    "taobao-orders": (taobao_orders, [TAOBAO]),
}


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("name", list(FORMATS))
def test_importing_again_gives_the_same_bytes(tmp_path, name, suffix):
    module, sources = FORMATS[name]
    reader = functools.partial(module.read, seller="S-1")
    outputs = [tmp_path / attempt / f"orders{suffix}" for attempt in ("first", "second")]
    for out in outputs:
        import_orders(sources, reader, ImportOptions(), out)
    first, second = (out.read_bytes() for out in outputs)
    assert first == second and len(read_log(outputs[0])) > 0
