"""Small worlds with known answers: every order's fate and money, worked out by hand.

Each world makes the market deterministic (fixed times, probabilities of 0 or 1, one
kind of seller with unlimited stations) so that the rules alone decide each order's
outcome and refund time. The per-order trace is then checked row by row against the
answer the policy's text gives, and the run's metrics against the same rows.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim.engine import RunSpec, simulate
from sim.engine.recorder import EDGES, bin_of
from sim.engine.result import RunResult
from sim.model.load import Override, load_study, read_scenario

QUICK = "sim/builtin/scenarios/quick.yaml"
TOL = 1e-6

# One kind of seller: 1 h to pack at any of many stations, one carrier pickup at 17:00,
# never cancels on its own, accepts every request after exactly 2 h.
SOLO = (
    "sellers.types={solo: {share: 1, popularity: 1, packing_stations: 1000, pack_time: 1h,"
    ' pickup_times: ["17:00"], cancels: {}, cancels_at: packing, never_ships: 0,'
    " answers: {accept: 1, refuse: 0, ignore: 0}, response_time: 2h}}"
)
DETERMINISTIC = (
    "horizon=3d",
    "warmup=1d",
    "sellers.count=5",
    "orders.rate_per_hour=4",
    SOLO,
    "buyers.cancel_intent=1",
    "buyers.good_record=0",
    "buyers.chase_unshipped_after=null",
    "buyers.pursue_after_shipment=0",
    "delivery.transit=2d",
    "delivery.return_transit=3d",
    # Amazon with fixed refund times: 1 h processing; cards are released (not charged)
    # before shipment after 6 d, refunded in 4 business days after it; gift cards in 2 h.
    "amazon.refunds.processing=1h",
    "amazon.refunds.rails.credit_card.delay=4 business days",
    "amazon.refunds.rails.credit_card.release=6d",
    "amazon.refunds.rails.debit_card.delay=4 business days",
    "amazon.refunds.rails.debit_card.release=6d",
    "amazon.refunds.rails.gift_card.delay=2h",
    "amazon.after_shipment.refuse_delivery.refund_after=1d",
    "amazon.after_shipment.return.refund_after=1d",
)
RELEASE = {"credit_card": 144.0, "debit_card": 144.0, "gift_card": 2.0}
QUICK_RUNS = read_scenario(Path(__file__).parent.parent / QUICK).data["policies"]


def world(root: Path, tmp_path: Path, *settings: str, key: str = "amazon", seed: int = 5):
    """Run one policy of the deterministic world; return the result and its trace rows.

    The scenario keeps only that policy. JD fulfils every order itself: there the solo
    seller stands for its warehouse."""
    only = f"policies={json.dumps([run for run in QUICK_RUNS if Path(run['file']).stem == key])}"
    settings = (only, *settings)
    if key == "jd" and not any("fulfilment: platform" in s for s in settings):
        settings = (*settings, "sellers.types.solo.fulfilment=platform")
    others = {Path(run["file"]).stem for run in QUICK_RUNS} - {key}
    fixed = [s for s in DETERMINISTIC if s.split(".")[0] not in others]  # for its policy only
    study = load_study(root / QUICK, [Override.parse(s) for s in (*fixed, *settings)])
    trace = tmp_path / f"{key}-{len(list(tmp_path.iterdir()))}.csv"
    result = simulate(
        RunSpec(key, study.policies[key], study.scenario, 0, seed, trace_path=str(trace))
    )
    rows = []
    with trace.open() as handle:
        for row in csv.DictReader(handle):
            rows.append(
                {k: (float(v) if v and k.endswith("_h") else (v or None)) for k, v in row.items()}
            )
    for row in rows:
        row["measured"] = row["measured"] == "True"
        for column, value in row.items():
            if column.endswith("_h") and value is not None:  # hours to 6 decimals (3.6 ms)
                assert value == round(value, 6) and value >= 0, (column, value)
    assert len(rows) > 100, "the world is too small to test anything"
    # The two refund clocks: issued after the platform's fixed processing, money back later.
    given = [s for s in (*DETERMINISTIC, *settings) if s.startswith(f"{key}.refunds.processing=")]
    processing = {"1h": 1.0, "6m": 0.1}.get(given[-1].split("=", 1)[1]) if given else None
    for row in rows:
        if row["money_back_h"] is None:
            assert row["refund_issued_h"] is None, row
            continue
        assert row["closed_h"] <= row["refund_issued_h"] <= row["money_back_h"], row
        if processing is not None:
            assert row["refund_issued_h"] == pytest.approx(row["closed_h"] + processing, abs=TOL)
    return study, result, rows


def next_pickup(study, hours: float, clock: float = 17.0) -> float:
    """The first daily pickup at local `clock` strictly after `hours`."""
    start = study.scenario.start
    offset = start.hour + start.minute / 60
    local = hours + offset
    at = math.floor(local / 24) * 24 + clock
    if at <= local:
        at += 24
    return at - offset


def amazon_refund(row, closed: float) -> float:
    """Amazon's money back in the world above for a cancel before shipment."""
    return closed + 1.0 + RELEASE[row["payment_method"]]


# ----------------------------------------------------------------- the self-service window
def test_inside_the_window_every_order_is_cancelled_alone_at_the_wish(root, tmp_path):
    _, result, rows = world(root, tmp_path, "buyers.intent_delay=10m")
    for row in rows:
        assert row["outcome"] == "self_cancelled", row
        assert row["closed_h"] == pytest.approx(row["placed_h"] + 10 / 60, abs=TOL)
        assert row["money_back_h"] == pytest.approx(amazon_refund(row, row["closed_h"]), abs=TOL)
    assert result.metrics["self_cancel_share"] == 1.0
    assert result.metrics["request_cancel_share"] == 0.0


@pytest.mark.parametrize(
    ("delay", "outcomes"),
    [
        ("29m", {"self_cancelled"}),
        ("30m", {"self_cancelled"}),
        ("31m", {"request_cancelled", "kept_after_failed_cancel"}),
    ],
)
def test_the_window_includes_its_last_moment(root, tmp_path, delay, outcomes):
    """A wish at exactly 30 minutes is still inside Amazon's 30-minute window; a minute
    later only a request is left (accepted, unless the parcel ships first)."""
    _, _, rows = world(root, tmp_path, f"buyers.intent_delay={delay}")
    assert {row["outcome"] for row in rows} == outcomes


def test_after_the_window_the_seller_decides_before_shipment(root, tmp_path):
    """The wish comes at 45 min: the seller accepts 2 h later unless the parcel left first
    (packed 1.5 h after ordering, picked up at the next 17:00); then the buyer keeps it."""
    study, result, rows = world(root, tmp_path, "buyers.intent_delay=45m")
    seen = set()
    for row in rows:
        placed = row["placed_h"]
        wish, answer = placed + 0.75, placed + 2.75
        shipped = next_pickup(study, placed + 1.5)
        if answer < shipped:
            assert row["outcome"] == "request_cancelled", row
            assert row["closed_h"] == pytest.approx(answer, abs=TOL)
            assert row["intent_h"] == pytest.approx(wish, abs=TOL)
            assert row["money_back_h"] == pytest.approx(amazon_refund(row, answer), abs=TOL)
            assert row["shipped_h"] is None
        else:
            assert row["outcome"] == "kept_after_failed_cancel", row
            assert row["shipped_h"] == pytest.approx(shipped, abs=TOL)
            assert row["money_back_h"] is None
        seen.add(row["outcome"])
    assert seen == {"request_cancelled", "kept_after_failed_cancel"}
    measured = [r for r in rows if r["measured"]]
    kept = sum(r["outcome"] == "kept_after_failed_cancel" for r in measured) / len(measured)
    assert result.metrics["failed_cancel_share"] == pytest.approx(kept, abs=1e-12)


def test_a_seller_who_never_answers_leaves_the_request_to_shipment(root, tmp_path):
    """Amazon has no auto-approval: an ignored request ends when the parcel ships."""
    silent = SOLO.replace("accept: 1, refuse: 0, ignore: 0", "accept: 0, refuse: 0, ignore: 1")
    _, result, rows = world(root, tmp_path, silent, "buyers.intent_delay=45m")
    assert {row["outcome"] for row in rows} == {"kept_after_failed_cancel"}
    assert result.metrics["request_cancel_share"] == 0.0


def test_a_refusing_seller_cancels_nothing(root, tmp_path):
    refusing = SOLO.replace("accept: 1, refuse: 0, ignore: 0", "accept: 0, refuse: 1, ignore: 0")
    _, _, rows = world(root, tmp_path, refusing, "buyers.intent_delay=45m")
    assert {row["outcome"] for row in rows} == {"kept_after_failed_cancel"}


# ----------------------------------------------------------------- after shipment
def test_a_parcel_is_refused_at_the_door_before_delivery(root, tmp_path):
    """The wish comes after pickup but before delivery (2 d later): the buyer refuses the
    parcel; the refund comes 1 d after delivery, plus processing and the card rail."""
    study, _, rows = world(
        root, tmp_path, "buyers.intent_delay=30h", "buyers.pursue_after_shipment=1"
    )
    outcomes = set()
    for row in rows:
        shipped = next_pickup(study, row["placed_h"] + 1.5)
        wish = row["placed_h"] + 30
        assert row["shipped_h"] == pytest.approx(shipped, abs=TOL)
        if wish < shipped:
            continue  # still unshipped: a request (checked above)
        delivered = shipped + 48
        assert wish < delivered
        assert row["outcome"] == "refused_delivery", row
        approved = delivered + 24
        refund = approved + 1 + (2 if row["payment_method"] == "gift_card" else 0)
        if row["payment_method"] != "gift_card":
            continue  # business days: checked in the calendar tests
        assert row["money_back_h"] == pytest.approx(refund, abs=TOL)
        outcomes.add(row["outcome"])
    assert outcomes == {"refused_delivery"}


def test_a_parcel_goes_back_only_once_it_was_delivered(root, tmp_path):
    """Without refusal at the door, a buyer who wants out before delivery returns the
    parcel: it travels back (3 d) from the buyer's door, never from before delivery."""
    study, _, rows = world(
        root,
        tmp_path,
        "buyers.intent_delay=30h",
        "buyers.pursue_after_shipment=1",
        "amazon.after_shipment.refuse_delivery=null",
    )
    checked = 0
    for row in rows:
        shipped = next_pickup(study, row["placed_h"] + 1.5)
        if row["placed_h"] + 30 < shipped:
            continue
        assert row["outcome"] == "returned", row
        if row["payment_method"] == "gift_card":
            delivered = shipped + 48
            expected = delivered + 72 + 24 + 1 + 2
            assert row["money_back_h"] == pytest.approx(expected, abs=TOL)
            checked += 1
    assert checked > 5


def test_a_wish_after_delivery_is_returned_from_the_wish(root, tmp_path):
    study, _, rows = world(
        root,
        tmp_path,
        "buyers.intent_delay=6d",
        "buyers.pursue_after_shipment=1",
    )
    checked = 0
    for row in rows:
        assert row["outcome"] == "returned", row
        if row["payment_method"] == "gift_card":
            wish = row["placed_h"] + 144
            assert wish > next_pickup(study, row["placed_h"] + 1.5) + 48  # delivered before
            assert row["money_back_h"] == pytest.approx(wish + 72 + 24 + 1 + 2, abs=TOL)
            checked += 1
    assert checked > 5


def test_buyers_who_do_not_pursue_keep_the_parcel(root, tmp_path):
    _, _, rows = world(root, tmp_path, "buyers.intent_delay=6d")
    assert {row["outcome"] for row in rows} == {"kept_after_failed_cancel"}
    assert all(row["money_back_h"] is None for row in rows)


@pytest.mark.parametrize("success", [0.0, 0.25, 1.0])
def test_interception_succeeds_with_the_policy_s_probability(root, tmp_path, success):
    """Taobao intercepts a shipped parcel with probability `success`; the rest are refused
    at the door."""
    _, _, rows = world(
        root,
        tmp_path,
        "buyers.intent_delay=30h",
        "buyers.pursue_after_shipment=1",
        "taobao.cancel_request.platform_approves_after=null",
        "orders.rate_per_hour=30",
        f"taobao.after_shipment.interception.success={success}",
        key="taobao",
    )
    after = [r for r in rows if r["outcome"] in ("intercepted", "refused_delivery")]
    assert len(after) > 400
    share = sum(r["outcome"] == "intercepted" for r in after) / len(after)
    half_width = 3.3 * math.sqrt(max(success * (1 - success), 1e-9) / len(after))
    assert abs(share - success) <= half_width, (share, success)


# ----------------------------------------------------------------- seller cancellations
def test_a_never_shipped_order_is_auto_cancelled_at_its_deadline(root, tmp_path):
    """Ship-by 2 business days, then auto-cancel after 1 more day; a chasing buyer's wish
    starts the refund clock."""
    never = SOLO.replace("never_ships: 0", "never_ships: 1")
    study, result, rows = world(
        root,
        tmp_path,
        never,
        "buyers.cancel_intent=0",
        "amazon.ship_by.within=2d",
        "amazon.auto_cancel.after=1d",
        "amazon.pending.hold=0h",
    )
    for row in rows:
        assert row["outcome"] == "auto_cancelled", row
        assert row["closed_h"] == pytest.approx(row["placed_h"] + 72, abs=TOL)
        assert row["money_back_h"] == pytest.approx(amazon_refund(row, row["placed_h"] + 72))
    assert result.metrics["auto_cancel_share"] == 1.0
    # Amazon counts auto-cancels in its Cancellation Rate: every order counts.
    assert result.metrics["platform_metric_rate"] == 1.0
    assert result.metrics["seller_fault_cancel_share"] == 1.0  # the seller never shipped


@pytest.mark.parametrize(("intent", "fault"), [("0", 1.0), ("1", 0.0)])
def test_a_buyer_who_gives_up_on_a_seller_who_never_ships_is_the_seller_s_fault(
    root, tmp_path, intent, fault
):
    """The seller never ships. A buyer who asks only because of that (after 1 h) cancels
    for the seller's fault; a buyer who wanted out anyway (at 10 min) for its own. JD
    approves either request 30 minutes after it is made."""
    never = SOLO.replace("never_ships: 0", "never_ships: 1")
    _, result, rows = world(
        root,
        tmp_path,
        never,
        f"buyers.cancel_intent={intent}",
        "buyers.intent_delay=10m",
        "buyers.chase_unshipped_after=1h",
        key="jd",
    )
    assert {row["outcome"] for row in rows} == {"request_auto_approved"}
    assert result.metrics["seller_fault_cancel_share"] == fault


def test_seller_causes_count_as_the_policy_says(root, tmp_path):
    """Out-of-stock cancels count against an Amazon seller; Taobao's refund rate counts
    them too; JD (its own warehouse) counts nothing."""
    stock = SOLO.replace("cancels: {}", "cancels: {out_of_stock: 1}")
    _, amazon, rows = world(root, tmp_path, stock, "buyers.cancel_intent=0")
    assert {row["outcome"] for row in rows} == {"seller_cancelled"}
    assert amazon.metrics["seller_cancel_share"] == 1.0
    assert amazon.metrics["platform_metric_rate"] == 1.0
    assert amazon.metrics["sellers_over_threshold_share"] == 1.0
    _, jd, _ = world(root, tmp_path, stock, "buyers.cancel_intent=0", key="jd")
    assert jd.metrics["seller_cancel_share"] == 1.0
    assert math.isnan(jd.metrics["platform_metric_rate"])


# ----------------------------------------------------------------- warm-up and metrics
def test_only_orders_after_the_warm_up_are_measured(root, tmp_path):
    _, result, rows = world(root, tmp_path, "buyers.intent_delay=10m")
    for row in rows:
        assert row["measured"] == (row["placed_h"] >= 24.0), row
    measured = sum(row["measured"] for row in rows)
    assert 0 < measured < len(rows)
    assert result.metrics["orders"] == measured


def test_refund_metrics_agree_with_the_trace(root, tmp_path):
    """Mean and quantiles of refund hours, from the run's histogram, against the rows."""
    _, result, rows = world(root, tmp_path, "buyers.intent_delay=45m")
    hours = np.array(
        [
            r["money_back_h"] - r["intent_h"]
            for r in rows
            if r["measured"] and r["money_back_h"] is not None
        ]
    )
    assert len(hours) > 50
    m = result.metrics
    assert m["money_back_hours_mean"] == pytest.approx(hours.mean(), rel=1e-9)
    for q in (50, 90, 99):
        exact = float(np.quantile(hours, q / 100, method="inverted_cdf"))
        b = bin_of(exact)  # the histogram's answer lies in the exact quantile's own bin
        assert EDGES[b - 1] <= m[f"money_back_hours_p{q}"] <= EDGES[b], (q, exact)
    money = sum(
        (r["money_back_h"] - r["intent_h"]) * float(r["amount"])
        for r in rows
        if r["measured"] and r["money_back_h"] is not None
    )
    assert m["buyer_money_hours_held"] == pytest.approx(money / m["orders"], rel=1e-9)


def test_outcome_counts_agree_with_the_trace(root, tmp_path):
    _, result, rows = world(root, tmp_path, "buyers.intent_delay=45m")
    counted: dict[str, int] = {}
    for row in rows:
        if row["measured"]:
            counted[row["outcome"]] = counted.get(row["outcome"], 0) + 1
    assert {k: v for k, v in result.outcome_counts.items() if v} == counted


def test_a_result_survives_its_json_form(root, tmp_path):
    """Every field comes back with its value and type, NaN included (JSON null)."""
    import json

    _, result, _ = world(root, tmp_path, "buyers.intent_delay=45m")
    result.point, result.events, result.wall_seconds = 3, 1234, 0.5
    result.seller_rates[0] = math.nan
    result.metrics["money_back_hours_p99"] = math.nan
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["seller_rates"][0] is None and data["metrics"]["money_back_hours_p99"] is None
    again = RunResult.from_dict(data)
    assert again.metrics.keys() == result.metrics.keys()
    for name, value in result.metrics.items():
        assert again.metrics[name] == value or (
            math.isnan(value) and math.isnan(again.metrics[name])
        )
    integers = (
        "money_back_hist",
        "method_hist",
        "daily_orders",
        "daily_counted",
        "daily_judged",
        "daily_outcomes",
        "daily_refunds",
    )
    for name in integers:
        mine, theirs = getattr(again, name), getattr(result, name)
        assert np.array_equal(mine, theirs) and mine.dtype == np.int64, name
    assert again.daily_outcomes.shape == result.daily_outcomes.shape
    assert result.daily_outcomes.sum() > result.metrics["orders"] > 0  # warm-up days too
    # the run hands over the measured refunds by day: their count and their hours
    assert len(result.daily_refunds) == len(result.daily_money_back) == len(result.daily_orders)
    assert result.daily_refunds.sum() == result.money_back_hist.sum() > 0
    assert math.isclose(
        result.daily_money_back.sum() / result.daily_refunds.sum(),
        result.metrics["money_back_hours_mean"],
        rel_tol=1e-9,
    )
    assert np.array_equal(again.daily_money_back, result.daily_money_back)
    assert again.daily_money_back.dtype == np.float64
    assert again.seller_rates.dtype == np.float64
    assert np.array_equal(again.seller_rates, result.seller_rates, equal_nan=True)
    assert (again.policy, again.replication, again.point) == ("amazon", 0, 3)
    assert again.methods == result.methods == ("credit_card", "debit_card", "gift_card")
    assert (again.events, again.wall_seconds) == (1234, 0.5)
    assert again.outcome_counts == result.outcome_counts


# ----------------------------------------------------------------- stage limits
@pytest.mark.parametrize(("until", "cancelled"), [("packed", False), ("shipped", True)])
def test_a_request_is_granted_only_before_its_stage_limit(root, tmp_path, until, cancelled):
    """The wish comes at 45 min; the seller accepts at 2 h 45 min, when the order has been
    packed (at 1 h 30 min) but not shipped. A policy that takes requests only until
    `packed` refuses it then; one that takes them until `shipped` cancels."""
    study, _, rows = world(
        root, tmp_path, "buyers.intent_delay=45m", f"amazon.cancel_request.until={until}"
    )
    checked = 0
    for row in rows:
        if row["placed_h"] + 2.75 >= next_pickup(study, row["placed_h"] + 1.5):
            continue  # shipped before the answer: no request left either way
        expected = "request_cancelled" if cancelled else "kept_after_failed_cancel"
        assert row["outcome"] == expected, row
        checked += 1
    assert checked > 50


@pytest.mark.parametrize(("until", "alone"), [("packing", False), ("packed", True)])
def test_self_service_ends_at_its_stage_limit(root, tmp_path, until, alone):
    """With no pending hold the order is released at once and packed from 0 to 1 h: a wish
    at 10 min finds it packing. Self-service `until: packed` still allows it; `until:
    packing` (only before packing starts) does not, and the request path takes over."""
    _, _, rows = world(
        root,
        tmp_path,
        "buyers.intent_delay=10m",
        "amazon.pending.hold=0h",
        f"amazon.self_cancel.until={until}",
    )
    outcomes = {row["outcome"] for row in rows}
    if alone:
        assert outcomes == {"self_cancelled"}
    else:
        assert "self_cancelled" not in outcomes and "request_cancelled" in outcomes


# ----------------------------------------------------------------- packing queues and pickups
def test_one_packing_station_packs_orders_one_after_another(root, tmp_path):
    """One station per seller, 1 h a parcel: each seller's orders queue first come, first
    served, each starting after the 30-min pending hold; a parcel leaves at the first
    17:00 pickup after it is packed."""
    one = SOLO.replace("packing_stations: 1000", "packing_stations: 1")
    study, _, rows = world(root, tmp_path, one, "buyers.cancel_intent=0", "orders.rate_per_hour=3")
    by_seller: dict[str, list[dict]] = {}
    for row in rows:
        by_seller.setdefault(row["seller"], []).append(row)
    waited = 0
    for orders in by_seller.values():
        free = 0.0
        for row in sorted(orders, key=lambda r: r["placed_h"]):
            start = max(row["placed_h"] + 0.5, free)
            waited += start > row["placed_h"] + 0.5
            free = start + 1.0
            assert row["outcome"] == "shipped", row
            assert row["shipped_h"] == pytest.approx(next_pickup(study, free), abs=TOL), row
    assert waited > 5  # some orders did queue behind another


def test_an_order_stuck_in_the_queue_is_auto_cancelled_at_its_deadline(root, tmp_path):
    """A seller with one station and 100 h per parcel: orders behind the first wait past
    their deadline (ship-by 2 d, auto-cancel 1 d later) and are cancelled at it."""
    slow = SOLO.replace("packing_stations: 1000", "packing_stations: 1").replace(
        "pack_time: 1h", "pack_time: 100h"
    )
    _, result, rows = world(
        root,
        tmp_path,
        slow,
        "buyers.cancel_intent=0",
        "amazon.ship_by.within=2d",
        "amazon.auto_cancel.after=1d",
    )
    auto = [r for r in rows if r["outcome"] == "auto_cancelled"]
    assert len(auto) > len(rows) / 2
    for row in auto:
        assert row["closed_h"] == pytest.approx(row["placed_h"] + 72, abs=TOL)
        assert row["money_back_h"] == pytest.approx(amazon_refund(row, row["placed_h"] + 72))
    assert {r["outcome"] for r in rows} <= {"auto_cancelled", "shipped", "open"}


@pytest.mark.parametrize(("at", "closed_after"), [("packing", 0.5), ("pickup", None)])
def test_a_seller_cancels_when_it_finds_out(root, tmp_path, at, closed_after):
    """Out of stock found when packing starts (after the 30-min hold), or only at the
    carrier's pickup (after packing, at the first 17:00)."""
    stock = SOLO.replace("cancels: {}", "cancels: {out_of_stock: 1}").replace(
        "cancels_at: packing", f"cancels_at: {at}"
    )
    study, _, rows = world(root, tmp_path, stock, "buyers.cancel_intent=0")
    for row in rows:
        assert row["outcome"] == "seller_cancelled", row
        expected = (
            row["placed_h"] + closed_after
            if closed_after is not None
            else next_pickup(study, row["placed_h"] + 1.5)
        )
        assert row["closed_h"] == pytest.approx(expected, abs=TOL)
        assert row["money_back_h"] == pytest.approx(amazon_refund(row, expected), abs=TOL)


@pytest.mark.parametrize("clock", [6.5, 18.0])
def test_pickups_follow_the_local_clock_whenever_the_run_starts(root, tmp_path, clock):
    """The run starts at 06:30 (before the day's 17:00 pickup) or at 18:00 (after it, so
    the first pickup is 23 h in): every parcel leaves at 17:00 local."""
    start = f"start=2026-03-02T{int(clock):02d}:{round(clock % 1 * 60):02d}:00+08:00"
    study, _, rows = world(root, tmp_path, start, "buyers.cancel_intent=0")
    for row in rows:
        shipped = next_pickup(study, row["placed_h"] + 1.5)
        assert row["shipped_h"] == pytest.approx(shipped, abs=TOL)
        assert (shipped + clock) % 24 == pytest.approx(17.0)  # 17:00 local
    assert min(row["shipped_h"] for row in rows) == pytest.approx((17.0 - clock) % 24)


def test_a_station_goes_on_to_the_next_order_after_an_out_of_stock_one(root, tmp_path):
    """One station per seller; 30% of orders are found out of stock when packing would
    start. Such an order is cancelled at that moment and the station takes the next
    order in the queue at once, as if the cancelled one had never queued."""
    one = SOLO.replace("packing_stations: 1000", "packing_stations: 1").replace(
        "cancels: {}", "cancels: {out_of_stock: 0.3}"
    )
    study, _, rows = world(root, tmp_path, one, "buyers.cancel_intent=0", "orders.rate_per_hour=3")
    by_seller: dict[str, list[dict]] = {}
    for row in rows:
        by_seller.setdefault(row["seller"], []).append(row)
    cancelled = straight_after = 0
    for orders in by_seller.values():
        free, last_cancelled_at = 0.0, None
        for row in sorted(orders, key=lambda r: r["placed_h"]):
            start = max(row["placed_h"] + 0.5, free)
            if row["outcome"] == "seller_cancelled":
                assert row["closed_h"] == pytest.approx(start, abs=TOL), row
                cancelled += 1
                last_cancelled_at = start
                continue
            straight_after += start == last_cancelled_at
            free = start + 1.0
            assert row["outcome"] == "shipped", row
            assert row["shipped_h"] == pytest.approx(next_pickup(study, free), abs=TOL), row
    assert cancelled > len(rows) / 5
    assert straight_after > 5  # orders that were waiting behind a cancelled one


def test_orders_are_numbered_as_placed_and_close_when_they_ship(root, tmp_path):
    _, _, rows = world(root, tmp_path, "buyers.cancel_intent=0")
    ordered = sorted(rows, key=lambda r: int(r["order"]))
    assert [int(r["order"]) for r in ordered] == list(range(len(rows)))
    placed = [r["placed_h"] for r in ordered]
    assert placed == sorted(placed)
    for row in rows:
        assert row["outcome"] == "shipped"
        assert row["closed_h"] == row["shipped_h"]


def test_a_shipped_order_whose_buyer_has_not_yet_wished_is_shipped_at_the_end(root, tmp_path):
    """Every buyer wishes to cancel 20 days on, after the run (3 d, then 2 d of drain):
    at its end the parcels have shipped and the orders close as shipped, not open."""
    study, result, rows = world(root, tmp_path, "buyers.intent_delay=20d", "drain=2d")
    end = (3 + 2) * 24
    for row in rows:
        assert row["outcome"] == "shipped", row
        assert row["shipped_h"] == pytest.approx(next_pickup(study, row["placed_h"] + 1.5))
        assert row["closed_h"] == end
        assert row["intent_h"] is None
    assert result.outcome_counts["open"] == 0


def test_a_month_long_run_counts_each_order_on_its_local_day(root, tmp_path):
    study, result, rows = world(
        root, tmp_path, "horizon=30d", "buyers.cancel_intent=0", "orders.rate_per_hour=0.5"
    )
    offset = study.scenario.start.hour
    days = [0] * 30
    for row in rows:
        days[int((row["placed_h"] + offset) // 24)] += 1
    assert result.daily_orders.tolist() == days
    assert days[-1] > 0


def test_a_run_in_which_no_order_arrives_ends_empty(root):
    """One order a thousand hours, for one hour: with this seed none arrives."""
    study = load_study(
        root / QUICK,
        [
            Override.parse(s)
            for s in (
                *DETERMINISTIC,
                "sellers.types.solo.fulfilment=platform",  # (quick.yaml also plays JD)
                "horizon=1h",
                "warmup=0h",
                "orders.rate_per_hour=0.001",
            )
        ],
    )
    result = simulate(RunSpec("amazon", study.policies["amazon"], study.scenario, 0, 5))
    assert sum(result.outcome_counts.values()) == 0
    assert result.daily_orders.tolist() == [0]
    assert result.metrics["orders"] == 0


def test_a_card_charged_at_ordering_is_refunded_on_the_rail_not_released(root, tmp_path):
    """Charged when ordering, a card is refunded like after shipment (4 business days
    after the hour of processing), not released from authorisation (6 d)."""
    from sim.model.calendar import BusinessCalendar

    study, _, rows = world(
        root, tmp_path, "buyers.intent_delay=10m", "amazon.refunds.charge_at=order"
    )
    start = study.scenario.start
    calendar = BusinessCalendar("US", start.date(), 500, start.hour + start.minute / 60)
    for row in rows:
        assert row["outcome"] == "self_cancelled"
        processed = row["closed_h"] + 1.0
        if row["payment_method"] == "gift_card":
            expected = processed + 2.0
        else:
            expected = calendar.add_business_days(processed, 4)
        assert row["money_back_h"] == pytest.approx(expected, abs=TOL), row


# ----------------------------------------------------------------- Taobao and JD rules
TAOBAO = (
    "taobao.refunds.processing=6m",
    "taobao.refunds.rails.bank_card.delay=2 business days",
    "taobao.cancel_request.platform_approves_after=24h",
)


def taobao_refund(study, row, approved: float) -> float:
    from sim.model.calendar import BusinessCalendar

    processed = approved + 0.1
    if row["payment_method"] == "alipay_balance":
        return processed
    start = study.scenario.start
    calendar = BusinessCalendar("CN", start.date(), 500, start.hour + start.minute / 60)
    return calendar.add_business_days(processed, 2)


def test_taobao_refunds_a_good_record_buyer_at_once_before_shipment(root, tmp_path):
    study, result, rows = world(
        root, tmp_path, *TAOBAO, "buyers.intent_delay=45m", "buyers.good_record=1", key="taobao"
    )
    for row in rows:
        assert row["outcome"] == "instant_refunded", row
        wish = row["placed_h"] + 0.75
        assert row["closed_h"] == pytest.approx(wish, abs=TOL)
        assert row["money_back_h"] == pytest.approx(taobao_refund(study, row, wish), abs=TOL)
    assert result.metrics["instant_refund_share"] == 1.0
    # Taobao's refund rate counts every refund, the buyer's own included
    assert result.metrics["platform_metric_rate"] == 1.0


@pytest.mark.parametrize(
    ("answers", "response", "outcome", "after"),
    [
        ("accept: 1, refuse: 0, ignore: 0", "2h", "request_cancelled", 2.0),
        ("accept: 1, refuse: 0, ignore: 0", "30h", "request_auto_approved", 24.0),
        ("accept: 0, refuse: 0, ignore: 1", "2h", "request_auto_approved", 24.0),
        ("accept: 0, refuse: 1, ignore: 0", "2h", "kept_after_failed_cancel", None),
    ],
)
def test_taobao_requests_are_answered_or_approved_after_24_hours(
    root, tmp_path, answers, response, outcome, after
):
    """Sellers that never ship answer at `response`: an answer before 24 h decides; silence
    (or a later answer) gets the refund approved at 24 h; a refusal ends the request."""
    seller = (
        SOLO.replace("accept: 1, refuse: 0, ignore: 0", answers)
        .replace("response_time: 2h", f"response_time: {response}")
        .replace("never_ships: 0", "never_ships: 1")
    )
    study, _, rows = world(root, tmp_path, *TAOBAO, seller, "buyers.intent_delay=45m", key="taobao")
    for row in rows:
        wish = row["placed_h"] + 0.75
        if outcome == "kept_after_failed_cancel":  # refused, never shipped: open to the end
            assert row["outcome"] == "open", row
            continue
        assert row["outcome"] == outcome, row
        assert row["closed_h"] == pytest.approx(wish + after, abs=TOL)
        refund = taobao_refund(study, row, wish + after)
        assert row["money_back_h"] == pytest.approx(refund, abs=TOL)


@pytest.mark.parametrize("response", ["2h", "10m"])
def test_jd_approves_every_request_after_30_minutes(root, tmp_path, response):
    """JD decides itself (no seller answer): approved 30 min after the wish at 45 min,
    unless the parcel left first (JD has no pending hold: packed 1 h after ordering).
    A seller that would accept within 10 min has no say either."""
    study, _, rows = world(
        root,
        tmp_path,
        SOLO.replace("response_time: 2h", f"response_time: {response}"),
        "buyers.intent_delay=45m",
        "jd.refunds.processing=0 business days",
        key="jd",
    )
    approved = 0
    for row in rows:
        if row["placed_h"] + 1.25 < next_pickup(study, row["placed_h"] + 1.0):
            assert row["outcome"] == "request_auto_approved", row
            assert row["closed_h"] == pytest.approx(row["placed_h"] + 1.25, abs=TOL)
            approved += 1
        else:
            assert row["outcome"] == "kept_after_failed_cancel", row
    assert approved > len(rows) / 2


def test_taobao_late_shipment_compensation_is_paid_in_the_scenario_s_currency(root, tmp_path):
    """Ship-by 1 h: every parcel (shipped at 17:00) is late. 10% of the price in yuan, at
    least 5 and at most 100 yuan, converted at 0.14 USD a yuan."""
    _, result, rows = world(
        root, tmp_path, "buyers.cancel_intent=0", "taobao.ship_by.within=1h", key="taobao"
    )
    measured = [r for r in rows if r["measured"]]
    paid = 0.0
    for row in measured:
        yuan = float(row["amount"]) / 0.14
        paid += min(max(5.0, 0.10 * yuan), 100.0) * 0.14
    assert result.metrics["late_ship_share"] == 1.0
    assert result.metrics["compensation_paid"] == pytest.approx(paid / len(measured), rel=1e-9)
    _, on_time, _ = world(root, tmp_path, "buyers.cancel_intent=0", key="taobao")
    assert on_time.metrics["late_ship_share"] == 0.0 and on_time.metrics["compensation_paid"] == 0


def test_a_cause_the_policy_does_not_count_leaves_the_seller_s_rate_alone(root, tmp_path):
    stock = SOLO.replace("cancels: {}", "cancels: {out_of_stock: 1}")
    _, result, _ = world(
        root,
        tmp_path,
        stock,
        "buyers.cancel_intent=0",
        "amazon.seller_cancel.reasons.NoInventory.counted=false",
    )
    assert result.metrics["seller_cancel_share"] == 1.0
    assert result.metrics["platform_metric_rate"] == 0.0
    assert result.metrics["sellers_over_threshold_share"] == 0.0


def test_card_refunds_after_shipment_take_the_rail_s_business_days(root, tmp_path):
    """Returned parcels are refunded on the card rail (charged at shipment), not by
    releasing an authorisation: 4 business days after processing."""
    from sim.model.calendar import BusinessCalendar

    study, _, rows = world(
        root, tmp_path, "buyers.intent_delay=6d", "buyers.pursue_after_shipment=1"
    )
    start = study.scenario.start
    calendar = BusinessCalendar("US", start.date(), 500, start.hour + start.minute / 60)
    cards = 0
    for row in rows:
        assert row["outcome"] == "returned"
        if row["payment_method"] == "gift_card":
            continue
        processed = row["placed_h"] + 144 + 72 + 24 + 1
        assert row["money_back_h"] == pytest.approx(
            calendar.add_business_days(processed, 4), abs=TOL
        )
        cards += 1
    assert cards > 20


def test_an_intercepted_parcel_is_refunded_after_the_interception(root, tmp_path):
    study, _, rows = world(
        root,
        tmp_path,
        *TAOBAO,
        "buyers.intent_delay=30h",
        "buyers.pursue_after_shipment=1",
        "taobao.after_shipment.interception.success=1",
        "taobao.after_shipment.interception.refund_after=10h",
        "taobao.cancel_request.platform_approves_after=null",
        "buyers.good_record=0",
        key="taobao",
    )
    checked = 0
    for row in rows:
        wish = row["placed_h"] + 30
        if wish < next_pickup(study, row["placed_h"] + 1.5):
            continue
        assert row["outcome"] == "intercepted", row
        assert row["closed_h"] == pytest.approx(wish + 10, abs=TOL)
        assert row["money_back_h"] == pytest.approx(taobao_refund(study, row, wish + 10), abs=TOL)
        checked += 1
    assert checked > 20


def test_without_a_compensation_rule_late_parcels_cost_nothing(root, tmp_path):
    _, result, _ = world(root, tmp_path, "buyers.cancel_intent=0", "amazon.ship_by.within=1h")
    assert result.metrics["late_ship_share"] == 1.0
    assert result.metrics["compensation_paid"] == 0.0


@pytest.mark.parametrize(("delay", "alone"), [("10m", True), ("30m", False), ("45m", False)])
def test_self_service_only_while_pending(root, tmp_path, delay, alone):
    """`until: released` with a 2-hour window: the buyer cancels alone only during the
    30-minute pending hold, not once the order is released to the seller (at exactly
    30 minutes it is released)."""
    _, _, rows = world(
        root,
        tmp_path,
        f"buyers.intent_delay={delay}",
        "amazon.self_cancel.window=2h",
        "amazon.self_cancel.until=released",
    )
    outcomes = {row["outcome"] for row in rows}
    if alone:
        assert outcomes == {"self_cancelled"}
    else:
        assert "self_cancelled" not in outcomes and "request_cancelled" in outcomes


def test_a_released_order_waiting_for_a_station_is_still_before_packing(root, tmp_path):
    """One station and 20 h per parcel: orders wait released in the queue. Self-service
    `until: packing` lets the buyer out of a waiting order, not of one being packed."""
    slow = SOLO.replace("packing_stations: 1000", "packing_stations: 1").replace(
        "pack_time: 1h", "pack_time: 20h"
    )
    _, _, rows = world(
        root,
        tmp_path,
        slow,
        "buyers.intent_delay=2h",
        "amazon.self_cancel.window=3h",
        "amazon.self_cancel.until=packing",
    )
    outcomes = {row["outcome"] for row in rows}
    assert "self_cancelled" in outcomes  # waiting in the queue at 2 h
    assert outcomes - {"self_cancelled"}  # the first of each queue was being packed


def test_instant_refunds_end_at_their_stage_limit(root, tmp_path):
    """Taobao without a pending hold packs from 0 to 1 h: a wish at 75 min finds the
    parcel packed. Instant refunds `until: packed` no longer apply; requests do."""
    study, _, rows = world(
        root,
        tmp_path,
        *TAOBAO,
        "buyers.intent_delay=75m",
        "buyers.good_record=1",
        "taobao.instant_refund.until=packed",
        key="taobao",
    )
    assert "instant_refunded" not in {row["outcome"] for row in rows}
    _, _, rows = world(
        root, tmp_path, *TAOBAO, "buyers.intent_delay=75m", "buyers.good_record=1", key="taobao"
    )
    for row in rows:
        if row["placed_h"] + 1.25 < next_pickup(study, row["placed_h"] + 1.0):
            assert row["outcome"] == "instant_refunded", row


def test_jd_approves_nothing_once_the_parcel_is_packed_if_its_limit_is_packed(root, tmp_path):
    _, _, rows = world(
        root,
        tmp_path,
        "buyers.intent_delay=45m",
        "jd.refunds.processing=0 business days",
        "jd.cancel_request.until=packed",
        key="jd",
    )
    # approval at 1 h 15 min, after packing ended at 1 h: never approved
    assert "request_auto_approved" not in {row["outcome"] for row in rows}


def test_a_seller_answer_at_the_same_moment_as_the_platform_s_deadline_decides(root, tmp_path):
    seller = SOLO.replace("response_time: 2h", "response_time: 24h").replace(
        "never_ships: 0", "never_ships: 1"
    )
    _, _, rows = world(root, tmp_path, *TAOBAO, seller, "buyers.intent_delay=45m", key="taobao")
    assert {row["outcome"] for row in rows} == {"request_cancelled"}


def test_an_approval_after_the_seller_cancelled_changes_nothing(root, tmp_path):
    """The buyer asks at 45 min; the seller, who ignores requests, cancels for lack of
    stock at the 17:00 pickup; Taobao's 24-hour approval then finds the order closed."""
    seller = (
        SOLO.replace("accept: 1, refuse: 0, ignore: 0", "accept: 0, refuse: 0, ignore: 1")
        .replace("cancels: {}", "cancels: {out_of_stock: 1}")
        .replace("cancels_at: packing", "cancels_at: pickup")
    )
    study, _, rows = world(root, tmp_path, *TAOBAO, seller, "buyers.intent_delay=45m", key="taobao")
    cancelled = 0
    for row in rows:
        pickup = next_pickup(study, row["placed_h"] + 1.0)
        if pickup > row["placed_h"] + 0.75 + 24:  # the approval came first
            assert row["outcome"] == "request_auto_approved", row
            continue
        assert row["outcome"] == "seller_cancelled", row
        assert row["closed_h"] == pytest.approx(pickup, abs=TOL)
        cancelled += 1
    assert cancelled > len(rows) / 2


def test_a_seller_who_finds_out_at_pickup_cancels_only_the_orders_it_cannot_fill(root, tmp_path):
    some = SOLO.replace("cancels: {}", "cancels: {out_of_stock: 0.3}").replace(
        "cancels_at: packing", "cancels_at: pickup"
    )
    _, result, rows = world(
        root, tmp_path, some, "buyers.cancel_intent=0", "orders.rate_per_hour=30"
    )
    assert {row["outcome"] for row in rows} == {"shipped", "seller_cancelled"}
    share = result.metrics["seller_cancel_share"]
    assert abs(share - 0.3) < 3.3 * math.sqrt(0.3 * 0.7 / result.metrics["orders"])


def test_the_refund_clock_of_a_request_overtaken_by_a_seller_cancel_starts_at_the_wish(
    root, tmp_path
):
    """No warm-up: every order is measured, the very first ones too. The buyer asks at
    45 min; the seller ignores the request and cancels at the 17:00 pickup; the refund
    clock runs from the wish."""
    seller = (
        SOLO.replace("accept: 1, refuse: 0, ignore: 0", "accept: 0, refuse: 0, ignore: 1")
        .replace("cancels: {}", "cancels: {out_of_stock: 1}")
        .replace("cancels_at: packing", "cancels_at: pickup")
    )
    _, result, rows = world(
        root, tmp_path, seller, "warmup=0h", "orders.rate_per_hour=30", "buyers.intent_delay=45m"
    )
    hours = [r["money_back_h"] - r["intent_h"] for r in rows]
    assert min(r["placed_h"] for r in rows) < 0.25  # some wishes come in the first hour
    assert all(r["outcome"] == "seller_cancelled" for r in rows)
    assert result.metrics["orders"] == len(rows)
    assert result.metrics["money_back_hours_mean"] == pytest.approx(np.mean(hours), rel=1e-9)


def test_an_instant_refund_to_a_wallet_takes_no_time_at_all(root, tmp_path):
    _, result, rows = world(
        root,
        tmp_path,
        "taobao.refunds.processing=0h",
        "buyers.intent_delay=45m",
        "buyers.good_record=1",
        key="taobao",
    )
    wallet = [r for r in rows if r["payment_method"] == "alipay_balance"]
    assert wallet and all(r["money_back_h"] == r["closed_h"] for r in wallet)
    assert result.metrics["money_back_hours_p50"] == 0.0


def test_amazon_s_authorisation_release_stays_within_the_source_s_seven_days(root, tmp_path):
    """Amazon's own rails (the worlds above fix them): a card order cancelled before it is
    charged is back with the buyer within 7 days of the void ("within 5-7 days", the
    bound), spread over that time (the assumed shape), not bunched at its end."""
    study = load_study(
        root / QUICK, [Override.parse(s) for s in ("buyers.cancel_intent=1", "horizon=2d")]
    )
    trace = tmp_path / "amazon.csv"
    simulate(RunSpec("amazon", study.policies["amazon"], study.scenario, 0, 3, str(trace)))
    with trace.open() as handle:
        released = [
            float(row["money_back_h"]) - float(row["refund_issued_h"])
            for row in csv.DictReader(handle)
            if row["outcome"] == "self_cancelled" and row["payment_method"] != "gift_card"
        ]
    assert len(released) > 100
    assert max(released) <= 7 * 24
    assert min(released) < 24 and np.median(released) == pytest.approx(84, rel=0.2)


def test_an_authorisation_release_can_change_on_a_date(root, tmp_path):
    """The release is effective-dated like every rail value: credit-card orders placed
    from 2026-03-04 (the run's third day) get their money back 1 day after the void,
    those placed before it 6 days after."""
    import datetime as dt

    study, _, rows = world(
        root,
        tmp_path,
        "buyers.intent_delay=10m",
        "amazon.refunds.rails.credit_card.release={2000-01-01: 6d, 2026-03-04: 1d}",
    )
    start = study.scenario.start
    change = (dt.date(2026, 3, 4) - start.date()).days * 24 - (start.hour + start.minute / 60)
    seen = set()
    for row in rows:
        if row["payment_method"] != "credit_card":
            continue
        release = 24.0 if row["placed_h"] >= change else 144.0
        assert row["money_back_h"] == pytest.approx(row["closed_h"] + 1.0 + release, abs=TOL)
        seen.add(release)
    assert seen == {24.0, 144.0}


# ----------------------------------------------------------------- cancels asked in messages
def placed_day(study, row) -> int:
    start = study.scenario.start
    return int((row["placed_h"] + start.hour + start.minute / 60) // 24)


@pytest.mark.parametrize(
    ("start", "first_counted_day"),
    [
        ("2022-05-16T00:00:00-07:00", None),  # Mon 16 .. Wed 18 May: before the rule
        ("2022-05-21T00:00:00-07:00", 2),  # Sat 21 .. Mon 23 May: from the 23rd (day 2)
        ("2022-06-06T00:00:00-07:00", 0),  # after it
    ],
)
def test_cancels_asked_in_messages_count_for_amazon_from_23_may_2022(
    root, tmp_path, start, first_counted_day
):
    """Every buyer asks at 45 min, by message only; the seller accepts 2 h later unless
    the parcel left first. Amazon counts such a cancel against the seller for orders
    placed from 2022-05-23 on (the rules in force when the order was placed)."""
    study, result, rows = world(
        root, tmp_path, f"start={start}", "buyers.intent_delay=45m", "buyers.ask_by_message=1"
    )
    cancelled = [0, 0, 0]
    for row in rows:
        if row["outcome"] == "request_cancelled":
            cancelled[placed_day(study, row)] += 1
    assert all(cancelled), cancelled  # every day has request cancels, counted or not
    expected = [
        n if first_counted_day is not None and day >= first_counted_day else 0
        for day, n in enumerate(cancelled)
    ]
    assert result.daily_counted.tolist() == expected
    if first_counted_day is None:
        assert result.metrics["platform_metric_rate"] == 0.0


def test_an_official_request_never_counts_for_amazon(root, tmp_path):
    _, result, rows = world(root, tmp_path, "buyers.intent_delay=45m", "buyers.ask_by_message=0")
    assert any(row["outcome"] == "request_cancelled" for row in rows)
    assert result.daily_counted.sum() == 0
    assert result.metrics["seller_fault_cancel_share"] == 0.0  # the buyer's wish, not the seller's


# ----------------------------------------------------------------- fulfilment by the platform
TWO_KINDS = (
    "sellers.types={solo: {share: 0.5, popularity: 1, packing_stations: 1000, pack_time: 1h,"
    ' pickup_times: ["17:00"], cancels: {out_of_stock: 1}, cancels_at: packing,'
    " never_ships: 0, answers: {accept: 1, refuse: 0, ignore: 0}, response_time: 2h},"
    " fba: {share: 0.5, fulfilment: platform, popularity: 1, packing_stations: 1000,"
    ' pack_time: 1h, pickup_times: ["17:00"], cancels: {out_of_stock: 1},'
    " cancels_at: packing, never_ships: 0, answers: {accept: 1, refuse: 0, ignore: 0},"
    " response_time: 2h}}"
)


def test_a_seller_the_platform_fulfils_for_is_in_no_seller_metric(root, tmp_path):
    """Every order is cancelled out of stock. Amazon counts its sellers' own cancels, but
    an FBA seller's orders are Amazon's: that seller is in no seller metric at all."""
    study, result, rows = world(
        root, tmp_path, TWO_KINDS, "sellers.count=6", "buyers.cancel_intent=0"
    )
    assert {row["outcome"] for row in rows} == {"seller_cancelled"}
    fba = {3, 4, 5}  # shares 0.5 and 0.5 of 6 sellers: 0-2 ship themselves, 3-5 are FBA
    sellers = {int(row["seller"]) for row in rows}
    assert sellers & fba and sellers - fba
    rates = result.seller_rates
    assert all(math.isnan(rates[s]) for s in fba)
    assert all(rates[s] == 1.0 for s in sellers - fba)
    m = result.metrics
    assert m["platform_metric_rate"] == 1.0  # counted / the judged sellers' orders only
    assert m["sellers_flagged_share"] == 1.0 and m["sellers_over_threshold_share"] == 1.0
    assert m["seller_days_over_threshold_share"] == 1.0
    assert math.isnan(m["seller_weeks_flagged_share"])  # two measured days: no whole week
    assert sum(n for _, n in result.bands.values()) == len(sellers - fba)
    # the neutral metric counts both: the order ended unshipped because of the stock
    assert m["seller_fault_cancel_share"] == 1.0
    counted = sum(not math.isnan(r) for r in rates)
    assert counted == 3
    # the platform-wide daily rate divides by the judged sellers' orders only
    assert result.daily_judged.shape == result.daily_orders.shape  # per day
    assert result.daily_orders.sum() == len(rows)
    assert result.daily_judged.sum() == sum(int(row["seller"]) < 3 for row in rows)


def test_a_market_of_platform_fulfilled_sellers_has_no_seller_metric(root, tmp_path):
    only_fba = TWO_KINDS.replace("solo: {share: 0.5", "solo: {share: 0").replace(
        "fba: {share: 0.5", "fba: {share: 1"
    )
    _, result, _ = world(root, tmp_path, only_fba, "sellers.count=6", "buyers.cancel_intent=0")
    for name in ("platform_metric_rate", "sellers_flagged_share", "sellers_over_threshold_share"):
        assert math.isnan(result.metrics[name]), name
    assert result.daily_counted.sum() == 0


def test_an_fba_buyer_cancels_alone_until_packing_starts(root, tmp_path):
    """With a 2 h pending hold, a wish at 45 min is past Amazon's 30-minute window: a
    seller-fulfilled order needs the seller (who accepts 2 h later), an FBA order is
    cancelled by the buyer at once, before Amazon's warehouse starts packing."""
    no_cancels = TWO_KINDS.replace("cancels: {out_of_stock: 1}", "cancels: {}")
    study, result, rows = world(
        root,
        tmp_path,
        no_cancels,
        "sellers.count=6",
        "amazon.pending.hold=2h",
        "buyers.intent_delay=45m",
    )
    for row in rows:
        if int(row["seller"]) >= 3:  # FBA
            assert row["outcome"] == "self_cancelled", row
            assert row["closed_h"] == pytest.approx(row["placed_h"] + 0.75, abs=TOL)
        else:
            assert row["outcome"] in ("request_cancelled", "kept_after_failed_cancel"), row
    # a wish at 2.5 h: packing has begun in the warehouse (hold 2 h, packing 1 h)
    _, _, rows = world(
        root,
        tmp_path,
        no_cancels,
        "sellers.count=6",
        "amazon.pending.hold=2h",
        "buyers.intent_delay=150m",
    )
    for row in rows:
        if int(row["seller"]) >= 3:
            assert row["outcome"] == "kept_after_failed_cancel", row


def test_jd_sends_every_order_to_its_own_warehouses(root, tmp_path):
    """JD self-operated is the seller of every order: no order goes to a seller who ships
    itself; Amazon, with the same orders, gives both kinds theirs."""
    _, _, rows = world(root, tmp_path, TWO_KINDS, "sellers.count=6", "buyers.cancel_intent=0")
    assert {int(r["seller"]) for r in rows} & {0, 1, 2}
    _, _, rows = world(
        root, tmp_path, TWO_KINDS, "sellers.count=6", "buyers.cancel_intent=0", key="jd"
    )
    assert {int(r["seller"]) for r in rows} <= {3, 4, 5}


def test_orders_a_week_count_a_run_s_partial_last_day_as_part_of_a_day(root, tmp_path):
    """The run starts at noon: its 3 days of orders end at noon of the local day 3, and
    the measured days (from local day 2) are one and a half. Each seller's size is its
    measured orders over 1.5 / 7 weeks; bands 5 orders a week apart tell 1.5 from any
    other divisor."""
    edges = ", ".join(f'"{low}": {low}' for low in range(0, 400, 5))
    study, result, rows = world(
        root,
        tmp_path,
        "start=2026-03-02T12:00:00+08:00",
        f"sellers.size_bands={{{edges}}}",
    )
    # seller metrics count whole local days from the first after the warm-up: day 2
    measured = [int(row["seller"]) for row in rows if placed_day(study, row) >= 2]
    assert study.scenario.warmup.amount == 24 and study.scenario.horizon.amount == 72
    per_week = np.bincount(measured, minlength=5) / (1.5 / 7)
    expected = {f"{low}": [0, 0] for low in range(0, 400, 5)}
    for size in per_week[per_week > 0]:
        expected[f"{int(size // 5 * 5)}"][1] += 1
    assert {k: v[1] for k, v in result.bands.items()} == {k: v[1] for k, v in expected.items()}


def test_an_order_only_late_auto_cancelled_is_the_seller_s_fault(root, tmp_path):
    """The seller ships everything, but packing takes 4 days: every order passes its
    auto-cancel deadline (ship-by 2 d, then 1 d) unshipped and is cancelled by Amazon."""
    slow = SOLO.replace("pack_time: 1h", "pack_time: 4d")
    _, result, rows = world(
        root,
        tmp_path,
        slow,
        "buyers.cancel_intent=0",
        "amazon.ship_by.within=2d",
        "amazon.auto_cancel.after=1d",
    )
    assert {row["outcome"] for row in rows} == {"auto_cancelled"}
    assert result.metrics["seller_fault_cancel_share"] == 1.0


def test_a_stored_run_from_before_the_daily_counts_reads_as_empty_days(root, tmp_path):
    """A results folder written before runs recorded outcomes by day: its runs read back
    with empty daily arrays of the right types and shapes (the report then leaves out the
    daily figures), not a KeyError."""
    import json

    from sim.engine.recorder import OUTCOMES

    _, result, _ = world(root, tmp_path)
    data = json.loads(json.dumps(result.to_dict()))
    for name in ("daily_outcomes", "daily_refunds", "daily_money_back"):
        del data[name]
    again = RunResult.from_dict(data)
    assert again.daily_outcomes.shape == (0, len(OUTCOMES))
    assert again.daily_outcomes.dtype == np.int64
    assert again.daily_refunds.shape == (0,) and again.daily_refunds.dtype == np.int64
    assert again.daily_money_back.shape == (0,) and again.daily_money_back.dtype == np.float64
