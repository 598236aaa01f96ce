"""Will a scenario fit in this machine's memory? An estimate made before simulating.

A run keeps only its open orders and small aggregates (BENCHMARKS.md: flat from 10^5 to
10^7 orders), so what can grow is the number of orders open at once: about the peak
hourly rate times the few days an order takes to ship, plus the orders that never ship,
which stay open until they are cancelled. Measured: about 800 bytes per open order; the
estimate counts 1,000.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from sim.engine.arrivals import hourly_rates
from sim.model.scenario import Scenario

BYTES_PER_OPEN_ORDER = 1_000
BASE_BYTES = 150 * 2**20  # the Python process with numpy, scipy, simpy, pydantic
PIPELINE_HOURS = 72  # an order is usually shipped or cancelled within three days


@dataclass(frozen=True)
class Estimate:
    open_orders: int
    bytes_per_run: int

    def describe(self, jobs: int) -> str:
        gib = self.bytes_per_run * jobs / 2**30
        return (
            f"about {self.open_orders:,} orders open at once, about {gib:,.1f} GiB for "
            f"{jobs} run(s) at a time"
        )


def estimate(scenario: Scenario) -> Estimate:
    rates = hourly_rates(scenario)
    total = float(rates.sum())
    never = max((t.never_ships for t in scenario.sellers.types.values()), default=0.0)
    open_orders = math.ceil(float(rates.max(initial=0.0)) * PIPELINE_HOURS + total * never)
    days = math.ceil((scenario.horizon.amount + scenario.drain.amount) / 24) + 400
    arrays = scenario.sellers.count * days * 8 + 2 * scenario.sellers.count * days * 4
    return Estimate(open_orders, BASE_BYTES + open_orders * BYTES_PER_OPEN_ORDER + arrays)


def physical_memory() -> int | None:
    """The machine's memory, or the container's limit (cgroup v2) if that is lower."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not on Linux
        return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            memory = min(memory, int(limit))
    except OSError:
        pass
    return memory


def too_big(scenario: Scenario, jobs: int) -> str | None:
    """A message when the runs would need more than half of this machine's memory."""
    memory = physical_memory()
    need = estimate(scenario)
    if memory is None or need.bytes_per_run * jobs <= memory / 2:
        return None
    return (
        f"the scenario needs {need.describe(jobs)}, more than half of this machine's "
        f"{memory / 2**30:,.0f} GiB; shorten it, lower the rate, use fewer --jobs, or "
        "run anyway with --force"
    )
