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
