"""The export formats `cancelsim import` reads, by name."""

from __future__ import annotations

FORMATS = {
    "amazon-orders-api": "Selling Partner API Orders v0 getOrders responses (JSON)",
    "amazon-all-orders": "Amazon All Orders Report flat file (tab-separated)",
    "taobao-orders": "Taobao/Tmall seller order export (CSV, GBK or UTF-8)",
    "csv": "any CSV, with --map FIELD=COLUMN or --map-file",
}
