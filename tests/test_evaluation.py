"""Seller metrics evaluated as a platform evaluates them: each rule on a hand-built
order history whose answer is worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from sim.engine.evaluation import (
    Evaluation,
    SizeBand,
    evaluate,
    evaluation_days,
    window_starts,
    windowed,
)
from sim.model.policy import Minimum, Window, parse_window

MONDAY = dt.date(2026, 3, 2)  # day 0 of every history below


def history(sellers: int, days: int, per_day: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """`per_day` orders every day for every seller, nothing counted yet."""
    return np.full((sellers, days), per_day, dtype=np.int64), np.zeros((sellers, days), np.int64)


def rule(
    window: str = "7d", cadence: str = "daily", orders: int = 0, counted: int = 0
) -> Evaluation:
    return Evaluation(parse_window(window), cadence, Minimum(orders=orders, counted=counted), 0.025)


def run(orders, counted, r, first_day=0, judged=None, bands=(), measured_days=None):
    judged = np.ones(orders.shape[0], bool) if judged is None else judged
    return evaluate(orders, counted, r, MONDAY, first_day, judged, bands, measured_days)


def test_evaluation_days_of_each_cadence():
    assert evaluation_days(MONDAY, 10, "daily").tolist() == list(range(10))
    assert evaluation_days(MONDAY, 21, "weekly").tolist() == [6, 13, 20]  # Sundays
    # 2026-03-31 is day 29, 2026-04-30 day 59
    assert evaluation_days(MONDAY, 61, "monthly").tolist() == [29, 59]


def test_window_of_days_and_of_months():
    ends = np.array([0, 6, 29])
    assert window_starts(MONDAY, ends, Window(days=7)).tolist() == [0, 0, 23]
    # 1 month ending 2026-03-31 starts 2026-03-01, before the run: its first day, 0
    assert window_starts(MONDAY, np.array([29, 59]), Window(months=1)).tolist() == [0, 30]
    # 3 months ending 2026-06-30 (day 120) start 2026-04-01 (day 30)
    assert window_starts(MONDAY, np.array([120]), Window(months=3)).tolist() == [30]
    # a month ending 2026-05-30 (day 89) starts 2026-04-30 (day 59)
    assert window_starts(MONDAY, np.array([89]), Window(months=1)).tolist() == [59]
    counts = np.arange(10).reshape(1, 10)
    assert windowed(counts, np.array([0, 3]), np.array([2, 9])).tolist() == [[3, 42]]


def test_window_length_decides_how_long_one_cancel_flags():
    orders, counted = history(2, 21)
    counted[0, 7] = 1  # 1 of 70 orders (1.4%) in a 7-day window: under 2.5%
    counted[1, 7] = 2  # 2 of 70 (2.9%): over, for the 7 daily windows that hold day 7
    m, _ = run(orders, counted, rule("7d"), first_day=7)
    assert m["sellers_flagged_share"] == 0.5
    # days 7..20 evaluated for 2 sellers (28 seller-days); seller 1 over on days 7..13
    assert m["seller_days_over_threshold_share"] == 7 / 28
    m, _ = run(orders, counted, rule("3d"), first_day=7)
    # 1 of 30 (3.3%) is over in a 3-day window: both sellers, for 3 days each
    assert m["sellers_flagged_share"] == 1.0
    assert m["seller_days_over_threshold_share"] == 6 / 28


def test_weekly_cadence_sees_only_the_windows_ending_on_sundays():
    orders, counted = history(2, 21)
    counted[0, 8] = 2  # Tuesday of week 2: in the windows of days 8..14, Sunday 13 among them
    counted[1, 1] = 2  # Tuesday of week 1, in the warm-up: in windows of days 1..7
    daily, _ = run(orders, counted, rule("7d", "daily"), first_day=7)
    weekly, _ = run(orders, counted, rule("7d", "weekly"), first_day=7)
    # daily: seller 1's window of day 7 (Monday, measured) still holds day 1
    assert daily["sellers_flagged_share"] == 1.0
    # weekly: measured Sundays are days 13 and 20; only seller 0's day-13 window is over
    assert weekly["sellers_flagged_share"] == 0.5
    # the raw reading does not depend on the cadence
    assert daily["sellers_over_threshold_share"] == weekly["sellers_over_threshold_share"] == 1.0


def test_monthly_cadence_with_a_month_window():
    orders, counted = history(1, 61)
    counted[0, 40] = 9  # 2026-04-11: 9 of 300 orders in April (3%): flagged on 30 April
    m, _ = run(orders, counted, rule("1 month", "monthly"))
    assert m["sellers_flagged_share"] == 1.0
    counted[0, 40] = 7  # 7 of 300 (2.3%): not flagged, though a 7-day window would be
    m, _ = run(orders, counted, rule("1 month", "monthly"))
    assert m["sellers_flagged_share"] == 0.0
    assert m["sellers_over_threshold_share"] == 0.0  # the raw reading uses the month window
    m, _ = run(orders, counted, rule("7d", "daily"))
    assert m["sellers_flagged_share"] == 1.0


def test_minimum_counts_before_a_seller_can_be_flagged():
    orders, counted = history(3, 14, per_day=1)
    counted[0, 8] = 1  # 1 of 7 orders in the window: 14%, with one counted cancel
    counted[1, 8] = 1
    counted[1, 9] = 1  # two counted cancels
    counted[2, 9] = 3  # three
    assert run(orders, counted, rule(), first_day=7)[0]["sellers_flagged_share"] == 1.0
    needs_two = rule(counted=2)
    assert run(orders, counted, needs_two, first_day=7)[0]["sellers_flagged_share"] == 2 / 3
    needs_three = rule(counted=3)
    assert run(orders, counted, needs_three, first_day=7)[0]["sellers_flagged_share"] == 1 / 3
    # a minimum of 8 orders in the window: each window holds 7, nobody is flagged
    m, _ = run(orders, counted, rule(orders=8), first_day=7)
    assert m["sellers_flagged_share"] == 0.0
    assert m["sellers_over_threshold_share"] == 1.0  # the raw reading has no minimum
    m, _ = run(orders, counted, rule(orders=7), first_day=7)
    assert m["sellers_flagged_share"] == 1.0


def test_seller_weeks_are_judged_at_each_week_end():
    orders, counted = history(2, 21)
    counted[0, 13] = 4  # Sunday of week 1 (days 7..13): flagged at its end
    counted[1, 8] = 4  # Tuesday: in the daily windows of days 8..14, so at the end of week 1
    m, _ = run(orders, counted, rule("7d", "daily"), first_day=7)
    # measured weeks end on days 13 and 20: seller 0 flagged at 13 (its window holds
    # day 13), not at 20 (window 14..20); seller 1 flagged at 13, not at 20
    assert m["seller_weeks_flagged_share"] == 2 / 4
    # a 14-day window still holds days 8 and 13 at day 20 (4 of 140: 2.9%)
    m, _ = run(orders, counted, rule("14d", "daily"), first_day=7)
    assert m["seller_weeks_flagged_share"] == 1.0


def test_a_week_with_no_evaluation_yet_is_not_judged():
    orders, counted = history(1, 14)
    counted[0, 3] = 5
    m, _ = run(orders, counted, rule("1 month", "monthly"), first_day=7)
    # no month ends within these days: nothing evaluated, nothing flagged
    assert math.isnan(m["seller_weeks_flagged_share"])
    assert m["sellers_flagged_share"] == 0.0


def test_sellers_the_platform_fulfils_for_are_never_judged():
    orders, counted = history(2, 14)
    counted[1, 8] = 5  # the platform-fulfilled seller would be over
    judged = np.array([True, False])
    m, bands = run(orders, counted, rule(), 7, judged, (SizeBand("all", 0),))
    assert m["sellers_flagged_share"] == 0.0
    assert m["sellers_over_threshold_share"] == 0.0
    assert m["seller_days_over_threshold_share"] == 0.0
    assert m["seller_weeks_flagged_share"] == 0.0
    assert bands == {"all": [0, 1]}


def test_size_bands_split_sellers_by_measured_orders_a_week():
    orders, counted = history(4, 14, per_day=1)
    orders[2] = 2  # 14 a week
    orders[3] = 20  # 140 a week
    counted[:, 10] = 1  # one cancel each: flags the small sellers, not the largest
    bands = (SizeBand("small", 0), SizeBand("medium", 10), SizeBand("large", 100))
    m, by_band = run(orders, counted, rule(), 7, bands=bands)
    assert by_band == {"small": [2, 2], "medium": [1, 1], "large": [0, 1]}
    assert m["sellers_flagged_share"] == 3 / 4


def test_a_seller_without_measured_orders_is_left_out():
    orders, counted = history(2, 14)
    orders[1, 7:] = 0
    counted[1, 3] = 5  # over in the warm-up only
    m, _ = run(orders, counted, rule(), first_day=7)
    assert m["sellers_flagged_share"] == 0.0  # seller 1 has no measured orders


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 fortnights", "unknown unit 'fortnights'"),
        ("36h", "not a whole number of calendar days"),
        ("0 months", "out of range; expected 1 to 120 months"),
        ("2 business days", "not a whole number of calendar days"),
        ("30000 months", "out of range; expected 1 to 120 months"),
        ("99999d", "out of range; expected at most 3650d \\(10 years\\)"),
        ("3651d", "out of range"),
    ],
)
def test_bad_windows(text, message):
    with pytest.raises(ValueError, match=message):
        parse_window(text)


def test_windows_read_and_print():
    assert parse_window("7d") == Window(days=7)
    assert parse_window("2w") == Window(days=14)
    assert parse_window("3 months") == Window(months=3)
    assert parse_window("1 month") == Window(months=1)
    assert (str(Window(days=7)), str(Window(months=1)), str(Window(months=12))) == (
        "7d",
        "1 month",
        "12 months",
    )


def test_a_seller_exactly_at_the_threshold_is_not_flagged():
    orders, counted = history(2, 14, per_day=40)  # 280 orders in each 7-day window
    counted[0, 9] = 7  # 7 of 280 = 2.5%: at the line
    counted[1, 9] = 8  # 2.86%: over it
    m, _ = run(orders, counted, rule(), first_day=7)
    assert m["sellers_flagged_share"] == 0.5
    assert m["sellers_over_threshold_share"] == 0.5


def test_band_edges_are_orders_a_week_over_the_measured_days():
    orders, counted = history(3, 14, per_day=0)
    orders[0, 7:] = [2, 2, 1, 1, 1, 2, 1]  # 10 measured orders in 7 days: 10 a week
    orders[1, 7:] = [1, 1, 1, 1, 1, 2, 2]  # 9 a week
    orders[2, :7] = 50  # warm-up orders only: no measured orders, in no band
    bands = (SizeBand("small", 0), SizeBand("medium", 10))
    _, by_band = run(orders, counted, rule(), 7, bands=bands)
    assert by_band == {"small": [0, 1], "medium": [0, 1]}
    # a run that ends at 06:00 of its last day measures 6.25 days: 9 orders are 10.1 a week
    _, by_band = run(orders, counted, rule(), 7, bands=bands, measured_days=6.25)
    assert by_band == {"small": [0, 0], "medium": [0, 2]}


def test_a_week_whose_window_holds_no_order_is_not_judged():
    orders, counted = history(2, 21)
    orders[1, 10:] = 0  # seller 1 stops selling on day 10: its window at day 20 is empty
    counted[0, 15] = 4  # seller 0 over in the window of day 20, not of day 13
    m, _ = run(orders, counted, rule(), first_day=7)
    # judged weeks: seller 0 at days 13 and 20, seller 1 at day 13 only; flagged: 1
    assert m["seller_weeks_flagged_share"] == 1 / 3


def test_a_partial_last_day_ends_no_week():
    orders, counted = history(1, 14)
    counted[0, 13] = 4
    whole, _ = run(orders, counted, rule(), first_day=7)
    assert whole["seller_weeks_flagged_share"] == 1.0  # the week ending on day 13
    partial, _ = run(orders, counted, rule(), first_day=7, measured_days=6.5)
    assert math.isnan(partial["seller_weeks_flagged_share"])  # day 13 is half a day


def test_month_windows_across_a_new_year_and_a_leap_february():
    from sim.engine.evaluation import _month_length

    assert [_month_length(2026, m) for m in (1, 2, 11, 12)] == [31, 28, 30, 31]
    assert _month_length(2024, 2) == 29
    first = dt.date(2026, 11, 1)
    # 3 months ending 2027-01-31 (day 91) start 2026-11-01 (day 0)
    assert window_starts(first, np.array([91]), Window(months=3)).tolist() == [0]
    # 1 month ending 2027-02-28 (day 119) is February: from 2027-02-01 (day 92)
    assert window_starts(first, np.array([119]), Window(months=1)).tolist() == [92]
    # 1 month ending 2027-03-30 (day 149) would start on 31 February: it starts on the
    # last day February has, the 28th (day 119)
    assert window_starts(first, np.array([149]), Window(months=1)).tolist() == [119]
    # 2 months ending 2026-12-31 (day 60) start 2026-11-01
    assert window_starts(first, np.array([60]), Window(months=2)).tolist() == [0]
    # 2 months ending 2027-01-30 (day 90) would start on 31 November: the 30th (day 29)
    assert window_starts(first, np.array([90]), Window(months=2)).tolist() == [29]
    # 14 months ending 2028-01-31 (day 456) start 2026-12-01 (day 30)
    assert window_starts(first, np.array([456]), Window(months=14)).tolist() == [30]


def test_one_order_is_enough_to_be_judged_and_flagged():
    orders, counted = history(2, 8, per_day=0)
    orders[0, 7] = 1  # one measured order, cancelled: 100% of one order
    counted[0, 7] = 1
    orders[1, 7] = 1  # one measured order, shipped
    m, _ = run(orders, counted, rule(), first_day=7)
    assert m["sellers_flagged_share"] == 0.5  # both judged, one flagged
    assert m["sellers_over_threshold_share"] == 0.5
    assert m["seller_days_over_threshold_share"] == 0.5  # day 7 of each seller
    week = np.concatenate([history(2, 14, per_day=0)[0]])
    week[:, 13] = 1  # one order each, on the week's last day
    flagged_counted = np.zeros_like(week)
    flagged_counted[0, 13] = 1
    m, _ = run(week, flagged_counted, rule(), first_day=7)
    assert m["seller_weeks_flagged_share"] == 0.5


def test_a_week_judged_by_an_evaluation_on_the_first_day_of_the_run():
    """Day 0 is the last day of March: the monthly evaluation of day 0 judges the first
    week, whose own days hold no evaluation."""
    orders, counted = history(1, 7)
    counted[0, 0] = 1  # 1 of 10 on day 0: over
    m, _ = evaluate(
        orders, counted, rule("7d", "monthly"), dt.date(2026, 3, 31), 0, np.ones(1, bool)
    )
    assert m["seller_weeks_flagged_share"] == 1.0


def test_a_share_of_nothing_is_undefined():
    from sim.engine.evaluation import _share

    assert math.isnan(_share(0, 0))
    assert _share(1, 4) == 0.25


def test_window_starts_of_no_evaluation_day_are_integer_indexes():
    """A run without a month's end has no monthly evaluation: its (empty) window starts
    are still integer indexes, usable to slice the counts."""
    for window in (Window(months=3), Window(days=7)):
        starts = window_starts(dt.date(2026, 3, 2), np.array([], dtype=np.int64), window)
        assert starts.dtype == np.int64 and starts.shape == (0,)
        assert windowed(np.ones((2, 5), dtype=np.int64), starts, starts).shape == (2, 0)


def test_window_counts_are_whole_numbers():
    from sim.engine.evaluation import Evaluation, _windows

    orders = np.array([[3, 1, 2, 4]], dtype=np.int64)
    counted = np.array([[1, 0, 1, 0]], dtype=np.int64)
    rule = Evaluation(Window(days=2), "daily", Minimum(), 0.25, 0)
    w_orders, w_counted, over = _windows(
        orders, counted, np.arange(4), ((0, rule),), dt.date(2026, 3, 2), minimum=False
    )
    assert w_counted.dtype == np.int64 and w_orders.dtype == np.int64
    assert w_counted.tolist() == [[1, 1, 1, 1]] and w_orders.tolist() == [[3, 4, 3, 6]]
    assert over.tolist() == [[True, False, True, False]]
