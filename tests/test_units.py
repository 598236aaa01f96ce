import pytest

from sim.model.units import Duration, format_hours, parse_clock_time, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", Duration(0.5)),
        ("2h", Duration(2.0)),
        ("1.5d", Duration(36.0)),
        ("1h30m", Duration(1.5)),
        ("90 minutes", Duration(1.5)),
        ("1w", Duration(168.0)),
        ("3 business days", Duration(3.0, True)),
        ("1 business day", Duration(1.0, True)),
        ("2 working days", Duration(2.0, True)),
        (0, Duration(0.0)),
    ],
)
def test_durations_read_with_their_units(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (30, "has no unit"),
        ("-2h", "negative"),
        ("30 fortnights", "unknown unit"),
        ("1:30", "clock time"),
        ("soon", "not a duration"),
        (True, "not a duration"),
        ("2h 3 business days", "mixes business days"),
    ],
)
def test_bad_durations_say_what_is_expected(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_duration(text)


def test_business_durations_have_no_clock_hours():
    with pytest.raises(ValueError, match="calendar"):
        _ = Duration(3, True).hours


def test_clock_times():
    assert parse_clock_time("17:00") == 17.0
    assert parse_clock_time("09:30") == 9.5
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock_time("25:00")


def test_hours_print_shortest():
    assert [format_hours(h) for h in (0.5, 48, 1.25, 0)] == ["30m", "2d", "1.25h", "0h"]


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("36s", 0.01),
        ("36 sec", 0.01),
        ("1 second", 1 / 3600),
        ("36 seconds", 0.01),
        ("15m", 0.25),
        ("15min", 0.25),
        ("15 mins", 0.25),
        ("1 minute", 1 / 60),
        ("45 minutes", 0.75),
        ("3h", 3.0),
        ("3hr", 3.0),
        ("3 hrs", 3.0),
        ("1 hour", 1.0),
        ("3 hours", 3.0),
        ("2d", 48.0),
        ("1 day", 24.0),
        ("2 days", 48.0),
        ("2w", 336.0),
        ("1 week", 168.0),
        ("2 weeks", 336.0),
        ("1d 12h", 36.0),
        ("1h30m15s", 1.5 + 15 / 3600),
        ("  2H ", 2.0),
        ("1.25 Days", 30.0),
    ],
)
def test_every_unit_has_its_own_length(text, hours):
    duration = parse_duration(text)
    assert duration.amount == pytest.approx(hours, rel=1e-12)
    assert not duration.business_days


@pytest.mark.parametrize(
    ("text", "days"),
    [("1 bd", 1.0), ("2.5 business days", 2.5), ("1 working day", 1.0), ("3 Business Days", 3.0)],
)
def test_business_days_are_counted_not_converted(text, days):
    assert parse_duration(text) == Duration(days, True)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("30m30", "not a duration"),
        ("h", "not a duration"),
        ("", "not a duration"),
        ("2 h and 3 m", "'2 h and 3 m' is not a duration"),
        ("2 hx", "unknown unit 'hx' in '2 hx'"),
        ("3 fortnights", "units are s, m, h, d, w or business days"),
        ("1:30:00", "clock time"),
        ("2h working", "mixes business days"),
        (None, "expected a duration"),
        (1.5, "1.5 has no unit"),
    ],
)
def test_more_bad_durations(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_duration(text)


def test_a_duration_passes_through_and_a_zero_number_is_no_time():
    d = Duration(2.0, True)
    assert parse_duration(d) is d
    assert parse_duration(0.0) == Duration(0.0)
    assert Duration(2.0).hours == 2.0


def test_durations_print_as_they_read():
    assert str(Duration(3, True)) == "3 business days"
    assert str(Duration(0.5, True)) == "0.5 business days"
    assert str(Duration(0.5)) == "30m"
    assert [format_hours(h) for h in (0.25, 0.1, 24, 72, 36, 1, 0.75)] == [
        "15m",
        "6m",
        "24h",
        "3d",
        "36h",
        "1h",
        "45m",
    ]
    assert format_hours(1 / 7) == f"{1 / 7:.12g}h"  # not a whole number of minutes
    assert format_hours(0.0125) == "0.75m"  # minutes to 6 decimals print as minutes
    assert format_hours(6.5e-08) == "6.5e-08h"  # 3.9e-06 min: beyond 6 decimals, hours


def test_more_clock_times():
    assert parse_clock_time("7:05") == pytest.approx(7 + 5 / 60)
    assert parse_clock_time(" 23:59 ") == pytest.approx(23 + 59 / 60)
    assert parse_clock_time("00:00") == 0.0
    assert parse_clock_time("20:00") == 20.0
    for bad in ("24:00", "17:60", "1700", "7", True, "7:5"):
        with pytest.raises(ValueError, match="is not a clock time"):
            parse_clock_time(bad)


def test_shares_must_sum_to_one():
    from sim.model.units import _finite, _sums_to_one

    assert _sums_to_one({"a": 0.5, "b": 0.5}) == {"a": 0.5, "b": 0.5}
    assert _sums_to_one({"a": 0.5, "b": 0.5000005}) == {"a": 0.5, "b": 0.5000005}
    assert _sums_to_one({}) == {}
    with pytest.raises(ValueError, match="the shares sum to 0.9; they must sum to 1"):
        _sums_to_one({"a": 0.5, "b": 0.4})
    with pytest.raises(ValueError, match="sum to 1.00001"):
        _sums_to_one({"a": 0.50001, "b": 0.5})
    assert _finite(2.5) == 2.5
    with pytest.raises(ValueError, match="finite"):
        _finite(float("inf"))
