"""Write examples/shop-orders.csv: a one-shop order export for the README's walk-through.

The orders are simulated, not real: eight weeks of `scenarios/quick.yaml` with a single
seller (the seed fixed), played under the Amazon policy with a per-order trace, then
written the way a shop's order export looks: local times without a zone, the shop's own
status words and cancel reasons, an order number. Run from the repository's root:

    python scripts/make_example_log.py
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "examples" / "shop-orders.csv"
ZONE = dt.timezone(dt.timedelta(hours=8))  # the shop's local time: China Standard Time
# trace outcome -> the export's status, who cancelled, whether the buyer asked, reason
STATUS = {
    "shipped": ("Shipped", "", "", ""),
    "kept_after_failed_cancel": ("Shipped", "", "", ""),
    "intercepted": ("Shipped", "", "", ""),
    "refused_delivery": ("Shipped", "", "", ""),
    "returned": ("Shipped", "", "", ""),
    "open": ("Unshipped", "", "", ""),
    "self_cancelled": ("Cancelled", "buyer", "yes", "cancelled by buyer"),
    "instant_refunded": ("Cancelled", "buyer", "yes", "cancelled by buyer"),
    "request_cancelled": ("Cancelled", "seller", "yes", "buyer requested cancellation"),
    "request_auto_approved": ("Cancelled", "platform", "yes", "buyer requested cancellation"),
    "seller_cancelled": ("Cancelled", "seller", "no", "cancelled by seller"),
    "auto_cancelled": ("Cancelled", "platform", "no", "not shipped in time"),
}


def main() -> None:
    policies = (
        "policies=[{file: ../policies/amazon.yaml,"
        " payment_mix: {credit_card: 0.7, debit_card: 0.3}}]"
    )
    study = sim.load(
        ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml",
        ["sellers.count=1", "horizon=56d", "orders.rate_per_hour=2.5", "seed=2026", policies],
    )
    with tempfile.TemporaryDirectory() as folder:
        sim.run(study, replications=1, trace_dir=folder)
        with open(Path(folder) / "amazon-r0.csv", newline="") as handle:
            rows = sorted(csv.DictReader(handle), key=lambda r: float(r["placed_h"]))
    start = study.scenario.start

    def local(hours: str) -> str:
        if not hours:
            return ""
        moment = start + dt.timedelta(hours=float(hours))
        return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")

    OUT.parent.mkdir(exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            [
                "order_number",
                "created",
                "status",
                "total",
                "payment",
                "shipped_on",
                "cancelled_on",
                "cancelled_by",
                "buyer_asked",
                "cancel_reason",
            ]
        )
        for i, row in enumerate(rows):
            status, by, asked, reason = STATUS[row["outcome"]]
            writer.writerow(
                [
                    f"SHOP-{100001 + i}",
                    local(row["placed_h"]),
                    status,
                    row["amount"],
                    row["payment_method"],
                    local(row["shipped_h"]),
                    local(row["closed_h"]) if status == "Cancelled" else "",
                    by,
                    asked,
                    reason,
                ]
            )
    print(f"{len(rows):,} orders written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
