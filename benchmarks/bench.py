"""Speed and memory of cancelsim against the hand-written SimPy reference model.

    python benchmarks/bench.py --quick       # ~100,000 orders a round, 5 rounds
    python benchmarks/bench.py               # + scaling table and parallel efficiency
    python benchmarks/bench.py --quick --reference OTHER.py   # another reference script

The reference is benchmarks/reference_model.py unless --reference names another script
with the same command line (`--hours H --seed S`) and report lines.

Both models run in their own subprocess, alternately, on the same number of orders and
the same seeds, several rounds in one invocation. The reference's own "sim loop wall" is
its time; cancelsim's is the whole `simulate()` call (set-up, run, invariant checks,
metrics), after Python imports, as the reference's excludes them. Outcome shares of
both are compared, pooled over the rounds, and the benchmark fails (exit 1) if any
differs beyond sampling error, so that speed never comes from simulating less. The last
line is `speedup_vs_reference: X.XX`, the median over rounds
of cancelsim's orders per second divided by the reference's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_REFERENCE = HERE / "reference_model.py"
SHARES = ("shipped", "self_cancel", "request_cancel", "seller_cancel")
Z_LIMIT = 4.0  # |z| above this, for any share, is a real disagreement, not sampling error


def run_reference(script: Path, hours: float, seed: int) -> dict:
    """Run the reference script in a subprocess; parse its report and its peak memory."""
    wrapper = (
        "import resource, runpy, sys; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__'); "
        "print('peak_rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = _run(
        [sys.executable, "-c", wrapper, str(script), "--hours", str(hours), "--seed", str(seed)]
    )
    return {
        **parse_reference(out),
        "peak_rss_mb": int(_find(r"peak_rss_kb (\d+)", out)) / 1024,
    }


def parse_reference(out: str) -> dict:
    """Orders, loop time, events and outcome counts from a reference script's report."""
    number = r"([0-9.]+)"
    counts = {
        "shipped": _find(rf"share shipped\s*: {number}\s+\((\d+)\)", out, 2),
        "self_cancel": _find(rf"share cancelled_buyer_self\s*: {number}\s+\((\d+)\)", out, 2),
        "request_cancel": _find(rf"share cancelled_buyer_request\s*: {number}\s+\((\d+)\)", out, 2),
        "seller_cancel": _find(rf"share cancelled_seller_oos\s*: {number}\s+\((\d+)\)", out, 2),
    }
    return {
        "orders": int(_find(r"orders\s*: (\d+)", out)),
        "seconds": float(_find(r"sim loop wall \(s\)\s*: ([0-9.]+)", out)),
        "events": int(_find(r"simpy events processed : (\d+)", out)),
        "counts": {k: int(v) for k, v in counts.items()},
    }


def run_cancelsim(hours: float, seed: int) -> dict:
    """Run cancelsim on benchmarks/reference.yaml in a subprocess (see `worker`)."""
    out = _run(
        [
            sys.executable,
            str(Path(__file__)),
            "--worker",
            "--hours",
            str(hours),
            "--seed",
            str(seed),
        ]
    )
    return json.loads(out.strip().splitlines()[-1])


def worker(hours: float, seed: int) -> None:
    """In the subprocess: one `simulate()` call, timed; prints a JSON line."""
    import resource

    import scipy.special  # noqa: F401  (imported lazily by the engine: not simulation time)

    from sim.engine import RunSpec, simulate
    from sim.model.load import Override, load_study

    study = load_study(HERE / "reference.yaml", [Override.parse(f"horizon={hours}h")])
    key = next(iter(study.policies))
    spec = RunSpec(key, study.policies[key], study.scenario, 0, seed)
    started = time.perf_counter()
    result = simulate(spec)
    seconds = time.perf_counter() - started
    c = result.outcome_counts
    counts = {
        "shipped": c["shipped"] + c["kept_after_failed_cancel"],
        "self_cancel": c["self_cancelled"],
        "request_cancel": c["request_cancelled"],
        "seller_cancel": c["seller_cancelled"],
    }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "orders": sum(c.values()),
                "seconds": seconds,
                "counts": counts,
                "peak_rss_mb": peak,
                "events": result.events,
            }
        )
    )


def compare_shares(
    ref: dict[str, int], ours: dict[str, int], n_ref: int, n_ours: int
) -> tuple[list[str], bool]:
    """Side-by-side shares and a two-proportion z statistic for each."""
    lines, agree = [], True
    lines.append(f"{'outcome share':<16}{'reference':>12}{'cancelsim':>12}{'z':>8}")
    for name in SHARES:
        a, b = ref[name] / n_ref, ours[name] / n_ours
        pooled = (ref[name] + ours[name]) / (n_ref + n_ours)
        se = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n_ref + 1 / n_ours))
        z = (b - a) / se
        agree &= abs(z) <= Z_LIMIT
        lines.append(f"{name:<16}{a:>12.5f}{b:>12.5f}{z:>8.2f}")
    return lines, agree


def speed_rounds(script: Path, orders: int, rounds: int) -> tuple[float, bool]:
    hours = orders / 1000.0  # the reference's arrival rate is 1000 orders an hour
    ratios, refs, ours = [], [], []
    print(f"{rounds} rounds of about {orders:,} orders each, alternating the two models")
    print(f"{'round':>5} {'reference orders/s':>19} {'cancelsim orders/s':>19} {'ratio':>7}")
    for r in range(rounds):
        ref = run_reference(script, hours, seed=r + 1)
        cs = run_cancelsim(hours, seed=r + 1)
        ref_speed, cs_speed = ref["orders"] / ref["seconds"], cs["orders"] / cs["seconds"]
        ratios.append(cs_speed / ref_speed)
        refs.append(ref)
        ours.append(cs)
        print(f"{r + 1:>5} {ref_speed:>19,.0f} {cs_speed:>19,.0f} {ratios[-1]:>7.2f}")
    median = statistics.median(ratios)
    print(f"median ratio: {median:.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")
    print(
        f"peak memory (MB): reference {max(x['peak_rss_mb'] for x in refs):.0f}, "
        f"cancelsim {max(x['peak_rss_mb'] for x in ours):.0f}"
    )

    def per_order(runs: list[dict]) -> float:
        return sum(x["events"] for x in runs) / sum(x["orders"] for x in runs)

    print(
        f"events per order: reference {per_order(refs):.2f} (processed), "
        f"cancelsim {per_order(ours):.2f} (scheduled)"
    )
    pooled_ref = {k: sum(x["counts"][k] for x in refs) for k in SHARES}
    pooled_ours = {k: sum(x["counts"][k] for x in ours) for k in SHARES}
    lines, agree = compare_shares(
        pooled_ref, pooled_ours, sum(x["orders"] for x in refs), sum(x["orders"] for x in ours)
    )
    print("\n".join(lines))
    print(
        "outcome shares agree within sampling error"
        if agree
        else f"OUTCOME SHARES DISAGREE (|z| > {Z_LIMIT:g})"
    )
    return median, agree


def scaling_table(script: Path) -> bool:
    """Time and peak memory from 10^4 to 10^7 orders; memory must stay flat."""
    print("\nscaling (one run each; reference up to 10^6 orders)")
    print(
        f"{'orders':>10} {'cancelsim s':>12} {'cancelsim MB':>13} {'reference s':>12} "
        f"{'reference MB':>13}"
    )
    peaks = {}
    for exponent in (4, 5, 6, 7):
        orders = 10**exponent
        cs = run_cancelsim(orders / 1000.0, seed=1)
        peaks[exponent] = cs["peak_rss_mb"]
        ref_s, ref_mb = "-", "-"
        if exponent <= 6:
            ref = run_reference(script, orders / 1000.0, seed=1)
            ref_s, ref_mb = f"{ref['seconds']:.2f}", f"{ref['peak_rss_mb']:.0f}"
        print(
            f"{cs['orders']:>10,} {cs['seconds']:>12.2f} {cs['peak_rss_mb']:>13.0f} "
            f"{ref_s:>12} {ref_mb:>13}"
        )
    ratio = peaks[7] / peaks[6]
    flat = ratio <= 2.0
    print(
        f"peak memory at 10^7 / at 10^6 orders: {ratio:.2f} "
        f"({'flat' if flat else 'NOT FLAT'}; target <= 2)"
    )
    return flat


def parallel_efficiency(runs: int = 20, workers: int = 2, orders: int = 100_000) -> float:
    """Wall time of a `runs`-run experiment on 1 process and on `workers` processes."""
    from concurrent.futures import ProcessPoolExecutor

    from sim.engine import RunSpec, simulate
    from sim.model.load import Override, load_study

    study = load_study(HERE / "reference.yaml", [Override.parse(f"horizon={orders / 1000}h")])
    key = next(iter(study.policies))
    specs = [RunSpec(key, study.policies[key], study.scenario, r, 1) for r in range(runs)]
    started = time.perf_counter()
    serial = [simulate(s).metrics for s in specs]
    one = time.perf_counter() - started
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        parallel = [r.metrics for r in pool.map(simulate, specs)]
    many = time.perf_counter() - started
    # compared as JSON text, where NaN (a metric undefined in the run) equals NaN
    assert json.dumps(serial) == json.dumps(parallel), (
        "results differ between serial and parallel runs"
    )
    efficiency = one / (workers * many)
    print(
        f"\nparallel: {runs} runs of about {orders:,} orders: {one:.1f} s on 1 process, "
        f"{many:.1f} s on {workers}: efficiency {efficiency:.0%} (target >= 80%); "
        "identical results"
    )
    return efficiency


def _run(command: list[str]) -> str:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        sys.exit(f"benchmark subprocess failed: {' '.join(command)}\n{done.stderr}")
    return done.stdout


def _find(pattern: str, text: str, group: int = 1) -> str:
    match = re.search(pattern, text)
    if not match:
        sys.exit(f"benchmark: could not find {pattern!r} in:\n{text}")
    return match.group(group)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="speed rounds only")
    parser.add_argument(
        "--reference",
        type=Path,
        default=DEFAULT_REFERENCE,
        help="the reference model's script [default: %(default)s]",
    )
    parser.add_argument("--orders", type=int, default=100_000, help="orders per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hours", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.hours, args.seed)
        return
    if not args.reference.is_file():
        sys.exit(f"benchmark: reference script not found: {args.reference}")
    import platform

    import numpy
    import simpy

    print(
        f"python {platform.python_version()}, simpy {simpy.__version__}, numpy "
        f"{numpy.__version__}, {os.cpu_count()} cores, {platform.machine()}"
    )
    median, agree = speed_rounds(args.reference, args.orders, args.rounds)
    ok = agree
    if not args.quick:
        ok &= scaling_table(args.reference)
        ok &= parallel_efficiency() >= 0.8
    print(f"speedup_vs_reference: {median:.2f}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
