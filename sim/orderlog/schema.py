"""The normalised order log: one row per order, the same columns whatever the source.

Instants are stored in UTC (`timestamp[ms, UTC]`); the zone each order was placed in is
kept as its UTC offset in minutes (`utc_offset_min`), so that local hours and days (the
daily profile, a seller's metric days) can be recovered exactly. A column a source does
not give is null, never guessed.
"""

from __future__ import annotations

from typing import Any

STATUSES = ("open", "shipped", "cancelled")
"""Final status in the export: still unshipped, shipped (delivered or not), cancelled."""

CANCELLED_BY = ("buyer", "seller", "platform")
FULFILMENT = ("seller", "platform")

COLUMNS: tuple[tuple[str, str, str], ...] = (
    # name, arrow type, meaning
    ("order_id", "string", "the marketplace's order id"),
    ("seller_id", "string", "the seller (a column, or --seller for a one-seller export)"),
    ("placed_at", "timestamp", "when the order was placed (paid for), UTC"),
    ("utc_offset_min", "int16", "the UTC offset, in minutes, the source gave placed_at in"),
    ("value", "float64", "what the buyer paid, in currency"),
    ("currency", "string", "ISO 4217 code"),
    ("payment_method", "string", "as the source names it; null when not given"),
    ("fulfilment", "string", "seller or platform (Amazon AFN, a platform warehouse)"),
    ("status", "string", "open, shipped or cancelled"),
    ("shipped_at", "timestamp", "when it shipped, UTC; null if not shipped or not given"),
    ("cancelled_at", "timestamp", "when it was cancelled, UTC; null if not or not given"),
    ("cancelled_by", "string", "buyer, seller or platform, where the source says"),
    ("cancel_reason", "string", "the source's reason text or code, unchanged"),
    ("buyer_requested", "bool", "the buyer asked for the cancel officially; null if unknown"),
)
NAMES = tuple(name for name, _, _ in COLUMNS)
REQUIRED = ("order_id", "placed_at", "status")
"""Without these a row is not an order: it is rejected."""

TIME_COLUMNS = tuple(name for name, kind, _ in COLUMNS if kind == "timestamp")


def arrow_schema() -> Any:
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "int16": pa.int16(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
    }
    return pa.schema([pa.field(name, types[kind]) for name, kind, _ in COLUMNS])
