"""Model parts in isolation: units, business calendars and distributions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from sim.model.calendar import BusinessCalendar, known_calendars
from sim.model.distributions import AmountDist, TimeDist
from sim.model.units import (
    EXPECTED,
    Duration,
    Shares,
    format_hours,
    parse_clock_time,
    parse_duration,
)

# --- units.py ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("2h", 2.0),
        ("2H", 2.0),
        ("1h30m", 1.5),
        ("1h 30m", 1.5),
        ("90 min", 1.5),
        ("30s", 1 / 120),
        ("1.5d", 36.0),
        ("1w", 168.0),
        ("  2 hours  ", 2.0),
    ],
)
def test_clock_durations_add_up_their_parts(text, hours):
    assert parse_duration(text) == Duration(pytest.approx(hours))
    assert parse_duration(text).business_days is False


@pytest.mark.parametrize(
    ("text", "days"),
    [("3 business days", 3.0), ("1 business day", 1.0), ("2bd", 2.0), ("1.5 Working Days", 1.5)],
)
def test_business_day_durations(text, days):
    assert parse_duration(text) == Duration(days, business_days=True)


def test_zero_needs_no_unit_but_other_numbers_do():
    assert parse_duration(0) == Duration(0.0)
    assert parse_duration(0.0) == Duration(0.0)
    with pytest.raises(ValueError, match=rf"^1 has no unit; {EXPECTED}$"):
        parse_duration(1)
    with pytest.raises(ValueError, match=rf"^2.5 has no unit; {EXPECTED}$"):
        parse_duration(2.5)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, f"True is not a duration; {EXPECTED}"),
        (None, f"expected a duration; {EXPECTED}"),
        ([1], f"expected a duration; {EXPECTED}"),
        ("-2h", "'-2h' is negative; a duration must be 0 or more"),
        (
            "1:30",
            f"'1:30' looks like a clock time (YAML 1.1 would read it as a number of minutes); "
            f"{EXPECTED}",
        ),
        (
            "2 business hours",
            "'2 business hours' mixes business days with clock units; write one kind, "
            "e.g. 3 business days",
        ),
        (
            "3 working h",
            "'3 working h' mixes business days with clock units; write one kind, "
            "e.g. 3 business days",
        ),
        (
            "3 fortnights",
            "unknown unit 'fortnights' in '3 fortnights'; units are s, m, h, d, w or business days",
        ),
        ("2h!3m", f"'2h!3m' is not a duration; {EXPECTED}"),
        ("", f"'' is not a duration; {EXPECTED}"),
        ("h", f"'h' is not a duration; {EXPECTED}"),
    ],
)
def test_bad_durations_say_why(value, message):
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert str(info.value) == message


def test_minutes_are_shown_only_when_exact():
    assert format_hours(0.5025) == "30.15m"
    assert format_hours(1.2345678 / 60) == "0.02057613h"  # not a whole micro-minute
    assert format_hours(0.25) == "15m"


@pytest.mark.parametrize(
    ("text", "hours"),
    [("17:00", 17.0), ("7:30", 7.5), ("07:05", 7 + 5 / 60), ("23:59", 23 + 59 / 60)],
)
def test_clock_times(text, hours):
    assert parse_clock_time(text) == pytest.approx(hours)


@pytest.mark.parametrize("value", ["24:00", "7:60", "noon", True, 1020])
def test_bad_clock_times(value):
    with pytest.raises(ValueError) as info:
        parse_clock_time(value)
    assert str(info.value) == f'{value!r} is not a clock time; write HH:MM in quotes, e.g. "17:00"'


def test_shares_must_sum_to_one():
    shares = TypeAdapter(Shares)
    assert shares.validate_python({"a": 0.25, "b": 0.75}) == {"a": 0.25, "b": 0.75}
    assert shares.validate_python({}) == {}
    assert shares.validate_python({"a": 0.5, "b": 0.5000005}) == {"a": 0.5, "b": 0.5000005}
    with pytest.raises(ValidationError, match="the shares sum to 0.9; they must sum to 1"):
        shares.validate_python({"a": 0.5, "b": 0.4})
    with pytest.raises(ValidationError, match="the shares sum to 1.00001; they must sum to 1"):
        shares.validate_python({"a": 0.5, "b": 0.50001})


# --- calendar.py ----------------------------------------------------------------------------

MONDAY = dt.date(2026, 3, 2)  # no US holiday in the fortnight after it
FRI_15 = 4 * 24 + 15.0
SAT_10 = 5 * 24 + 10.0


def _both(cal, hours, amount):
    """`add_business_days` and `after_each` must agree; return the common answer."""
    one = cal.after(hours, Duration(amount, business_days=True))
    many = cal.after_each(np.array([hours, hours]), Duration(amount, business_days=True))
    assert many.tolist() == pytest.approx([one, one])
    return one


def test_three_business_days_from_friday_afternoon_end_on_wednesday_afternoon():
    cal = BusinessCalendar("US", MONDAY, 30)
    assert _both(cal, FRI_15, 3) == pytest.approx(9 * 24 + 15)
    assert _both(cal, FRI_15, 1) == pytest.approx(7 * 24 + 15)  # Monday 15:00
    assert _both(cal, FRI_15, 0.5) == pytest.approx(7 * 24 + 3)  # 9 h on Friday, 3 on Monday


def test_business_days_with_a_local_clock_offset():
    cal = BusinessCalendar("US", MONDAY, 30, hour_offset=8.0)  # time 0 is Monday 08:00
    assert _both(cal, FRI_15 - 8, 3) == pytest.approx(9 * 24 + 15 - 8)
    assert _both(cal, SAT_10 - 8, 1) == pytest.approx(8 * 24 - 8)


def test_a_weekend_start_counts_from_the_next_working_day():
    cal = BusinessCalendar("US", MONDAY, 30)
    assert _both(cal, SAT_10, 1) == pytest.approx(8 * 24)  # the end of Monday


def test_ending_exactly_at_the_end_of_a_working_day_stays_on_that_day():
    cal = BusinessCalendar("US", MONDAY, 30)
    assert _both(cal, 4 * 24 + 12.0, 0.5) == pytest.approx(5 * 24)  # Friday 24:00, not Monday


def test_no_business_time_does_not_move_even_on_a_weekend():
    cal = BusinessCalendar("US", MONDAY, 30)
    assert cal.after(SAT_10, Duration(0.0, business_days=True)) == SAT_10
    hours = np.array([SAT_10, FRI_15])
    moved = cal.after_each(hours, Duration(0.0, business_days=True))
    assert moved.tolist() == [SAT_10, FRI_15] and moved is not hours
    assert cal.after_each(np.array([]), Duration(2.0, business_days=True)).tolist() == []


def test_clock_durations_ignore_the_calendar():
    cal = BusinessCalendar("US", MONDAY, 30)
    assert cal.after(SAT_10, Duration(5.0)) == SAT_10 + 5
    assert cal.after_each(np.array([SAT_10]), Duration(5.0)).tolist() == [SAT_10 + 5]


def test_a_one_day_calendar_serves_its_one_day():
    cal = BusinessCalendar("none", MONDAY, 1)
    assert cal.after(2.0, Duration(0.25, business_days=True)) == pytest.approx(8.0)
    out = cal.after_each(np.array([2.0]), Duration(0.25, business_days=True))
    assert out.tolist() == pytest.approx([8.0])


def test_arithmetic_outside_the_calendar_is_refused_with_the_day(monkeypatch):
    import sim.model.calendar as calendar

    monkeypatch.setattr(calendar, "GROWTH_DAYS", 0)  # no growth: its edge is day 10
    cal = BusinessCalendar("none", MONDAY, 10)
    assert cal.after(0.0, Duration(1.0, business_days=True)) == pytest.approx(24.0)
    with pytest.raises(
        ValueError, match=r"^day 10 lies outside the 10-day calendar built for the run$"
    ):
        cal.after(9 * 24 + 1.0, Duration(1.0, business_days=True))
    with pytest.raises(
        ValueError, match=r"^day 10 lies outside the 10-day calendar built for the run$"
    ):
        cal.after_each(np.array([9 * 24 + 1.0]), Duration(1.0, business_days=True))
    with pytest.raises(
        ValueError, match=r"^day -2 lies outside the 10-day calendar built for the run$"
    ):
        cal.after(-30.0, Duration(1.0, business_days=True))


def test_calendar_keeps_its_inputs_and_days():
    cal = BusinessCalendar("CN", MONDAY, 7, hour_offset=8.0)
    assert (cal.country, cal.first_day, cal.hour_offset) == ("CN", MONDAY, 8.0)
    assert cal.working.tolist() == [1, 1, 1, 1, 1, 0, 0]
    assert cal.date_of(16.0) == dt.date(2026, 3, 3)  # 24:00 local is the next day
    assert cal.day_of(15.99) == 0


def test_known_calendars_start_with_none_then_country_codes():
    names = known_calendars()
    assert names[0] == "none"
    assert {"US", "CN"} <= set(names)
    assert names[1:] == sorted(names[1:])


# --- distributions.py ---------------------------------------------------------------------


def test_a_bare_value_is_a_fixed_distribution():
    d = TypeAdapter(TimeDist).validate_python("4h")
    assert d.dist == "fixed" and d.value == Duration(4.0)
    assert d.quantile(np.array([0.1, 0.9])).tolist() == [4.0, 4.0]
    a = TypeAdapter(AmountDist).validate_python(2.5)
    assert a.quantile(np.array([0.3])).tolist() == [2.5] and a.mean() == 2.5


def test_uniform_and_lognormal_quantiles_by_hand():
    u = TypeAdapter(TimeDist).validate_python({"dist": "uniform", "low": "1h", "high": "3h"})
    assert u.quantile(np.array([0.0, 0.25, 1.0])).tolist() == [1.0, 1.5, 3.0]
    ln = TypeAdapter(TimeDist).validate_python({"dist": "lognormal", "median": "2h", "sigma": 0.5})
    q = ln.quantile(np.array([0.5, 0.8413447460685429]))  # the median and one sigma up
    assert q.tolist() == pytest.approx([2.0, 2.0 * np.exp(0.5)])
    bd = TypeAdapter(TimeDist).validate_python(
        {"dist": "uniform", "low": "1 business day", "high": "5 business days"}
    )
    assert bd.business_days and bd.quantile(np.array([0.5])).tolist() == [3.0]


@pytest.mark.parametrize("key", ["horizon", "warmup", "drain", "delivery.transit"])
def test_a_scenario_span_or_market_time_in_business_days_is_refused(root, key):
    from sim.errors import InputError
    from sim.model.load import Override, load_study

    with pytest.raises(InputError) as caught:
        load_study(
            root / "sim/builtin/scenarios/quick.yaml", [Override.parse(f"{key}=2 business days")]
        )
    # a market time is a distribution: a plain value is its fixed distribution's value
    where = f"{key}.value" if key == "delivery.transit" else key
    assert (
        f"{where}: given in business days; expected clock units (m, h, d): only a policy's "
        "deadlines and refunds count business days"
    ) in str(caught.value)
