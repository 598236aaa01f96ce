"""Replaying an order log: the log's orders, under every policy, with drawn behaviour."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sim import api
from sim.engine.replay import replay_orders
from sim.errors import InputError
from sim.orderlog.schema import NAMES

ROOT = Path(__file__).resolve().parent.parent
START = "2026-03-02T00:00:00+08:00"  # quick.yaml's start: 2026-03-01T16:00Z


def write_log(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=NAMES)
        writer.writeheader()
        for row in rows:
            writer.writerow({"utc_offset_min": 480, "status": "shipped", **row})
    return path


def scenario_text(orders: str, count: int) -> str:
    """quick.yaml (with the scenario it extends merged in) as one file, with its policies
    found from anywhere, another orders section and count."""
    import yaml

    from sim.model.load import read_scenario

    data = read_scenario(ROOT / "sim" / "builtin" / "scenarios" / "quick.yaml").data
    data.pop("extends", None)
    for run in data["policies"]:
        run["file"] = str((ROOT / "sim" / "builtin" / "scenarios" / run["file"]).resolve())
    data["orders"] = yaml.safe_load(orders)["orders"]
    assert data["sellers"]["count"] == 40
    data["sellers"]["count"] = count
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def orders_log(n: int = 300, sellers: int = 3) -> list[dict[str, object]]:
    # one order every 30 minutes from the start, sellers in turn, CNY values
    return [
        {
            "order_id": f"o{i}",
            "seller_id": f"shop-{(i * 7) % sellers}",
            "placed_at": f"2026-03-{1 + (16 + i // 2) // 24:02d}T{(16 + i // 2) % 24:02d}:"
            f"{30 * (i % 2):02d}:00.000Z",
            "value": 10 + i,
            "currency": "CNY",
            "payment_method": ("credit_card", "alipay_balance", "cash")[i % 3],
        }
        for i in range(n)
    ]


@pytest.fixture
def replay_study(tmp_path: Path):
    write_log(tmp_path / "orders.csv", orders_log())
    path = tmp_path / "replay.yaml"
    path.write_text(scenario_text("orders:\n  replay: orders.csv\n", 3))
    return api.load(path)


def test_the_log_s_orders_are_played_at_their_times_sellers_and_values(replay_study) -> None:
    replay = replay_orders(replay_study.scenario)
    assert len(replay.times) == 300
    assert replay.times[:3].tolist() == [0.0, 0.5, 1.0]  # hours after the start
    assert replay.seller_ids == ("shop-0", "shop-1", "shop-2")  # by first order
    assert replay.seller[:4].tolist() == [0, 1, 2, 0]  # shop-0, shop-7%3=1, 14%3=2, 21%3=0
    assert replay.cents[:2].tolist() == [140, 154]  # 10 and 11 CNY at 0.14 USD


def test_every_policy_plays_exactly_the_log_s_orders(replay_study, tmp_path: Path) -> None:
    results = api.run(replay_study, replications=2, trace_dir=tmp_path / "trace")
    for run in results.runs:  # measured: after the day of warm-up (48 orders)
        assert sum(run.outcome_counts.values()) == 300 - 48, run.policy
    for policy in ("amazon", "taobao", "jd"):
        for r in (0, 1):
            with (tmp_path / "trace" / f"{policy}-r{r}.csv").open() as handle:
                rows = sorted(csv.DictReader(handle), key=lambda row: float(row["placed_h"]))
            assert len(rows) == 300
            assert [float(row["placed_h"]) for row in rows[:3]] == [0.0, 0.5, 1.0]
            assert [float(row["amount"]) for row in rows[:2]] == [1.4, 1.54]
            paid = {row["payment_method"] for row in rows[::3]}  # the log's credit_card
            if policy == "amazon":
                assert paid == {"credit_card"}  # a method Amazon's rails know: as logged
            if policy == "taobao":  # ... and Taobao's, for alipay_balance
                assert {row["payment_method"] for row in rows[1::3]} == {"alipay_balance"}


def test_replications_draw_behaviour_anew_on_the_same_orders(replay_study) -> None:
    results = api.run(replay_study, replications=2)
    amazon = [run for run in results.runs if run.policy == "amazon"]
    assert amazon[0].outcome_counts != amazon[1].outcome_counts
    assert sum(amazon[0].outcome_counts.values()) == sum(amazon[1].outcome_counts.values())


def test_orders_outside_the_horizon_are_left_out(tmp_path: Path) -> None:
    rows = orders_log(10)
    rows[0]["placed_at"] = "2026-03-01T15:59:59.000Z"  # a second before the start
    rows[1]["placed_at"] = "2026-03-09T16:00:00.000Z"  # the end of the 8-day horizon
    write_log(tmp_path / "orders.csv", rows)
    (tmp_path / "s.yaml").write_text(scenario_text("orders:\n  replay: orders.csv\n", 3))
    replay = replay_orders(api.load(tmp_path / "s.yaml").scenario)
    assert (len(replay.times), replay.before, replay.after) == (8, 1, 1)


@pytest.mark.parametrize(
    ("orders", "count", "rows", "message"),
    [
        ("  replay: missing.csv\n", 3, None, "missing.csv: file not found"),
        (
            "  replay: orders.csv\n",
            40,
            orders_log(),
            "sellers.count: is 40, but the replayed orders come from 3 sellers; set count: 3",
        ),
        (
            "  replay: orders.csv\n  rate_per_hour: 5\n",
            3,
            orders_log(),
            "rate_per_hour would not be used; remove it",
        ),
        ("  promotions: []\n", 3, None, "needs rate_per_hour and value (or replay"),
        (
            "  replay: orders.csv\n",
            3,
            [{**r, "currency": "EUR"} for r in orders_log()],
            "has orders in EUR; the scenario's exchange_rates has no rate from EUR to USD",
        ),
        (
            "  replay: orders.csv\n",
            3,
            [{**r, "value": ""} for r in orders_log()],
            "300 replayed orders have no value in the log; give orders.value",
        ),
        (
            "  replay: orders.csv\n",
            3,
            [{**r, "placed_at": "2027-01-01T00:00:00Z"} for r in orders_log()],
            "no order of the log is placed within the horizon (0 before the start, 300 after",
        ),
    ],
)
def test_bad_replays_are_one_line_errors_at_their_key(
    tmp_path: Path, orders: str, count: int, rows, message: str
) -> None:
    if rows is not None:
        write_log(tmp_path / "orders.csv", rows)
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text("orders:\n" + orders, count))
    with pytest.raises(InputError) as error:
        api.load(path)
    lines = str(error.value).splitlines()
    assert any(message in line for line in lines), lines
    assert all(line.startswith(f"{path}:") for line in lines)


def test_a_missing_value_is_drawn_when_the_scenario_gives_a_value(tmp_path: Path) -> None:
    rows = [{**r, "value": "" if i % 2 else r["value"]} for i, r in enumerate(orders_log())]
    write_log(tmp_path / "orders.csv", rows)
    path = tmp_path / "s.yaml"
    orders = "orders:\n  replay: orders.csv\n  value: {dist: fixed, value: 99}\n"
    path.write_text(scenario_text(orders, 3))
    results = api.run(api.load(path), replications=1, trace_dir=tmp_path / "t")
    with (tmp_path / "t" / "amazon-r0.csv").open() as handle:
        amounts = sorted(float(row["amount"]) for row in csv.DictReader(handle))
    assert amounts.count(99.0) == 150 and amounts[0] == 1.4
    assert results.runs


def test_sellers_get_types_by_who_fulfilled_their_orders_not_by_their_size(
    tmp_path: Path,
) -> None:
    # 40 sellers, the first 4 (also the biggest) fulfilled by the platform
    rows = []
    for seller in range(40):
        for k in range(40 - seller):
            rows.append(
                {
                    "order_id": f"o{seller}-{k}",
                    "seller_id": f"s{seller}",
                    "placed_at": f"2026-03-0{2 + k % 5}T0{k % 10}:00:00.000Z",
                    "value": 5,
                    "currency": "USD",
                    "fulfilment": "platform" if seller < 4 else "seller",
                }
            )
    write_log(tmp_path / "orders.csv", rows)
    (tmp_path / "s.yaml").write_text(scenario_text("orders:\n  replay: orders.csv\n", 40))
    from sim.engine.replay import seller_types

    scenario = api.load(tmp_path / "s.yaml").scenario
    replay = replay_orders(scenario)
    kinds = list(scenario.sellers.types.values())
    types = seller_types(scenario.sellers, replay)
    platform = [replay.seller_ids[i] for i in range(40) if kinds[types[i]].fulfilment == "platform"]
    assert sorted(platform) == ["s0", "s1", "s2", "s3"]
    # the biggest seller-fulfilled sellers do not all land in the first type
    first_ten = {int(types[replay.seller_ids.index(f"s{i}")]) for i in range(4, 14)}
    assert len(first_ten) > 1


def test_payment_methods_match_a_policy_s_by_name_whatever_the_case(tmp_path: Path) -> None:
    from sim.engine.replay import matched_methods

    rows = [
        {**r, "payment_method": m}
        for r, m in zip(orders_log(3), ("CREDIT_CARD", "Other", ""), strict=True)
    ]
    write_log(tmp_path / "orders.csv", rows)
    (tmp_path / "s.yaml").write_text(scenario_text("orders:\n  replay: orders.csv\n", 3))
    replay = replay_orders(api.load(tmp_path / "s.yaml").scenario)
    methods = ("credit_card", "debit_card")
    assert matched_methods(replay, methods).tolist() == [0, -1, -1]


def test_a_platform_that_sells_every_order_replays_without_a_warehouse_type(
    tmp_path: Path,
) -> None:
    write_log(tmp_path / "orders.csv", orders_log())
    text = scenario_text("orders:\n  replay: orders.csv\n", 3)
    text = text.replace("fulfilment: platform", "fulfilment: seller")
    (tmp_path / "s.yaml").write_text(text)
    results = api.run(api.load(tmp_path / "s.yaml"), replications=1)
    jd = next(run for run in results.runs if run.policy == "jd")
    assert sum(jd.outcome_counts.values()) == 300 - 48


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"value": -5}, "300 orders have a negative value"),
        ({"value": 1e300}, "300 orders have a value above 1,000,000,000,000"),
        ({"placed_at": ""}, "300 orders have no placed_at"),
        ({"currency": ""}, "300 orders have a value but no currency"),
    ],
)
def test_a_log_written_by_hand_is_checked_as_import_would(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    write_log(tmp_path / "orders.csv", [{**r, **change} for r in orders_log()])
    (tmp_path / "s.yaml").write_text(scenario_text("orders:\n  replay: orders.csv\n", 3))
    with pytest.raises(InputError) as error:
        api.load(tmp_path / "s.yaml")
    assert message in str(error.value)


def fake_replay(times: list[float], platform: list[bool] | None = None, sellers: int = 0):
    import numpy as np

    from sim.engine.replay import ReplayOrders

    count = sellers or len(platform or [])
    return ReplayOrders(
        times=np.asarray(times, dtype=float),
        seller=np.zeros(len(times), dtype=np.int64),
        seller_ids=tuple(f"s{i}" for i in range(count)),
        platform=np.asarray(platform if platform is not None else [False] * count),
        cents=np.ones(len(times), dtype=np.int64),
        payment=np.array([None] * len(times), dtype=object),
        before=0,
        after=0,
    )


def test_the_replay_clock_hands_out_the_log_a_block_at_a_time() -> None:
    import numpy as np

    from sim.engine.replay import ReplayClock

    clock = ReplayClock(fake_replay([0.5, 1.0, 2.0, 4.0, 8.0]))
    assert clock.times(np.zeros(2)).tolist() == [0.5, 1.0] and clock.last == slice(0, 2)
    assert clock.times(np.zeros(2)).tolist() == [2.0, 4.0] and clock.last == slice(2, 4)
    assert clock.times(np.zeros(2)).tolist() == [8.0] and clock.last == slice(4, 5)
    assert clock.times(np.zeros(2)).tolist() == [] and clock.last == slice(5, 5)


def test_replayed_hourly_rates_are_the_log_s_counts(replay_study) -> None:
    from sim.engine.arrivals import hourly_rates

    rates = hourly_rates(replay_study.scenario)
    assert len(rates) == 8 * 24  # the horizon's hours
    assert rates[:3].tolist() == [2.0, 2.0, 2.0]  # an order every half hour
    assert rates.sum() == 300 and rates[150:].sum() == 0


def test_seller_types_follow_the_shares_within_each_fulfilment(quick_study) -> None:
    from sim.engine.replay import seller_types

    sellers = quick_study.scenario.sellers  # five types, one of them platform-fulfilled
    kinds = list(sellers.types.values())
    platform_type = next(i for i, k in enumerate(kinds) if k.fulfilment == "platform")
    # 90 seller-fulfilled sellers and 10 platform-fulfilled ones
    types = seller_types(sellers, fake_replay([], platform=[False] * 90 + [True] * 10))
    assert (types[90:] == platform_type).all()
    others = [i for i, k in enumerate(kinds) if k.fulfilment == "seller"]
    share = sum(kinds[i].share for i in others)
    for i in others:  # the shares renormalised among the seller-fulfilled types
        assert (types[:90] == i).sum() == pytest.approx(90 * kinds[i].share / share, abs=1)
    # no platform-fulfilled seller: still every seller-fulfilled type gets its share
    only = seller_types(sellers, fake_replay([], platform=[False] * 90))
    assert sorted(set(only.tolist())) == others
    # platform-fulfilled sellers but no platform type: they take any type, by the shares
    seller_only = sellers.model_copy(
        update={
            "types": {
                name: kind.model_copy(update={"fulfilment": "seller"})
                for name, kind in sellers.types.items()
            }
        }
    )
    spread = seller_types(seller_only, fake_replay([], platform=[True] * 100))
    for i, kind in enumerate(kinds):
        assert (spread == i).sum() == pytest.approx(100 * kind.share, abs=1)


def test_a_changed_log_is_read_again(tmp_path: Path) -> None:
    import os

    log = write_log(tmp_path / "orders.csv", orders_log())
    (tmp_path / "s.yaml").write_text(scenario_text("orders:\n  replay: orders.csv\n", 3))
    study = api.load(tmp_path / "s.yaml")
    assert replay_orders(study.scenario).cents[0] == 140
    stamp = log.stat().st_mtime_ns
    # the same size, another value (10 -> 20 CNY), a later modification time
    write_log(
        log, [{**r, "value": 20 if i == 0 else r["value"]} for i, r in enumerate(orders_log())]
    )
    os.utime(log, ns=(stamp + 10**9, stamp + 10**9))
    assert replay_orders(study.scenario).cents[0] == 280
    # another size, the same modification time
    write_log(
        log, [{**r, "value": 200 if i == 0 else r["value"]} for i, r in enumerate(orders_log())]
    )
    os.utime(log, ns=(stamp + 10**9, stamp + 10**9))
    assert replay_orders(study.scenario).cents[0] == 2800


def test_resolving_a_generated_scenario_changes_nothing(quick_study, tmp_path: Path) -> None:
    from sim.engine.replay import resolve

    assert resolve(quick_study.scenario, tmp_path) is quick_study.scenario


def test_a_log_with_a_repeated_order_id_is_refused(tmp_path: Path) -> None:
    rows = orders_log()
    rows[5]["order_id"] = rows[4]["order_id"]
    write_log(tmp_path / "orders.csv", rows)
    (tmp_path / "s.yaml").write_text(scenario_text("orders:\n  replay: orders.csv\n", 3))
    with pytest.raises(InputError) as error:
        api.load(tmp_path / "s.yaml")
    assert "1 orders repeat an earlier order's order_id" in str(error.value)
