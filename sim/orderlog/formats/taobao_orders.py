"""`taobao-orders`: the Taobao/Tmall seller order export (订单报表, CSV) as order rows.

The export (ExportOrderList*.csv, one row per order) is comma-separated, usually GBK
(read as GB18030) or UTF-8; header names may carry trailing spaces, which are ignored.
Values may be guarded against spreadsheets: `="123"`, `=123`, `"123"` or a leading `'`
or tab read as `123`; the text `null` (written for an empty time) reads as empty.

Columns used: 订单编号 (order_id), 订单状态 (status), 订单付款时间 (placed_at; 订单创建时间
when an order has no payment time, as cash-on-delivery orders), 买家实际支付金额 or, in
newer exports, 买家实付金额 (value, CNY: Taobao amounts are in yuan); optional 订单创建时间,
发货时间 (shipped_at), 订单关闭原因 (cancel_reason), 店铺名称 (seller_id, else the `seller`
argument) and 支付详情 (payment_method, its "支付方式：..." parts). A missing required column
is an InputError naming it. Times are China Standard Time (UTC+8, no daylight saving)
without an offset: `+08:00` is appended. The export gives no cancel time and no
fulfilment (null).

Statuses (the display texts of the Taobao trade statuses):
- 等待买家付款 (WAIT_BUYER_PAY), 没有创建支付宝交易 (TRADE_NO_CREATE_PAY), 等待买家确认货到付款
  订单信息 (cash on delivery, not confirmed): not paid, skipped and counted.
- 买家已付款，等待卖家发货 (WAIT_SELLER_SEND_GOODS), 买家已确认，等待卖家发货 -> open.
- 卖家部分发货 (SELLER_CONSIGNED_PART), 卖家已发货，等待买家确认 (WAIT_BUYER_CONFIRM_GOODS),
  卖家已发货，等待买家确认收货并付款, 买家已签收 and 买家已签收，回款至卖家 (TRADE_BUYER_SIGNED),
  交易成功 (TRADE_FINISHED) -> shipped.
- 交易关闭 (TRADE_CLOSED) and 交易被淘宝关闭 (TRADE_CLOSED_BY_TAOBAO): without a payment time,
  or with a close reason saying it was not paid (买家未付款, 未及时付款, ...), the order was
  closed before payment: skipped and counted, not rejected. With a ship time it was
  refunded after it left (a return): shipped. Otherwise it was paid and cancelled before
  shipping -> cancelled.
- Any other status rejects the row. ASCII commas are read as the export's full-width ones.

Who cancelled is read from the close reason only where its text says so: it names
淘宝, 天猫, the system (系统) or a time-out (超时) -> platform; the seller (卖家, 商家, 恶意买家,
out of stock 缺货/无货) -> seller; the buyer (买家, 不想买, 拍错, 拍多) -> buyer, who then asked
for it (buyer_requested true). Anything else (a bare 退款, say) leaves cancelled_by and
buyer_requested empty; the reason text is kept as it is in cancel_reason.

Sources (seen 2026-11-27): Taobao publishes no field list of this export; its columns
and values are taken from code that reads or writes real exports (public repositories
found by code search: an importer of "ExportOrderList_*.csv" reading 订单编号 split out of
="...", 订单付款时间 with a trailing space, 买家实际支付金额, 订单关闭原因; a report tool
reading the export as code page 936 and treating 订单关闭原因 买家未付款 as unpaid and 发货时间
"null" as not shipped; shop systems writing Taobao-compatible CSV with the header
订单编号,买家会员名,...,订单状态,...,订单创建时间,订单付款时间,...,店铺名称,订单关闭原因,...; a
Qianniu export importer with 买家实付金额, 支付详情, 发货时间, 店铺名称), and from the Taobao Open
Platform's trade status list (taobao.trades.sold.get / Trade.status, with the Chinese
texts) and taobao.trade.close's close reasons (未及时付款, 买家不想买了, 买家信息填写错误，重新拍,
恶意买家/同行捣乱, 缺货, 买家拍错了, 同城见面交易), as quoted on developer pages
(blog.csdn.net/xonmao2008/article/details/100703123; github.com/bububa/opentaobao
TaobaoTradeCloseAPIRequest.go).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sim.orderlog.rows import RawBatch, RowProblem
from sim.orderlog.text import TextChunk, read_chunks, require_columns

CURRENCY = "CNY"
CHINA_OFFSET = "+08:00"
REQUIRED = {"order_id": "订单编号", "status": "订单状态", "placed_at": "订单付款时间"}
VALUE_NAMES = ("买家实际支付金额", "买家实付金额")
OPTIONAL = {
    "created_at": "订单创建时间",
    "shipped_at": "发货时间",
    "cancel_reason": "订单关闭原因",
    "seller_id": "店铺名称",
    "payment": "支付详情",
}
STATUSES = {
    "等待买家付款": "unpaid",
    "没有创建支付宝交易": "unpaid",
    "等待买家确认货到付款订单信息": "unpaid",
    "买家已付款，等待卖家发货": "open",
    "买家已确认，等待卖家发货": "open",
    "卖家部分发货": "shipped",
    "卖家已发货，等待买家确认": "shipped",
    "卖家已发货，等待买家确认收货并付款": "shipped",
    "买家已签收": "shipped",
    "买家已签收，回款至卖家": "shipped",
    "交易成功": "shipped",
    "交易关闭": "closed",
    "交易被淘宝关闭": "closed",
}
NOT_PAID = "not paid yet: 等待买家付款"
CLOSED_UNPAID = "closed before payment: 交易关闭, 未付款"
UNPAID_WORDS = ("未付款", "未及时付款", "未支付")
# first match wins: the seller's "malicious buyer" before the buyer's words
CANCELLED_BY = (
    ("platform", ("淘宝", "天猫", "系统", "超时")),
    ("seller", ("卖家", "商家", "恶意买家", "缺货", "无货")),
    ("buyer", ("买家", "不想买", "拍错", "拍多")),
)
_WALL_TIME = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?$"
)
_PAYMENT = re.compile(r"支付方式[：:]\s*([^，,；;]+)")


def read(
    paths: list[Path], *, encoding: str | None = None, seller: str | None = None
) -> Iterator[RawBatch]:
    """Every export's orders, in the order of the files."""
    for path in paths:
        yield from _read(path, encoding, seller)


def _read(path: Path, encoding: str | None, seller: str | None) -> Iterator[RawBatch]:
    header, chunks = read_chunks(path, ",", encoding)
    wanted = _wanted(path, header)
    index = {name: header.index(column) for name, column in wanted.items()}
    for chunk in chunks:
        yield _batch(str(path), chunk, index, len(header), seller)


def _wanted(path: Path, header: list[str]) -> dict[str, str]:
    """The export's column for each field used; InputError naming a missing one."""
    value = next((name for name in VALUE_NAMES if name in header), VALUE_NAMES[0])
    required = {**REQUIRED, "value": value}
    require_columns(
        path, header, required, f"a Taobao order export column ({VALUE_NAMES[1]} also serves)"
    )
    return {**required, **{k: c for k, c in OPTIONAL.items() if c in header}}


@dataclass
class Batch:
    """Order rows of one chunk of the export."""

    columns: dict[str, list[str | None]] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, line: int, fields: dict[str, str | None]) -> None:
        for name, value in fields.items():
            self.columns.setdefault(name, []).append(value)
        self.lines.append(line)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _batch(
    file: str, chunk: TextChunk, index: dict[str, int], width: int, seller: str | None
) -> RawBatch:
    batch = Batch()
    batch.problems.extend(
        RowProblem(f"{file}:{line}", f"has {n} fields; the header has {width}")
        for line, n in chunk.short
    )
    for line, row in zip(chunk.lines, chunk.rows, strict=True):
        values = {name: _unguard(row[i]) for name, i in index.items()}
        outcome = _order(values, seller)
        if isinstance(outcome, dict):
            batch.add(line, outcome)
        elif outcome in (NOT_PAID, CLOSED_UNPAID):
            batch.skip(outcome)
        else:
            batch.problems.append(RowProblem(f"{file}:{line}", outcome))
    return RawBatch(
        file, batch.columns, lines=batch.lines, problems=batch.problems, skipped=batch.skipped
    )


def _order(values: dict[str, str], seller: str | None) -> dict[str, str | None] | str:
    """One export row as the log's fields, or the reason it is skipped or rejected."""
    text = values["status"].replace(",", "，").replace(" ", "")
    kind = STATUSES.get(text)
    if kind is None:
        return f"订单状态 {values['status']!r} is not a known Taobao order status"
    if kind == "unpaid":
        return NOT_PAID
    reason = values.get("cancel_reason", "")
    paid_at, shipped_at = _china_time(values["placed_at"]), _china_time(values.get("shipped_at"))
    if kind == "closed":
        if not paid_at or any(word in reason for word in UNPAID_WORDS):
            return CLOSED_UNPAID
        kind = "shipped" if shipped_at else "cancelled"
    by = _cancelled_by(reason) if kind == "cancelled" else None
    return {
        "order_id": values["order_id"],
        "seller_id": values.get("seller_id") or seller,
        "placed_at": paid_at or _china_time(values.get("created_at")),
        "value": values["value"].lstrip("¥￥"),
        "currency": CURRENCY,
        "payment_method": _payment(values.get("payment", "")),
        "status": kind,
        "shipped_at": shipped_at,
        "cancel_reason": reason or None,
        "cancelled_by": by,
        "buyer_requested": "true" if by == "buyer" else None,
    }


def _unguard(text: str) -> str:
    """A value without the marks that keep spreadsheets from mangling it: ="123" -> 123."""
    value = text.strip()
    if value.startswith("="):
        value = value[1:].strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].strip()
    value = value.lstrip("'").strip()
    return "" if value.lower() == "null" else value


def _china_time(text: str | None) -> str:
    """A wall-clock time in China Standard Time as ISO 8601 with +08:00 ('' if empty);
    text that is no such time is returned as it is, for the row checks to report."""
    if not text:
        return ""
    match = _WALL_TIME.match(text)
    if match is None:
        return text
    year, month, day, hour, minute, second, fraction = match.groups()
    return (
        f"{year}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{minute}:{second or '00'}"
        f"{fraction or ''}{CHINA_OFFSET}"
    )


def _cancelled_by(reason: str) -> str | None:
    for who, words in CANCELLED_BY:
        if any(word in reason for word in words):
            return who
    return None


def _payment(details: str) -> str | None:
    methods = list(dict.fromkeys(m.strip() for m in _PAYMENT.findall(details)))
    return "+".join(methods) or None
