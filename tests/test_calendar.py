import datetime as dt

import pytest

from sim.model.calendar import BusinessCalendar
from sim.model.units import Duration


def test_business_days_skip_weekends():
    cal = BusinessCalendar("US", dt.date(2026, 11, 27), 60)  # a Friday
    end = cal.after(15.0, Duration(3, True))  # Friday 15:00 + 3 business days
    assert cal.date_of(end) == dt.date(2026, 12, 2) and end % 24 == pytest.approx(15.0)


def test_us_holidays_are_not_working_days():
    cal = BusinessCalendar("US", dt.date(2026, 12, 24), 30)  # Thursday before Christmas
    end = cal.after(12.0, Duration(1, True))  # half of Thu, Fri 25 Dec off, weekend, Mon
    assert cal.date_of(end) == dt.date(2026, 12, 28)


def test_china_make_up_working_sunday_counts():
    # 2026-01-01 holiday, 02 day off, 03 Saturday, 04 Sunday is a make-up working day.
    cal = BusinessCalendar("CN", dt.date(2026, 1, 1), 60)
    end = cal.after(12.0, Duration(1, True))
    assert end == pytest.approx(4 * 24.0)  # the end of Sunday 4 January


def test_zero_business_days_do_not_move_time():
    cal = BusinessCalendar("US", dt.date(2026, 11, 28), 30)  # a Saturday
    assert cal.after(15.0, Duration(0, True)) == 15.0


def test_clock_durations_ignore_the_calendar():
    cal = BusinessCalendar("CN", dt.date(2026, 1, 1), 10)
    assert cal.after(5.0, Duration(30.0)) == 35.0


def test_local_day_follows_start_offset():
    cal = BusinessCalendar("none", dt.date(2026, 3, 2), 10, hour_offset=6.0)
    assert cal.day_of(17.9) == 0 and cal.day_of(18.0) == 1


def test_outside_the_calendar_is_an_error():
    cal = BusinessCalendar("none", dt.date(2026, 3, 2), 5)
    with pytest.raises(ValueError, match="outside"):
        cal.after(0.0, Duration(30, True))


def test_many_times_at_once_agree_with_one_at_a_time():
    import numpy as np

    cal = BusinessCalendar("CN", dt.date(2026, 1, 1), 90, hour_offset=3.0)
    hours = np.linspace(0, 24 * 40, 997)
    for duration in (Duration(2.5, True), Duration(7, True), Duration(0, True), Duration(30.0)):
        each = cal.after_each(hours, duration)
        one = [cal.after(h, duration) for h in hours]
        assert np.allclose(each, one, rtol=0, atol=1e-9)
