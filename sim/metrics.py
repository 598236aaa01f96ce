"""The metric catalogue: every number cancelsim reports, with its unit and meaning.

The CLI, summary.json, runs.csv, the report and the regression tests all use these names.
Shares are of measured orders (placed after the warm-up) unless said otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    higher_is_better: bool | None  # None: neither direction is better in itself
    description: str
    # True when the policy's seller metric defines it: two policies' values compare only
    # if their metrics are defined the same way
    platform_defined: bool = False

    @property
    def label(self) -> str:
        """The metric's name for people (tables, figures, the report's glossary)."""
        return LABELS[self.name]

    @property
    def better(self) -> str:
        """Which direction is better, in words."""
        return {True: "higher", False: "lower", None: "neither"}[self.higher_is_better]


# Human names, each unique; the id stays beside them wherever a reader may look it up.
LABELS = {
    "orders": "Measured orders",
    "refund_issued_hours_p50": "Refund issued, median",
    "refund_issued_hours_p90": "Refund issued, 90th percentile",
    "refund_issued_hours_p99": "Refund issued, 99th percentile",
    "refund_issued_hours_mean": "Refund issued, mean",
    "money_back_hours_p50": "Money back, median",
    "money_back_hours_p90": "Money back, 90th percentile",
    "money_back_hours_p99": "Money back, 99th percentile",
    "money_back_hours_mean": "Money back, mean",
    "cancel_intent_share": "Buyers who wanted to cancel",
    "self_cancel_share": "Cancelled by the buyer alone",
    "instant_refund_share": "Instant refunds",
    "request_cancel_share": "Cancelled on request",
    "auto_approved_share": "Requests approved by the platform",
    "seller_cancel_share": "Cancelled by the seller",
    "auto_cancel_share": "Auto-cancelled, not shipped in time",
    "failed_cancel_share": "Cancel failed: shipped anyway",
    "open_share": "Still open at the end",
    "late_ship_share": "Shipped late",
    "seller_fault_cancel_share": "Unshipped through the seller side",
    "platform_metric_rate": "Platform's seller rate",
    "sellers_flagged_share": "Sellers flagged at least once",
    "seller_weeks_flagged_share": "Seller-weeks flagged",
    "sellers_over_threshold_share": "Sellers over the threshold some day",
    "seller_days_over_threshold_share": "Seller-days over the threshold",
    "compensation_paid": "Late-shipment compensation",
    "buyer_money_hours_held": "Buyers' money held",
}


CATALOGUE: tuple[Metric, ...] = (
    Metric("orders", "orders", None, "Measured orders (placed after the warm-up)."),
    Metric(
        "refund_issued_hours_p50",
        "h",
        False,
        "Median time from the start of a cancellation (the buyer's wish to cancel, or else "
        "the seller's or platform's cancel) to the platform issuing the refund or voiding "
        "the charge: the wait for a decision (the seller's, the platform's, or a returned "
        "parcel's arrival) and the platform's processing, before any payment rail.",
    ),
    Metric("refund_issued_hours_p90", "h", False, "90th percentile of refund_issued_hours."),
    Metric("refund_issued_hours_p99", "h", False, "99th percentile of refund_issued_hours."),
    Metric("refund_issued_hours_mean", "h", False, "Mean of refund_issued_hours."),
    Metric(
        "money_back_hours_p50",
        "h",
        False,
        "Median time from the start of a cancellation to the money being back with the "
        "buyer: the refund issued, then the payment rail's delay, or the bank's release "
        "of an uncharged card authorisation.",
    ),
    Metric("money_back_hours_p90", "h", False, "90th percentile of money_back_hours."),
    Metric("money_back_hours_p99", "h", False, "99th percentile of money_back_hours."),
    Metric("money_back_hours_mean", "h", False, "Mean of money_back_hours."),
    Metric(
        "cancel_intent_share",
        "share",
        None,
        "Orders whose buyer wanted to cancel (same in every policy under common random numbers).",
    ),
    Metric("self_cancel_share", "share", None, "Orders the buyer cancelled alone, at once."),
    Metric(
        "instant_refund_share",
        "share",
        None,
        "Orders refunded at once by the platform's instant refund for good-record buyers.",
    ),
    Metric(
        "request_cancel_share",
        "share",
        None,
        "Orders cancelled on the buyer's request: accepted by the seller or approved by "
        "the platform.",
    ),
    Metric(
        "auto_approved_share",
        "share",
        None,
        "Orders cancelled because the platform approved the buyer's request itself (after "
        "the seller's silence, or by rule), a part of request_cancel_share.",
    ),
    Metric(
        "seller_cancel_share",
        "share",
        False,
        "Orders the seller cancelled on its own (out of stock, pricing error, address).",
    ),
    Metric(
        "auto_cancel_share",
        "share",
        False,
        "Orders the platform cancelled because they were not shipped in time.",
    ),
    Metric(
        "failed_cancel_share",
        "share",
        False,
        "Orders whose buyer wanted to cancel but which shipped anyway (kept, intercepted, "
        "refused at delivery or returned).",
    ),
    Metric("open_share", "share", False, "Orders still open when the simulation ended."),
    Metric(
        "late_ship_share",
        "share",
        False,
        "Shipped orders handed to the carrier after their ship-by deadline.",
    ),
    Metric(
        "seller_fault_cancel_share",
        "share",
        False,
        "Orders that ended unshipped because of the seller side (the seller, or the "
        "platform's warehouse for the orders it fulfils), whatever the platform counts: "
        "cancelled for the seller's own cause (stock, price, address), cancelled by the "
        "platform for not shipping in time, or cancelled on the request of a buyer who "
        "asked only because the order never shipped. Defined the same way for every "
        "policy.",
    ),
    Metric(
        "platform_metric_rate",
        "share",
        False,
        "The policy's own seller cancellation (or refund) rate, as it defines it: counted "
        "orders over the orders of the sellers it judges (not those the platform fulfils), "
        "pooled over sellers and the measured period.",
        platform_defined=True,
    ),
    Metric(
        "sellers_flagged_share",
        "share",
        False,
        "Sellers the platform would flag at least once in the measured period, evaluated "
        "as the policy says (window, cadence, minimum counts, threshold), among the sellers "
        "it judges that had measured orders.",
        platform_defined=True,
    ),
    Metric(
        "seller_weeks_flagged_share",
        "share",
        False,
        "Measured weeks (7-day blocks from the first measured day) in which the seller "
        "stood flagged by the platform's latest evaluation at the end of the week, among "
        "seller-weeks whose evaluated window had orders.",
        platform_defined=True,
    ),
    Metric(
        "sellers_over_threshold_share",
        "share",
        False,
        "The raw reading: sellers whose rate over the policy's window was above its "
        "threshold on at least one measured day (every day's window, no minimum counts), "
        "among the sellers it judges that had measured orders. Counts small sellers with "
        "one unlucky cancel; sellers_flagged_share is the platform's reading.",
        platform_defined=True,
    ),
    Metric(
        "seller_days_over_threshold_share",
        "share",
        False,
        "The raw reading per day: seller-days over the threshold, among seller-days with "
        "orders in the window.",
        platform_defined=True,
    ),
    Metric(
        "compensation_paid",
        "currency/order",
        None,
        "Late-shipment compensation paid by sellers to buyers, per measured order, in the "
        "scenario's currency.",
    ),
    Metric(
        "buyer_money_hours_held",
        "currency*h/order",
        False,
        "Buyers' money held during cancellations: the sum of amount x money_back_hours "
        "over refunds, per measured order.",
    ),
)

BY_NAME = {m.name: m for m in CATALOGUE}


def _bounds(metric: Metric) -> tuple[float, float]:
    """What a metric's value cannot leave: shares lie in [0, 1], the rest is not negative."""
    if metric.unit == "share":
        return (0.0, 1.0)
    return (0.0, math.inf)


BOUNDS = {m.name: _bounds(m) for m in CATALOGUE}
NAMES = tuple(m.name for m in CATALOGUE)

# Names a metric had before, with the one it became (an expectation file may still use them).
CLOCKS = (
    "refund times have two clocks, refund_issued_hours_* (the platform) and "
    "money_back_hours_* (the buyer)"
)
RENAMED = {
    **{
        f"refund_hours_{s}": (f"money_back_hours_{s}", CLOCKS)
        for s in ("p50", "p90", "p99", "mean")
    },
    "seller_cancel_rate": (
        "platform_metric_rate",
        "each platform defines its own rate; seller_fault_cancel_share is the same everywhere",
    ),
}
PLATFORM_DEFINED = frozenset(m.name for m in CATALOGUE if m.platform_defined)
