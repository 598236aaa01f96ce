"""Rules in words, for the report's rules table: durations, distributions, stages."""

from __future__ import annotations

from typing import Any

from sim.model.units import Duration

UNTIL = {
    "released": "before the platform releases the order",
    "packing": "before packing starts",
    "packed": "before the order is packed",
    "shipped": "before the order ships",
}


def until(stage: Any) -> str:
    """`before packing starts` for the stage `packing`."""
    return UNTIL[str(stage)]


def duration(value: Duration | None) -> str:
    return "none" if value is None else str(value)


def dist(d: Any) -> str:
    """A distribution of durations as a reader would say it: `3 to 5 business days`."""
    unit = " business days" if d.business_days else ""

    def v(x: Any) -> str:
        return f"{x.amount:g}" if unit else str(x)

    kind = d.dist
    if kind == "fixed":
        return "at once" if d.value.amount == 0 else f"{v(d.value)}{unit}"
    if kind == "uniform":
        return f"{v(d.low)} to {v(d.high)}{unit}"
    if kind in ("exponential", "gamma"):
        return f"mean {v(d.mean_)}{unit}"
    if kind == "lognormal":
        return f"median {v(d.median)}{unit}"
    return f"one of {len(d.values)} values{unit}"
