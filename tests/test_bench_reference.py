"""The speed benchmark's own reference model (benchmarks/reference_model.py).

Behaviour only, never time: the report is one benchmarks/bench.py can read, every order
ends in one of the four states, and on the same small world (benchmarks/reference.yaml,
a 5-hour arrival horizon) it places as many orders as cancelsim and ends them the same
way, within sampling error.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
HOURS = 5.0  # about 5,000 orders: under a second for each model
SEED = 1
# Both order counts are Poisson(1,000 x HOURS) draws from unrelated random streams: their
# difference has a standard deviation of about sqrt(n_ref + n_cs). Four of those (about
# 8% of 5,000 orders) is far outside sampling error, and well within a model that placed
# orders at another rate or stopped early. The same |z| limit as the benchmark's applies
# to the outcome shares.
SDS = 4.0


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _load("bench")


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    return _load("reference_model")


def _reference_report(reference: ModuleType, monkeypatch, capsys, hours: float) -> str:
    monkeypatch.setattr(sys, "argv", ["reference_model.py", "--hours", str(hours), "--seed", "1"])
    reference.main()
    return capsys.readouterr().out


def test_the_default_reference_is_in_the_repository(bench):
    assert bench.DEFAULT_REFERENCE == BENCHMARKS / "reference_model.py"
    assert bench.DEFAULT_REFERENCE.is_file()
    source = bench.DEFAULT_REFERENCE.read_text()
    assert not re.search(r"^\s*(from|import) sim\b", source, re.MULTILINE)  # no cancelsim


def test_the_report_is_well_formed(bench, reference, monkeypatch, capsys):
    out = _reference_report(reference, monkeypatch, capsys, HOURS)
    parsed = bench.parse_reference(out)
    assert parsed["orders"] > 0
    assert sum(parsed["counts"].values()) == parsed["orders"]  # every order ended
    assert all(count > 0 for count in parsed["counts"].values())
    assert "open (non-terminal)    : 0\n" in out
    # an arrival, a station request, packing and the pickup at least, per order
    assert parsed["events"] >= 4 * parsed["orders"]
    shares = [float(x) for x in _shares(out)]
    assert math.isclose(sum(shares), 1.0, abs_tol=5e-5)  # four shares printed to 5 places


def _shares(out: str) -> list[str]:
    return [line.split(":")[1].split()[0] for line in out.splitlines() if line.startswith("share ")]


def test_the_same_seed_gives_the_same_report(reference):
    def summary() -> list[str]:
        market, _ = reference.run(1.0, SEED)
        lines = reference.report(market, 1.0, 1.0, SEED)
        return [line for line in lines if "wall" not in line]

    assert summary() == summary()


def test_order_count_and_outcomes_agree_with_cancelsim(bench, reference, capsys):
    market, _ = reference.run(HOURS, SEED)
    n_ref = len(market.orders)
    ref_counts = {
        "shipped": 0,
        "self_cancel": 0,
        "request_cancel": 0,
        "seller_cancel": 0,
    }
    names = {
        reference.SHIPPED: "shipped",
        reference.BUYER_SELF: "self_cancel",
        reference.BUYER_REQUEST: "request_cancel",
        reference.SELLER_OOS: "seller_cancel",
    }
    for order in market.orders:
        ref_counts[names[order.state]] += 1  # KeyError for an order left open

    bench.worker(HOURS, SEED)  # cancelsim on benchmarks/reference.yaml, as bench.py runs it
    ours = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    n_cs = ours["orders"]

    tolerance = SDS * math.sqrt(n_ref + n_cs)
    assert abs(n_ref - n_cs) <= tolerance, (n_ref, n_cs, tolerance)
    expected = reference.ARRIVAL_RATE * HOURS
    for n in (n_ref, n_cs):
        assert abs(n - expected) <= SDS * math.sqrt(expected), (n, expected)
    assert sum(ours["counts"].values()) == n_cs

    lines, agree = bench.compare_shares(ref_counts, ours["counts"], n_ref, n_cs)
    assert agree, "\n".join(lines)


@pytest.mark.external
def test_bench_reads_the_reference_script_in_a_subprocess(bench):
    ref = bench.run_reference(bench.DEFAULT_REFERENCE, 1.0, SEED)
    assert ref["orders"] > 0
    assert sum(ref["counts"].values()) == ref["orders"]
    assert ref["events"] >= 4 * ref["orders"]
    assert ref["peak_rss_mb"] > 0
