"""`amazon-all-orders`: the All Orders Report flat file, one row per item, as order rows.

The report (`GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL`, and its twin by last
update) is tab-separated with one row per item of an order. Rows of one order are merged
into one order row: value is the sum of the items' `item-price` ("the amount the buyer
paid for the item ... aggregate of the quantity, not unit price"; taxes, shipping and
gift wrap are not added), empty when no item has a price; the status is the order's
`order-status`; the row is located at the order's first item line. The file is read a
chunk at a time and only the order being read is held: Amazon writes an order's items on
adjacent lines. Items of one order that are not adjacent are not merged (that would mean
holding every order): each run of them becomes an order row of its own, and the importer
then reports the order id as repeated and keeps the later run, so such a file is never
imported silently with a wrong value. An item whose `item-price` is not a number rejects
its whole order, at that item's line.

Columns used: amazon-order-id, purchase-date (ISO 8601 with an offset, read as given),
order-status, fulfillment-channel (AFN or "Amazon" -> platform, MFN or "Merchant" ->
seller), currency, item-price; a missing one is an InputError naming it. The published
column list has no buyer-requested-cancel column, no cancel reason, no ship or cancel
time and no seller: shipped_at, cancelled_at, cancelled_by, cancel_reason and
buyer_requested stay empty; seller_id is the `seller` argument.

Statuses: Amazon publishes no list of `order-status` values for this report. Its values
are the Orders API's `OrderStatus` names and "Shipped - ..." forms that follow the
Orders API's `EasyShipShipmentStatus` (PendingPickUp, PickedUp, OutForDelivery,
Delivered, RejectedByBuyer, Undeliverable, ReturningToSeller, ReturnedToSeller, Lost,
Damaged). Matched without regard to case:
- Unshipped, Shipping (being packed), "Pending - Waiting for Pick Up" (packed, the carrier
  has not picked it up) -> open.
- Shipped, every "Shipped - ..." (delivered, returned, rejected, lost or damaged after it
  left), PartiallyShipped, InvoiceUnconfirmed, Complete (the help page's example) ->
  shipped.
- Cancelled, Canceled -> cancelled (who cancelled is not given).
- Pending, PendingAvailability (payment not yet authorised) -> skipped and counted, as in
  the Orders API. Reports observed by others show Pending followed directly by Shipped,
  so some Pending rows may be paid but unshipped orders; they are counted in the
  summary, not imported. Unfulfillable (a multi-channel order Amazon cannot fulfil, not
  placed on Amazon) -> skipped and counted.
- Any other value rejects the order, at its first line.

Sources (seen 2026-11-27): "Order Tracking reports attributes",
https://developer-docs.amazon.com/sp-api/docs/order-tracking-reports-attributes (the
columns of GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL: amazon-order-id,
merchant-order-id, purchase-date, last-updated-date, order-status, fulfillment-channel,
sales-channel, order-channel, ship-service-level, product-name, sku, asin, item-status,
quantity, currency, item-price, item-tax, shipping-price, shipping-tax, gift-wrap-price,
gift-wrap-tax, item-promotion-discount, ship-promotion-discount, ship-city, ship-state,
ship-postal-code, ship-country, promotion-ids, cpf, is-business-order,
purchase-order-number, price-designation); Seller Central help "All Orders Report"
(https://sellercentral.amazon.com/gp/help/external/200547170: field meanings, the
purchase-date format, item-price as an aggregate of the quantity); "Order Reports",
https://developer-docs.amazon.com/sp-api/docs/report-type-values-order (tab-delimited
flat file); the Orders v0 model (see `amazon_orders_api`) for OrderStatus and
EasyShipShipmentStatus; "Shipped - ..." and "Pending - Waiting for Pick Up" values as
they appear in public analyses of exported reports (e.g. the "Amazon Sale Report" data
set's 13 status values), not in an Amazon document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sim.orderlog.rows import THOUSANDS, RawBatch, RowProblem
from sim.orderlog.text import columns_of, read_chunks, require_columns

COLUMNS = {
    "order_id": "amazon-order-id",
    "placed_at": "purchase-date",
    "status": "order-status",
    "fulfilment": "fulfillment-channel",
    "currency": "currency",
    "value": "item-price",
}
ORDER_STATUSES = {
    "unshipped": "open",
    "shipping": "open",
    "pending - waiting for pick up": "open",
    "shipped": "shipped",
    "partiallyshipped": "shipped",
    "invoiceunconfirmed": "shipped",
    "complete": "shipped",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}
SHIPPED_PREFIX = "shipped - "
NOT_ORDERS = {
    "pending": "Pending: payment not yet authorised",
    "pendingavailability": "PendingAvailability: pre-order, payment not yet authorised",
    "unfulfillable": "Unfulfillable: multi-channel order, not placed on Amazon",
}
FULFILMENT = {"afn": "platform", "amazon": "platform", "mfn": "seller", "merchant": "seller"}


@dataclass
class Order:
    """An order being gathered from its item rows."""

    line: int
    order_id: str
    purchase_date: str
    status: str
    channel: str
    currency: str
    total: Decimal | None = None
    problem: RowProblem | None = None

    def add_item(self, where: str, currency: str, price: str) -> None:
        """Add one item row's price (and its currency, where the first had none)."""
        currency = currency.strip()
        if currency and self.currency and currency != self.currency and self.problem is None:
            self.problem = RowProblem(
                where, f"items of order {self.order_id} are in {self.currency} and {currency}"
            )
        self.currency = self.currency or currency
        price = price.strip()
        if THOUSANDS.fullmatch(price):
            price = price.replace(",", "")
        if not price:
            return
        try:
            amount = Decimal(price)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            if self.problem is None:
                self.problem = RowProblem(where, f"item-price is not a number: {price!r}")
            return
        self.total = amount if self.total is None else self.total + amount


@dataclass
class Batch:
    """Finished orders of one stretch of the file."""

    columns: dict[str, list[str | None]] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def finish(self, order: Order, file: str, seller: str | None) -> None:
        """Add the order as a row, a problem or a skip."""
        if order.problem is not None:
            self.problems.append(order.problem)
            return
        key = order.status.strip().casefold()
        if key in NOT_ORDERS:
            self.skipped[NOT_ORDERS[key]] = self.skipped.get(NOT_ORDERS[key], 0) + 1
            return
        status = "shipped" if key.startswith(SHIPPED_PREFIX) else ORDER_STATUSES.get(key)
        fulfilment = FULFILMENT.get(order.channel.strip().casefold())
        why = _unknown(order, status, fulfilment)
        if why:
            self.problems.append(RowProblem(f"{file}:{order.line}", why))
            return
        self._add(order, status, fulfilment, seller)

    def _add(
        self, order: Order, status: str | None, fulfilment: str | None, seller: str | None
    ) -> None:
        fields = {
            "order_id": order.order_id,
            "seller_id": seller,
            "placed_at": order.purchase_date,
            "status": status,
            "fulfilment": fulfilment,
            "currency": order.currency or None,
            "value": None if order.total is None else format(order.total, "f"),
        }
        for name, value in fields.items():
            self.columns.setdefault(name, []).append(value)
        self.lines.append(order.line)

    def raw(self, file: str) -> RawBatch:
        return RawBatch(
            file, self.columns, lines=self.lines, problems=self.problems, skipped=self.skipped
        )


def _unknown(order: Order, status: str | None, fulfilment: str | None) -> str:
    """Why the order's status or channel cannot be read ('' when both can)."""
    if status is None:
        return (
            f"order-status {order.status!r} is not known; expected Unshipped, Shipping, "
            "Shipped, Shipped - ..., Cancelled, Pending, ..."
        )
    if fulfilment is None and order.channel.strip():
        return f"fulfillment-channel {order.channel!r} is not AFN or MFN (Amazon or Merchant)"
    return ""


def read(
    paths: list[Path], *, encoding: str | None = None, seller: str | None = None
) -> Iterator[RawBatch]:
    """Every report's orders, one row per order, in the order of the files."""
    for path in paths:
        yield from _read(path, encoding, seller)


def _read(path: Path, encoding: str | None, seller: str | None) -> Iterator[RawBatch]:
    header, chunks = read_chunks(path, "\t", encoding, quoted=False)
    require_columns(path, header, COLUMNS, "an All Orders Report column")
    file = str(path)
    order: Order | None = None  # the order whose items are being read
    for chunk in chunks:
        batch = Batch()
        batch.problems.extend(
            RowProblem(f"{file}:{line}", f"has {n} fields; the header has {len(header)}")
            for line, n in chunk.short
        )
        columns = columns_of(chunk, header, COLUMNS)
        for i, line in enumerate(chunk.lines):
            order_id = columns["order_id"][i].strip()
            if order is not None and order_id != order.order_id:
                batch.finish(order, file, seller)
                order = None
            if order is None:
                order = Order(
                    line,
                    order_id,
                    columns["placed_at"][i],
                    columns["status"][i],
                    columns["fulfilment"][i],
                    "",
                )
            order.add_item(f"{file}:{line}", columns["currency"][i], columns["value"][i])
        yield batch.raw(file)
    if order is not None:
        final = Batch()
        final.finish(order, file, seller)
        yield final.raw(file)
