"""Cancels seen in a log: the seller's own, by reason; the platform's; the buyers'.

Shares are of all orders (of a seller kind, or of the log), with Wilson intervals. A
seller's own cancel is one it made without the buyer asking (a cancel the seller made
on the buyer's request is the buyer's wish). Reasons are read into the simulator's
causes by their name or a keyword; a reason the log does not give, or one no keyword
matches, is spread over the causes in the proportions of the named ones (or, with none
named, of the base scenario's). A platform cancel without a request is an order that
was never shipped in time.

Buyers' cancels (by the buyer, or on the buyer's request) are only the wishes that were
acted on: wishes after shipment, refused requests and wishes given up are never in a
log, so their share is a lower bound on `buyers.cancel_intent`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.calibrate.estimate import Estimate, share
from sim.model.policy import Cause

UNSTATED = "unstated"  # no reason given
OTHER = "other"  # a reason no keyword matches
KEYWORDS: dict[str, tuple[str, ...]] = {
    Cause.OUT_OF_STOCK.value: ("stock", "inventory", "sold out", "oos", "缺货", "无货"),
    Cause.PRICING_ERROR.value: ("price", "pricing", "价格"),
    Cause.UNDELIVERABLE_ADDRESS.value: ("address", "undeliverable", "地址"),
}
SELLER_CAUSES = tuple(KEYWORDS)


@dataclass(frozen=True)
class CancelFit:
    """Cancel shares of a set of orders."""

    orders: int
    seller: dict[str, Estimate]  # the seller's own cancels by cause, UNSTATED and OTHER
    seller_total: Estimate
    platform: Estimate  # platform cancels nobody asked for (orders never shipped)
    buyer: Estimate  # cancels by or for the buyer: a lower bound on cancel intent

    def causes(self, base: dict[str, float]) -> dict[str, float]:
        """Shares per simulator cause, the unattributed share spread as the module says."""
        named = {c: self.seller[c].value if c in self.seller else 0.0 for c in SELLER_CAUSES}
        loose = sum(self.seller[c].value for c in (UNSTATED, OTHER) if c in self.seller)
        weights = named if sum(named.values()) > 0 else {c: base.get(c, 0.0) for c in named}
        total = sum(weights.values())
        if total <= 0:
            weights, total = {Cause.OUT_OF_STOCK.value: 1.0}, 1.0
        out = {c: named.get(c, 0.0) + loose * w / total for c, w in weights.items()}
        return {c: v for c, v in out.items() if v > 0}


def cause_of(reason: str) -> str:
    """The simulator's cause a reason text stands for; UNSTATED or OTHER if none."""
    text = reason.strip().lower()
    if not text:
        return UNSTATED
    key = text.replace(" ", "_").replace("-", "_")
    if key in KEYWORDS:
        return key
    for cause, words in KEYWORDS.items():
        if any(word in text for word in words):
            return cause
    return OTHER


def fit_cancels(
    status: np.ndarray, cancelled_by: np.ndarray, requested: np.ndarray, reason: np.ndarray
) -> CancelFit:
    """Cancel shares of these orders (arrays from `LogTable`, one entry per order)."""
    n = len(status)
    cancelled = status == "cancelled"
    own = cancelled & (cancelled_by == "seller") & ~requested
    causes = np.array([cause_of(r) for r in reason[own]], dtype=object)
    seller = {
        c: share(int((causes == c).sum()), n)
        for c in (*SELLER_CAUSES, UNSTATED, OTHER)
        if (causes == c).any()
    }
    platform = cancelled & (cancelled_by == "platform") & ~requested
    buyer = cancelled & ((cancelled_by == "buyer") | requested)
    return CancelFit(
        orders=n,
        seller=seller,
        seller_total=share(int(own.sum()), n),
        platform=share(int(platform.sum()), n),
        buyer=share(int(buyer.sum()), n),
    )
