"""Engine parts in isolation: compiled rules, the recorder, result metrics, arrivals, runs."""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from sim.engine.evaluation import Evaluation, SizeBand
from sim.engine.recorder import (
    EDGES,
    N_BINS,
    OUTCOME_INDEX,
    OUTCOMES,
    InvariantError,
    Recorder,
    bin_of,
)
from sim.engine.result import (
    RunResult,
    _seller_metrics,
    check_bounds,
    metrics_of,
    quantile_from_hist,
)
from sim.engine.rules import compile_policy
from sim.model.calendar import BusinessCalendar
from sim.model.load import Override, load_study
from sim.model.policy import STAGE_ORDER, Cause, Minimum, Outcome, Stage, Window
from sim.model.units import Duration

ROOT = Path(__file__).resolve().parent.parent


def study_with(*settings: str, path: str = "sim/builtin/scenarios/quick.yaml"):
    return load_study(ROOT / path, [Override.parse(s) for s in settings])


@pytest.fixture(scope="module")
def quick():
    return study_with()


def compiled(policy, first: dt.date, end_hours: float, offset: float = 0.0, methods=("gift_card",)):
    calendar = BusinessCalendar("none", first, 400, offset)
    return compile_policy("p", policy, calendar, methods, 1.0, end_hours)


# --- rules.py: one version per effective date inside the run ---------------------------


def test_a_change_inside_the_run_starts_a_version_at_local_midnight(quick):
    """Amazon's auto-cancel moved from 30 days to 7 business days on 2020-09-30."""
    amazon = quick.policies["amazon"]
    c = compiled(amazon, dt.date(2020, 9, 25), 240.0, offset=8.0, methods=("gift_card",))
    # local midnight of 30 Sep is 5 days after the first day's midnight, 8 h before time 0
    assert c.starts == [0.0, 5 * 24 - 8.0]
    assert [v.auto_cancel.after for v in c.versions] == [Duration(720.0), Duration(7.0, True)]
    assert c.rules_at(0.0).auto_cancel.after == Duration(720.0)
    assert c.rules_at(111.99).auto_cancel.after == Duration(720.0)
    assert c.rules_at(112.0).auto_cancel.after == Duration(7.0, True)
    assert c.rules_at(239.0).auto_cancel.after == Duration(7.0, True)


def test_a_change_exactly_at_the_end_of_the_run_still_applies_there(quick):
    amazon = quick.policies["amazon"]
    c = compiled(amazon, dt.date(2020, 9, 25), 120.0)
    assert c.starts == [0.0, 120.0]
    assert c.rules_at(119.5).auto_cancel.after == Duration(720.0)
    assert c.rules_at(120.0).auto_cancel.after == Duration(7.0, True)
    after_end = compiled(amazon, dt.date(2020, 9, 25), 119.0)
    assert after_end.starts == [0.0]
    assert len(after_end.versions) == 1


@pytest.mark.parametrize("first", [dt.date(2020, 9, 30), dt.date(2020, 10, 5)])
def test_a_change_on_or_before_the_first_day_makes_no_second_version(quick, first):
    c = compiled(quick.policies["amazon"], first, 240.0, offset=8.0)
    assert c.starts == [0.0]
    assert [v.auto_cancel.after for v in c.versions] == [Duration(7.0, True)]


def test_amazon_compiles_to_its_written_rules(quick):
    amazon = quick.policies["amazon"]
    calendar = BusinessCalendar("none", dt.date(2026, 3, 2), 400, 0.0)
    methods = ("credit_card", "gift_card")
    c = compile_policy("amazon", amazon, calendar, methods, 0.5, 100.0)
    assert (c.key, c.policy, c.calendar, c.methods, c.fx) == (
        "amazon",
        amazon,
        calendar,
        methods,
        0.5,
    )
    (r,) = c.versions
    assert r == amazon.at(dt.date(2026, 3, 2))  # the rules in force, as written
    assert set(r.seller_metric.counts) == {Outcome.SELLER_CANCELLED, Outcome.AUTO_CANCELLED}
    assert {cause for cause in Cause if r.seller_cancel.counts(cause)} == {
        Cause.OUT_OF_STOCK,
        Cause.PRICING_ERROR,
        Cause.UNDELIVERABLE_ADDRESS,
    }
    assert r.pending.hold == Duration(0.5)
    assert r.self_cancel.window == Duration(0.5)
    assert r.self_cancel.until is Stage.SHIPPED  # until shipped
    assert r.instant_refund is None  # no instant refunds
    assert r.cancel_request.until is Stage.SHIPPED
    assert r.cancel_request.seller_decides is True
    assert r.cancel_request.platform_approves_after is None
    assert r.ship_by.within == Duration(2.0, True)
    assert r.auto_cancel.after == Duration(7.0, True)
    assert r.late_shipment is None  # no compensation
    assert r.refunds.processing.mean() == 0.5  # uniform 0h .. 1h
    rails = [r.refunds.rails[m] for m in c.methods]
    assert [rail.delay.mean() for rail in rails] == [4.0, 2.5]  # 3-5 business days; 2h-3h
    assert rails[0].delay.business_days and not rails[1].delay.business_days
    assert rails[0].release.mean() == 84.0  # authorisation released within 7 d: 0h .. 7d
    assert rails[1].release is None


def test_taobao_compiles_its_optional_rules_and_dated_compensation(quick):
    taobao = quick.policies["taobao"]
    c = compiled(taobao, dt.date(2020, 12, 30), 72.0, methods=("alipay_balance", "bank_card"))
    assert c.starts == [0.0, 48.0]
    early, late = c.versions
    assert early.pending is None  # no pending hold
    assert early.self_cancel is None
    assert early.instant_refund.until is Stage.SHIPPED
    assert early.cancel_request.until is Stage.SHIPPED
    assert early.cancel_request.seller_decides is True
    assert early.cancel_request.platform_approves_after == Duration(24.0)
    assert early.ship_by.within == Duration(48.0)
    assert early.auto_cancel is None
    early_pay, late_pay = early.late_shipment.compensation, late.late_shipment.compensation
    assert (early_pay.share, early_pay.maximum) == (0.05, 30)
    assert (late_pay.share, late_pay.maximum) == (0.10, 100)
    for version in (early, late):
        assert set(version.seller_metric.counts) == set(taobao.first.seller_metric.counts)
        assert version.seller_cancel.counts(Cause.BUYER_REQUEST)
    assert c.rules_at(47.0) is early and c.rules_at(48.0) is late


def test_jd_compiles_a_platform_decided_request_and_a_dated_rail(quick):
    jd = quick.policies["jd"]
    c = compiled(jd, dt.date(2024, 12, 31), 48.0, methods=("jd_wallet", "bank_credit_card"))
    old, new = c.versions
    assert old.cancel_request.seller_decides is False
    assert old.cancel_request.until is Stage.SHIPPED
    assert old.cancel_request.platform_approves_after == Duration(0.5)
    assert old.instant_refund is None
    old_rails = [old.refunds.rails[m] for m in c.methods]
    new_rails = [new.refunds.rails[m] for m in c.methods]
    assert [r.delay.mean() for r in old_rails] == [1.0, 7.5]  # within 2 and 15 working days
    assert [r.delay.mean() for r in new_rails] == [1.0, 3.5]  # within 2 and 7
    assert [r.release for r in new_rails] == [None, None]
    for version in (old, new):
        assert version.seller_metric is None  # no seller metric
        assert not any(version.seller_cancel.counts(cause) for cause in Cause)  # none counts


def test_a_policy_without_requests_or_metric_compiles_to_none():
    s = study_with("amazon.seller_metric=null", "amazon.cancel_request=null")
    c = compiled(s.policies["amazon"], dt.date(2026, 3, 2), 48.0)
    (r,) = c.versions
    assert r.cancel_request is None  # no requests: no stage, no seller, no approval
    assert r.seller_metric is None  # nothing counted


# --- recorder.py: aggregates and invariants -----------------------------------------------


def test_a_zero_refund_time_has_its_own_bin_and_edges_open_the_next_bin():
    assert bin_of(0.0) == 0
    assert bin_of(-1.0) == 0
    assert bin_of(1e-4) == 1  # (0, 1e-3 h)
    for hours in (0.5, 2.0, 100.0):
        b = bin_of(hours)
        assert EDGES[b - 1] <= hours < EDGES[b]
    for k in (1, 400, 1000):  # a time exactly at an edge starts the bin above it
        assert bin_of(EDGES[k]) == k + 1
    assert bin_of(1e5) == bin_of(1e9) == N_BINS - 1  # anything from 1e5 h on


def _place(rec, rows):
    """rows: (seller, day, cents, measured, intent)"""
    seller, day, cents, measured, intent = (np.array(c) for c in zip(*rows, strict=True))
    rec.place_batch(seller, day, cents, measured.astype(bool), intent.astype(bool))


@pytest.fixture
def worked():
    """Nine orders by hand: two sellers, three days, two payment methods, end at 100 h."""
    rec = Recorder(sellers=2, days=3, methods=2, end=100.0)
    _place(rec, [(0, 0, 1000, 0, 1), (1, 1, 2000, 1, 1), (1, 1, 3000, 1, 0), (0, 2, 4000, 1, 1)])
    _place(
        rec,
        [(1, 2, 500, 1, 0), (0, 1, 1500, 1, 0), (0, 2, 700, 0, 0), (1, 0, 800, 0, 0)]
        + [(1, 2, 1000, 1, 1)],
    )
    rec.ship(True, True, 2.5)
    rec.ship(True, False, 0.0)
    rec.ship(False, True, 9.0)  # not measured: not in the metrics
    o = Outcome
    rec.close(o.SHIPPED, False, 1000, 0, 0, False)
    rec.close(o.SELF_CANCELLED, True, 2000, 1, 1, True)
    rec.refund(o.SELF_CANCELLED, True, 2000, 0, 98.0, 98.0, 100.0, 1)  # back exactly at the end
    rec.close(o.SELLER_CANCELLED, True, 3000, 1, 1, True)
    rec.refund(o.SELLER_CANCELLED, True, 3000, 1, 40.0, 41.0, 140.0, 1)  # still in flight
    rec.close(o.OPEN, True, 4000, 0, 2, False)
    rec.close(o.OPEN, True, 500, 1, 2, False)
    rec.close(o.KEPT_AFTER_FAILED_CANCEL, True, 1500, 0, 1, False)
    rec.close(o.AUTO_CANCELLED, False, 700, 0, 2, False)
    rec.refund(o.AUTO_CANCELLED, False, 700, 0, 50.0, 50.0, 50.0, 2)  # refunded at the cancel
    rec.close(o.RETURNED, False, 800, 1, 0, False)
    rec.refund(o.RETURNED, False, 800, 1, 90.0, 90.0, 200.0, 0)
    rec.close(o.SELF_CANCELLED, True, 1000, 1, 2, True)
    rec.refund(o.SELF_CANCELLED, True, 1000, 0, 10.0, 10.0, 12.0, 2)
    rec.finish()
    return rec


def test_the_recorder_adds_up_a_worked_example(worked):
    rec = worked
    assert (rec.placed, rec.measured, rec.intents) == (9, 6, 3)
    assert (rec.shipped, rec.late, rec.compensation) == (2, 1, 2.5)
    assert rec.paid_cents == 14500
    assert (rec.kept_cents, rec.refunded_cents, rec.in_flight_cents, rec.open_cents) == (
        2500,
        3700,
        3800,
        4500,
    )
    assert rec.seller_orders.tolist() == [[1, 1, 2], [1, 2, 2]]
    # by day of placement: every order's outcome; measured refunds and their hours
    by_day = {
        (d, outcome): int(n)
        for (d, i), n in np.ndenumerate(rec.daily_outcomes)
        if n
        for outcome in [OUTCOMES[i]]
    }
    assert by_day == {
        (0, Outcome.SHIPPED): 1,
        (0, Outcome.RETURNED): 1,
        (1, Outcome.SELF_CANCELLED): 1,
        (1, Outcome.SELLER_CANCELLED): 1,
        (1, Outcome.KEPT_AFTER_FAILED_CANCEL): 1,
        (2, Outcome.OPEN): 2,
        (2, Outcome.AUTO_CANCELLED): 1,
        (2, Outcome.SELF_CANCELLED): 1,
    }
    assert rec.daily_refunds.tolist() == [0, 2, 1]  # measured refunds only
    assert rec.daily_money_back.tolist() == [0.0, 2.0 + 100.0, 2.0]
    assert rec.seller_counted.tolist() == [[0, 0, 0], [0, 2, 1]]
    counts = dict(zip([o.value for o in Outcome], rec.outcomes_all.tolist(), strict=True))
    assert {k: v for k, v in counts.items() if v} == {
        "shipped": 1,
        "self_cancelled": 2,
        "seller_cancelled": 1,
        "open": 2,
        "kept_after_failed_cancel": 1,
        "auto_cancelled": 1,
        "returned": 1,
    }
    measured = dict(zip([o.value for o in Outcome], rec.outcomes.tolist(), strict=True))
    assert {k: v for k, v in measured.items() if v} == {
        "self_cancelled": 2,
        "seller_cancelled": 1,
        "open": 2,
        "kept_after_failed_cancel": 1,
    }
    # only measured refunds are in the histograms: 2 h twice, 100 h once
    two, hundred = bin_of(2.0), bin_of(100.0)
    assert rec.money_back_hist[OUTCOME_INDEX[Outcome.SELF_CANCELLED], two] == 2
    assert rec.money_back_hist[OUTCOME_INDEX[Outcome.SELLER_CANCELLED], hundred] == 1
    assert rec.money_back_hist.sum() == 3
    assert rec.method_hist[0, two] == 2 and rec.method_hist[1, hundred] == 1
    assert rec.method_hist.sum() == 3
    assert rec.money_back_sum == 104.0
    assert rec.money_hours == pytest.approx(2 * 20 + 100 * 30 + 2 * 10)  # hours x dollars


def test_the_recorder_check_names_what_broke(worked):
    worked.placed += 1
    with pytest.raises(InvariantError, match=r"^10 orders placed but 9 outcomes recorded$"):
        worked.check()
    worked.placed -= 1
    worked.kept_cents += 1
    with pytest.raises(
        InvariantError,
        match=r"^money not conserved: paid 14500 cents, but kept \+ refunded \+ "
        r"in flight \+ open = 14501$",
    ):
        worked.check()


def test_as_many_measured_refunds_as_refunding_outcomes_is_fine_one_more_is_not():
    rec = Recorder(sellers=1, days=1, methods=1, end=10.0)
    _place(rec, [(0, 0, 100, 1, 1)])
    rec.close(Outcome.SELF_CANCELLED, True, 100, 0, 0, False)
    rec.refund(Outcome.SELF_CANCELLED, True, 100, 0, 1.0, 1.0, 1.0, 0)
    rec.finish()  # one refund measured, one refunding outcome
    assert rec.money_back_hist[OUTCOME_INDEX[Outcome.SELF_CANCELLED], 0] == 1
    rec.money_back_hist[0, 5] += 1
    with pytest.raises(InvariantError, match=r"^more refunds measured than refunding outcomes$"):
        rec.check()


@pytest.mark.parametrize(("issued", "back"), [(6.0, 5.0), (5.0, 7.0), (8.0, 7.0)])
def test_a_refund_out_of_order_with_its_cancellation_is_an_internal_error(issued, back):
    """Issued before the cancellation, or the money back before either: both impossible."""
    rec = Recorder(sellers=1, days=1, methods=1, end=10.0)
    message = (
        f"refund issued at {issued} and back at {back}: out of order with its cancellation at 6.0"
    )
    with pytest.raises(InvariantError, match=f"^{message}$"):
        rec.refund(Outcome.SELF_CANCELLED, True, 100, 0, 6.0, issued, back, 0)
    rec.refund(Outcome.SELF_CANCELLED, True, 100, 0, 6.0, 6.0, 6.0, 0)  # all at once is fine


def test_the_clock_may_stand_still_but_not_go_back():
    rec = Recorder(sellers=1, days=1, methods=1, end=10.0)
    rec.clock(1.0)
    rec.clock(1.0)
    assert rec.last_time == 1.0
    with pytest.raises(InvariantError, match=r"^time went back from 1.0 to 0.5$"):
        rec.clock(0.5)


def test_a_fresh_recorder_counts_nothing():
    rec = Recorder(sellers=2, days=3, methods=2, end=10.0)
    rec.finish()
    assert rec.outcomes_all.tolist() == [0] * len(Outcome)
    assert rec.seller_orders.shape == rec.seller_counted.shape == (2, 3)
    assert rec.money_back_hist.shape == (len(Outcome), N_BINS)
    assert rec.method_hist.shape == (2, N_BINS)


# --- result.py: metrics from the aggregates -----------------------------------------------


def _recorder_of(outcomes, intents=0, end=100.0):
    """Measured orders of 100 cents with these outcomes, refunds of 1 h each."""
    rec = Recorder(sellers=1, days=1, methods=1, end=end)
    n = len(outcomes)
    rows = [(0, 0, 100, 1, int(i < intents)) for i in range(n)]
    if rows:
        _place(rec, rows)
    for o in outcomes:
        rec.close(o, True, 100, 0, 0, False)
        if o not in (Outcome.SHIPPED, Outcome.KEPT_AFTER_FAILED_CANCEL, Outcome.OPEN):
            rec.refund(o, True, 100, 0, 0.0, 0.0, 1.0, 0)
    rec.finish()
    return rec


def test_outcome_shares_are_of_measured_orders():
    o = Outcome
    outcomes = [o.SELF_CANCELLED, o.INSTANT_REFUNDED, o.REQUEST_CANCELLED, o.REQUEST_CANCELLED]
    outcomes += [o.REQUEST_AUTO_APPROVED, o.SELLER_CANCELLED, o.AUTO_CANCELLED]
    outcomes += [o.KEPT_AFTER_FAILED_CANCEL, o.INTERCEPTED, o.REFUSED_DELIVERY, o.RETURNED]
    outcomes += [o.OPEN, o.SHIPPED, o.SHIPPED, o.SHIPPED, o.SHIPPED]
    rec = _recorder_of(outcomes, intents=12)
    rec.ship(True, True, 3.0)
    rec.ship(True, True, 1.0)
    rec.ship(True, False, 0.0)
    rec.ship(True, False, 0.0)
    m, _, _ = metrics_of(rec, None, MONDAY, 0, _judged(rec))
    assert m["orders"] == 16.0
    assert m["cancel_intent_share"] == 12 / 16
    assert m["self_cancel_share"] == 1 / 16
    assert m["instant_refund_share"] == 1 / 16
    assert m["request_cancel_share"] == 3 / 16  # accepted plus auto-approved
    assert m["auto_approved_share"] == 1 / 16
    assert m["seller_cancel_share"] == 1 / 16
    assert m["auto_cancel_share"] == 1 / 16
    assert m["failed_cancel_share"] == 4 / 16  # kept, intercepted, refused, returned
    assert m["open_share"] == 1 / 16
    assert m["late_ship_share"] == 2 / 4
    assert m["compensation_paid"] == 4.0 / 16
    assert m["money_back_hours_mean"] == 1.0
    assert m["buyer_money_hours_held"] == pytest.approx(10 * 1.0 * 1.0 / 16)  # 10 refunds
    one = bin_of(1.0)
    for name in ("money_back_hours_p50", "money_back_hours_p90", "money_back_hours_p99"):
        assert EDGES[one - 1] <= m[name] <= EDGES[one]


def test_refund_percentiles_pool_all_outcomes():
    rec = Recorder(sellers=1, days=1, methods=1, end=1e6)
    cases = [(Outcome.SELF_CANCELLED, 1.0)] * 50 + [(Outcome.RETURNED, 100.0)] * 45
    cases += [(Outcome.SELLER_CANCELLED, 1000.0)] * 5
    _place(rec, [(0, 0, 100, 1, 0)] * len(cases))
    for outcome, hours in cases:
        rec.close(outcome, True, 100, 0, 0, False)
        rec.refund(outcome, True, 100, 0, 0.0, hours / 10, hours, 0)  # issued at a tenth
    rec.finish()
    m, _, _ = metrics_of(rec, None, MONDAY, 0, _judged(rec))
    assert m["money_back_hours_p50"] == pytest.approx(1.0, rel=0.012)
    assert m["money_back_hours_p90"] == pytest.approx(100.0, rel=0.012)
    assert m["money_back_hours_p99"] == pytest.approx(1000.0, rel=0.012)
    assert m["money_back_hours_mean"] == pytest.approx((50 + 4500 + 5000) / 100)
    assert m["refund_issued_hours_p50"] == pytest.approx(0.1, rel=0.012)
    assert m["refund_issued_hours_p90"] == pytest.approx(10.0, rel=0.012)
    assert m["refund_issued_hours_p99"] == pytest.approx(100.0, rel=0.012)
    assert m["refund_issued_hours_mean"] == pytest.approx((5 + 450 + 500) / 100)


def test_one_measured_order_is_the_whole_share():
    m = _no_metric(_recorder_of([Outcome.SELF_CANCELLED]))
    assert m["self_cancel_share"] == 1.0
    assert m["late_ship_share"] != m["late_ship_share"]  # nothing shipped: undefined


def test_no_measured_orders_gives_zero_shares_and_undefined_times():
    m = _no_metric(_recorder_of([]))
    assert m["orders"] == 0.0
    assert m["self_cancel_share"] == 0.0 and m["cancel_intent_share"] == 0.0
    assert all(math.isnan(m[k]) for k in ("money_back_hours_p50", "money_back_hours_mean"))
    assert math.isnan(m["late_ship_share"])


def test_metrics_out_of_bounds_are_internal_errors():
    rec = _recorder_of([Outcome.SHIPPED, Outcome.SHIPPED])
    rec.ship(True, True, -3.0)  # a negative compensation: a bug upstream
    with pytest.raises(
        InvariantError, match=r"^metric compensation_paid = -1.5 is out of its bounds$"
    ):
        metrics_of(rec, None, MONDAY, 0, _judged(rec))


def test_check_bounds_limits():
    nan = math.nan
    check_bounds({"self_cancel_share": 1.0, "open_share": 0.0, "orders": 0.0})
    check_bounds({"self_cancel_share": 1 + 1e-12, "platform_metric_rate": 1.0})  # rounding
    check_bounds({"money_back_hours_p50": 150.0, "orders": 5000.0, "compensation_paid": 0.5})
    check_bounds({"money_back_hours_p50": nan, "platform_metric_rate": nan})
    bad = [
        ({"money_back_hours_p50": nan, "self_cancel_share": 1.5}, "self_cancel_share = 1.5"),
        ({"platform_metric_rate": 1.5}, "platform_metric_rate = 1.5"),
        ({"open_share": 1e-9, "orders": -1.0}, "orders = -1.0"),
        ({"money_back_hours_mean": math.inf}, "money_back_hours_mean = inf"),
        ({"self_cancel_share": 3.0}, "self_cancel_share = 3.0"),
    ]
    for metrics, text in bad:
        with pytest.raises(InvariantError, match=rf"^metric {text} is out of its bounds$"):
            check_bounds(metrics)


def _hist(**bins):
    hist = np.zeros(N_BINS, dtype=np.int64)
    for b, n in bins.items():
        hist[int(b[1:])] = n
    return hist


def test_quantiles_interpolate_log_linearly_inside_a_bin():
    # bin 602 is [1 h, 10^0.005 h); bin 802 is [10 h, 10^1.005 h)
    assert EDGES[601] == pytest.approx(1.0) and EDGES[801] == pytest.approx(10.0)
    hist = _hist(b602=2, b802=2)
    assert quantile_from_hist(hist, 0.25) == pytest.approx(10**0.0025)
    assert quantile_from_hist(hist, 0.5) == pytest.approx(10**0.005)
    assert quantile_from_hist(hist, 0.9) == pytest.approx(10**1.004)
    assert quantile_from_hist(_hist(b602=1), 0.5) == pytest.approx(10**0.0025)


def test_quantiles_of_zeros_tiny_and_huge_refund_times():
    assert math.isnan(quantile_from_hist(_hist(), 0.5))
    assert quantile_from_hist(_hist(b0=5), 0.9) == 0.0
    assert quantile_from_hist(_hist(b1=2), 0.5) == pytest.approx(0.5e-3)  # linear from 0
    assert quantile_from_hist(_hist(b0=1, b1=1), 0.75) == pytest.approx(0.5e-3)
    assert quantile_from_hist(_hist(b1602=3), 0.5) == 1e5  # the last bin reads as 1e5 h


MONDAY = dt.date(2026, 3, 2)


def _judged(rec):
    return np.ones(rec.sellers, dtype=bool)


def _no_metric(rec):
    return metrics_of(rec, None, MONDAY, 0, _judged(rec))[0]


def _rule(threshold=0.25, window=2):
    return Evaluation(Window(days=window), "daily", Minimum(), threshold)


def _seller_recorder():
    rec = Recorder(sellers=4, days=4, methods=1, end=100.0)
    rec.seller_orders[:] = [[2, 4, 0, 4], [0, 0, 0, 0], [1, 0, 2, 2], [0, 1, 0, 0]]
    rec.seller_counted[:] = [[2, 1, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    return rec


def test_seller_metrics_by_hand():
    """Window 2 days, threshold 25 %, measured from day 1.

    Trailing orders (hits) from day 1: seller 0: 6 (3), 4 (1), 4 (1); seller 1: none;
    seller 2: 1, 2, 4 (no hits); seller 3: 1, 1, 0. Over 25 % strictly: only seller 0 on
    day 1 (1 of 4 is exactly 25 %, not over). Active seller-days: 8.
    """
    m: dict[str, float] = {}
    rec = _seller_recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a seller without orders is nan, silently
        rates, bands = _seller_metrics(rec, m, _rule(), MONDAY, 1, _judged(rec), ())
    assert m["platform_metric_rate"] == 2 / 13
    assert m["seller_days_over_threshold_share"] == 1 / 8
    assert m["sellers_over_threshold_share"] == 1 / 3  # of the sellers with measured orders
    assert m["sellers_flagged_share"] == 1 / 3  # daily, no minimum: the same reading
    np.testing.assert_array_equal(rates, [0.25, math.nan, 0.0, 0.0])
    assert bands == {}


def test_seller_metrics_without_threshold_keep_the_rate():
    m: dict[str, float] = {}
    rec = _seller_recorder()
    rates, _ = _seller_metrics(rec, m, _rule(math.nan), MONDAY, 1, _judged(rec), ())
    assert m["platform_metric_rate"] == 2 / 13
    assert math.isnan(m["seller_days_over_threshold_share"])
    assert math.isnan(m["sellers_over_threshold_share"])
    np.testing.assert_array_equal(rates, [0.25, math.nan, 0.0, 0.0])


def test_seller_metrics_without_a_metric_are_undefined():
    m: dict[str, float] = {}
    rec = _seller_recorder()
    rates, bands = _seller_metrics(rec, m, None, MONDAY, 1, _judged(rec), ())
    assert set(m) == {
        "platform_metric_rate",
        "sellers_over_threshold_share",
        "seller_days_over_threshold_share",
        "sellers_flagged_share",
        "seller_weeks_flagged_share",
    }
    assert all(math.isnan(v) for v in m.values())
    assert rates.shape == (4,) and np.isnan(rates).all() and bands == {}


def test_seller_metrics_with_nothing_measured_are_undefined_and_silent():
    m: dict[str, float] = {}
    rec = _seller_recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rates, _ = _seller_metrics(rec, m, _rule(), MONDAY, 4, _judged(rec), ())
    assert all(math.isnan(v) for v in m.values()) and len(m) == 5
    assert np.isnan(rates).all()


def test_a_run_result_survives_json_exactly(worked):
    bands = (SizeBand("small", 0), SizeBand("large", 10))
    m, rates, by_band = metrics_of(worked, _rule(0.5), MONDAY, 1, _judged(worked), bands)
    assert by_band  # the bands travel too
    result = RunResult(
        policy="amazon",
        replication=3,
        metrics=m,
        money_back_hist=worked.money_back_hist,
        issued_hist=worked.issued_hist,
        method_hist=worked.method_hist,
        methods=("credit_card", "gift_card"),
        daily_orders=worked.seller_orders.sum(0),
        daily_judged=worked.seller_orders[1:].sum(0),
        daily_counted=worked.seller_counted.sum(0),
        seller_rates=rates,
        bands=by_band,
        outcome_counts={"open": 2},
        events=17,
        wall_seconds=0.25,
        point=4,
    )
    text = json.dumps(result.to_dict())
    assert '"daily_orders": [2, 3, 4]' in text  # counts stay whole numbers
    back = RunResult.from_dict(json.loads(text))
    assert (back.policy, back.replication, back.point, back.events) == ("amazon", 3, 4, 17)
    assert back.wall_seconds == 0.25
    assert back.methods == ("credit_card", "gift_card")
    assert back.outcome_counts == {"open": 2}
    assert worked.issued_hist.sum() == 3 and worked.issued_hist[:, 1:].sum() == 1
    for name in ("money_back_hist", "issued_hist", "method_hist", "daily_orders", "daily_counted"):
        a, b = getattr(result, name), getattr(back, name)
        assert b.dtype == np.int64 and np.array_equal(a, b), name
    np.testing.assert_array_equal(back.seller_rates, rates)
    assert back.seller_rates.dtype == np.float64
    assert json.dumps(back.to_dict()) == text


# --- arrivals.py: hourly rates and the arrival clock --------------------------------------

DAY = "[3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"


def test_hourly_rates_follow_the_local_hour_weekday_and_promotion():
    from sim.engine.arrivals import hourly_rates

    s = study_with(
        "start=2026-03-02T00:00:00+08:00",  # a Monday, local midnight
        "horizon=2d2h30m",
        "warmup=1d",
        "orders.rate_per_hour=10",
        f"orders.daily_profile={DAY}",  # mean 2: 1.5 by night/morning, 0.5 after noon
        "orders.weekly_profile=[1, 3, 2, 2, 2, 2, 2]",  # mean 2: Monday 0.5, Tuesday 1.5
        "orders.promotions=[{date: 2026-03-03, multiplier: 3, name: sale}]",
    ).scenario
    rates = hourly_rates(s)
    assert len(rates) == 51  # 50.5 hours, rounded up to whole hours
    assert rates[0] == rates[11] == 10 * 1.5 * 0.5
    assert rates[12] == rates[23] == 10 * 0.5 * 0.5
    assert rates[24] == 10 * 1.5 * 1.5 * 3  # Tuesday, promotion day
    assert rates[36] == 10 * 0.5 * 1.5 * 3
    assert rates[48] == 10 * 1.5 * 1.0  # Wednesday, no promotion


def _flat_clock(horizon: str, rate: float = 2.0):
    from sim.engine.arrivals import ArrivalClock

    s = study_with(
        f"horizon={horizon}",
        "warmup=1h",
        f"orders.rate_per_hour={rate}",
        f"orders.daily_profile={[1] * 24}",
        "orders.weekly_profile=[1, 1, 1, 1, 1, 1, 1]",
        "orders.promotions=[]",
    )
    return ArrivalClock(s.scenario)


def test_arrival_times_invert_the_cumulative_intensity_and_stop_before_the_horizon():
    clock = _flat_clock("3h")  # 2 orders an hour: intensity 6 in all
    assert clock.total == 6.0
    np.testing.assert_allclose(clock.times(np.array([1.0, 1.0, 1.0])), [0.5, 1.0, 1.5])
    np.testing.assert_allclose(clock.times(np.array([2.0, 0.5, 0.5])), [2.5, 2.75])
    assert clock.position == 6.0
    assert len(clock.times(np.array([0.1]))) == 0
    assert clock.position == pytest.approx(6.1)  # the last mark is kept, past the horizon


def test_a_fractional_horizon_ends_the_arrivals_inside_its_last_hour():
    clock = _flat_clock("2h30m")
    assert clock.total == 5.0
    np.testing.assert_allclose(clock.times(np.array([4.9, 0.1])), [2.45])


# --- streams.py: common random numbers ----------------------------------------------------


def test_streams_are_the_documented_seed_sequence_children():
    from sim.engine.streams import BLOCK, STREAMS, RandomStreams

    block = RandomStreams(7, 1).block()
    children = np.random.SeedSequence(7, spawn_key=(1,)).spawn(len(STREAMS))
    for child, (name, columns) in zip(children, STREAMS.items(), strict=True):
        draws = np.random.Generator(np.random.PCG64(child)).random((len(columns), BLOCK))
        for column, row in zip(columns, draws, strict=True):
            expected = -np.log1p(-row) if column == "gap" else row
            np.testing.assert_array_equal(block[column], expected, err_msg=f"{name}.{column}")
    assert set(block) == {c for cols in STREAMS.values() for c in cols}
    assert (block["gap"] >= 0).all()


def test_streams_reproduce_by_seed_and_differ_by_replication():
    from sim.engine.streams import RandomStreams

    a, b = RandomStreams(3, 0), RandomStreams(3, 0)
    first_a, first_b = a.block(), b.block()
    assert all(np.array_equal(first_a[k], first_b[k]) for k in first_a)
    second = a.block()  # the next block continues the stream
    assert not np.array_equal(first_a["seller"], second["seller"])
    other = RandomStreams(3, 1).block()
    assert not np.array_equal(first_a["seller"], other["seller"])


# --- simulate.py: one run ---------------------------------------------------------------

SMALL = ("horizon=3d", "warmup=1d", "sellers.count=5", "orders.rate_per_hour=4")


def run_small(key: str, *settings: str, replication: int = 0, point: int = 0, trace=None):
    from sim.engine import RunSpec, simulate

    s = study_with(*SMALL, *settings)
    spec = RunSpec(
        key, s.policies[key], s.scenario, replication, 11, str(trace) if trace else None, point
    )
    return simulate(spec)


def test_first_full_day_is_the_first_local_day_after_the_warm_up():
    from sim.engine.simulate import first_full_day

    def first(warmup, offset):
        return first_full_day(BusinessCalendar("none", dt.date(2026, 3, 2), 10, offset), warmup)

    assert first(0.0, 0.0) == 0
    assert first(24.0, 0.0) == 1
    assert first(16.0, 8.0) == 1  # the warm-up ends exactly at local midnight
    assert first(24.0, 8.0) == 2  # it ends at 08:00 on day 1: day 2 is the first full day
    assert first(47.0, 0.0) == 2
    assert first(25.0, 0.0) == 2  # warm-up until 01:00 on day 1


def test_a_run_result_describes_its_run(tmp_path):
    import csv

    result = run_small(
        "amazon",
        "start=2026-03-02T23:30:00+08:00",
        replication=1,
        point=2,
        trace=tmp_path / "t.csv",
    )
    assert (result.policy, result.replication, result.point) == ("amazon", 1, 2)
    assert result.methods == ("credit_card", "debit_card", "gift_card")
    assert set(result.outcome_counts) == {o.value for o in Outcome}
    assert sum(result.outcome_counts.values()) == result.metrics["orders"] > 0
    assert result.seller_rates.shape == (5,)
    assert result.events > 0 and 0 < result.wall_seconds < 60
    # orders count on their local day: time 0 is 23:30, so day 0 lasts half an hour
    with open(tmp_path / "t.csv") as f:
        placed = [float(r["placed_h"]) for r in csv.DictReader(f)]
    days = np.bincount([int((p + 23.5) // 24) for p in placed], minlength=4)
    assert result.daily_orders.tolist() == days.tolist()
    assert len(result.daily_counted) == 4 and result.daily_counted.sum() >= 0


def test_compensation_is_paid_in_the_policy_currency_and_reported_in_the_scenario_one():
    """Value 20 in the scenario currency, Taobao pays 10 % of the price, at least 5 CNY.

    USD scenario at 0.14 USD/CNY: price 142.86 CNY, 14.29 CNY = 2.00 USD a late order.
    CNY scenario: price 20 CNY, the 5 CNY minimum. Same orders, same lateness: ratio 0.4.
    """
    common = ("orders.value=20", "taobao.ship_by.within=1h")
    usd = run_small("taobao", *common)
    cny = run_small("taobao", *common, "currency=CNY", "exchange_rates={USD: 7.0}")
    assert cny.metrics["late_ship_share"] == usd.metrics["late_ship_share"] > 0
    assert usd.metrics["compensation_paid"] == pytest.approx(0.4 * cny.metrics["compensation_paid"])


def test_a_one_day_seller_window_is_measured():
    result = run_small(
        "amazon", "amazon.seller_metric.window=1d", "amazon.seller_metric.threshold=0"
    )
    share = result.metrics["seller_days_over_threshold_share"]
    assert 0.0 <= share <= 1.0


def test_business_day_deadlines_may_reach_the_calendar_margin_past_the_run(monkeypatch):
    # Validation keeps a policy's durations within 120 business days, far inside the
    # engine's 400-day margin; the margin is shortened to 100 days here to reach its edge.
    # 3 days of orders, 1 day of drain: deadlines up to 2 + 2 + 99 days from the start lie
    # inside the calendar built for the run (its last day plus 100 days)
    import importlib

    monkeypatch.setattr(importlib.import_module("sim.engine.simulate"), "CALENDAR_MARGIN_DAYS", 100)
    monkeypatch.setattr(importlib.import_module("sim.model.calendar"), "GROWTH_DAYS", 0)
    result = run_small(
        "amazon", "drain=1d", "amazon.calendar=none", "amazon.auto_cancel.after=99 business days"
    )
    assert result.metrics["orders"] > 0
    # one day more is outside: the run fails with the calendar's own message, whether the
    # deadline is set when orders are placed or a refund is timed during the run (every
    # buyer wants to cancel, so that some gift card is refunded whatever sellers are drawn)
    for setting in (
        "amazon.auto_cancel.after=100 business days",
        "amazon.refunds.rails.gift_card.delay=120 business days",
    ):
        with pytest.raises(ValueError, match=r"^day \d+ lies outside the 104-day calendar built"):
            run_small(
                "amazon", "drain=1d", "amazon.calendar=none", "buyers.cancel_intent=1", setting
            )


def test_orders_count_on_their_local_day_to_the_minute(tmp_path):
    """Time 0 is 23:59 local and every order arrives in the hour that starts at 23:59 (the
    profile's hours follow the clock from the start), so the orders of the first minute
    after each midnight show where the day boundary lies."""
    import csv

    profile = [0.0] * 23 + [1.0]
    result = run_small(
        "amazon",
        "start=2026-03-02T23:59:00+08:00",
        f"orders.daily_profile={profile}",
        trace=tmp_path / "t.csv",
    )
    with open(tmp_path / "t.csv") as f:
        placed = [float(r["placed_h"]) for r in csv.DictReader(f)]
    offset = 23 + 59 / 60
    assert any(0 <= (p + offset) % 24 < 1 / 60 for p in placed)  # just after midnight
    days = np.bincount([int((p + offset) // 24) for p in placed], minlength=4)
    assert result.daily_orders.tolist() == days.tolist()


def test_a_run_across_an_effective_date_uses_both_versions():
    result = run_small("amazon", "start=2020-09-28T00:00:00-07:00")  # 30 Sep 2020 inside
    assert result.metrics["orders"] > 0


def test_the_seller_rate_pools_the_days_after_the_warm_up():
    result = run_small("taobao")  # starts at local midnight; warm-up: day 0
    counted, orders = result.daily_counted, result.daily_orders
    assert counted[0] > 0  # the warm-up day has counted orders, left out below
    rate = result.metrics["platform_metric_rate"]
    assert rate == pytest.approx(counted[1:].sum() / orders[1:].sum())


def test_orders_the_platform_fulfils_are_answered_by_the_platform(root):
    """Platform rules: the seller never decides; FBA buyers cancel alone until packing,
    with no time limit; a platform delay on requests, where the policy gives one."""
    study = load_study(
        root / "sim/builtin/scenarios/quick.yaml",
        [Override.parse("amazon.platform_fulfilment.approves_after=1h")],
    )
    amazon = study.policies["amazon"]
    day = study.scenario.start.date()
    seller = amazon.at(day)
    platform = seller.for_platform_orders()
    assert seller.cancel_request.seller_decides
    assert seller.cancel_request.platform_approves_after is None
    assert seller.self_cancel.window == Duration(0.5)
    assert platform.cancel_request.seller_decides is False
    assert platform.cancel_request.platform_approves_after == Duration(1.0)
    assert platform.self_cancel.window is None  # no time limit
    assert platform.self_cancel.until == STAGE_ORDER["packing"]
    assert platform.cancel_request.until == seller.cancel_request.until == STAGE_ORDER["shipped"]
    assert platform.refunds == seller.refunds  # only who answers the buyer changes
    taobao = study.policies["taobao"]  # no platform fulfilment: the same rules
    assert taobao.at(day).for_platform_orders() == taobao.at(day)


def test_a_platform_delay_opens_requests_where_the_policy_had_none(root):
    """A policy without cancel requests whose platform approves its own orders' requests
    after a delay: those requests are open until shipment."""
    study = load_study(
        root / "sim/builtin/scenarios/quick.yaml",
        [
            Override.parse("amazon.cancel_request=null"),
            Override.parse("amazon.platform_fulfilment.approves_after=2h"),
        ],
    )
    amazon, day = study.policies["amazon"], study.scenario.start.date()
    assert amazon.at(day).cancel_request is None
    platform = amazon.at(day).for_platform_orders()
    assert platform.cancel_request.until == STAGE_ORDER["shipped"]
    assert platform.cancel_request.seller_decides is False
    assert platform.cancel_request.platform_approves_after == Duration(2.0)
    # where the policy has requests, the platform keeps their stage limit
    packed = load_study(
        root / "sim/builtin/scenarios/quick.yaml",
        [
            Override.parse("amazon.cancel_request.until=packed"),
            Override.parse("amazon.platform_fulfilment.approves_after=2h"),
        ],
    ).policies["amazon"]
    assert packed.at(day).for_platform_orders().cancel_request.until == STAGE_ORDER["packed"]


def test_a_recorded_close_is_no_seller_fault_unless_said():
    rec = Recorder(sellers=1, days=1, methods=1, end=10.0)
    rec.close(Outcome.SELLER_CANCELLED, True, 100, 0, 0, counted=True)
    rec.close(Outcome.AUTO_CANCELLED, True, 100, 0, 0, counted=True, seller_fault=True)
    assert rec.seller_fault == 1


def test_the_daily_counts_must_add_up(worked):
    """The recorder refuses daily counts that disagree with its totals, saying which."""
    worked.daily_outcomes[0, 0] += 1
    with pytest.raises(InvariantError, match="daily outcome counts do not add up"):
        worked.check()
    worked.daily_outcomes[0, 0] -= 1
    worked.daily_refunds[1] += 1
    with pytest.raises(InvariantError, match="daily refund counts do not add up"):
        worked.check()
    worked.daily_refunds[1] -= 1
    worked.check()
