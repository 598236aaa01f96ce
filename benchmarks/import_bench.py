"""Speed and memory of `cancelsim import` on a large generated order export.

    python benchmarks/import_bench.py                  # 5,000,000 orders (~330 MB CSV)
    python benchmarks/import_bench.py --orders 500000  # a quicker look
    python benchmarks/import_bench.py --other-formats 200000   # the other formats' readers

Writes a CSV export of ORDERS orders (a seller column, ISO times with offsets in three
zones, statuses, values, currencies, payment methods, and ship and cancel times where
they apply; seeded) into a temporary folder, then runs `cancelsim import --format csv` on
it in a subprocess, `--rounds` times, to Parquet. Reports per round the wall time of the
whole command (Python start-up included), orders per second, and the command's peak
resident memory (its max RSS). Targets (issue 12): at least 200,000 orders/s and a peak
under 1 GiB; the last lines say whether the median round meets them, and the exit status
is 1 if not. The imported log is checked to hold every order.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_RATE = 200_000
TARGET_MEMORY = 1 << 30
MAPPING = """\
columns:
  order_id: order_id
  seller_id: seller_id
  placed_at: placed_at
  status: status
  value: value
  currency: currency
  payment_method: payment_method
  shipped_at: shipped_at
  cancelled_at: cancelled_at
"""


def write_export(path: Path, orders: int, seed: int = 1) -> None:
    """A CSV export of `orders` orders, written a block at a time."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    block = 500_000
    zones = np.array(["+08:00", "Z", "-05:00"])
    start = np.datetime64("2025-01-06T00:00:00", "s")
    with pa.OSFile(str(path), "wb") as sink:
        writer = None
        for first in range(0, orders, block):
            n = min(block, orders - first)
            placed = start + rng.integers(0, 180 * 86_400, n).astype("timedelta64[s]")
            status = rng.choice(["shipped", "cancelled", "open"], n, p=[0.93, 0.05, 0.02])
            zone = rng.choice(zones, n)
            shipped = placed + rng.integers(3_600, 5 * 86_400, n).astype("timedelta64[s]")
            cancelled = placed + rng.integers(60, 86_400, n).astype("timedelta64[s]")
            table = pa.table(
                {
                    "order_id": [f"O{i:010d}" for i in range(first, first + n)],
                    "seller_id": np.char.add("S", rng.zipf(1.6, n).clip(max=50_000).astype(str)),
                    "placed_at": np.char.add(placed.astype(str), zone),
                    "status": status,
                    "value": np.round(rng.lognormal(3.4, 0.8, n), 2),
                    "currency": np.where(zone == "+08:00", "CNY", "USD"),
                    "payment_method": rng.choice(["card", "wallet", "cod"], n),
                    "shipped_at": np.where(
                        status == "shipped", np.char.add(shipped.astype(str), zone), ""
                    ),
                    "cancelled_at": np.where(
                        status == "cancelled", np.char.add(cancelled.astype(str), zone), ""
                    ),
                }
            )
            if writer is None:
                writer = pacsv.CSVWriter(sink, table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()


def import_once(export: Path, mapping: Path, out: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS in bytes) of one `cancelsim import` in a subprocess."""
    wrapper = (
        "import resource, sys; from sim.cli import main; "
        "code = 0\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code or 0\n"
        "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)"
    )
    command = [sys.executable, "-c", wrapper, "import", str(export), "--format", "csv"]
    command += ["--map-file", str(mapping), "--out", str(out), "--strict"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"cancelsim import failed ({done.returncode}):\n{done.stderr}")
    rss = next(
        int(line.split()[1]) * 1024
        for line in done.stderr.splitlines()
        if line.startswith("maxrss_kb")
    )
    return wall, rss


ROOT = Path(__file__).resolve().parent.parent
TAOBAO = [
    "订单编号",
    "买家实付金额",
    "订单状态",
    "订单创建时间",
    "订单付款时间",
    "店铺名称",
    "发货时间",
]


def other_formats(orders: int, folder: Path) -> None:
    """Orders/s of the amazon-all-orders and taobao-orders readers, in-process."""
    import functools
    import importlib

    from sim.orderlog.importer import ImportOptions, import_orders

    fixture = ROOT / "tests" / "fixtures" / "orders" / "amazon-all-orders" / "all-orders-small.txt"
    header = fixture.read_text(encoding="utf-8").splitlines()[0].split("\t")
    amazon, taobao = folder / "all-orders.txt", folder / "taobao.csv"
    with amazon.open("w", encoding="utf-8") as handle:
        handle.write("\t".join(header) + "\n")
        for i in range(orders):
            row = dict.fromkeys(header, "")
            row.update(
                {
                    "amazon-order-id": f"111-{i:07d}",
                    "purchase-date": f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:10:00+00:00",
                    "order-status": "Shipped",
                    "fulfillment-channel": "Merchant",
                    "currency": "GBP",
                    "item-price": "12.50",
                    "quantity": "1",
                }
            )
            handle.write("\t".join(row[h] for h in header) + "\n")
    with taobao.open("w", encoding="gb18030") as handle:
        handle.write(",".join(TAOBAO) + "\n")
        for i in range(orders):
            day = f"2026-03-{1 + i % 28:02d}"
            paid = f"{day} {i % 24:02d}:10:00"
            handle.write(f'="{i:012d}",10.00,交易成功,{paid},{paid},小店,{day} 23:00:00\n')
    for name, path in (("amazon-all-orders", amazon), ("taobao-orders", taobao)):
        module = importlib.import_module(f"sim.orderlog.formats.{name.replace('-', '_')}")
        reader = functools.partial(module.read, encoding=None, seller=None)
        started = time.perf_counter()
        summary = import_orders([path], reader, ImportOptions(), folder / "log.parquet")
        wall = time.perf_counter() - started
        if summary.written != orders:
            sys.exit(f"{name}: {summary.written:,} orders imported; expected {orders:,}")
        print(f"{name}: {orders:,} orders in {wall:.1f} s, {orders / wall:,.0f} orders/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--other-formats",
        type=int,
        metavar="N",
        help="instead: time the amazon-all-orders and taobao-orders readers on N orders",
    )
    args = parser.parse_args()
    if args.other_formats:
        with tempfile.TemporaryDirectory(prefix="cancelsim-import-bench-") as folder:
            other_formats(args.other_formats, Path(folder))
        return
    with tempfile.TemporaryDirectory(prefix="cancelsim-import-bench-") as folder:
        root = Path(folder)
        export, mapping, out = root / "export.csv", root / "mapping.yaml", root / "orders.parquet"
        mapping.write_text(MAPPING)
        started = time.perf_counter()
        write_export(export, args.orders)
        size = os.path.getsize(export)
        print(
            f"export: {args.orders:,} orders, {size / 1e6:,.0f} MB, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        rates, peaks = [], []
        for round_ in range(1, args.rounds + 1):
            wall, rss = import_once(export, mapping, out)
            rates.append(args.orders / wall)
            peaks.append(rss)
            print(
                f"round {round_}: {wall:.1f} s, {args.orders / wall:,.0f} orders/s, "
                f"peak RSS {rss / 2**20:,.0f} MiB"
            )
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(out).metadata.num_rows
        if rows != args.orders:
            sys.exit(f"the log holds {rows:,} orders; expected {args.orders:,}")
        rate, peak = statistics.median(rates), max(peaks)
        print(f"orders_per_second (median): {rate:,.0f}  target >= {TARGET_RATE:,}")
        print(f"peak_rss_mib (max): {peak / 2**20:,.0f}  target < {TARGET_MEMORY / 2**20:,.0f}")
        if rate < TARGET_RATE or peak >= TARGET_MEMORY:
            sys.exit(1)


if __name__ == "__main__":
    main()
