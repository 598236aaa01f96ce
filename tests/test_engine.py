"""The engine: invariants, reproducibility, common random numbers, closed forms."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine import RunSpec, simulate
from sim.engine.recorder import EDGES, InvariantError, Recorder, bin_of
from sim.engine.result import quantile_from_hist
from sim.errors import InputError
from sim.model.load import Override, load_study
from sim.model.policy import Outcome

QUICK = "sim/builtin/scenarios/quick.yaml"


def study_with(root, *settings_: str, path: str = QUICK):
    return load_study(root / path, [Override.parse(s) for s in settings_])


def run(study, key: str, replication: int = 0, seed: int | None = None):
    seed = study.scenario.seed if seed is None else seed
    return simulate(RunSpec(key, study.policies[key], study.scenario, replication, seed))


@pytest.mark.parametrize("key", ["amazon", "taobao", "jd"])
def test_every_measured_order_has_exactly_one_outcome(quick_study, key):
    result = run(quick_study, key)  # the engine itself checks all orders and money
    assert sum(result.outcome_counts.values()) == result.metrics["orders"] > 1000


def test_same_seed_reproduces_a_run_bit_for_bit(quick_study):
    a, b = run(quick_study, "taobao"), run(quick_study, "taobao")
    assert a.metrics == b.metrics
    assert np.array_equal(a.money_back_hist, b.money_back_hist)
    assert np.array_equal(a.seller_rates, b.seller_rates, equal_nan=True)


def test_policies_see_the_same_orders_and_buyers(quick_study):
    runs = [run(quick_study, key) for key in quick_study.policies]
    for name in ("orders", "cancel_intent_share"):
        assert len({r.metrics[name] for r in runs}) == 1
    assert np.array_equal(runs[0].daily_orders, runs[1].daily_orders)


def test_replications_differ(quick_study):
    assert run(quick_study, "amazon", 0).metrics != run(quick_study, "amazon", 1).metrics


def test_self_cancel_share_matches_the_closed_form(root):
    """Exponential intent timing, nothing shipped within the window: p(1 - exp(-w/m))."""
    study = study_with(
        root,
        "orders.rate_per_hour=150",
        "buyers.intent_delay={dist: exponential, mean: 2h}",
        "buyers.cancel_intent=0.3",
    )
    result = run(study, "amazon")
    p, w, m = 0.3, 0.5, 2.0
    expected = p * (1 - math.exp(-w / m))
    n = result.metrics["orders"]
    share = result.metrics["self_cancel_share"]
    half_width = 3.29 * math.sqrt(expected * (1 - expected) / n)  # a 99.9% interval
    assert abs(share - expected) < half_width, (share, expected, n)


def test_no_cancel_intent_means_no_buyer_cancels(root):
    study = study_with(root, "buyers.cancel_intent=0", "buyers.chase_unshipped_after=null")
    for key in study.policies:
        m = run(study, key).metrics
        assert m["cancel_intent_share"] == 0
        assert m["self_cancel_share"] == m["request_cancel_share"] == 0
        assert m["instant_refund_share"] == m["failed_cancel_share"] == 0


def test_a_longer_pending_window_moves_cancels_from_requests_to_self_service(root):
    short = run(study_with(root, "amazon.self_cancel.window=30m"), "amazon").metrics
    longer = run(study_with(root, "amazon.self_cancel.window=4h"), "amazon").metrics
    assert longer["self_cancel_share"] > short["self_cancel_share"]
    assert longer["request_cancel_share"] < short["request_cancel_share"]


def test_silence_rule_refunds_unanswered_requests(root):
    """Sellers who ignore every request and ship late: Taobao's 24 h rule refunds."""
    study = study_with(
        root,
        "sellers.types.home.answers={accept: 0, refuse: 0, ignore: 1}",
        "sellers.types.professional.answers={accept: 0, refuse: 0, ignore: 1}",
        "sellers.types.dropshipper.answers={accept: 0, refuse: 0, ignore: 1}",
        "sellers.types.warehouse.answers={accept: 0, refuse: 0, ignore: 1}",
        "buyers.good_record=0",
    )
    with_rule = run(study, "taobao").metrics
    assert with_rule["auto_approved_share"] > 0
    without = study_with(
        root,
        "taobao.cancel_request.platform_approves_after=null",
        "sellers.types.home.answers={accept: 0, refuse: 0, ignore: 1}",
        "sellers.types.professional.answers={accept: 0, refuse: 0, ignore: 1}",
        "sellers.types.dropshipper.answers={accept: 0, refuse: 0, ignore: 1}",
        "sellers.types.warehouse.answers={accept: 0, refuse: 0, ignore: 1}",
        "buyers.good_record=0",
    )
    assert run(without, "taobao").metrics["auto_approved_share"] == 0


def test_amazon_auto_cancel_rule_switches_on_2020_09_30(root):
    study = study_with(root, "start=2020-09-25T00:00:00-07:00")
    from sim.engine.rules import compile_policy
    from sim.model.calendar import BusinessCalendar

    cal = BusinessCalendar("US", study.scenario.start.date(), 100)
    compiled = compile_policy(
        "amazon", study.policies["amazon"], cal, ("credit_card",), 1.0, 24 * 30
    )
    before, after = compiled.rules_at(24 * 4.5), compiled.rules_at(24 * 5.5)
    before, after = before.auto_cancel.after, after.auto_cancel.after
    assert before.amount == 30 * 24 and not before.business_days
    assert after.amount == 7 and after.business_days
    assert compiled.starts == [0.0, 24 * 5.0]


def test_a_scenario_before_a_rule_s_first_date_is_refused(root):
    with pytest.raises(InputError) as exc:
        study_with(root, "start=1999-06-01T00:00:00+00:00")
    # one line per policy, naming every value that has none yet
    assert (
        "policies[0].file: auto_cancel.after has no value before 2000-01-01; "
        "seller_metric.counts_message_requests has no value before 2000-01-01, but the "
        "scenario starts on 1999-06-01" in str(exc.value)
    )


def test_recorder_catches_an_order_without_outcome():
    rec = Recorder(sellers=1, days=1, methods=1, end=10.0)
    rec.place_batch(*(np.array([v]) for v in (0, 0, 100, True, False)))
    with pytest.raises(InvariantError, match="1 orders placed but 0 outcomes"):
        rec.finish()


def test_recorder_catches_lost_money():
    rec = Recorder(sellers=1, days=1, methods=1, end=10.0)
    rec.place_batch(*(np.array([v]) for v in (0, 0, 100, True, False)))
    rec.close(Outcome.SELF_CANCELLED, True, 100, 0, 0, False)  # closed, but never refunded
    with pytest.raises(InvariantError, match="money not conserved"):
        rec.finish()


def test_recorder_refuses_a_refund_before_its_cancellation():
    rec = Recorder(sellers=1, days=1, methods=1, end=10.0)
    with pytest.raises(InvariantError, match="out of order with its cancellation at 5.0"):
        rec.refund(Outcome.SELF_CANCELLED, True, 100, 0, started=5.0, issued=5.0, back=4.0, day=0)


def test_histogram_quantiles_agree_with_exact_ones():
    rng = np.random.default_rng(1)
    hours = np.concatenate([np.zeros(500), rng.lognormal(3, 1.2, 20_000)])
    hist = np.zeros(len(EDGES) + 1, dtype=np.int64)
    for h in hours:
        hist[bin_of(h)] += 1
    for q in (0.5, 0.9, 0.99):
        assert quantile_from_hist(hist, q) == pytest.approx(np.quantile(hours, q), rel=0.01)
    assert quantile_from_hist(hist, 0.01) == 0.0


SMALL = ("orders.rate_per_hour=6", "horizon=4d", "sellers.count=8")


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    intent=st.floats(0, 1),
    window=st.sampled_from(["0m", "15m", "2h", "1d"]),
    stations=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    never=st.floats(0, 0.2),
    pursue=st.floats(0, 1),
)
def test_invariants_hold_for_any_market(root, intent, window, stations, seed, never, pursue):
    study = study_with(
        root,
        *SMALL,
        f"buyers.cancel_intent={intent}",
        f"amazon.self_cancel.window={window}",
        f"sellers.types.home.packing_stations={stations}",
        f"sellers.types.home.never_ships={never}",
        f"buyers.pursue_after_shipment={pursue}",
    )
    for key in study.policies:
        result = run(study, key, seed=seed)  # raises InvariantError on any violation
        assert sum(result.outcome_counts.values()) == result.metrics["orders"]
        shares = [v for k, v in result.metrics.items() if k.endswith("_share")]
        assert all(0 <= v <= 1 for v in shares if not math.isnan(v))


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    short=st.sampled_from([0.0, 0.25, 0.5]),
    extra=st.sampled_from([0.25, 1.0, 4.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_longer_window_never_lowers_the_self_cancel_share(root, short, extra, seed):
    def share(hours):
        study = study_with(
            root, *SMALL, "buyers.cancel_intent=0.3", f"amazon.self_cancel.window={hours}h"
        )
        return run(study, "amazon", seed=seed).metrics["self_cancel_share"]

    assert share(short + extra) >= share(short)


def test_no_empty_day_after_a_horizon_that_ends_at_midnight(quick_study):
    result = run(quick_study, "amazon")
    assert len(result.daily_orders) == 8 and result.daily_orders[-1] > 0


def test_after_delivery_only_a_return_is_left(root):
    """Buyers who want out only days after shipment: no interception, no refusal."""
    study = study_with(
        root,
        "buyers.intent_delay=20d",
        "buyers.pursue_after_shipment=1",
        "buyers.cancel_intent=0.2",
        "delivery.transit=2d",
    )
    for key in ("amazon", "taobao"):
        counts = run(study, key).outcome_counts
        assert counts["returned"] > 0
        assert counts["intercepted"] == counts["refused_delivery"] == 0


def test_before_delivery_the_parcel_is_refused_or_intercepted(root):
    study = study_with(root, "buyers.pursue_after_shipment=1", "delivery.transit=30d")
    counts = run(study, "taobao").outcome_counts
    assert counts["intercepted"] > 0 and counts["refused_delivery"] > 0
    assert counts["returned"] == 0


def test_the_refund_clock_starts_at_the_buyers_wish(root):
    """A buyer who asked to cancel, then saw the order auto-cancelled: the wait counts."""
    study = study_with(
        root,
        "buyers.cancel_intent=0",
        "buyers.chase_unshipped_after=1h",
        "sellers.types.home.never_ships=1",
        "sellers.types.home.cancels={}",
        "amazon.auto_cancel.after=1d",
        "sellers.types.home.answers={accept: 0, refuse: 0, ignore: 1}",
        "sellers.types.dropshipper.pack_time=1h",  # no dropshipper order late by a day
    )
    result = run(study, "amazon")
    auto = result.money_back_hist[list(Outcome).index(Outcome.AUTO_CANCELLED)]
    assert auto.sum() > 0
    # ship-by (2 business days) + 1 day after the chase at 1 h: at least about 2 days
    assert quantile_from_hist(auto, 0.01) > 40


def test_first_full_day_after_the_warmup():
    import datetime as dt

    from sim.engine.simulate import first_full_day
    from sim.model.calendar import BusinessCalendar

    midnight = BusinessCalendar("none", dt.date(2026, 3, 2), 10, hour_offset=0.0)
    noon = BusinessCalendar("none", dt.date(2026, 3, 2), 10, hour_offset=12.0)
    assert first_full_day(midnight, 24.0) == 1
    assert first_full_day(noon, 24.0) == 2  # the warm-up ends at noon of day 1


# ----------------------------------------------------------------- seller metrics by hand
def _seller_recorder(orders, counted):
    """A recorder whose per-seller-day counts are given (sellers x days)."""
    orders, counted = np.array(orders), np.array(counted)
    rec = Recorder(sellers=orders.shape[0], days=orders.shape[1], methods=1, end=1)
    rec.seller_orders[:] = orders
    rec.seller_counted[:] = counted
    rec.measured = int(orders.sum())
    return rec


def _seller_metrics(rec, threshold=0.025, window=7, first_day=0):
    from sim.engine.result import metrics_of

    m, rates, _ = metrics_of(rec, _rule(window, threshold), MONDAY, first_day, _all(rec))
    return m, rates


MONDAY = dt.date(2026, 3, 2)


def _rule(window=7, threshold=0.025):
    from sim.engine.evaluation import Evaluation
    from sim.model.policy import Minimum, Window

    return Evaluation(Window(days=window), "daily", Minimum(), threshold)


def _all(rec):
    return np.ones(rec.sellers, dtype=bool)


def test_a_seller_exactly_at_the_threshold_is_not_over_it():
    """40 orders and 1 cancel in the window is 2.5%: at the line, not over it."""
    at = _seller_recorder([[40, 0], [39, 0]], [[1, 0], [1, 0]])
    m, rates = _seller_metrics(at, window=2)
    assert rates.tolist() == [1 / 40, 1 / 39]
    assert m["sellers_over_threshold_share"] == 0.5  # only the second seller, at 2.56%
    assert m["seller_days_over_threshold_share"] == 0.5  # its two days, of four
    assert m["platform_metric_rate"] == 2 / 79


def test_the_window_slides_over_days_and_measures_from_the_first_full_day():
    # seller 0: a cancel on day 0 (warm-up), orders every day; window 2 days
    orders = [[10, 10, 10, 10], [0, 0, 5, 5]]
    counted = [[1, 0, 0, 0], [0, 0, 0, 1]]
    m, rates = _seller_metrics(_seller_recorder(orders, counted), 0.04, window=2, first_day=1)
    # seller 0: day 1 window = days 0-1: 1/20 = 5% > 4% (the warm-up cancel still counts
    # in the window), days 2 and 3: 0%; seller 1: day 3: 1/10 = 10%
    assert m["seller_days_over_threshold_share"] == 2 / 5  # active seller-days: 3 + 2
    assert m["sellers_over_threshold_share"] == 1.0
    assert rates.tolist() == [0.0, 0.1]  # each seller's rate over the measured days only
    assert m["platform_metric_rate"] == 1 / 40
    m, _ = _seller_metrics(_seller_recorder(orders, counted), 0.04, window=1, first_day=1)
    assert m["seller_days_over_threshold_share"] == 1 / 5
    assert m["sellers_over_threshold_share"] == 0.5


def test_sellers_without_measured_orders_are_left_out():
    orders = [[0, 0], [10, 10], [0, 0]]
    counted = [[0, 0], [1, 0], [0, 0]]
    m, rates = _seller_metrics(_seller_recorder(orders, counted), 0.04, window=7)
    assert m["sellers_over_threshold_share"] == 1.0
    assert np.isnan(rates[0]) and rates[1] == 0.05 and np.isnan(rates[2])


def test_no_threshold_or_no_seller_metric_leave_the_metrics_undefined():
    from sim.engine.result import metrics_of

    rec = _seller_recorder([[10]], [[1]])
    m, rates, bands = metrics_of(rec, _rule(7, math.nan), MONDAY, 0, _all(rec))
    assert m["platform_metric_rate"] == 0.1 and rates.tolist() == [0.1] and bands == {}
    for name in (
        "sellers_over_threshold_share",
        "seller_days_over_threshold_share",
        "sellers_flagged_share",
        "seller_weeks_flagged_share",
    ):
        assert math.isnan(m[name])
    m, rates, bands = metrics_of(rec, None, MONDAY, 0, _all(rec))  # no seller metric
    assert math.isnan(m["platform_metric_rate"]) and math.isnan(rates[0]) and bands == {}
    assert math.isnan(m["sellers_flagged_share"])


# ----------------------------------------------------------------- histogram quantiles by hand
def test_a_quantile_is_read_inside_its_own_bin():
    hist = np.zeros(len(EDGES) + 1, dtype=np.int64)
    b = bin_of(10.0)
    hist[b] = 4
    assert EDGES[b - 1] <= 10.0 < EDGES[b]
    for q in (0.01, 0.5, 1.0):
        assert EDGES[b - 1] <= quantile_from_hist(hist, q) <= EDGES[b]
    assert quantile_from_hist(hist, 0.5) == pytest.approx(math.sqrt(EDGES[b - 1] * EDGES[b]))
    assert quantile_from_hist(hist, 1.0) == pytest.approx(EDGES[b])
    hist[0] = 4  # half the refunds are instant
    assert quantile_from_hist(hist, 0.5) == 0.0
    assert quantile_from_hist(hist, 0.75) == pytest.approx(math.sqrt(EDGES[b - 1] * EDGES[b]))
    assert math.isnan(quantile_from_hist(np.zeros(len(EDGES) + 1, dtype=np.int64), 0.5))


def test_bins_of_exact_values():
    assert bin_of(0.0) == 0 and bin_of(-1.0) == 0
    assert bin_of(1e-4) == 1  # below the first log edge: the first bin above zero
    assert bin_of(1e9) == len(EDGES)  # the overflow bin
    for hours in (0.001, 0.5, 1.0, 24.0, 1000.0):
        b = bin_of(hours)
        assert EDGES[b - 1] <= hours < EDGES[b] or b == len(EDGES)


# ----------------------------------------------------------------- recorder money by hand
def test_the_recorder_accounts_every_cent():
    rec = Recorder(sellers=2, days=2, methods=2, end=100.0)
    rec.place_batch(
        np.array([0, 1, 1, 0]),
        np.array([0, 0, 1, 1]),
        np.array([100, 250, 400, 800]),
        np.array([True, True, False, True]),
        np.array([True, False, True, False]),
    )
    assert (rec.placed, rec.measured, rec.intents, rec.paid_cents) == (4, 3, 1, 1550)
    assert rec.seller_orders.tolist() == [[1, 1], [1, 1]]
    rec.close(Outcome.SELF_CANCELLED, True, 100, 0, 0, counted=False)
    rec.refund(Outcome.SELF_CANCELLED, True, 100, 1, started=1.0, issued=2.0, back=3.0, day=0)
    rec.close(Outcome.SELLER_CANCELLED, True, 250, 1, 0, counted=True)
    rec.refund(Outcome.SELLER_CANCELLED, True, 250, 0, started=90.0, issued=91.0, back=120.0, day=0)
    rec.close(Outcome.SHIPPED, False, 400, 1, 1, counted=False)
    rec.close(Outcome.OPEN, True, 800, 0, 1, counted=False)
    rec.finish()
    assert (rec.kept_cents, rec.refunded_cents, rec.in_flight_cents, rec.open_cents) == (
        400,
        100,
        250,
        800,
    )
    assert rec.seller_counted.tolist() == [[0, 0], [1, 0]]
    assert rec.money_back_sum == 32.0 and rec.money_hours == pytest.approx(2 * 1 + 30 * 2.5)
    assert rec.method_hist[1].sum() == 1 and rec.method_hist[0].sum() == 1
    index = list(Outcome).index
    assert rec.outcomes[index(Outcome.SHIPPED)] == 0  # not measured
    assert rec.outcomes_all[index(Outcome.SHIPPED)] == 1
    assert rec.money_back_hist[index(Outcome.SELF_CANCELLED), bin_of(2.0)] == 1


def test_the_recorder_refuses_time_going_back():
    rec = Recorder(sellers=1, days=1, methods=1, end=10.0)
    rec.clock(2.0)
    rec.clock(2.0)
    with pytest.raises(InvariantError, match="time went back from 2.0 to 1.0"):
        rec.clock(1.0)


def test_shipping_counts_late_parcels_and_compensation_when_measured():
    rec = Recorder(sellers=1, days=1, methods=1, end=10.0)
    rec.ship(True, True, 5.0)
    rec.ship(True, False, 0.0)
    rec.ship(False, True, 7.0)
    assert (rec.shipped, rec.late, rec.compensation) == (2, 1, 5.0)


def test_a_trace_row_keeps_a_time_of_zero_and_blanks_only_missing_times(root):
    from sim.engine.market import Market
    from sim.engine.rules import compile_policy
    from sim.engine.streams import RandomStreams
    from sim.model.calendar import BusinessCalendar

    study = study_with(root, *SMALL)
    scenario, policy = study.scenario, study.policies["amazon"]
    calendar = BusinessCalendar("US", scenario.start.date(), 800)
    mix = scenario.policies[0].payment_mix
    compiled = compile_policy("amazon", policy, calendar, tuple(mix), 1.0, 24 * 40)
    market = Market(scenario, compiled, RandomStreams(1, 0), mix)
    market.env.run(until=5)
    order = next(iter(market.open.values()))
    order.intent_at, order.shipped_at = 0.0, -1.0
    row = market._trace_row(order, Outcome.OPEN, 1.23456789, None)
    assert row[0] == order.seq and row[1] == order.seller
    assert row[2] == round(order.placed, 6) and row[3] == "open"
    assert row[4] == 1.234568 and row[5] == 0.0 and row[6] is None
    assert row[7] is None and row[8] is None
    assert row[9] == order.cents / 100 and row[10] == compiled.methods[order.method]
    assert row[11] is order.measured
    refunded = market._trace_row(order, Outcome.SELF_CANCELLED, 1.0, (0.0, 2.3456789))
    assert refunded[7] == 0.0 and refunded[8] == 2.345679


def _market_at_five_hours(root, key: str, *settings_: str):
    """A market of the quick scenario run to 5 h, and one of its open orders."""
    from sim.engine.market import Market
    from sim.engine.rules import compile_policy
    from sim.engine.streams import RandomStreams
    from sim.model.calendar import BusinessCalendar

    study = study_with(root, *SMALL, "delivery.transit=2d", *settings_)
    scenario, policy = study.scenario, study.policies[key]
    calendar = BusinessCalendar(policy.calendar, scenario.start.date(), 800)
    run = next(p for p in scenario.policies if p.file.endswith(f"{key}.yaml"))
    fx = 1.0 if policy.currency == scenario.currency else scenario.exchange_rates[policy.currency]
    compiled = compile_policy(key, policy, calendar, tuple(run.payment_mix), fx, 24 * 40)
    market = Market(scenario, compiled, RandomStreams(1, 0), run.payment_mix)
    market.env.run(until=5)
    order = next(o for o in market.open.values() if not o.facts.never_ships[o.row])
    order.facts.cause[order.row] = None  # the seller can fill it
    return market, order


def _after_shipment_outcome(market, order, shipped_at: float, u_intercept: float = 0.99):
    from sim.engine.market import SHIPPED

    order.stage, order.shipped_at, order.intent_at = SHIPPED, shipped_at, market.env.now
    order.facts.pursue[order.row] = True
    order.facts.u_intercept[order.row] = u_intercept
    before = dict(market.recorder._closed_all)
    market.after_shipment(order)
    changed = [o for o, n in market.recorder._closed_all.items() if n != before[o]]
    assert len(changed) == 1
    return changed[0]


def test_a_parcel_delivered_at_the_moment_of_the_wish_is_returned_not_refused(root):
    """At 5 h, a parcel shipped at -43 h with a 48-hour transit arrives exactly now: the
    buyer has it, so only a return is left; a moment earlier it could be refused."""
    market, order = _market_at_five_hours(root, "amazon")
    assert _after_shipment_outcome(market, order, -43.0) is Outcome.RETURNED
    market, order = _market_at_five_hours(root, "amazon")
    assert _after_shipment_outcome(market, order, -42.5) is Outcome.REFUSED_DELIVERY


def test_interception_succeeds_below_its_probability_only(root):
    """A uniform draw exactly at the success probability fails: P(u < p) is p."""
    pin = "taobao.after_shipment.interception.success=0.5"
    market, order = _market_at_five_hours(root, "taobao", pin)
    assert _after_shipment_outcome(market, order, 0.0, u_intercept=0.5) is Outcome.REFUSED_DELIVERY
    market, order = _market_at_five_hours(root, "taobao", pin)
    assert _after_shipment_outcome(market, order, 0.0, u_intercept=0.4999) is Outcome.INTERCEPTED
    market, order = _market_at_five_hours(root, "taobao", pin)
    assert _after_shipment_outcome(market, order, -43.0, u_intercept=0.1) is Outcome.RETURNED


def test_a_parcel_picked_up_exactly_at_its_ship_by_time_is_on_time(root):
    market, order = _market_at_five_hours(root, "amazon")
    desk = market.desks[order.seller]
    order.ship_by, order.deadline, order.measured = 5.0, 100.0, True
    market.ship(order, desk)
    assert order.shipped_at == 5.0
    assert (market.recorder.shipped, market.recorder.late) == (1, 0)
    market, order = _market_at_five_hours(root, "amazon")
    order.ship_by, order.deadline, order.measured = 4.999, 100.0, True
    market.ship(order, market.desks[order.seller])
    assert (market.recorder.shipped, market.recorder.late) == (1, 1)


def test_at_its_auto_cancel_deadline_an_unshipped_parcel_is_cancelled_not_shipped(root):
    market, order = _market_at_five_hours(root, "amazon")
    order.deadline = 5.0
    market.ship(order, market.desks[order.seller])
    assert order.closed and order.shipped_at == -1.0
    assert market.recorder._closed_all[Outcome.AUTO_CANCELLED] == 1


def test_a_wish_at_time_zero_still_starts_the_refund_clock(root):
    """Two identical orders cancelled by the seller at 5 h; one buyer had asked at 0 h:
    that refund is measured from 0 h, 5 hours longer."""
    sums = []
    for intent in (0.0, -1.0):  # -1: no wish
        market, order = _market_at_five_hours(root, "amazon")
        order.intent_at, order.measured = intent, True
        market.cancel(order, Outcome.SELLER_CANCELLED, at=5.0, started=5.0)
        sums.append(market.recorder.money_back_sum)
    assert sums[0] - sums[1] == pytest.approx(5.0)


def test_a_refund_before_its_cancellation_is_an_internal_error_naming_the_order(root):
    market, order = _market_at_five_hours(root, "amazon")
    market.delay = lambda start, dist, u: start - 10.0
    with pytest.raises(InvariantError) as caught:
        market.cancel(order, Outcome.SELF_CANCELLED, at=5.0, started=5.0)
    assert str(caught.value) == (
        f"order {order.seq} (placed at {order.placed:.3f} h, seller {order.seller}, stage "
        f"{order.stage}, intent at -1.000 h, shipped at -1.000 h): refund issued at "
        "-5.000 h, money back at -15.000 h, against its cancellation at 5.000 h "
        "(self_cancelled)"
    )


def test_an_order_whose_deadline_comes_as_a_station_frees_is_cancelled_not_packed(root):
    from sim.engine.market import PACKING

    market, order = _market_at_five_hours(root, "amazon")
    desk = market.desks[order.seller]
    desk.queue.clear()
    order.ready_at, order.deadline = 0.0, 5.0
    desk.queue.append(order)
    free = desk.free
    assert free > 0
    desk.take_next()
    assert order.closed and order.stage != PACKING
    assert market.recorder._closed_all[Outcome.AUTO_CANCELLED] == 1
    assert desk.free == free  # nothing left to pack: every station stays free


def _desk(stations: int, holds: list[float], pack: float = 1.0):
    """A desk of `stations` over a bare environment, with one order per hold end."""
    from types import SimpleNamespace

    import simpy

    from sim.engine.market import Desk

    env = simpy.Environment()
    market = SimpleNamespace(env=env, expired=lambda order: False, seller_cancel=None)
    kind = SimpleNamespace(stations=stations, cancels_at="packing", pickup=None)  # daily pickups
    desk = Desk(market, kind)
    facts = SimpleNamespace(cause=[None] * len(holds), pack=[pack] * len(holds))
    orders = [
        SimpleNamespace(row=i, ready_at=h, deadline=math.inf, closed=False, stage=0, facts=facts)
        for i, h in enumerate(holds)
    ]
    return env, desk, orders


def test_held_orders_start_as_their_holds_end_with_one_timer_for_all_free_stations():
    from sim.engine.market import PACKED, PACKING

    env, desk, orders = _desk(stations=3, holds=[0.5, 0.7, 0.9])
    for order in orders:
        desk.enqueue(order)
    assert len(env._queue) == 1  # one timer, for the oldest order's hold, not three
    assert desk.free == 3 and desk.wake_at == 0.5
    env.run(until=0.6)
    assert [o.stage for o in orders] == [PACKING, 0, 0] and desk.free == 2
    env.run(until=1.0)
    assert all(o.stage == PACKING for o in orders) and desk.free == 0
    assert desk.wake_at == math.inf  # no timer armed any more
    env.run(until=2.0)
    assert all(o.stage == PACKED for o in orders) and desk.packed == orders and desk.free == 3


def test_a_busy_desk_packs_in_order_as_stations_free_and_skips_closed_orders():
    from sim.engine.market import PACKING

    env, desk, orders = _desk(stations=1, holds=[0.0, 0.0, 0.0], pack=2.0)
    for order in orders:
        desk.enqueue(order)
    assert orders[0].stage == PACKING and desk.free == 0
    orders[1].closed = True  # cancelled while waiting
    env.run(until=2.5)
    assert orders[1].stage == 0 and orders[2].stage == PACKING
    assert list(desk.queue) == []


def test_a_held_head_that_closes_leaves_the_timer_for_the_next_one():
    from sim.engine.market import PACKING

    env, desk, orders = _desk(stations=2, holds=[1.0, 3.0])
    for order in orders:
        desk.enqueue(order)
    orders[0].closed = True
    env.run(until=2.0)
    assert desk.wake_at == 3.0 and orders[1].stage == 0  # re-armed for the next hold
    env.run(until=3.5)
    assert orders[1].stage == PACKING


def test_an_earlier_hold_behind_a_later_one_waits_for_the_oldest_order():
    """First in, first out: a younger order released earlier still waits its turn."""
    from sim.engine.market import PACKING

    env, desk, orders = _desk(stations=2, holds=[2.0, 1.0])
    for order in orders:
        desk.enqueue(order)
    env.run(until=1.5)
    assert [o.stage for o in orders] == [0, 0]
    env.run(until=2.5)
    assert [o.stage for o in orders] == [PACKING, PACKING]
