"""Common random numbers: every random quantity of order i, drawn before any policy acts.

One root seed per experiment; replication r owns `SeedSequence(seed, spawn_key=(r,))`,
spawned into named streams in a fixed order. Each stream is drawn in blocks of
`BLOCK` orders, always the same columns, so that every policy played in replication r
sees the same orders, buyers and sellers, position for position. Policies turn the
uniforms into values with their own distributions (inverse CDF) and never advance a
stream conditionally.

One more child, spawned after the named streams so that none of their numbers moves,
draws one uniform per seller once per replication: the sellers' sizes (`seller_sizes`).
"""

from __future__ import annotations

import numpy as np

BLOCK = 4096

STREAMS: dict[str, tuple[str, ...]] = {
    "arrivals": ("gap",),
    "orders": ("seller", "value", "payment", "good_record"),
    "buyers": ("intent", "intent_delay", "pursue", "transit", "return_transit"),
    "sellers": ("pack", "cancel", "response", "answer"),
    "rails": ("processing", "rail", "release", "intercept", "after_refund"),
    "messages": ("by_message",),  # last, so that adding it moved no earlier stream
}
"""Stream name -> the uniform columns it yields for each order, in drawing order."""


class RandomStreams:
    """The named streams of one replication."""

    def __init__(self, seed: int, replication: int):
        root = np.random.SeedSequence(seed, spawn_key=(replication,))
        # spawn keys (r, 0) .. (r, 5) are the named streams; (r, 6), after them, the sellers
        *children, self._sellers = root.spawn(len(STREAMS) + 1)
        self._generators = {
            name: np.random.Generator(np.random.PCG64(child))
            for name, child in zip(STREAMS, children, strict=True)
        }

    def seller_sizes(self, count: int) -> np.ndarray:
        """One uniform per seller, seller i's at index i: the same on every call, so every
        policy of the replication sees the same sellers; the order streams do not move."""
        return np.random.Generator(np.random.PCG64(self._sellers)).random(count)

    def block(self) -> dict[str, np.ndarray]:
        """The next `BLOCK` orders' uniforms, one array per column."""
        columns: dict[str, np.ndarray] = {}
        for name, names in STREAMS.items():
            draws = self._generators[name].random((len(names), BLOCK))
            columns.update(zip(names, draws, strict=True))
        columns["gap"] = -np.log1p(-columns["gap"])  # unit-rate exponential gaps
        return columns
