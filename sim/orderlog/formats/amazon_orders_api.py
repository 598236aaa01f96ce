"""`amazon-orders-api`: Selling Partner API Orders v0 responses (JSON) as order rows.

Each file holds one response page, `{"payload": {...}}` (or that payload alone), or a JSON
array of such pages. Its kind is told by its content: a getOrders page has
`payload.Orders`, a getOrderItems page `payload.AmazonOrderId` and `payload.OrderItems`.
Item pages are read first, whatever the order of the files, so that each order is joined
by AmazonOrderId to its items' `BuyerRequestedCancel` (`IsBuyerRequestedCancel`,
`BuyerCancelReason`); items of orders that no getOrders page lists are not used. A JSON
file is read whole: a page holds at most 100 orders (split a large array of pages).

Statuses (`OrderStatus`, with the model's own definitions):
- Unshipped ("payment has been authorized ... no items shipped") -> open.
- PartiallyShipped, Shipped, InvoiceUnconfirmed ("all items shipped") -> shipped: once an
  item has shipped the order can no longer be cancelled whole.
- Canceled -> cancelled; who cancelled is not given (null), buyer_requested comes from
  the items' BuyerRequestedCancel when an items page for the order is given.
- Pending and PendingAvailability ("payment has not been authorized") are not orders
  yet: skipped and counted. Unfulfillable ("applies only to Amazon-fulfilled orders that
  were not placed on Amazon's retail web site", i.e. multi-channel orders) is no
  marketplace order: skipped and counted.
- Any other value is a rejected row, at its JSON path.

FulfillmentChannel AFN -> platform, MFN -> seller. value and currency are
`OrderTotal.Amount` and `.CurrencyCode` (null when absent, as for most Pending and
Canceled orders); payment_method is `PaymentMethod` when it is COD or CVS, else the
`PaymentMethodDetails` joined with "+", else `PaymentMethod`. placed_at is
`PurchaseDate` (ISO 8601, read with its offset). getOrders gives no time of shipping or
cancelling: `LastUpdateDate` is the last change of any kind, so shipped_at and
cancelled_at are left empty rather than guessed from it. The seller is not in a
response: it is the `seller` argument (empty without one).

A malformed order (not an object, no AmazonOrderId, a field of the wrong JSON type) is a
rejected row at its JSON path, e.g. `$.payload.Orders[3]`; a bad PurchaseDate is
rejected by the row checks at the same path. A file that is not JSON, an error response,
or JSON that is neither kind of response is one `InputError` naming the file.

Sources (seen 2026-11-27): "Selling Partner API for Orders", version v0, the model
`models/orders-api-model/ordersV0.json` of github.com/amzn/selling-partner-api-models
(snapshot commit 34dc93fe45f37c9a0b2e56823c808f68b4f81754; the file last changed in
e584dcb641d9da22728673317ebb73d3cd2dd852): definitions GetOrdersResponse, OrdersList,
Order (OrderStatus enum table, FulfillmentChannel, OrderTotal/Money, PaymentMethod,
PaymentMethodDetails, PurchaseDate, LastUpdateDate), GetOrderItemsResponse,
OrderItemsList, OrderItem, BuyerRequestedCancel, and the getOrders/getOrderItems
sandbox example responses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import InputError, Problem
from sim.orderlog.rows import RawBatch, RowProblem
from sim.orderlog.text import CHUNK_ROWS

ORDER_STATUSES = {
    "Unshipped": "open",
    "PartiallyShipped": "shipped",
    "Shipped": "shipped",
    "InvoiceUnconfirmed": "shipped",
    "Canceled": "cancelled",
}
NOT_ORDERS = {
    "Pending": "Pending: payment not yet authorised",
    "PendingAvailability": "PendingAvailability: pre-order, payment not yet authorised",
    "Unfulfillable": "Unfulfillable: multi-channel order, not placed on Amazon",
}
FULFILMENT = {"AFN": "platform", "MFN": "seller"}
SEPARATE_PAYMENTS = ("COD", "CVS")  # PaymentMethod values that say more than the details


class _Malformed(ValueError):
    """An order that cannot be read; its message says why."""


@dataclass
class BuyerCancel:
    """What an order's items say of a cancel the buyer asked for."""

    requested: bool | None = None  # True if any item says so, False if all say not
    reasons: list[str] = field(default_factory=list)

    def add(self, flag: bool | None, reason: str | None) -> None:
        if flag is True or (flag is False and self.requested is None):
            self.requested = flag
        if reason and reason not in self.reasons:
            self.reasons.append(reason)


@dataclass(frozen=True)
class Page:
    """One response page's payload, where it is in its file, and its kind."""

    at: str  # JSON path of the payload
    kind: str  # "orders" or "items"
    payload: dict[str, Any]


def read(
    paths: list[Path], *, encoding: str | None = None, seller: str | None = None
) -> Iterator[RawBatch]:
    """Every getOrders page's orders, joined to every getOrderItems page's cancel
    requests; `encoding` is not used (JSON is UTF-8)."""
    cancels: dict[str, BuyerCancel] = {}
    with_orders = []
    for path in paths:
        pages = list(_pages(path, _load(path)))
        for page in pages:
            if page.kind == "items":
                _add_cancels(path, page, cancels)
        if any(page.kind == "orders" for page in pages):
            with_orders.append(path)
    for path in with_orders:  # read again, so that only one file's orders are in memory
        pages = [page for page in _pages(path, _load(path)) if page.kind == "orders"]
        yield from _batches(path, pages, cancels, seller)


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as error:
        raise InputError.single(
            str(path), f"is not JSON: {error.msg}", line=error.lineno, col=error.colno
        ) from None
    except (UnicodeDecodeError, RecursionError) as error:
        raise InputError.single(str(path), f"is not JSON: {error}") from None


def _pages(path: Path, document: Any) -> Iterator[Page]:
    if isinstance(document, list):
        for i, page in enumerate(document):
            yield _page(path, page, f"$[{i}]")
    else:
        yield _page(path, document, "$")


def _page(path: Path, page: Any, where: str) -> Page:
    """A response page (or its bare payload) as a `Page`, or an InputError saying what
    was expected."""
    wrapped = isinstance(page, dict) and "payload" in page
    payload = page["payload"] if wrapped else page
    at = f"{where}.payload" if wrapped else where
    if isinstance(payload, dict):
        if isinstance(payload.get("Orders"), list):
            return Page(at, "orders", payload)
        if isinstance(payload.get("OrderItems"), list):
            return Page(at, "items", payload)
    shown = "" if where == "$" else where
    if isinstance(page, dict) and page.get("errors") and not wrapped:
        raise InputError.single(
            str(path), f"is an error response, not orders: {_errors(page['errors'])}", shown
        )
    raise InputError.single(
        str(path),
        'is neither a getOrders response ({"payload": {"Orders": [...]}}) nor a '
        'getOrderItems response ({"payload": {"AmazonOrderId": ..., "OrderItems": [...]}})',
        shown,
    )


def _errors(errors: Any) -> str:
    if not isinstance(errors, list):
        return _kind(errors)
    return "; ".join(
        f"{e.get('code', '?')}: {e.get('message', '')}" if isinstance(e, dict) else _kind(e)
        for e in errors[:3]
    )


def _add_cancels(path: Path, page: Page, cancels: dict[str, BuyerCancel]) -> None:
    """Record the page's BuyerRequestedCancel under its AmazonOrderId; every malformed
    item of the page is one problem of a single InputError."""
    order_id = page.payload.get("AmazonOrderId")
    if not isinstance(order_id, str) or not order_id.strip():
        raise InputError.single(
            str(path), "a getOrderItems response needs its AmazonOrderId", page.at
        )
    cancel = cancels.setdefault(order_id.strip(), BuyerCancel())
    problems = []
    for j, item in enumerate(page.payload["OrderItems"]):
        where = f"{page.at}.OrderItems[{j}]"
        try:
            cancel.add(*_item_cancel(item))
        except _Malformed as error:
            problems.append(Problem(str(path), 0, 0, where, str(error)))
    if problems:
        raise InputError(problems)


def _item_cancel(item: Any) -> tuple[bool | None, str | None]:
    """An item's (buyer asked to cancel, the buyer's reason)."""
    if not isinstance(item, dict):
        raise _Malformed(f"expected an order item object, found {_kind(item)}")
    asked = item.get("BuyerRequestedCancel")
    if asked is None:
        return None, None
    if not isinstance(asked, dict):
        raise _Malformed(f"BuyerRequestedCancel is {_kind(asked)}, expected an object")
    flag = asked.get("IsBuyerRequestedCancel")
    if isinstance(flag, str) and flag.strip().lower() in ("true", "false"):
        flag = flag.strip().lower() == "true"
    if flag is not None and not isinstance(flag, bool):
        raise _Malformed(f"IsBuyerRequestedCancel is {flag!r}, expected true or false")
    return flag, _optional_text(asked, "BuyerCancelReason")


@dataclass
class _Rows:
    """Order rows of one file being gathered into a batch."""

    columns: dict[str, list[str | None]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, where: str, fields: dict[str, str | None]) -> None:
        for name, value in fields.items():
            self.columns.setdefault(name, []).append(value)
        self.paths.append(where)

    def batch(self, file: str) -> RawBatch:
        return RawBatch(
            file, self.columns, paths=self.paths, problems=self.problems, skipped=self.skipped
        )

    def __len__(self) -> int:
        return len(self.paths) + len(self.problems)


def _batches(
    path: Path, pages: list[Page], cancels: dict[str, BuyerCancel], seller: str | None
) -> Iterator[RawBatch]:
    rows = _Rows()
    for page in pages:
        for i, order in enumerate(page.payload["Orders"]):
            where = f"{page.at}.Orders[{i}]"
            try:
                status = _status(order)
                if status in NOT_ORDERS:
                    reason = NOT_ORDERS[status]
                    rows.skipped[reason] = rows.skipped.get(reason, 0) + 1
                    continue
                rows.add(where, _fields(order, status, cancels, seller))
            except _Malformed as error:
                rows.problems.append(RowProblem(f"{path}:{where}", str(error)))
            if len(rows) >= CHUNK_ROWS:
                yield rows.batch(str(path))
                rows = _Rows()
    if len(rows) or rows.skipped:
        yield rows.batch(str(path))


def _status(order: Any) -> str:
    if not isinstance(order, dict):
        raise _Malformed(f"expected an order object, found {_kind(order)}")
    status = _required_text(order, "OrderStatus")
    if status not in ORDER_STATUSES and status not in NOT_ORDERS:
        known = ", ".join([*ORDER_STATUSES, *NOT_ORDERS])
        raise _Malformed(f"OrderStatus {status!r} is not known; expected one of {known}")
    return status


def _fields(
    order: dict[str, Any], status: str, cancels: dict[str, BuyerCancel], seller: str | None
) -> dict[str, str | None]:
    """The log's fields of one well-formed order (raises _Malformed otherwise)."""
    order_id = _required_text(order, "AmazonOrderId")
    value, currency = _total(order)
    cancel = cancels.get(order_id, BuyerCancel())
    asked = None if cancel.requested is None else str(cancel.requested).lower()
    return {
        "order_id": order_id,
        "seller_id": seller,
        "placed_at": _required_text(order, "PurchaseDate"),
        "value": value,
        "currency": currency,
        "payment_method": _payment(order),
        "fulfilment": _fulfilment(order),
        "status": ORDER_STATUSES[status],
        "shipped_at": None,
        "cancelled_at": None,
        "cancelled_by": None,
        "cancel_reason": "; ".join(cancel.reasons) or None,
        "buyer_requested": asked,
    }


def _total(order: dict[str, Any]) -> tuple[str | None, str | None]:
    total = order.get("OrderTotal")
    if total is None:
        return None, None
    if not isinstance(total, dict):
        raise _Malformed(f"OrderTotal is {_kind(total)}, expected an object")
    amount = total.get("Amount")
    if isinstance(amount, int | float) and not isinstance(amount, bool):
        amount = str(amount)
    elif amount is not None and not isinstance(amount, str):
        raise _Malformed(f"OrderTotal.Amount is {_kind(amount)}, expected text")
    return amount, _optional_text(total, "CurrencyCode", "OrderTotal.CurrencyCode")


def _payment(order: dict[str, Any]) -> str | None:
    method = _optional_text(order, "PaymentMethod")
    details = order.get("PaymentMethodDetails")
    if details is not None and not (
        isinstance(details, list) and all(isinstance(d, str) for d in details)
    ):
        raise _Malformed(f"PaymentMethodDetails is {_kind(details)}, expected a list of text")
    if method in SEPARATE_PAYMENTS or not details:
        return method
    return "+".join(details)


def _fulfilment(order: dict[str, Any]) -> str | None:
    channel = _optional_text(order, "FulfillmentChannel")
    if channel is None:
        return None
    if channel not in FULFILMENT:
        raise _Malformed(f"FulfillmentChannel {channel!r} is not AFN or MFN")
    return FULFILMENT[channel]


def _required_text(record: dict[str, Any], key: str) -> str:
    text = _optional_text(record, key)
    if text is None:
        raise _Malformed(f"{key} is missing")
    return text


def _optional_text(record: dict[str, Any], key: str, name: str | None = None) -> str | None:
    """The text under `key`, stripped; None when absent, null or empty."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Malformed(f"{name or key} is {_kind(value)}, expected text")
    return value.strip() or None


def _kind(value: Any) -> str:
    """A JSON value's kind, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"
